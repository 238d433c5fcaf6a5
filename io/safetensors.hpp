#pragma once
/// \file
/// safetensors files: the format PyTorch's ecosystem exchanges weights in
/// (huggingface/safetensors), read and written without Python:
///
///   header length N: u64 little-endian (8 bytes) |
///   header: N bytes of JSON, one object: {"<name>": {"dtype": "F32", "shape": [2, 3],
///           "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "text"}}
///           (padded with spaces) |
///   data: the tensors' bytes, row-major, little-endian; each tensor's [begin, end) is
///         relative to the first data byte, and the tensors tile the data exactly.
///
/// Moving a model between PyTorch and tapegrad:
///
///   save_safetensors("mlp.safetensors", model);            // torch.nn's shapes
///   load_safetensors_into("from_torch.safetensors", model);  // state_dict() names
///
/// Names are a module's state_dict names, the same as PyTorch's for the same
/// architecture ("0.weight", "0.bias", "features.1.running_mean"). Two differences of
/// layout are mapped, in both directions:
/// - tapegrad's nn::Linear keeps its bias as a column (out, 1), so that it broadcasts
///   across the course's (features, m) batches; PyTorch's is (out,). A module saved
///   here writes every parameter or buffer named "bias" (the last part of its dotted
///   name) of shape (n, 1) as (n,); loading accepts a tensor of shape (n,) for a
///   destination of (n, 1) and (n, 1) for (n,). No other shape is reinterpreted.
/// - torch's BatchNorm layers store "num_batches_tracked" (an int64 count that only
///   momentum=None uses); tapegrad's batch norm has a fixed momentum and no such
///   buffer, so a file's "<prefix>num_batches_tracked" that the destination lacks is
///   skipped, even when loading strictly. PyTorch fills a missing one with 0 on load.
///
/// Element types: F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL are read.
/// tapegrad's tensors are float32 or float64, so a file's tensor becomes (to_tensor):
/// F64 -> float64; F32, F16, BF16 -> float32 (exact); I8, U8, I16, BOOL -> float32
/// (exact); I64, I32 -> float64 (exact; a value beyond 2^53 in magnitude is an
/// IoError, not a rounded number). Loading into existing tensors converts to theirs.
/// Writing keeps a tensor's own dtype (F32 or F64), or converts to the one asked
/// (safetensors_tensor(t, "I64"): integer values in the type's range, else ValueError).
///
/// Reading checks everything the format promises before a tensor is made: the header
/// length against the file (and the format's 100 MB limit), the JSON (parsed with
/// nlohmann::json's SAX reader, so a hostile header cannot build a deep tree), each
/// entry's keys, dtype, shape and offsets, and that the tensors tile the data with no
/// overlap, hole or trailing byte. Every failure is an IoError naming the function,
/// the file and the tensor or byte. Loading into a model is all or nothing.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/named_tensors.hpp>
#include <tapegrad/graph/shape.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/nn/module.hpp>
#include <utility>
#include <vector>

namespace tapegrad {

/// The header's largest size the format allows (the reference reader's limit).
inline constexpr std::uint64_t safetensors_max_header_bytes = 100'000'000;

/// One tensor of a safetensors file as stored: dtype code, shape and raw bytes.
struct TAPEGRAD_API SafetensorsTensor {
  std::string dtype;  ///< "F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"
  Shape shape;        ///< extents; {} is a scalar
  std::string data;   ///< numel * element size bytes, row-major, little-endian

  /// The elements as a tapegrad tensor (float32 or float64; see the file comment);
  /// IoError for an I64/I32 value that float64 cannot hold exactly.
  Tensor to_tensor() const;
};

/// A whole file: its tensors in data order, and the header's "__metadata__" entries.
struct TAPEGRAD_API Safetensors {
  std::vector<std::pair<std::string, SafetensorsTensor>> tensors;  ///< in data order
  std::vector<std::pair<std::string, std::string>> metadata;       ///< sorted by key

  /// The tensor named `name`, or nullptr.
  const SafetensorsTensor* find(std::string_view name) const;
  /// Every tensor through to_tensor(), in data order.
  NamedTensors to_tensors() const;
};

/// A tensor as a file's entry, in its own dtype (F32/F64), or converted to `dtype`
/// (one of the codes above except F16/BF16). ValueError naming `name` for a value an
/// integer type cannot hold (a fraction, NaN, out of range) or an unknown code.
TAPEGRAD_API SafetensorsTensor safetensors_tensor(const Tensor& t, std::string_view dtype = {},
                                                  std::string_view name = "tensor");

/// The bytes of a file holding `file`; ValueError for an empty or repeated name, the
/// reserved name "__metadata__", a dtype it does not know, or data of the wrong size.
TAPEGRAD_API std::string encode_safetensors(const Safetensors& file);
/// Decodes a whole file's bytes; every error is an IoError naming `who`, `source` and
/// the tensor or byte.
TAPEGRAD_API Safetensors decode_safetensors(std::string_view bytes, const std::string& source,
                                            std::string_view who = "read_safetensors");

/// Writes named tensors (their own dtypes and shapes) with optional metadata, atomically.
TAPEGRAD_API void save_safetensors(
    const std::filesystem::path& path, const NamedTensors& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata = {});
/// Writes a file made with safetensors_tensor (any dtype), atomically.
TAPEGRAD_API void save_safetensors(const std::filesystem::path& path, const Safetensors& file);
/// Writes model.state_dict() as PyTorch's modules shape it: (n, 1) biases as (n,).
TAPEGRAD_API void save_safetensors(
    const std::filesystem::path& path, const nn::Module& model,
    const std::vector<std::pair<std::string, std::string>>& metadata = {});

/// Reads a whole file, every byte checked; its tensors stay in their stored dtypes.
TAPEGRAD_API Safetensors read_safetensors(const std::filesystem::path& path);
/// Reads a file's tensors as tapegrad tensors (to_tensor), in data order.
TAPEGRAD_API NamedTensors load_safetensors(const std::filesystem::path& path);
/// Loads a file into existing tensors matched by name, all or nothing: every destination
/// is in the file with its shape (or the bias mapping above), converted to the
/// destination's dtype; with `strict`, the file holds no other name except the
/// "num_batches_tracked" counters. ValueError or ShapeError naming the file and tensor.
TAPEGRAD_API void load_safetensors_into(const std::filesystem::path& path,
                                        const NamedTensors& destination, bool strict = true);
/// load_safetensors_into of model.state_dict() (parameters and buffers).
TAPEGRAD_API void load_safetensors_into(const std::filesystem::path& path, nn::Module& model,
                                        bool strict = true);

}  // namespace tapegrad
