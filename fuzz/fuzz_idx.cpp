// Fuzzes the IDX readers of examples/common/data.cpp (gzip or plain files).
// Input: one control byte, then the file. The control byte picks the reader
// (images, labels, or raw bytes of 1..4 dims) and an optional item limit.
// Only IoError is an accepted failure; anything else (another exception, a crash,
// a sanitizer report) is a finding.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <tapegrad/tapegrad.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static tapegrad::fuzz::ScratchFile scratch(".idx");
  const std::uint8_t control = data[0];
  const auto& file = scratch.write(data + 1, size - 1);
  // Bits 2-3: no limit, or a limit of 0, 1 or 3 items.
  constexpr std::int64_t kLimits[] = {-1, 0, 1, 3};
  const std::int64_t l = kLimits[(control >> 2) & 3];
  const std::optional<std::int64_t> limit = l < 0 ? std::nullopt : std::optional(l);
  try {
    switch (control & 3) {
      case 0: {
        const tapegrad::Tensor X = tapegrad::data::read_idx_images(file, limit);
        if (X.dim() != 2) __builtin_trap();
        break;
      }
      case 1: {
        const int num_classes = 1 + (control >> 4);  // 1..16
        for (int label : tapegrad::data::read_idx_labels(file, limit, num_classes))
          if (label < 0 || label >= num_classes) __builtin_trap();
        break;
      }
      default: {
        const int ndims = 1 + ((control >> 4) & 3);  // 1..4
        const auto idx = tapegrad::data::read_idx_bytes(file, ndims, limit);
        std::size_t expected = 1;
        for (std::int64_t d : idx.dims) expected *= static_cast<std::size_t>(d);
        if (static_cast<int>(idx.dims.size()) != ndims || idx.bytes.size() != expected)
          __builtin_trap();
        break;
      }
    }
  } catch (const tapegrad::IoError&) {
  }
  return 0;
}
