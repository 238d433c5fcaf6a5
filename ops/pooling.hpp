#pragma once
/// \file
/// Pooling over the two spatial axes of (N, C, H, W) tensors, as PyTorch's
/// max_pool2d, avg_pool2d and adaptive_avg_pool2d. Each channel of each image is pooled
/// on its own; the work is split over the pool by (image, channel) planes.
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/ops/conv.hpp>

namespace tapegrad {

/// The largest value of each kH x kW window: x (N, C, H, W) -> (N, C, H_out, W_out),
/// H_out = conv_output_size(H, kH, stride.h, padding.h) (floor mode). stride 0 (the
/// default) means stride = kernel, as PyTorch's stride=None. Padding counts as -infinity
/// (never the maximum); it may be at most half the kernel. d/dx = g at the position of
/// each window's maximum (the first one, in row-major order, when several are equal; a
/// NaN is a maximum, as in PyTorch), summed where windows overlap. Throws ShapeError for
/// an input that is not 4-D or a window larger than the padded input; ValueError for a
/// kernel or stride < 1 or a padding < 0 or more than half the kernel.
TAPEGRAD_API Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0);

/// The mean of each kH x kW window, same shapes and arguments as max_pool2d. With
/// count_include_pad (PyTorch's default) every window divides by kH kW; without, by the
/// number of its elements inside the input. d/dx = g / divisor, spread over each window.
TAPEGRAD_API Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                               bool count_include_pad = true);

/// Average pooling to a fixed output size, as torch's adaptive_avg_pool2d: output cell
/// (i, j) averages rows [floor(i H / H_out), ceil((i + 1) H / H_out)) and likewise
/// columns. output_size 1 is global average pooling: (N, C, H, W) -> (N, C, 1, 1).
/// Throws ShapeError for an input that is not 4-D or has an empty H or W (a window would
/// average nothing), ValueError for an output size < 1.
TAPEGRAD_API Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

}  // namespace tapegrad
