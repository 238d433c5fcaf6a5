// Fuzzes the safetensors reader of io/safetensors.cpp. Input: one control byte, then
// the file. Control bit 0 set: the rest is "<header JSON>\0<data>" and the 8-byte header
// length is written in front of it, so that mutations of the JSON reach the header's
// checks instead of stopping at a length that no longer fits. The bytes go through
// decode_safetensors (IoError is the accepted failure); a file that decodes must encode
// again to a file that decodes to the same tensors and metadata, its tensors convert
// (IoError only for an I64 beyond 2^53), and, written to a file, it loads into a small
// model (Linear "0" (2, 3), a BatchNorm's buffers), strictly or not (bit 1), where a file
// that does not fit may also throw ValueError or ShapeError. Any other exception, a
// crash, a failed invariant (__builtin_trap) or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <tapegrad/tapegrad.hpp>

#include "fuzz_file.hpp"

namespace {

bool same(const tapegrad::Safetensors& a, const tapegrad::Safetensors& b) {
  if (a.tensors.size() != b.tensors.size() || a.metadata != b.metadata) return false;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const auto& [name_a, ta] = a.tensors[i];
    const auto& [name_b, tb] = b.tensors[i];
    if (name_a != name_b || ta.dtype != tb.dtype || ta.shape != tb.shape || ta.data != tb.data)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tapegrad;
  static fuzz::ScratchFile scratch(".safetensors");
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) {
    const std::size_t end = bytes.find('\0');
    const std::uint64_t header = end == std::string::npos ? bytes.size() : end;
    if (end != std::string::npos) bytes.erase(end, 1);
    std::string length;
    for (int k = 0; k < 8; ++k) length.push_back(static_cast<char>((header >> (8 * k)) & 0xFF));
    bytes.insert(0, length);
  }
  Safetensors file;
  try {
    file = decode_safetensors(bytes, "fuzz");
  } catch (const IoError&) {
    return 0;  // the loaders decode the same way: nothing more to learn
  }
  // What was read writes again, and reads back the same.
  Safetensors again;
  try {
    again = decode_safetensors(encode_safetensors(file), "fuzz (encoded again)");
  } catch (const Error&) {
    __builtin_trap();
  }
  if (!same(file, again)) __builtin_trap();
  for (const auto& [name, st] : file.tensors) {
    try {
      const Tensor t = st.to_tensor();
      if (t.shape() != st.shape) __builtin_trap();
    } catch (const IoError&) {
    }
  }

  const auto& path =
      scratch.write(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  Tensor w = zeros({2, 3}, float32).requires_grad_();
  Tensor b = zeros({2, 1}, float32).requires_grad_();
  Tensor mean = zeros({3}, float64);
  const NamedTensors model = {{"0.weight", w}, {"0.bias", b}, {"bn.running_mean", mean}};
  try {
    load_safetensors_into(path, model, (data[0] & 2) == 0);
    if (w.shape() != Shape{2, 3} || b.shape() != Shape{2, 1} || mean.shape() != Shape{3})
      __builtin_trap();
  } catch (const Error&) {
  }
  try {
    (void)load_safetensors(path);
  } catch (const IoError&) {
  }
  return 0;
}
