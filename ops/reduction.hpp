#pragma once
/// \file
/// Reductions over all elements or one axis, with numpy's keepdims: reducing axis 1 of
/// (n, m) gives (n) or, with keepdims, (n, 1).
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// Sum of all elements -> []. d/dx = 1 everywhere.
TAPEGRAD_API Tensor sum(const Tensor& x);
/// Sum over `axis` (negative counts from the end); keepdims leaves it as extent 1.
/// d/dx = 1 (g broadcast back over the axis).
TAPEGRAD_API Tensor sum(const Tensor& x, int axis, bool keepdims = false);
/// Mean of all elements -> []. d/dx = 1/n.
TAPEGRAD_API Tensor mean(const Tensor& x);
/// Mean over `axis`, shaped as sum(x, axis, keepdims). d/dx = 1/n, n the axis's extent.
TAPEGRAD_API Tensor mean(const Tensor& x, int axis, bool keepdims = false);
/// Largest element -> []; the gradient goes to the first largest element.
TAPEGRAD_API Tensor max(const Tensor& x);
/// Largest along `axis`; the gradient goes to the first largest of each slice.
TAPEGRAD_API Tensor max(const Tensor& x, int axis, bool keepdims = false);
/// Flat index of the first largest element, as a [] tensor (no gradient).
TAPEGRAD_API Tensor argmax(const Tensor& x);
/// Index of the first largest element along `axis` (no gradient).
TAPEGRAD_API Tensor argmax(const Tensor& x, int axis, bool keepdims = false);

/// x broadcast to `shape` (numpy rules). The gradient is summed back (sum_to).
TAPEGRAD_API Tensor broadcast_to(const Tensor& x, const Shape& shape);

}  // namespace tapegrad
