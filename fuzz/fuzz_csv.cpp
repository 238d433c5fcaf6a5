// Fuzzes load_csv of examples/common/data.cpp. Input: the file; the label column is
// always "y", the dtype float32 or float64 by the input's length (odd: float64).
// Only IoError is an accepted failure; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <tapegrad/tapegrad.hpp>

#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static tapegrad::fuzz::ScratchFile scratch(".csv");
  const auto& file = scratch.write(data, size);
  const tapegrad::Dtype dtype = size % 2 ? tapegrad::float64 : tapegrad::float32;
  try {
    const auto csv = tapegrad::data::load_csv(file, "y", dtype);
    const std::int64_t m = csv.Y.size(1);
    if (csv.X.dim() != 2 || csv.Y.dim() != 2 || csv.X.size(1) != m || m < 1 ||
        csv.X.size(0) != static_cast<std::int64_t>(csv.features.size()))
      __builtin_trap();
  } catch (const tapegrad::IoError&) {
  }
  return 0;
}
