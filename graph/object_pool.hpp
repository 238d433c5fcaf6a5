#pragma once
// A per-thread cache of small fixed-size blocks for the objects every op creates
// (tensor handles, storages, tape nodes). A training step makes and frees the same
// objects each time; keeping them on a free list skips malloc and free entirely.
#include <cstddef>
#include <memory>
#include <new>
#include <tapegrad/graph/export.hpp>

namespace tapegrad::detail {

/// Takes a block of `bytes` (at most kMaxPooledBytes) from the thread's free list.
TAPEGRAD_API void* pooled_allocate(std::size_t bytes);
/// Returns a block of `bytes` taken from pooled_allocate.
TAPEGRAD_API void pooled_deallocate(void* p, std::size_t bytes) noexcept;
inline constexpr std::size_t kMaxPooledBytes = 512;

/// Allocator for std::allocate_shared: one object per block, from the pool.
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    const std::size_t bytes = n * sizeof(T);
    if (bytes > kMaxPooledBytes || alignof(T) > alignof(std::max_align_t))
      return static_cast<T*>(::operator new(bytes));
    return static_cast<T*>(pooled_allocate(bytes));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    const std::size_t bytes = n * sizeof(T);
    if (bytes > kMaxPooledBytes || alignof(T) > alignof(std::max_align_t))
      ::operator delete(p);
    else
      pooled_deallocate(p, bytes);
  }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

/// std::make_shared, with the object and its count in one pooled block.
template <class T, class... Args>
std::shared_ptr<T> make_pooled(Args&&... args) {
  return std::allocate_shared<T>(PoolAllocator<T>(), std::forward<Args>(args)...);
}

}  // namespace tapegrad::detail
