// Thread control: one setting, applied to OpenBLAS; see threads.hpp.
#include <tapegrad/graph/threads.hpp>

#include <cblas.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>

namespace tapegrad {

void set_num_threads(int n) {
  if (n < 1) throw ValueError(fmt::format("set_num_threads: need at least 1 thread, got {}", n));
  openblas_set_num_threads(n);
}

int num_threads() { return openblas_get_num_threads(); }

namespace {

// TAPEGRAD_NUM_THREADS, applied once. A malformed value is reported and ignored:
// throwing before main would only abort the program.
void apply_environment() {
  const char* text = std::getenv("TAPEGRAD_NUM_THREADS");
  if (text == nullptr || *text == '\0') return;
  char* end = nullptr;
  errno = 0;
  const long n = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || n < 1 || n > 4096) {
    fmt::print(stderr, "tapegrad: ignoring TAPEGRAD_NUM_THREADS=\"{}\": not a positive integer\n",
               text);
    return;
  }
  openblas_set_num_threads(static_cast<int>(n));
}

const bool applied_at_startup = (apply_environment(), true);

}  // namespace
}  // namespace tapegrad

// Referenced from the link line of programs that use the static library (see
// CMakeLists.txt), so that this file, and with it the start-up hook above, is kept.
extern "C" TAPEGRAD_API const bool* tapegrad_threads_startup() {
  return &tapegrad::applied_at_startup;
}
