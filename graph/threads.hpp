#pragma once
/// \file
/// How many threads tapegrad computes with, and the loop that splits work over them.
///
/// One setting, read in one of two ways:
/// - the environment variable `TAPEGRAD_NUM_THREADS` (a positive integer), read once
///   when the library starts (before main for a program linking tapegrad);
/// - tapegrad::set_num_threads(n), at any time afterwards; it overrides the variable.
///
/// Without either, tapegrad uses one thread per core.
///
/// tapegrad runs its own small thread pool and splits every large matrix product and
/// every large element loop over it. OpenBLAS itself is kept at one thread: its own
/// workers would spin on the same cores as the pool's (the fight that makes
/// PyTorch-with-OpenBLAS slower on two threads than on one). A program that calls
/// cblas directly gets one OpenBLAS thread.
///
/// OpenBLAS (Debian's is built for every x86-64 CPU and picks its kernels when it loads)
/// falls back to its oldest kernels on a CPU newer than its release. When the kernels it
/// picked lack the AVX2/FMA or AVX-512 instructions the CPU has, tapegrad has it pick
/// again at start-up (SkylakeX or Haswell kernels): matrix products of four times the
/// speed on such a machine. An `OPENBLAS_CORETYPE` set by the user is always kept;
/// blas_kernels() says which kernels are in use.
///
/// Results do not depend on the thread count: work is split into disjoint ranges,
/// never into partial sums that are added in a varying order.
#include <cstdint>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <type_traits>

namespace tapegrad {

/// Sets the number of threads for matrix products and element loops, for the whole
/// process. Throws ValueError if n < 1.
TAPEGRAD_API void set_num_threads(int n);

/// The number of threads tapegrad computes with now.
TAPEGRAD_API int num_threads();
/// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", ...), as
/// openblas_get_corename() reports it.
TAPEGRAD_API std::string blas_kernels();

namespace detail {
/// Type-erased body of parallel_for.
using RangeFn = void (*)(void* context, std::int64_t begin, std::int64_t end);
/// Splits [0, n) into up to num_threads() ranges of at least `grain` and runs them.
TAPEGRAD_API void parallel_run(std::int64_t n, std::int64_t grain, RangeFn fn, void* context);
/// True on a pool thread or inside a parallel region (nested loops then run inline).
TAPEGRAD_API bool in_parallel_region();
}  // namespace detail

/// Calls body(begin, end) on disjoint ranges that cover [0, n), on up to num_threads()
/// threads at once, and returns when all are done. A range is never shorter than
/// `grain` (so small loops stay on the calling thread). Runs inline when nested in
/// another parallel_for, or while another thread of the program has the pool.
template <class F>
void parallel_for(std::int64_t n, std::int64_t grain, F&& body) {
  if (n <= 0) return;
  if (n < 2 * grain || detail::in_parallel_region()) {
    body(std::int64_t{0}, n);
    return;
  }
  using Body = std::remove_reference_t<F>;
  detail::parallel_run(
      n, grain,
      [](void* context, std::int64_t begin, std::int64_t end) {
        (*static_cast<Body*>(context))(begin, end);
      },
      const_cast<void*>(static_cast<const void*>(&body)));
}

}  // namespace tapegrad
