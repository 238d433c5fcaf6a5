// Thread control and the pool behind parallel_for; see threads.hpp.
#include <tapegrad/graph/threads.hpp>

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>

namespace tapegrad {
namespace {

thread_local bool inside_region = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A pool of n - 1 workers; the calling thread is the n-th. One job at a time: a
// generation counter announces it, workers take its ranges from a shared counter.
// Between jobs a worker spins briefly (the next op usually follows within
// microseconds), then sleeps on the counter (a futex), so an idle program idles.
class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  void resize(int threads) {
    std::lock_guard<std::mutex> lock(submit_);
    stop();
    start(threads);
  }

  void run(std::int64_t n, std::int64_t grain, detail::RangeFn fn, void* context) {
    const std::int64_t chunks =
        std::min<std::int64_t>(threads(), std::max<std::int64_t>(1, n / grain));
    std::unique_lock<std::mutex> lock(submit_, std::try_to_lock);
    if (chunks < 2 || !lock.owns_lock()) {  // too small, or another thread has the pool
      fn(context, 0, n);
      return;
    }
    fn_ = fn;
    context_ = context;
    n_ = n;
    chunks_ = chunks;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    work();
    // Every worker reports back, even one that found no range left: the job's fields
    // may change only once no worker can still be reading them.
    const auto workers = static_cast<int>(workers_.size());
    while (finished_.load(std::memory_order_acquire) != workers) cpu_relax();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  static constexpr int kSpins = 4000;  // about 100 us of waiting before sleeping

  void start(int threads) {
    stopping_.store(false);
    // The generation is read here, not in the new thread: a stop() that comes before
    // the thread first runs must still look like news to it.
    const std::uint32_t seen = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, seen] { loop(seen); });
  }

  void stop() {
    stopping_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void loop(std::uint32_t seen) {
    inside_region = true;  // a parallel_for inside a job runs inline
    for (;;) {
      for (int spin = 0; generation_.load(std::memory_order_acquire) == seen; ++spin) {
        if (spin < kSpins) cpu_relax();
        else generation_.wait(seen, std::memory_order_acquire);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_.load()) return;
      work();
      finished_.fetch_add(1, std::memory_order_release);
    }
  }

  // Takes ranges until none are left; each range is [n*c/chunks, n*(c+1)/chunks).
  void work() {
    const bool was_inside = inside_region;
    inside_region = true;
    for (std::int64_t c; (c = next_.fetch_add(1, std::memory_order_relaxed)) < chunks_;) {
      try {
        fn_(context_, n_ * c / chunks_, n_ * (c + 1) / chunks_);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
    inside_region = was_inside;
  }

  std::vector<std::thread> workers_;
  std::mutex submit_;
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> next_{0};
  std::atomic<int> finished_{0};
  detail::RangeFn fn_ = nullptr;
  void* context_ = nullptr;
  std::int64_t n_ = 0, chunks_ = 0;
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

int default_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(std::min(cores, 64u));
}

// TAPEGRAD_NUM_THREADS, read once; a malformed value is reported and ignored:
// throwing before main would only abort the program.
int threads_from_environment() {
  const char* text = std::getenv("TAPEGRAD_NUM_THREADS");
  if (text == nullptr || *text == '\0') return default_threads();
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || n < 1 || n > 4096) {
    fmt::print(stderr, "tapegrad: ignoring TAPEGRAD_NUM_THREADS=\"{}\": not a positive integer\n",
               text);
    return default_threads();
  }
  return static_cast<int>(n);
}

Pool& pool() {
  // Built on first use (or at start-up, below), never destroyed: worker threads must
  // not be joined from a static destructor while other statics may still compute.
  static Pool* p = [] {
    openblas_set_num_threads(1);  // tapegrad splits products itself; see threads.hpp
    return new Pool(threads_from_environment());
  }();
  return *p;
}

const bool applied_at_startup = (pool(), true);

}  // namespace

void set_num_threads(int n) {
  if (n < 1) throw ValueError(fmt::format("set_num_threads: need at least 1 thread, got {}", n));
  if (n != pool().threads()) pool().resize(n);
  openblas_set_num_threads(1);
}

int num_threads() { return pool().threads(); }

namespace detail {

void parallel_run(std::int64_t n, std::int64_t grain, RangeFn fn, void* context) {
  pool().run(n, grain, fn, context);
}

bool in_parallel_region() { return inside_region; }

}  // namespace detail
}  // namespace tapegrad

// Referenced from the link line of programs that use the static library (see
// CMakeLists.txt), so that this file, and with it the start-up hook above, is kept.
extern "C" TAPEGRAD_API const bool* tapegrad_threads_startup() {
  return &tapegrad::applied_at_startup;
}
