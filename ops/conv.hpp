#pragma once
/// \file
/// Two-dimensional convolution on (N, C, H, W) tensors, PyTorch's layout, so weights
/// exchange with torch.nn.Conv2d directly. The course's (m, n_H, n_W, n_C) is the same
/// data with the channel axis moved last: permute once when loading such a file.
/// Forward and both backward products go through OpenBLAS (im2col + sgemm/dgemm), the
/// batch split over tapegrad's thread pool.
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// A height and a width (a kernel size, a stride, a padding, a dilation). One number
/// means both: conv2d(x, w, b, 2, 1) is stride 2 and padding 1 in each direction;
/// {2, 1} is stride 2 along H and 1 along W.
struct Size2 {
  std::int64_t h = 0;  ///< along the height (axis 2 of (N, C, H, W))
  std::int64_t w = 0;  ///< along the width (axis 3)
  /// Both directions the same.
  constexpr Size2(std::int64_t both) : h(both), w(both) {}  // NOLINT(google-explicit-constructor)
  /// Height, then width.
  constexpr Size2(std::int64_t height, std::int64_t width) : h(height), w(width) {}
  /// Equal when both extents are.
  friend constexpr bool operator==(const Size2&, const Size2&) = default;
};

/// Output extent of a sliding window along one axis, as PyTorch computes it:
/// floor((in + 2 padding - dilation (kernel - 1) - 1) / stride) + 1.
constexpr std::int64_t conv_output_size(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                        std::int64_t padding, std::int64_t dilation = 1) {
  return (in + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

/// Cross-correlation, as torch.nn.functional.conv2d:
/// x (N, C_in, H, W), weight (C_out, C_in / groups, kH, kW), bias (C_out) or an
/// undefined Tensor{} -> (N, C_out, H_out, W_out), with H_out = conv_output_size(H, kH,
/// stride.h, padding.h, dilation.h) and likewise W_out. Zero padding. Channels are split
/// into `groups` groups: output channels [g C_out / groups, (g + 1) C_out / groups) see
/// only input channels [g C_in / groups, (g + 1) C_in / groups).
///   y[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] x[n, g(o) C_in / groups + c,
///                   i s_h - p_h + p d_h, j s_w - p_w + q d_w]
/// Backward (each a GEMM per chunk of images): dx = col2im(W^T g), dW = g im2col(x)^T
/// summed over the batch in a fixed order (the same bits for any thread count), db = the
/// sum of g over (N, H_out, W_out).
/// Throws ShapeError naming the shapes ("conv2d: input has 3 channels, weight expects 1:
/// [8, 3, 28, 28] * [6, 1, 5, 5]") for an input that is not 4-D, a weight that is not
/// 4-D, channels that do not match, a bias that is not (C_out), or a kernel larger than
/// the padded input; ValueError for a stride or dilation < 1, a padding < 0, or groups
/// < 1 or not dividing both channel counts; DtypeError for mixed dtypes.
TAPEGRAD_API Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(),
                           Size2 stride = 1, Size2 padding = 0, Size2 dilation = 1,
                           std::int64_t groups = 1);

/// A causal depthwise convolution along the time axis of a batch-first sequence, as
/// Primer's (So et al., 2021) on the attention's queries, keys and values: x (N, L, C),
/// weight (K, C) -> (N, L, C),
///   y[n, t, c] = sum_{s < K, s <= t} weight[s, c] x[n, t - s, c],
/// each channel mixing its own last K steps (weight[0] the current one), nothing from the
/// future: torch's conv1d with groups = C, padding K - 1 on the left, on (N, C, L). Its
/// rule: dx[n, t, c] = sum_s weight[s, c] g[n, t + s, c], dweight[s, c] = the sum over n
/// and t of g[n, t, c] x[n, t - s, c], summed in a fixed order (the same bits at any
/// thread count). Throws Error for an undefined input, ShapeError naming both shapes for
/// an x that is not 3-D or a weight that is not (K, C) with K >= 1, DtypeError for mixed
/// dtypes.
TAPEGRAD_API Tensor causal_depthwise_conv1d(const Tensor& x, const Tensor& weight);

namespace detail {
/// The most bytes of im2col matrices a recorded conv2d keeps for its backward (32 MiB by
/// default; a layer that would need more rebuilds them from its input in the backward).
/// Returns the previous budget. For tests of both paths and for measuring the trade.
TAPEGRAD_API std::int64_t set_conv_column_budget(std::int64_t bytes);
}  // namespace detail

}  // namespace tapegrad
