#pragma once
// Whole files as bytes, for the suites that write a file and read it back or change it.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace tapegrad::test {

/// Every byte of `p` (empty when it cannot be opened).
inline std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Writes `bytes` as a new file `p`, removing any old one first: on ext4, truncating a
/// file and rewriting it makes close() wait for the disk.
inline void write_bytes(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::remove(p);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace tapegrad::test
