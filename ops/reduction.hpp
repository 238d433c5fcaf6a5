#pragma once
// Reductions over all elements or one axis, with numpy's keepdims.
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// Sum of all elements -> []. d/dx = 1 everywhere.
TAPEGRAD_API Tensor sum(const Tensor& x);
/// Sum over `axis` (negative counts from the end); keepdims leaves it as extent 1.
TAPEGRAD_API Tensor sum(const Tensor& x, int axis, bool keepdims = false);
/// Mean of all elements -> []. d/dx = 1/n.
TAPEGRAD_API Tensor mean(const Tensor& x);
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
