#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/attention.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <vector>

namespace tapegrad {

namespace {

std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : "undefined";
}

// The (L, S) mask of causal attention: 1 where key j may be seen by query i (j <= i).
Tensor causal_mask(std::int64_t L, std::int64_t S, Dtype dtype) {
  std::vector<double> m(static_cast<std::size_t>(L * S), 0.0);
  for (std::int64_t i = 0; i < L; ++i)
    for (std::int64_t j = 0; j <= i && j < S; ++j) m[static_cast<std::size_t>(i * S + j)] = 1.0;
  return tensor(m, {L, S}, dtype);
}

AttentionResult attention(const char* op, const Tensor& q, const Tensor& k, const Tensor& v,
                          bool causal) {
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
  const std::int64_t L = q.size(r - 2), E = q.size(r - 1), S = k.size(r - 2);
  if (k.size(r - 1) != E)
    throw ShapeError(fmt::format("{}: q's E (last extent) {} differs from k's {}; {}", op, E,
                                 k.size(r - 1), shapes));
  if (v.size(r - 2) != S)
    throw ShapeError(fmt::format("{}: k's S (extent -2) {} differs from v's {}; {}", op, S,
                                 v.size(r - 2), shapes));
  Tensor scores = matmul(q, transpose(k, r - 2, r - 1)) / std::sqrt(static_cast<double>(E));
  if (causal)
    scores = where(causal_mask(L, S, q.dtype()), scores,
                   full({L, S}, -std::numeric_limits<double>::infinity(), q.dtype()));
  Tensor weights = softmax(scores, r - 1);  // (..., L, S)
  return {matmul(weights, v), weights};
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
  const Tensor centered = x - mean(x, -1, true);
  const Tensor variance = mean(square(centered), -1, true);  // biased, as torch
  Tensor y = centered / sqrt(variance + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    bool causal) {
  return attention("scaled_dot_product_attention", q, k, v, causal).output;
}

AttentionResult attention_with_weights(const Tensor& q, const Tensor& k, const Tensor& v,
                                       bool causal) {
  return attention("attention_with_weights", q, k, v, causal);
}

}  // namespace tapegrad
