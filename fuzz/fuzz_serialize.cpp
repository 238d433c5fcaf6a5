// Fuzzes the loaders of optim/serialize.cpp. Input: one control byte, then the file.
// Control bit 0 set: the file's checksums (info block and every record) are first
// recomputed, so that mutations reach the code behind the checks instead of stopping
// at a checksum mismatch. The file goes through read_tensors (IoError is the accepted
// failure), then, written to a file, through load_parameters_into and load_checkpoint
// with a small model (W (2, 3), b (2, 1)) and an Adam optimizer (with and without a
// TrainingState holding one generator), where a file that does not fit may also throw
// ValueError or ShapeError. Any other exception, a crash or a sanitizer report is a
// finding.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <tapegrad/tapegrad.hpp>

#include "fuzz_file.hpp"

namespace {

// Walks the format of optim/serialize.hpp leniently and rewrites each checksum to match
// the bytes before it; stops where the file is too short to go on.
void fix_checksums(std::string& b) {
  std::size_t p = 12;  // "TAPEGRAD" | version
  auto has = [&](std::size_t n) { return p <= b.size() && n <= b.size() - p; };
  auto get = [&](std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t k = 0; k < n; ++k)
      v |= std::uint64_t{static_cast<unsigned char>(b[at + k])} << (8 * k);
    return v;
  };
  auto put_crc = [&](std::size_t start) {
    const std::uint32_t crc = tapegrad::crc32(b.data() + start, p - start);
    for (std::size_t k = 0; k < 4; ++k) b[p + k] = static_cast<char>((crc >> (8 * k)) & 0xFF);
    p += 4;
  };
  if (b.size() < p) return;
  if (get(8, 4) >= 2) {
    const std::size_t start = p;
    if (!has(4)) return;
    const std::uint64_t n = get(p, 4);
    p += 4;
    for (std::uint64_t i = 0; i < n; ++i)
      for (int part = 0; part < 2; ++part) {  // key, value
        if (!has(4)) return;
        const std::uint64_t len = get(p, 4);
        p += 4;
        if (!has(len)) return;
        p += len;
      }
    if (!has(4)) return;
    put_crc(start);
  }
  if (!has(8)) return;
  const std::uint64_t count = get(p, 8);
  p += 8;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t start = p;
    if (!has(4)) return;
    const std::uint64_t name_len = get(p, 4);
    p += 4;
    if (!has(name_len + 1)) return;
    p += name_len;
    const std::uint64_t elem_size = b[p] == 0 ? 4 : 8;
    p += 1;
    if (!has(4)) return;
    const std::uint64_t ndim = get(p, 4);
    p += 4;
    std::uint64_t elems = 1;
    for (std::uint64_t d = 0; d < ndim; ++d) {
      if (!has(8)) return;
      const std::uint64_t extent = get(p, 8);
      p += 8;
      if (extent != 0 && elems > b.size() / extent) return;
      elems *= extent;
    }
    if (!has(elems * elem_size)) return;
    p += elems * elem_size;
    if (!has(4)) return;
    put_crc(start);
  }
}

bool fits_model(const tapegrad::Tensor& t, const tapegrad::Shape& shape) {
  return t.defined() && t.shape() == shape;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tapegrad;
  static fuzz::ScratchFile scratch(".tg");
  if (size < 1) return 0;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) fix_checksums(bytes);
  try {
    std::istringstream in(bytes);
    const NamedTensors loaded = read_tensors(in, "fuzz");
    // Decoding checks everything the encoder writes: a version 2 file with an empty info
    // block (what write_tensors writes) that loads re-encodes to the same bytes.
    if (bytes.compare(8, 8, std::string("\x02\0\0\0\0\0\0\0", 8)) == 0) {
      std::ostringstream out;
      write_tensors(out, loaded);
      if (out.str() != bytes) __builtin_trap();
    }
  } catch (const IoError&) {
    return 0;  // the other loaders decode the same way: nothing more to learn
  }

  const auto& file =
      scratch.write(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  Tensor W = zeros({2, 3}, float32).requires_grad_();
  Tensor b = zeros({2, 1}, float64).requires_grad_();
  const NamedTensors params = {{"W", W}, {"b", b}};
  try {
    load_parameters_into(file, params, (data[0] & 2) == 0);  // bit 1: not strict
    if (!fits_model(W, {2, 3}) || !fits_model(b, {2, 1})) __builtin_trap();
  } catch (const Error&) {
  }
  try {
    optim::Adam adam({W, b}, 1e-3);
    load_checkpoint(file, params, adam);
    (void)adam.step_count();
    adam.step();  // a loaded state must be usable (grads are undefined: a no-op update)
    if (!fits_model(W, {2, 3}) || !fits_model(b, {2, 1})) __builtin_trap();
  } catch (const Error&) {
  }
  try {
    optim::Adam adam({W, b}, 1e-3);
    Generator shuffle(7);
    TrainingState state{0, 0, {{"shuffle", &shuffle}}};
    load_checkpoint(file, params, adam, state);
    (void)shuffle.uniform();
  } catch (const Error&) {
  }
  return 0;
}
