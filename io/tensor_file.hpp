#pragma once
/// \file
/// tapegrad's tensor file: named tensors (a model's parameters, an optimizer's state,
/// or both as one checkpoint) in one small binary format, all integers little-endian:
///
///   "TAPEGRAD" (8 bytes) | version u32 (= 2) |
///   info: info_count u32 | info_count entries: key_len u32 | key | value_len u32 | value |
///         crc32 u32 of the info's bytes from info_count to the end of the last value |
///   count u64 |
///   count records: name_len u32 | name | dtype u8 (0 float32, 1 float64) |
///                  ndim u32 | ndim extents i64 | data (row-major, little-endian) |
///                  crc32 u32 of the record's bytes from name_len to the end of data.
///
/// Names are a module's dotted names ("0.weight", "encoder.1.bias"), as PyTorch's
/// state_dict gives them. The info block holds text entries: a checkpoint's "epoch",
/// "step" and "generator/<name>"; parameter files leave it empty. Version 1 files (no
/// info block) are still read; any other version throws IoError.
///
/// Files are written through io::write_file_atomically. Loading reads into
/// temporaries, and a truncated, corrupted (checksum), wrong-magic or wrong-version file
/// throws IoError naming the file and the byte offset; the destination is only assigned
/// once everything has been read and checked.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/named_tensors.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <utility>
#include <vector>

namespace tapegrad {

/// The version of the format this build writes (it reads 1 and 2).
inline constexpr std::uint32_t parameter_file_version = 2;

/// The info block's text entries (key, value), in file order.
using FileInfo = std::vector<std::pair<std::string, std::string>>;

/// A decoded file: its tensors in file order and its info entries.
struct TensorFile {
  NamedTensors tensors;  ///< in file order
  FileInfo info;         ///< empty in parameter files
};

/// The bytes of a file holding `tensors` and `info`; throws ValueError (naming `who`)
/// for an empty, repeated or undefined entry.
TAPEGRAD_API std::string encode_tensor_file(const NamedTensors& tensors, std::string_view who,
                                            const FileInfo& info = {});
/// Decodes a whole file's bytes; every error is an IoError naming `who`, `source` and the
/// byte offset.
TAPEGRAD_API TensorFile decode_tensor_file(const std::string& bytes, const std::string& source,
                                           std::string_view who);

/// Checks, changing nothing, that `loaded` can fill `destination`: every destination name
/// is in `loaded` with the same shape; with `strict`, `loaded` holds no other name.
/// ValueError or ShapeError naming `who`, `source` and the tensor otherwise.
TAPEGRAD_API void check_loadable(const NamedTensors& destination, const NamedTensors& loaded,
                                 bool strict, const std::string& source, std::string_view who);
/// Copies each loaded tensor into the destination of the same name (converting the
/// dtype), outside any graph; call check_loadable first.
TAPEGRAD_API void copy_by_name(const NamedTensors& destination, const NamedTensors& loaded);
/// ("W", W) -> ("<prefix>W", W).
TAPEGRAD_API NamedTensors with_prefix(std::string_view prefix, const NamedTensors& tensors);
/// The entries whose names start with `prefix`, without it.
TAPEGRAD_API NamedTensors strip_prefix(std::string_view prefix, const NamedTensors& tensors);
/// A name read from a file, fit for a message: non-printable bytes as `\xNN`, cut at 64.
TAPEGRAD_API std::string printable(std::string_view name);

/// Writes `tensors` in the format above; throws ValueError for an empty, repeated or
/// undefined entry, IoError if the stream fails.
TAPEGRAD_API void write_tensors(std::ostream& out, const NamedTensors& tensors);
/// Reads everything up to the end of `in`; errors name `source` and the byte offset.
TAPEGRAD_API NamedTensors read_tensors(std::istream& in, const std::string& source = "<stream>");

/// Saves named tensors to `path`, atomically.
TAPEGRAD_API void save_parameters(const std::filesystem::path& path, const NamedTensors& tensors);
/// Loads the named tensors of a file, in file order, as new tensors (no grad).
TAPEGRAD_API NamedTensors load_parameters(const std::filesystem::path& path);
/// Loads a file into existing tensors (e.g. model.named_parameters()), matched by
/// name: every destination name must be in the file with the same shape (values are
/// converted to the destination's dtype); with `strict`, the file may hold no others.
/// All or nothing: on any error the destination is unchanged.
TAPEGRAD_API void load_parameters_into(const std::filesystem::path& path,
                                       const NamedTensors& destination, bool strict = true);

}  // namespace tapegrad
