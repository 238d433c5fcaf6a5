#pragma once
/// \file
/// The course's L2 regularization term, over a model's weights or over tensors given.
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/nn/module.hpp>
#include <vector>

namespace tapegrad::nn {

/// The course's L2 term: lambd / (2 m) * sum of ||W||^2 over the weights (a recorded
/// scalar: add it to the cost, autograd gives lambd / m * W). Weights of a module: its
/// parameters whose dotted name ends in "weight" and that have 2 or more dimensions
/// (Linear's W, a conv's kernel; not biases, not batch norm's scale).
/// Throws ValueError for m <= 0 or a lambd that is not a finite number >= 0.
TAPEGRAD_API Tensor l2_penalty(const Module& model, double lambd, std::int64_t m);
/// The same over the tensors given (the course's W1, W2, W3); [] of the first one's dtype
/// (0, float32, for none). DtypeError for mixed dtypes.
TAPEGRAD_API Tensor l2_penalty(const std::vector<Tensor>& weights, double lambd, std::int64_t m);
/// The weights l2_penalty(model) takes, in named_parameters() order.
TAPEGRAD_API std::vector<Tensor> weights(const Module& model);

}  // namespace tapegrad::nn
