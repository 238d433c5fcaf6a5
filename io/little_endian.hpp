#pragma once
/// \file
/// The little-endian byte order of tapegrad's files, on any host.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstring>
#include <string>

namespace tapegrad::io {

/// Appends `value` as sizeof(U) little-endian bytes.
template <class U>
void put_uint(std::string& out, U value) {
  for (std::size_t k = 0; k < sizeof(U); ++k)
    out.push_back(static_cast<char>((value >> (8 * k)) & 0xFFu));
}

/// Reads sizeof(U) little-endian bytes at `p`.
template <class U>
U get_uint(const char* p) {
  U value = 0;
  for (std::size_t k = 0; k < sizeof(U); ++k)
    value |= static_cast<U>(static_cast<unsigned char>(p[k])) << (8 * k);
  return value;
}

/// Appends `n` bytes of elements of `elem_size` bytes in little-endian order (a copy on
/// little-endian hosts).
inline void put_data(std::string& out, const void* data, std::size_t n, std::size_t elem_size) {
  const std::size_t start = out.size();
  out.resize(start + n);
  std::memcpy(out.data() + start, data, n);
  if constexpr (std::endian::native == std::endian::big)
    for (std::size_t i = start; i < start + n; i += elem_size)
      std::reverse(out.begin() + static_cast<std::ptrdiff_t>(i),
                   out.begin() + static_cast<std::ptrdiff_t>(i + elem_size));
}

/// Copies `n` bytes of little-endian elements of `elem_size` bytes into host order.
inline void get_data(void* dst, const char* src, std::size_t n, std::size_t elem_size) {
  std::memcpy(dst, src, n);
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = static_cast<char*>(dst);
    for (std::size_t i = 0; i < n; i += elem_size) std::reverse(b + i, b + i + elem_size);
  } else {
    (void)elem_size;
  }
}

}  // namespace tapegrad::io
