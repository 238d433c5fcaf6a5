#pragma once
/// \file
/// Raw element buffers. Buffers come from a per-thread reuse pool keyed by size, so
/// a training loop that makes the same shapes every step stops calling malloc after
/// its first step.
#include <cstddef>
#include <memory>
#include <tapegrad/graph/export.hpp>

namespace tapegrad {

/// One raw buffer of elements, returned to its thread's pool when the last tensor
/// using it goes away.
class TAPEGRAD_API Storage {
 public:
  /// A buffer of at least `bytes` bytes, 64-byte aligned, contents unspecified.
  static std::shared_ptr<Storage> allocate(std::size_t bytes);

  /// `bytes` bytes of `base` from byte `offset` on, sharing its memory: writes through
  /// either are seen by both, and `base` lives as long as the view. Throws ValueError
  /// if the range does not lie inside `base`.
  static std::shared_ptr<Storage> view(std::shared_ptr<Storage> base, std::size_t offset,
                                       std::size_t bytes);

  /// Takes ownership of `data` (from the pool's allocator; use allocate()).
  Storage(void* data, std::size_t bytes) : data_(data), bytes_(bytes) {}
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  /// Start of the buffer.
  void* data() const { return data_; }
  /// Size of the buffer in bytes.
  std::size_t bytes() const { return bytes_; }

 private:
  void* data_;
  std::size_t bytes_;
  std::shared_ptr<Storage> base_;  // set for a view: the owner of data_, which is not ours
};

/// Statistics of the calling thread's buffer pool.
struct PoolStats {
  std::size_t cached_bytes = 0;  ///< bytes held for reuse
  std::size_t hits = 0;          ///< allocations served from the pool
  std::size_t misses = 0;        ///< allocations that went to the system
};
/// The calling thread's pool statistics.
TAPEGRAD_API PoolStats pool_stats();
/// Returns every cached buffer of the calling thread to the system.
TAPEGRAD_API void empty_pool();

}  // namespace tapegrad
