#pragma once
/// \file
/// Losses, and one_hot, which makes their targets from class indices. Each loss
/// returns the mean over examples as a [] tensor and is numerically stable: a logit
/// of +-1000 gives a finite loss and gradient.
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// Mean of -(y log p + (1 - y) log(1 - p)) over all elements, p and y of one shape.
/// log is clamped at -100 (as PyTorch does), so p = 0 or 1 never makes NaN.
/// d/dp = (p - y) / (p (1 - p)) / n.
TAPEGRAD_API Tensor binary_cross_entropy(const Tensor& p, const Tensor& y);

/// binary_cross_entropy(sigmoid(z), y), fused: mean of max(z,0) - z y + log1p(e^-|z|).
/// d/dz = (sigmoid(z) - y) / n.
TAPEGRAD_API Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y);

/// Mean over examples of -log softmax(logits)[label], classes along `axis`.
/// `target` is either class indices (logits' shape without `axis`, or with it as 1)
/// or one-hot / probability rows of the logits' own shape.
/// d/dlogits = (softmax(logits) - onehot) / m.
TAPEGRAD_API Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& target, int axis);

/// Mean of (a - b)^2 over all elements; a and b of one shape. d/da = 2 (a - b) / n.
TAPEGRAD_API Tensor mse_loss(const Tensor& a, const Tensor& b);

/// One-hot rows of class indices: `labels` (float, holding integers in
/// [0, num_classes)) of shape S gives S with a new axis of extent num_classes at
/// `axis` (-1, the default, appends it, as torch.nn.functional.one_hot; 0 gives the
/// course's (classes, m) from labels (m)). A 1 at each label, 0 elsewhere, in the
/// labels' dtype. No gradient; a label that is not an integer in range is a ValueError.
TAPEGRAD_API Tensor one_hot(const Tensor& labels, std::int64_t num_classes, int axis = -1);
}  // namespace tapegrad
