#pragma once
/// \file
/// Whole files written atomically and read whole: what every tapegrad writer (tensor
/// files, checkpoints, plots) goes through.
#include <filesystem>
#include <string>
#include <string_view>
#include <tapegrad/graph/export.hpp>

namespace tapegrad::io {

/// Writes `bytes` to `path` so that a reader, or the next run after a crash, finds
/// either the previous file whole or the new one whole, never a part:
/// the bytes go to an unnamed file in `path`'s folder (O_TMPFILE), are flushed to disk
/// (fsync), get a unique temporary name and are renamed over `path`; the folder is then
/// flushed too. A process killed before the rename leaves nothing behind (on file
/// systems without O_TMPFILE, a named temporary "<path>.tmp-<random>" instead, which a
/// kill can leave). Throws IoError naming `who`, the file and the cause; the previous
/// file is then unchanged. Does not create missing folders (see create_parent_folders).
TAPEGRAD_API void write_file_atomically(const std::filesystem::path& path, std::string_view bytes,
                                        std::string_view who);

/// The whole content of `path`; throws IoError naming `who`, the file and the cause.
TAPEGRAD_API std::string read_whole_file(const std::filesystem::path& path, std::string_view who);

/// Creates the folders above `path` that are missing; throws IoError naming `who` if it cannot.
TAPEGRAD_API void create_parent_folders(const std::filesystem::path& path, std::string_view who);

}  // namespace tapegrad::io
