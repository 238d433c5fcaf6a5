#include <tapegrad/ops/linalg.hpp>

#include <cblas.h>

#include <type_traits>

#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>

namespace tapegrad {
namespace {

template <class T>
void gemv(CBLAS_TRANSPOSE t, blasint rows, blasint cols, T alpha, const T* a, blasint lda,
          const T* x, blasint incx, T beta, T* y, blasint incy) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
  else
    cblas_dgemv(CblasRowMajor, t, rows, cols, alpha, a, lda, x, incx, beta, y, incy);
}

// C (n, m) with n == 1 or m == 1, as one matrix-vector product. For m == 1,
// C[:, 0] = op(A) (n, k) times op(B)[:, 0]; for n == 1, C[0, :] = op(B)^T (m, k)
// times op(A)[0, :]. The vector's stride follows from its storage and flag.
void gemv_path(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c, std::int64_t m,
               double alpha, double beta) {
  dispatch(a.dtype(), [&]<class T>(T) {
    const auto lda = static_cast<blasint>(a.size(1)), ldb = static_cast<blasint>(b.size(1));
    if (m == 1) {
      // op(B)[:, 0]: column 0 of B (stride ldb), or row 0 of B when transposed (stride 1).
      const blasint incx = tb ? 1 : ldb;
      gemv<T>(ta ? CblasTrans : CblasNoTrans, static_cast<blasint>(a.size(0)),
              static_cast<blasint>(a.size(1)), static_cast<T>(alpha), a.data<T>(), lda,
              b.data<T>(), incx, static_cast<T>(beta), c.data<T>(), 1);
    } else {
      // C[0, :] = op(A)[0, :] op(B) = op(B)^T op(A)[0, :]^T.
      const blasint incx = ta ? lda : 1;
      gemv<T>(tb ? CblasNoTrans : CblasTrans, static_cast<blasint>(b.size(0)),
              static_cast<blasint>(b.size(1)), static_cast<T>(alpha), b.data<T>(), ldb,
              a.data<T>(), incx, static_cast<T>(beta), c.data<T>(), 1);
    }
  });
}

}  // namespace

void gemm(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, Tensor& c,
          double alpha, double beta) {
  kernels::check_same_dtype("gemm", a, b);
  kernels::check_same_dtype("gemm", a, c);
  if (a.dim() != 2 || b.dim() != 2 || c.dim() != 2)
    throw ShapeError(fmt::format("gemm: needs 2-D tensors, got {} x {} -> {}", shape_str(a.shape()),
                                 shape_str(b.shape()), shape_str(c.shape())));
  const std::int64_t n = transpose_a ? a.size(1) : a.size(0);
  const std::int64_t k = transpose_a ? a.size(0) : a.size(1);
  const std::int64_t k2 = transpose_b ? b.size(1) : b.size(0);
  const std::int64_t m = transpose_b ? b.size(0) : b.size(1);
  if (k != k2 || c.size(0) != n || c.size(1) != m)
    throw ShapeError(fmt::format("gemm: {}{} x {}{} does not give {}", shape_str(a.shape()),
                                 transpose_a ? "^T" : "", shape_str(b.shape()),
                                 transpose_b ? "^T" : "", shape_str(c.shape())));
  if (n == 0 || m == 0) return;
  if (k == 0) {  // an empty sum: C = beta * C
    beta == 0.0 ? c.fill_(0.0) : c.mul_(beta);
    return;
  }
  if (n == 1 || m == 1) {  // a matrix-vector product: gemv reads the matrix once, unpacked
    gemv_path(a, transpose_a, b, transpose_b, c, m, alpha, beta);
    return;
  }
  const auto ta = transpose_a ? CblasTrans : CblasNoTrans;
  const auto tb = transpose_b ? CblasTrans : CblasNoTrans;
  const auto lda = static_cast<blasint>(a.size(1)), ldb = static_cast<blasint>(b.size(1));
  if (a.dtype() == float32)
    cblas_sgemm(CblasRowMajor, ta, tb, static_cast<blasint>(n), static_cast<blasint>(m),
                static_cast<blasint>(k), static_cast<float>(alpha), a.data<float>(), lda,
                b.data<float>(), ldb, static_cast<float>(beta), c.data<float>(),
                static_cast<blasint>(m));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, static_cast<blasint>(n), static_cast<blasint>(m),
                static_cast<blasint>(k), alpha, a.data<double>(), lda, b.data<double>(), ldb, beta,
                c.data<double>(), static_cast<blasint>(m));
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  kernels::check_defined("matmul", a);
  kernels::check_defined("matmul", b);
  if (a.dim() != 2 || b.dim() != 2)
    throw ShapeError(fmt::format("matmul: needs two 2-D tensors, got {} x {}", shape_str(a.shape()),
                                 shape_str(b.shape())));
  if (a.size(1) != b.size(0))
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {} x {}", shape_str(a.shape()),
                                 shape_str(b.shape())));
  kernels::check_same_dtype("matmul", a, b);
  Tensor out = Tensor::empty({a.size(0), b.size(1)}, a.dtype());
  gemm(a, false, b, false, out);
  if (!should_record({&a, &b})) return out;
  return record("matmul", out, {&a, &b},
                [a = a.detach(), b = b.detach()](const Tensor& g, Needs needs) {
                  Grads grads(2);
                  if (needs[0]) {  // dA = G B^T
                    grads[0] = Tensor::empty(a.shape(), a.dtype());
                    gemm(g, false, b, true, grads[0]);
                  }
                  if (needs[1]) {  // dB = A^T G
                    grads[1] = Tensor::empty(b.shape(), b.dtype());
                    gemm(a, true, g, false, grads[1]);
                  }
                  return grads;
                });
}

}  // namespace tapegrad
