#pragma once
/// \file
/// The checksum of tapegrad's files.
#include <cstddef>
#include <cstdint>
#include <tapegrad/graph/export.hpp>

namespace tapegrad {

/// CRC-32 (IEEE 802.3, as zlib's crc32) of `size` bytes, continuing from `crc`.
TAPEGRAD_API std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace tapegrad
