#include <fmt/format.h>

#include <cstdlib>
#include <new>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/object_pool.hpp>
#include <tapegrad/graph/storage.hpp>
#include <unordered_map>
#include <vector>

namespace tapegrad {
namespace {

constexpr std::size_t kAlign = 64;
// A thread keeps at most this much idle memory for reuse.
constexpr std::size_t kMaxCachedBytes = std::size_t{512} << 20;

std::size_t round_up(std::size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

struct Pool {
  std::unordered_map<std::size_t, std::vector<void*>> free_lists;
  PoolStats stats;

  void release_all() {
    for (auto& [size, list] : free_lists)
      for (void* p : list) std::free(p);
    free_lists.clear();
    stats.cached_bytes = 0;
  }
  ~Pool();
};

// Trivially destructible, so it is still readable while other thread_locals
// (tensors held in them) are destroyed after the pool.
thread_local bool pool_gone = false;

Pool::~Pool() {
  release_all();
  pool_gone = true;
}

Pool& pool() {
  thread_local Pool p;
  return p;
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(std::size_t bytes) {
  const std::size_t size = round_up(bytes == 0 ? 1 : bytes);
  void* data = nullptr;
  if (!pool_gone) {
    Pool& p = pool();
    auto it = p.free_lists.find(size);
    if (it != p.free_lists.end() && !it->second.empty()) {
      data = it->second.back();
      it->second.pop_back();
      p.stats.cached_bytes -= size;
      ++p.stats.hits;
    } else {
      ++p.stats.misses;
    }
  }
  if (!data) {
    data = std::aligned_alloc(kAlign, size);
    if (!data) throw std::bad_alloc();
  }
  return detail::make_pooled<Storage>(data, size);
}

std::shared_ptr<Storage> Storage::view(std::shared_ptr<Storage> base, std::size_t offset,
                                       std::size_t bytes) {
  if (!base || offset > base->bytes_ || bytes > base->bytes_ - offset)
    throw ValueError(fmt::format("Storage::view: bytes [{}, {}) of a buffer of {} bytes", offset,
                                 offset + bytes, base ? base->bytes_ : 0));
  auto out = std::make_shared<Storage>(static_cast<unsigned char*>(base->data_) + offset, bytes);
  out->base_ = std::move(base);
  return out;
}

Storage::~Storage() {
  if (base_) return;  // a view: the memory is base_'s
  if (!pool_gone) {
    Pool& p = pool();
    if (p.stats.cached_bytes + bytes_ <= kMaxCachedBytes) {
      p.free_lists[bytes_].push_back(data_);
      p.stats.cached_bytes += bytes_;
      return;
    }
  }
  std::free(data_);
}

PoolStats pool_stats() { return pool_gone ? PoolStats{} : pool().stats; }

void empty_pool() {
  if (!pool_gone) pool().release_all();
}

}  // namespace tapegrad
