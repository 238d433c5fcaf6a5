#pragma once
/// \file
/// Activation functions of the course, and softmax along an axis. All elementwise
/// ones keep the input's shape; g below is the upstream gradient.
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// 1 / (1 + e^-x), any shape, computed without overflow. d/dx = s (1 - s).
TAPEGRAD_API Tensor sigmoid(const Tensor& x);
/// tanh(x), any shape. d/dx = 1 - t^2.
TAPEGRAD_API Tensor tanh(const Tensor& x);
/// max(x, 0), any shape. d/dx = 1 where x > 0, else 0.
TAPEGRAD_API Tensor relu(const Tensor& x);
/// max(x, 0)^2, any shape: the squared ReLU of Primer (So et al., 2021), the feed-forward
/// activation that learns faster than relu in small transformers. d/dx = 2 max(x, 0).
TAPEGRAD_API Tensor relu_squared(const Tensor& x);
/// x where x > 0, else slope * x; any shape. d/dx = 1 or slope.
TAPEGRAD_API Tensor leaky_relu(const Tensor& x, double slope = 0.01);
/// e^x / sum(e^x) along `axis` (shifted by the max: no overflow); same shape as x,
/// e.g. (classes, m) with axis 0 gives one distribution per column.
/// d/dx = s * (g - sum(g * s, axis)).
TAPEGRAD_API Tensor softmax(const Tensor& x, int axis);
/// log(softmax(x)) along `axis`, same shape as x, computed as
/// x - max - log(sum(e^(x - max))).
/// d/dx = g - softmax(x) * sum(g, axis).
TAPEGRAD_API Tensor log_softmax(const Tensor& x, int axis);

namespace detail {
/// log_softmax's values, never recorded: the kernel the fused losses share.
Tensor log_softmax_values(const Tensor& x, int axis);
}  // namespace detail

}  // namespace tapegrad
