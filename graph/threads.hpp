#pragma once
/// \file
/// How many threads tapegrad computes with.
///
/// One setting, read in one of two ways:
/// - the environment variable `TAPEGRAD_NUM_THREADS` (a positive integer), read once
///   when the library starts (before main for a program linking tapegrad);
/// - tapegrad::set_num_threads(n), at any time afterwards; it overrides the variable.
///
/// Without either, OpenBLAS's own default holds (one thread per core, or
/// OPENBLAS_NUM_THREADS / OMP_NUM_THREADS when set).
///
/// The count applies to every matrix product (matmul, gemm: OpenBLAS). Element loops
/// (arithmetic, activations, reductions, losses) are single-threaded for now, whatever
/// the setting. The setting is process-wide, not per thread.
#include <tapegrad/graph/export.hpp>

namespace tapegrad {

/// Sets the number of threads of matrix products (OpenBLAS) for the whole process.
/// Throws ValueError if n < 1. A single-threaded OpenBLAS build stays at 1.
TAPEGRAD_API void set_num_threads(int n);

/// The number of threads matrix products use now (as OpenBLAS reports it).
TAPEGRAD_API int num_threads();

}  // namespace tapegrad
