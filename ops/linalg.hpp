#pragma once
/// \file
/// Matrix products, through OpenBLAS's cblas (threads: see set_num_threads).
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// Matrix product, as torch.matmul: (n, k) x (k, m) -> (n, m); a vector on the left
/// is a row, on the right a column, its axis dropped: (k) x (k, m) -> (m); with more
/// than 2 axes, the leading (batch) axes broadcast: (b, n, k) x (k, m) -> (b, n, m),
/// (1, n, k) x (b, k, m) -> (b, n, m). Throws ShapeError if the inner dimensions
/// differ. dA = G B^T, dB = A^T G per matrix (transposes are BLAS flags), summed over
/// broadcast batch axes.
TAPEGRAD_API Tensor matmul(const Tensor& a, const Tensor& b);

/// C = alpha * op(A) op(B) + beta * C for 2-D tensors, op = transpose when the flag is
/// set; no recording. C must already have the result's shape.
TAPEGRAD_API void gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                       Tensor& c, double alpha = 1.0, double beta = 0.0);

namespace detail {
/// One cblas gemm call on raw row-major storage, C = alpha op(A) op(B) + beta C (op(A)
/// rows x k, op(B) k x cols), for kernels that run their own products (the recurrent
/// layers); no recording, no checks, no threads.
TAPEGRAD_API void blas_gemm(bool transpose_a, bool transpose_b, std::int64_t rows,
                            std::int64_t cols, std::int64_t k, float alpha, const float* a,
                            std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                            float* c, std::int64_t ldc);
/// blas_gemm for float64.
TAPEGRAD_API void blas_gemm(bool transpose_a, bool transpose_b, std::int64_t rows,
                            std::int64_t cols, std::int64_t k, double alpha, const double* a,
                            std::int64_t lda, const double* b, std::int64_t ldb, double beta,
                            double* c, std::int64_t ldc);
}  // namespace detail

}  // namespace tapegrad
