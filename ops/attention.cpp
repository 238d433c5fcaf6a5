#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/attention.hpp>
#include <type_traits>
#include <vector>

namespace tapegrad {

namespace {

std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : "undefined";
}

// C[i] = alpha op(A[i]) op(B[i]) for every matrix i of two contiguous (..., r, c) tensors
// with the same leading axes, op = transpose where the flag is set: one gemm a matrix, the
// batch split over the pool (each product alone is too small to split). The scores q k^T
// / sqrt(E) are one such product: no copy of k transposed, and no pass to scale them.
// Each gradient is again such a product (the BLAS flags of matmul's rule).
Tensor product(const Tensor& a, bool ta, const Tensor& b, bool tb, double alpha) {
  const int r = a.dim();
  const std::int64_t n = ta ? a.size(r - 1) : a.size(r - 2), k = ta ? a.size(r - 2) : a.size(r - 1);
  const std::int64_t m = tb ? b.size(r - 2) : b.size(r - 1);
  Shape shape(a.shape().begin(), a.shape().end() - 2);
  const std::int64_t count = numel(shape);
  shape.insert(shape.end(), {n, m});
  Tensor out = Tensor::empty(shape, a.dtype());
  if (n * m * k == 0) {  // an empty sum gives 0 (and BLAS wants lda >= 1)
    out.fill_(0.0);
    return record("attention_product", out, {&a, &b},
                  [a = a.detach(), b = b.detach()](const Tensor&, Needs) {
                    return Grads{zeros_like(a), zeros_like(b)};
                  });
  }
  const std::int64_t a_size = n * k, b_size = k * m, c_size = n * m;
  const std::int64_t lda = a.size(r - 1), ldb = b.size(r - 1);
  const auto grain = std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(1, n * m * k));
  dispatch(a.dtype(), [&]<class T>(T) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* pc = out.data<T>();
    const auto opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    const auto bn = static_cast<blasint>(n), bm = static_cast<blasint>(m),
               bk = static_cast<blasint>(k);
    parallel_for(count, grain, [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) {
        if constexpr (std::is_same_v<T, float>)
          cblas_sgemm(CblasRowMajor, opa, opb, bn, bm, bk, static_cast<float>(alpha),
                      pa + i * a_size, static_cast<blasint>(lda), pb + i * b_size,
                      static_cast<blasint>(ldb), 0.0f, pc + i * c_size, bm);
        else
          cblas_dgemm(CblasRowMajor, opa, opb, bn, bm, bk, alpha, pa + i * a_size,
                      static_cast<blasint>(lda), pb + i * b_size, static_cast<blasint>(ldb), 0.0,
                      pc + i * c_size, bm);
      }
    });
  });
  if (!should_record({&a, &b})) return out;
  return record(
      "attention_product", out, {&a, &b},
      [a = a.detach(), b = b.detach(), ta, tb, alpha](const Tensor& g, Needs needs) {
        Grads grads(2);
        if (needs[0])  // d op(A) = alpha G op(B)^T, transposed back when ta
          grads[0] = ta ? product(b, tb, g, true, alpha) : product(g, false, b, !tb, alpha);
        if (needs[1])  // d op(B) = alpha op(A)^T G, transposed back when tb
          grads[1] = tb ? product(g, true, a, ta, alpha) : product(a, !ta, g, false, alpha);
        return grads;
      });
}

// softmax along the last axis of scores (..., L, S), where with `causal` query i sees key
// j only for j <= i (top-left aligned, as torch's is_causal): the masked weights are
// exactly 0 (as softmax of -inf scores), so the masked keys get exactly zero gradient
// (every row keeps key 0). One pass a row, no mask tensor.
//
// With ALiBi slopes (one a head: the axis before L), query i's score for key j first
// gets -slope |i - j|, written to the output row, which the softmax then reads.
template <class T>
void masked_softmax_kernel(const T* x, T* out, std::int64_t rows, std::int64_t L, std::int64_t S,
                           bool causal, const std::vector<double>& alibi) {
  const auto heads = static_cast<std::int64_t>(alibi.size());
  parallel_for(rows, std::max<std::int64_t>(1, 16384 / S), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * S;
      T* yr = out + r * S;
      const std::int64_t seen = causal ? std::min(S, r % L + 1) : S;
      if (heads > 0) {
        const auto slope = static_cast<T>(alibi[static_cast<std::size_t>((r / L) % heads)]);
        const std::int64_t i = r % L;
        for (std::int64_t j = 0; j < seen; ++j)
          yr[j] = xr[j] - slope * static_cast<T>(i > j ? i - j : j - i);
        xr = yr;
      }
      T m = xr[0];
      for (std::int64_t j = 1; j < seen; ++j) m = std::max(m, xr[j]);
      T total = 0;
      for (std::int64_t j = 0; j < seen; ++j) {
        yr[j] = std::exp(xr[j] - m);
        total += yr[j];
      }
      const T inv = T(1) / total;
      for (std::int64_t j = 0; j < seen; ++j) yr[j] *= inv;
      for (std::int64_t j = seen; j < S; ++j) yr[j] = 0;
    }
  });
}

// dx = s * (g - sum(g * s)) along each row, in one pass (softmax's rule).
template <class T>
void softmax_backward_kernel(const T* s, const T* g, T* dx, std::int64_t rows, std::int64_t S) {
  parallel_for(rows, std::max<std::int64_t>(1, 16384 / S), [&](std::int64_t r0, std::int64_t r1) {
    for (std::int64_t r = r0; r < r1; ++r) {
      const T* sr = s + r * S;
      const T* gr = g + r * S;
      T* dr = dx + r * S;
      T dot = 0;
      for (std::int64_t j = 0; j < S; ++j) dot += gr[j] * sr[j];
      for (std::int64_t j = 0; j < S; ++j) dr[j] = sr[j] * (gr[j] - dot);
    }
  });
}

Tensor masked_softmax(const Tensor& scores, bool causal, const std::vector<double>& alibi) {
  const int r = scores.dim();
  const std::int64_t L = scores.size(r - 2), S = scores.size(r - 1);
  const std::int64_t rows = S == 0 ? 0 : scores.numel() / S;
  Tensor s = Tensor::empty(scores.shape(), scores.dtype());
  dispatch(scores.dtype(), [&]<class T>(T) {
    masked_softmax_kernel(scores.data<T>(), s.data<T>(), rows, L, S, causal, alibi);
  });
  if (!should_record({&scores})) return s;
  // As softmax: the rule keeps the weights' data (not the handle, which owns this node).
  return record("attention_softmax", s, {&scores},
                [s = s.detach(), rows, S](const Tensor& g, Needs) {
                  Tensor dx = Tensor::empty(s.shape(), s.dtype());
                  dispatch(s.dtype(), [&]<class T>(T) {
                    softmax_backward_kernel(s.data<T>(), g.data<T>(), dx.data<T>(), rows, S);
                  });
                  return Grads{dx};
                });
}

AttentionResult attention(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                          bool causal, const std::vector<double>& alibi) {
  kernels::check_defined(op, q);
  kernels::check_defined(op, k);
  kernels::check_defined(op, v);
  const std::string shapes = fmt::format("q {}, k {}, v {}", shape_str(q.shape()),
                                         shape_str(k.shape()), shape_str(v.shape()));
  if (q.dim() < 2 || k.dim() < 2 || v.dim() < 2)
    throw ShapeError(fmt::format(
        "{}: q, k and v must be at least 2-D (..., L, E), (..., S, E), (..., S, Ev); {}", op,
        shapes));
  if (q.dim() != k.dim() || q.dim() != v.dim())
    throw ShapeError(fmt::format("{}: q, k and v must have the same rank; {}", op, shapes));
  const int r = q.dim();
  const Shape lead(q.shape().begin(), q.shape().end() - 2);
  if (Shape(k.shape().begin(), k.shape().end() - 2) != lead ||
      Shape(v.shape().begin(), v.shape().end() - 2) != lead)
    throw ShapeError(
        fmt::format("{}: q, k and v must have the same leading (batch) axes; {}", op, shapes));
  const std::int64_t E = q.size(r - 1), S = k.size(r - 2);
  if (k.size(r - 1) != E)
    throw ShapeError(fmt::format("{}: q's E (last extent) {} differs from k's {}; {}", op, E,
                                 k.size(r - 1), shapes));
  if (v.size(r - 2) != S)
    throw ShapeError(fmt::format("{}: k's S (extent -2) {} differs from v's {}; {}", op, S,
                                 v.size(r - 2), shapes));
  if (!alibi.empty()) {
    if (r < 3 || q.size(r - 3) != static_cast<std::int64_t>(alibi.size()))
      throw ShapeError(fmt::format(
          "{}: {} ALiBi slopes need q, k and v of (..., heads = {}, L, E), one slope a head; {}",
          op, alibi.size(), alibi.size(), shapes));
    for (double slope : alibi)
      if (!std::isfinite(slope))
        throw ValueError(fmt::format("{}: the ALiBi slopes must be finite, got {}", op, slope));
  }
  const Tensor scores = product(q, false, k, true, 1.0 / std::sqrt(static_cast<double>(E)));
  Tensor weights = masked_softmax(scores, causal, alibi);  // (..., L, S)
  return {product(weights, false, v, false, 1.0), weights};
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  kernels::check_defined("layer_norm", x);
  const std::string shapes = fmt::format("x {}, weight {}, bias {}", shape_str(x.shape()),
                                         shape_or_undefined(weight), shape_or_undefined(bias));
  if (x.dim() < 1)
    throw ShapeError(fmt::format("layer_norm: x must be at least 1-D (..., D); {}", shapes));
  if (!(eps > 0)) throw ValueError(fmt::format("layer_norm: eps must be > 0, got {}", eps));
  const std::int64_t D = x.size(x.dim() - 1);
  for (const auto& [name, t] : {std::pair{"weight", &weight}, std::pair{"bias", &bias}})
    if (t->defined() && t->shape() != Shape{D})
      throw ShapeError(fmt::format("layer_norm: {} is {}, expected (D) = {}; {}", name,
                                   shape_str(t->shape()), shape_str(Shape{D}), shapes));
  if (weight.defined()) kernels::check_same_dtype("layer_norm", x, weight);
  if (bias.defined()) kernels::check_same_dtype("layer_norm", x, bias);
  const std::int64_t rows = D == 0 ? 0 : x.numel() / D;
  // xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) with the biased variance (as
  // torch), y = xhat * weight + bias: one op, one row at a time; the rule keeps xhat and
  // rstd.
  Tensor y = Tensor::empty(x.shape(), x.dtype()), xhat = Tensor::empty(x.shape(), x.dtype());
  Tensor rstd = Tensor::empty({rows}, x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    T* py = y.data<T>();
    T* ph = xhat.data<T>();
    T* pr = rstd.data<T>();
    parallel_for(rows, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(1, D)),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r) {
                     const T* xr = px + r * D;
                     T m = 0, v = 0;  // two passes: the variance of the centered row
                     for (std::int64_t j = 0; j < D; ++j) m += xr[j];
                     m /= static_cast<T>(D);
                     for (std::int64_t j = 0; j < D; ++j) v += (xr[j] - m) * (xr[j] - m);
                     const T inv = T(1) / std::sqrt(v / static_cast<T>(D) + static_cast<T>(eps));
                     const T mean = m;
                     pr[r] = inv;
                     for (std::int64_t j = 0; j < D; ++j) {
                       const T h = (xr[j] - mean) * inv;
                       ph[r * D + j] = h;
                       py[r * D + j] = (pw ? h * pw[j] : h) + (pb ? pb[j] : T(0));
                     }
                   }
                 });
  });
  std::vector<const Tensor*> inputs = {&x};
  if (weight.defined()) inputs.push_back(&weight);
  if (bias.defined()) inputs.push_back(&bias);
  if (!should_record(inputs)) return y;
  const bool has_weight = weight.defined(), has_bias = bias.defined();
  return record(
      "layer_norm", y, inputs,
      [xhat = xhat.detach(), rstd = rstd.detach(), w = has_weight ? weight.detach() : Tensor(),
       has_bias, rows, D](const Tensor& g, Needs needs) {
        // dxhat = g weight; dx = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)) along
        // each row; dweight = the sum over rows of g xhat, dbias that of g.
        Grads grads(1 + (w.defined() ? 1 : 0) + (has_bias ? 1 : 0));
        const std::size_t at_bias = w.defined() ? 2 : 1;
        dispatch(g.dtype(), [&]<class T>(T) {
          const T* pg = g.data<T>();
          const T* ph = xhat.data<T>();
          const T* pr = rstd.data<T>();
          const T* pw = w.defined() ? w.data<T>() : nullptr;
          if (needs[0]) {
            grads[0] = Tensor::empty(g.shape(), g.dtype());
            T* pd = grads[0].data<T>();
            parallel_for(rows, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(1, D)),
                         [&](std::int64_t r0, std::int64_t r1) {
                           for (std::int64_t r = r0; r < r1; ++r) {
                             const T* gr = pg + r * D;
                             const T* hr = ph + r * D;
                             T a = 0, c = 0;
                             for (std::int64_t j = 0; j < D; ++j) {
                               const T dh = pw ? gr[j] * pw[j] : gr[j];
                               a += dh;
                               c += dh * hr[j];
                             }
                             a /= static_cast<T>(D);
                             c /= static_cast<T>(D);
                             for (std::int64_t j = 0; j < D; ++j) {
                               const T dh = pw ? gr[j] * pw[j] : gr[j];
                               pd[r * D + j] = pr[r] * (dh - a - hr[j] * c);
                             }
                           }
                         });
          }
          // The sums over rows in one fixed order, whatever the thread count.
          const bool dw = pw && needs[1], db = has_bias && needs[at_bias];
          if (!dw && !db) return;
          Tensor gw = zeros({D}, g.dtype()), gb = zeros({D}, g.dtype());
          T* pgw = gw.data<T>();
          T* pgb = gb.data<T>();
          for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t j = 0; j < D; ++j) {
              if (dw) pgw[j] += pg[r * D + j] * ph[r * D + j];
              if (db) pgb[j] += pg[r * D + j];
            }
          if (dw) grads[1] = gw;
          if (db) grads[at_bias] = gb;
        });
        return grads;
      });
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, bool causal,
                                    const std::vector<double>& alibi) {
  return attention("scaled_dot_product_attention", q, k, v, causal, alibi).output;
}

AttentionResult attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                       bool causal, const std::vector<double>& alibi) {
  return attention("attention_with_weights", q, k, v, causal, alibi);
}

std::vector<double> alibi_slopes(std::int64_t heads, double max_exponent) {
  if (heads < 1)
    throw ValueError(fmt::format("alibi_slopes: heads must be positive, got {}", heads));
  if (!std::isfinite(max_exponent))
    throw ValueError(
        fmt::format("alibi_slopes: max_exponent must be finite, got {}", max_exponent));
  std::vector<double> slopes(static_cast<std::size_t>(heads));
  for (std::int64_t h = 0; h < heads; ++h)
    slopes[static_cast<std::size_t>(h)] =
        std::exp2(-max_exponent * static_cast<double>(h + 1) / static_cast<double>(heads));
  return slopes;
}

}  // namespace tapegrad
