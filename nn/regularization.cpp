#include <fmt/format.h>

#include <cmath>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/nn/regularization.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduction.hpp>

namespace tapegrad::nn {

Tensor l2_penalty(const std::vector<Tensor>& weights, double lambd, std::int64_t m) {
  if (m <= 0) throw ValueError(fmt::format("l2_penalty: m must be positive, got {}", m));
  if (!(std::isfinite(lambd) && lambd >= 0.0))
    throw ValueError(fmt::format("l2_penalty: lambd must be a finite number >= 0, got {}", lambd));
  if (weights.empty()) return scalar(0.0);
  Tensor total;
  for (const Tensor& W : weights) {
    kernels::check_defined("l2_penalty", W);
    if (total.defined()) kernels::check_same_dtype("l2_penalty", weights.front(), W);
    const Tensor sq = sum(square(W));  // ||W||^2, Frobenius
    total = total.defined() ? total + sq : sq;
  }
  return total * (lambd / (2.0 * static_cast<double>(m)));
}

std::vector<Tensor> weights(const Module& model) {
  std::vector<Tensor> out;
  for (const auto& [name, t] : model.named_parameters())
    if (name.ends_with("weight") && t.dim() >= 2) out.push_back(t);
  return out;
}

Tensor l2_penalty(const Module& model, double lambd, std::int64_t m) {
  return l2_penalty(weights(model), lambd, m);
}

}  // namespace tapegrad::nn
