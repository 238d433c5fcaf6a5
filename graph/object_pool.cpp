#include <array>
#include <tapegrad/graph/object_pool.hpp>
#include <vector>

namespace tapegrad::detail {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = kMaxPooledBytes / kGranule;
// A thread keeps at most this many idle blocks of one size.
constexpr std::size_t kMaxIdle = 1 << 16;

std::size_t size_class(std::size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

struct Lists {
  std::array<std::vector<void*>, kClasses> free;
  ~Lists();
};

// Trivially destructible: still readable after the lists are gone (objects freed
// by other thread_locals' destructors then go straight to the system).
thread_local bool lists_gone = false;

Lists::~Lists() {
  for (auto& list : free)
    for (void* p : list) ::operator delete(p);
  lists_gone = true;
}

Lists& lists() {
  thread_local Lists l;
  return l;
}

}  // namespace

void* pooled_allocate(std::size_t bytes) {
  const std::size_t c = size_class(bytes);
  if (!lists_gone) {
    auto& list = lists().free[c];
    if (!list.empty()) {
      void* p = list.back();
      list.pop_back();
      return p;
    }
  }
  // Every block of a class has the class's full size, so any may serve any request.
  return ::operator new((c + 1) * kGranule);
}

void pooled_deallocate(void* p, std::size_t bytes) noexcept {
  if (!lists_gone) {
    auto& list = lists().free[size_class(bytes)];
    if (list.size() < kMaxIdle) {
      try {
        list.push_back(p);
        return;
      } catch (...) {  // no room to remember it: give it back instead
      }
    }
  }
  ::operator delete(p);
}

}  // namespace tapegrad::detail
