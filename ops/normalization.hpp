#pragma once
/// \file
/// Normalization and regularization ops: batch normalization along a feature axis and
/// inverted dropout. Both have their own backward rule (one pass over the saved data).
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// Batch normalization along a feature axis: statistics over every other axis.
/// x (…, C at `axis`, …); weight, bias, running_mean, running_var are 1-D (C) (or
/// undefined Tensor{} for weight/bias: no affine). training: normalize by the batch's
/// mean and biased variance, and if running_mean/running_var are defined update them in
/// place (no grad): r = (1 - momentum) r + momentum * batch_stat, with the *unbiased*
/// variance for running_var (as PyTorch). Eval (training=false): normalize by the
/// running statistics (must be defined). y = (x - mean) / sqrt(var + eps) * weight + bias.
/// Course layout (features, m): axis = 0. PyTorch's (m, features) and images
/// (N, C, H, W): axis = 1.
/// Backward: the fused rule (one pass), differentiable w.r.t. x, weight, bias. With
/// xhat = (x - mean) * invstd and N values per feature, in training
///   dx = invstd * weight / N * (N g - sum(g) - xhat * sum(g xhat)),
/// in eval dx = g * weight * invstd; dweight = sum(g xhat), dbias = sum(g) per feature.
/// Statistics and the sums of the backward are accumulated in double, each feature in a
/// fixed order: results do not depend on the thread count. Throws IndexError for an axis
/// out of range, ShapeError for a weight, bias or running statistic that is not (C),
/// DtypeError for mixed dtypes, and ValueError for eval without running statistics, one
/// value per feature in training, momentum outside [0, 1] or eps <= 0.
TAPEGRAD_API Tensor batch_norm(const Tensor& x, const Tensor& running_mean,
                               const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                               bool training, double momentum = 0.1, double eps = 1e-5,
                               int axis = 0);

/// Inverted dropout: each element kept with probability 1 - p and scaled by 1 / (1 - p),
/// else 0; the mask is drawn from `gen` in element order (the same seed gives the same
/// mask whatever the thread count). p = 0 returns x itself; p outside [0, 1) is a
/// ValueError ("dropout: p must be in [0, 1), got 1"). Backward: g * mask / (1 - p)
/// (one saved tensor). The course's keep_prob is 1 - p.
/// One 64-bit draw of `gen` decides two elements (its low, then its high 32 bits, each
/// compared with p * 2^32).
TAPEGRAD_API Tensor dropout(const Tensor& x, double p, Generator& gen = default_generator());

}  // namespace tapegrad
