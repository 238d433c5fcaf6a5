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
/// Smallest element -> []; the gradient goes to the first smallest element.
TAPEGRAD_API Tensor min(const Tensor& x);
/// Smallest along `axis`; the gradient goes to the first smallest of each slice.
TAPEGRAD_API Tensor min(const Tensor& x, int axis, bool keepdims = false);
/// Flat index of the first largest element, as a [] tensor (no gradient).
TAPEGRAD_API Tensor argmax(const Tensor& x);
/// Index of the first largest element along `axis` (no gradient).
TAPEGRAD_API Tensor argmax(const Tensor& x, int axis, bool keepdims = false);
/// Flat index of the first smallest element, as a [] tensor (no gradient).
TAPEGRAD_API Tensor argmin(const Tensor& x);
/// Index of the first smallest element along `axis` (no gradient).
TAPEGRAD_API Tensor argmin(const Tensor& x, int axis, bool keepdims = false);

/// Variance of all elements -> [], sum((x - mean)^2) / (n - 1): unbiased, PyTorch's
/// default. d/dx = 2 (x - mean) / (n - 1).
TAPEGRAD_API Tensor var(const Tensor& x);
/// Variance over `axis`, sum((x - mean)^2) / (n - correction), n the axis's extent:
/// correction 1 (the default, as PyTorch) is unbiased, 0 the population variance.
/// Shaped as sum(x, axis, keepdims); n - correction must be positive (else ValueError).
/// d/dx = 2 (x - mean) / (n - correction).
TAPEGRAD_API Tensor var(const Tensor& x, int axis, bool keepdims = false, double correction = 1.0);
/// sqrt(var(x)) -> []. d/dx = (x - mean) / ((n - 1) std). Under `using namespace
/// tapegrad` a bare std(x) is ambiguous with namespace std: write tapegrad::std(x) or x.std().
TAPEGRAD_API Tensor std(const Tensor& x);
/// sqrt(var(x, axis, keepdims, correction)). d/dx = (x - mean) / ((n - correction) std).
TAPEGRAD_API Tensor std(const Tensor& x, int axis, bool keepdims = false, double correction = 1.0);

/// log(sum(e^x)) along `axis`, shaped as sum(x, axis, keepdims), computed as
/// m + log(sum(e^(x - m))) with m the max (no overflow). d/dx = softmax(x, axis).
TAPEGRAD_API Tensor logsumexp(const Tensor& x, int axis, bool keepdims = false);

/// x broadcast to `shape` (numpy rules). The gradient is summed back (sum_to).
TAPEGRAD_API Tensor broadcast_to(const Tensor& x, const Shape& shape);

}  // namespace tapegrad
