#include <cblas.h>

#include <algorithm>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <type_traits>

namespace tapegrad {
void detail::blas_gemm(bool ta, bool tb, std::int64_t rows, std::int64_t cols, std::int64_t k,
                       float alpha, const float* a, std::int64_t lda, const float* b,
                       std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(rows), static_cast<blasint>(cols), static_cast<blasint>(k),
              alpha, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

void detail::blas_gemm(bool ta, bool tb, std::int64_t rows, std::int64_t cols, std::int64_t k,
                       double alpha, const double* a, std::int64_t lda, const double* b,
                       std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(rows), static_cast<blasint>(cols), static_cast<blasint>(k),
              alpha, a, static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
              static_cast<blasint>(ldc));
}

namespace {

template <class T>
void gemv(CBLAS_TRANSPOSE t, std::int64_t rows, std::int64_t cols, T alpha, const T* a,
          std::int64_t lda, const T* x, std::int64_t incx, T beta, T* y) {
  const auto r = static_cast<blasint>(rows), c = static_cast<blasint>(cols);
  const auto ld = static_cast<blasint>(lda), inc = static_cast<blasint>(incx);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemv(CblasRowMajor, t, r, c, alpha, a, ld, x, inc, beta, y, 1);
  else
    cblas_dgemv(CblasRowMajor, t, r, c, alpha, a, ld, x, inc, beta, y, 1);
}

template <class T>
void gemm_block(bool ta, bool tb, std::int64_t rows, std::int64_t cols, std::int64_t k, T alpha,
                const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                std::int64_t ldc) {
  detail::blas_gemm(ta, tb, rows, cols, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Below this many multiply-adds a product stays on one thread: waking the pool
// would cost more than it saves.
constexpr double kParallelMacs = 262144;
// Row or column blocks of a split product are multiples of this, the width of the
// BLAS micro-kernel, so that no block gets a ragged edge in the middle.
constexpr std::int64_t kBlock = 16;
// A split product is cut into the same blocks whatever the thread count, each block one
// BLAS call, so that every thread count gives the same bits: OpenBLAS's kernels need not
// give a row of C the same bits when it is computed in a call of other rows (its Zen
// sgemm kernels do not: measured). At least kMinBlockRows a block, so that each call
// packs the shared operand for enough rows; at most kMaxBlocks blocks.
constexpr std::int64_t kMinBlockRows = 64;
constexpr std::int64_t kMaxBlocks = 16;

// The fixed block of a split: rows (or columns) per block, a multiple of kBlock.
std::int64_t block_extent(std::int64_t extent) {
  const std::int64_t per = std::max(kMinBlockRows, (extent + kMaxBlocks - 1) / kMaxBlocks);
  return (per + kBlock - 1) / kBlock * kBlock;
}

// C (n, m) with n == 1 or m == 1, as matrix-vector products over disjoint pieces of
// C. For m == 1, C[:, 0] = op(A) (n, k) times op(B)[:, 0]; for n == 1,
// C[0, :] = op(B)^T (m, k) times op(A)[0, :]^T. The vector's stride follows from its
// storage and flag.
template <class T>
void gemv_product(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c, std::int64_t n,
                  std::int64_t m, std::int64_t k, T alpha, T beta) {
  const std::int64_t lda = a.size(1), ldb = b.size(1);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = c.data<T>();
  const std::int64_t length = m == 1 ? n : m;  // of the output vector
  // Fixed pieces of the output, each one gemv call whatever the thread count (see
  // block_extent), and each of at least kParallelMacs multiply-adds.
  const std::int64_t grain =
      std::max<std::int64_t>(kBlock, static_cast<std::int64_t>(kParallelMacs) / k);
  const std::int64_t piece = std::max(block_extent(length), (grain + kBlock - 1) / kBlock * kBlock);
  const std::int64_t pieces = (length + piece - 1) / piece;
  parallel_for(pieces, 1, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
      const std::int64_t i0 = p * piece, i1 = std::min(length, i0 + piece);
      if (m == 1) {
        // Rows i0..i1 of op(A): rows of A, or its columns when transposed.
        const T* x = pb;  // column 0 of B (stride ldb), or row 0 when transposed (stride 1)
        if (ta)
          gemv<T>(CblasTrans, k, i1 - i0, alpha, pa + i0, lda, x, tb ? 1 : ldb, beta, pc + i0);
        else
          gemv<T>(CblasNoTrans, i1 - i0, k, alpha, pa + i0 * lda, lda, x, tb ? 1 : ldb, beta,
                  pc + i0);
      } else {
        // Columns i0..i1 of op(B), as rows of op(B)^T.
        const T* x = pa;  // row 0 of A (stride 1), or column 0 when transposed (stride lda)
        if (tb)
          gemv<T>(CblasNoTrans, i1 - i0, k, alpha, pb + i0 * ldb, ldb, x, ta ? lda : 1, beta,
                  pc + i0);
        else
          gemv<T>(CblasTrans, k, i1 - i0, alpha, pb + i0, ldb, x, ta ? lda : 1, beta, pc + i0);
      }
    }
  });
}

// C = alpha op(A) op(B) + beta C, split over the pool: by row blocks when C has
// enough rows, else by column blocks (the course's first layers: 20 rows).
template <class T>
void gemm_product(const Tensor& a, bool ta, const Tensor& b, bool tb, Tensor& c, std::int64_t n,
                  std::int64_t m, std::int64_t k, T alpha, T beta) {
  const std::int64_t lda = a.size(1), ldb = b.size(1);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = c.data<T>();
  const double macs = static_cast<double>(n) * static_cast<double>(m) * static_cast<double>(k);
  if (macs < kParallelMacs) {
    gemm_block(ta, tb, n, m, k, alpha, pa, lda, pb, ldb, beta, pc, m);
    return;
  }
  const bool by_rows = n >= 2 * kMinBlockRows || n >= m;
  const std::int64_t extent = by_rows ? n : m;
  const std::int64_t block = block_extent(extent);
  parallel_for((extent + block - 1) / block, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t b = b0; b < b1; ++b) {  // one call a block: see block_extent
      const std::int64_t i0 = b * block, i1 = std::min(extent, i0 + block);
      if (by_rows)  // rows i0..i1 of op(A) and of C
        gemm_block(ta, tb, i1 - i0, m, k, alpha, ta ? pa + i0 : pa + i0 * lda, lda, pb, ldb, beta,
                   pc + i0 * m, m);
      else  // columns i0..i1 of op(B) and of C
        gemm_block(ta, tb, n, i1 - i0, k, alpha, pa, lda, tb ? pb + i0 * ldb : pb + i0, ldb, beta,
                   pc + i0, m);
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
  dispatch(a.dtype(), [&]<class T>(T) {
    if (n == 1 || m == 1)  // a matrix-vector product: gemv reads the matrix once, unpacked
      gemv_product<T>(a, transpose_a, b, transpose_b, c, n, m, k, static_cast<T>(alpha),
                      static_cast<T>(beta));
    else
      gemm_product<T>(a, transpose_a, b, transpose_b, c, n, m, k, static_cast<T>(alpha),
                      static_cast<T>(beta));
  });
}

namespace {

// (n, k) x (k, m): one gemm, split over the pool for large products.
Tensor matmul_2d(const Tensor& a, const Tensor& b) {
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

// For each matrix of the broadcast batch shape `batch`, in row-major order, the index
// of the matrix it reads from an input of batch shape `in` (numpy rules: an extent 1,
// or a missing leading axis, repeats the same matrix).
std::vector<std::int64_t> batch_index(const Shape& batch, const Shape& in) {
  const std::int64_t count = numel(batch);
  const auto strides = strides_of(in);
  const std::size_t lead = batch.size() - in.size();
  std::vector<std::int64_t> index(static_cast<std::size_t>(count), 0);
  for (std::int64_t i = 0; i < count; ++i) {
    std::int64_t rest = i, at = 0;
    for (std::size_t d = batch.size(); d-- > lead;) {
      const std::int64_t coord = rest % batch[d];
      rest /= batch[d];
      if (in[d - lead] != 1) at += coord * strides[d - lead];
    }
    index[static_cast<std::size_t>(i)] = at;
  }
  return index;
}

// The identity index of a batch of `count` matrices.
std::vector<std::int64_t> each(std::int64_t count) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) index[static_cast<std::size_t>(i)] = i;
  return index;
}

// C[i] = op(A[ia[i]]) op(B[ib[i]]) for every matrix i of C (rows, cols), with `inner`
// the summed extent: one gemm per matrix, the batch split over the pool.
void batched_gemm(const Tensor& a, bool ta, const std::vector<std::int64_t>& ia, const Tensor& b,
                  bool tb, const std::vector<std::int64_t>& ib, Tensor& c, std::int64_t rows,
                  std::int64_t cols, std::int64_t inner) {
  const auto count = static_cast<std::int64_t>(ia.size());
  if (rows * cols * inner == 0) {  // an empty sum gives 0 (and BLAS wants lda >= 1)
    c.fill_(0.0);
    return;
  }
  const std::int64_t lda = ta ? rows : inner, ldb = tb ? inner : cols;
  const double macs = static_cast<double>(rows * cols) * static_cast<double>(inner);
  const auto grain = std::max<std::int64_t>(1, static_cast<std::int64_t>(kParallelMacs / macs));
  dispatch(c.dtype(), [&]<class T>(T) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = c.data<T>();
    parallel_for(count, grain, [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) {
        const auto at = static_cast<std::size_t>(i);
        gemm_block(ta, tb, rows, cols, inner, T(1), pa + ia[at] * rows * inner, lda,
                   pb + ib[at] * inner * cols, ldb, T(0), pc + i * rows * cols, cols);
      }
    });
  });
}

// (..., n, k) x (..., k, m) with the batch axes (all but the last two) broadcast.
Tensor matmul_batched(const Tensor& a, const Tensor& b) {
  const std::int64_t n = a.size(-2), k = a.size(-1), m = b.size(-1);
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes("matmul", batch_a, batch_b);
  } catch (const ShapeError&) {  // name the whole shapes, not only their batch axes
    throw ShapeError(fmt::format("matmul: batch dimensions do not broadcast: {} x {}",
                                 shape_str(a.shape()), shape_str(b.shape())));
  }
  Shape shape = batch;
  shape.insert(shape.end(), {n, m});
  Tensor out = Tensor::empty(shape, a.dtype());
  const auto ia = batch_index(batch, batch_a), ib = batch_index(batch, batch_b);
  batched_gemm(a, false, ia, b, false, ib, out, n, m, k);
  if (!should_record({&a, &b})) return out;
  return record(
      "matmul", out, {&a, &b},
      [a = a.detach(), b = b.detach(), ia, ib, batch, n, k, m](const Tensor& g, Needs needs) {
        // Per matrix as in 2-D; each gradient has the broadcast batch, which
        // the engine sums back to its input's shape (sum_to).
        const auto ig = each(numel(batch));
        Grads grads(2);
        Shape shape = batch;
        if (needs[0]) {  // dA[i] = G[i] B[i]^T
          shape.insert(shape.end(), {n, k});
          grads[0] = Tensor::empty(shape, a.dtype());
          batched_gemm(g, false, ig, b, true, ib, grads[0], n, k, m);
          shape.resize(batch.size());
        }
        if (needs[1]) {  // dB[i] = A[i]^T G[i]
          shape.insert(shape.end(), {k, m});
          grads[1] = Tensor::empty(shape, b.dtype());
          batched_gemm(a, true, ia, g, false, ig, grads[1], k, m, n);
        }
        return grads;
      });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  kernels::check_defined("matmul", a);
  kernels::check_defined("matmul", b);
  if (a.dim() == 0 || b.dim() == 0)
    throw ShapeError(fmt::format("matmul: needs tensors of at least one axis, got {} x {}",
                                 shape_str(a.shape()), shape_str(b.shape())));
  if (a.size(-1) != b.size(b.dim() == 1 ? 0 : -2))
    throw ShapeError(fmt::format("matmul: inner dimensions differ: {} x {}", shape_str(a.shape()),
                                 shape_str(b.shape())));
  kernels::check_same_dtype("matmul", a, b);
  if (a.dim() == 2 && b.dim() == 2) return matmul_2d(a, b);
  if (a.dim() == 1 || b.dim() == 1) {
    // As torch.matmul: a vector on the left is one row, on the right one column, and
    // that axis is dropped from the result. (k) x (k, m) -> (m); (n, k) x (k) -> (n).
    const Tensor a2 = a.dim() == 1 ? reshape(a, {1, a.size(0)}) : a;
    const Tensor b2 = b.dim() == 1 ? reshape(b, {b.size(0), 1}) : b;
    const Tensor out = matmul(a2, b2);
    Shape shape = out.shape();
    if (b.dim() == 1) shape.pop_back();
    if (a.dim() == 1) shape.erase(shape.end() - (b.dim() == 1 ? 1 : 2));
    return reshape(out, shape);
  }
  if (b.dim() == 2) {
    // (..., n, k) x (k, m) is one product (batch * n, k) x (k, m): the 2-D path and
    // its speed, not one small gemm per matrix.
    Shape shape = a.shape();
    shape.back() = b.size(1);
    const std::int64_t rows = numel(Shape(a.shape().begin(), a.shape().end() - 1));
    return reshape(matmul_2d(reshape(a, {rows, a.size(-1)}), b), shape);
  }
  return matmul_batched(a, b);
}

}  // namespace tapegrad
