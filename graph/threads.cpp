// Thread control and the pool behind parallel_for; see threads.hpp.
#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/threads.hpp>
#include <thread>
#include <vector>

// OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels at load time; these two
// start that choice again. Weak: another OpenBLAS build has neither, and then nothing is
// changed.
extern "C" void gotoblas_dynamic_init(void) __attribute__((weak));
extern "C" void gotoblas_dynamic_quit(void) __attribute__((weak));

namespace tapegrad {
namespace {

// OpenBLAS 0.3.21 (Debian 12) does not know CPUs newer than itself (an Emerald Rapids
// Xeon, CPU model 207, say) and falls back to its oldest x86-64 kernels, "Prescott":
// sgemm at a quarter of the speed its AVX-512 kernels reach on the same core. When the
// kernels it chose are older than the instructions the CPU has, choose again with the
// newest kernel family the CPU can run. An OPENBLAS_CORETYPE that the user set is kept.
void choose_blas_kernels() {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  if (gotoblas_dynamic_init == nullptr || gotoblas_dynamic_quit == nullptr) return;
  __builtin_cpu_init();  // this runs among the static constructors: maybe before libgcc's
  const char* wanted = nullptr;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    wanted = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    wanted = "Haswell";
  if (wanted == nullptr) return;
  std::string current = openblas_get_corename();
  for (char& c : current) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // The kernel families without AVX2 and FMA: a CPU that has them deserves better.
  constexpr std::array<std::string_view, 21> kOlder = {
      "prescott",    "core2",        "penryn",     "dunnington", "nehalem",   "sandybridge",
      "atom",        "katmai",       "coppermine", "northwood",  "banias",    "athlon",
      "opteron",     "opteron_sse3", "barcelona",  "bobcat",     "bulldozer", "piledriver",
      "steamroller", "excavator",    "nano"};
  if (std::find(kOlder.begin(), kOlder.end(), current) == kOlder.end()) return;
  setenv("OPENBLAS_CORETYPE", wanted, 0);  // before main: no other thread reads it
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
}

thread_local bool inside_region = false;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A pool of n - 1 workers; the calling thread is the n-th. Each parallel loop is a
// Job whose ranges are claimed from a counter, by the caller and by whichever
// workers are awake: the caller waits only for ranges a worker has claimed, never
// for a worker that is asleep or descheduled (on a busy machine it simply does the
// ranges itself). Between jobs a worker spins briefly, since the next op usually
// follows within microseconds, then sleeps on a futex, so an idle program idles.
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
    auto job = std::make_shared<Job>(fn, context, n, chunks);
    {
      std::lock_guard<std::mutex> current(current_mutex_);
      current_ = job;
    }
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    job->work();
    for (int spin = 0; job->done.load(std::memory_order_acquire) != chunks; ++spin) {
      if (spin < kSpins)
        cpu_relax();
      else
        std::this_thread::yield();  // a worker holding a range was descheduled
    }
    {
      std::lock_guard<std::mutex> current(current_mutex_);
      current_.reset();
    }
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  static constexpr int kSpins = 4000;  // about 100 us of waiting before sleeping

  struct Job {
    Job(detail::RangeFn f, void* c, std::int64_t n_, std::int64_t chunks_)
        : fn(f), context(c), n(n_), chunks(chunks_) {}
    // Claims ranges [n*c/chunks, n*(c+1)/chunks) until none are left.
    void work() {
      const bool was_inside = inside_region;
      inside_region = true;
      for (std::int64_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;) {
        try {
          fn(context, n * c / chunks, n * (c + 1) / chunks);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
        done.fetch_add(1, std::memory_order_acq_rel);
      }
      inside_region = was_inside;
    }
    const detail::RangeFn fn;
    void* const context;
    const std::int64_t n, chunks;
    std::atomic<std::int64_t> next{0}, done{0};
    std::exception_ptr error;
    std::mutex error_mutex;
  };

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
        if (spin < kSpins)
          cpu_relax();
        else
          generation_.wait(seen, std::memory_order_acquire);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_.load()) return;
      std::shared_ptr<Job> job;
      {
        std::lock_guard<std::mutex> current(current_mutex_);
        job = current_;
      }
      if (job) job->work();  // a job that is already finished has no ranges left
    }
  }

  std::vector<std::thread> workers_;
  std::mutex submit_;
  std::atomic<std::uint32_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::mutex current_mutex_;
  std::shared_ptr<Job> current_;
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
    choose_blas_kernels();
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

std::string blas_kernels() {
  pool();  // the choice is made with the pool
  return openblas_get_corename();
}

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
