#pragma once
// Saving and loading named tensors: a model's parameters, an optimizer's state, or
// both as one checkpoint. One small binary format, all integers little-endian:
//
//   "TAPEGRAD" (8 bytes) | version u32 (= 2) |
//   info: info_count u32 | info_count entries: key_len u32 | key | value_len u32 | value |
//         crc32 u32 of the info's bytes from info_count to the end of the last value |
//   count u64 |
//   count records: name_len u32 | name | dtype u8 (0 float32, 1 float64) |
//                  ndim u32 | ndim extents i64 | data (row-major, little-endian) |
//                  crc32 u32 of the record's bytes from name_len to the end of data.
//
// The info block holds text entries: a checkpoint's "epoch", "step" and
// "generator/<name>" (a Generator::state()); parameter files leave it empty.
// Version 1 files (no info block) are still read; any other version throws IoError.
//
// Saving writes a temporary file beside the target, flushes it to disk and renames
// it over the target: a crash mid-save leaves the previous file whole (and a
// temporary "<target>.tmp-<pid>-<n>", which the next save removes once that process
// is gone). Loading reads into temporaries, and a truncated, corrupted (checksum),
// wrong-magic or wrong-version file throws IoError naming the file and the byte
// offset; the destination is only assigned once everything has been read and checked.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/optim/named_tensors.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <utility>
#include <vector>

namespace tapegrad {

/// The version of the format this build writes and reads.
inline constexpr std::uint32_t parameter_file_version = 2;

/// CRC-32 (IEEE 802.3, as zlib's crc32) of `size` bytes, continuing from `crc`.
TAPEGRAD_API std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

/// Writes `tensors` in the format above; throws ValueError for an empty, repeated or
/// undefined entry, IoError if the stream fails.
TAPEGRAD_API void write_tensors(std::ostream& out, const NamedTensors& tensors);
/// Reads everything up to the end of `in`; errors name `source` and the byte offset.
TAPEGRAD_API NamedTensors read_tensors(std::istream& in, const std::string& source = "<stream>");

/// Saves named tensors to `path`, atomically (temporary file + rename).
TAPEGRAD_API void save_parameters(const std::filesystem::path& path, const NamedTensors& tensors);
/// Loads the named tensors of a file, in file order, as new tensors (no grad).
TAPEGRAD_API NamedTensors load_parameters(const std::filesystem::path& path);
/// Loads a file into existing tensors (e.g. model.named_parameters()), matched by
/// name: every destination name must be in the file with the same shape (values are
/// converted to the destination's dtype); with `strict`, the file may hold no others.
/// All or nothing: on any error the destination is unchanged.
TAPEGRAD_API void load_parameters_into(const std::filesystem::path& path,
                                       const NamedTensors& destination, bool strict = true);

/// Saves an optimizer's state (lr, step count, moment estimates...).
TAPEGRAD_API void save_optimizer(const std::filesystem::path& path,
                                 const optim::Optimizer& optimizer);
/// Restores an optimizer's state saved by save_optimizer, all or nothing.
TAPEGRAD_API void load_optimizer(const std::filesystem::path& path, optim::Optimizer& optimizer);

/// One file with a model's parameters ("model/<name>") and its optimizer's state
/// ("optimizer/<name>"): resuming training restores both.
TAPEGRAD_API void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  const optim::Optimizer& optimizer);
/// Restores parameters and optimizer state from save_checkpoint's file, all or nothing.
TAPEGRAD_API void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  optim::Optimizer& optimizer);

/// Where training stands besides its tensors. A checkpoint saved with one and loaded
/// into one resumes training exactly: same parameters, optimizer state, epoch, step and
/// random sequences (mini-batch shuffling, dropout masks).
struct TrainingState {
  std::int64_t epoch = 0;  ///< e.g. epochs completed
  std::int64_t step = 0;   ///< e.g. optimizer steps taken
  /// Generators saved by name and restored in place, e.g.
  /// {{"shuffle", &shuffle_gen}, {"default", &default_generator()}}.
  std::vector<std::pair<std::string, Generator*>> generators;
};

/// save_checkpoint plus `state`: epoch, step and each generator's state.
TAPEGRAD_API void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  const optim::Optimizer& optimizer, const TrainingState& state);
/// Restores parameters, optimizer state, state.epoch, state.step and every generator
/// of state.generators (each must be in the file, and the file may hold no others;
/// ValueError otherwise, as for a file saved without a TrainingState). All or nothing.
TAPEGRAD_API void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  optim::Optimizer& optimizer, TrainingState& state);

}  // namespace tapegrad
