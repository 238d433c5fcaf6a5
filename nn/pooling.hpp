#pragma once
/// \file
/// Pooling layers on (N, C, H, W) images, as PyTorch's nn.MaxPool2d, nn.AvgPool2d and
/// nn.AdaptiveAvgPool2d: each applies the op of ops/pooling.hpp and has no parameters.
///
///   nn::MaxPool2d pool(2);   // (N, 6, 28, 28) -> (N, 6, 14, 14)
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/conv.hpp>

namespace tapegrad::nn {

/// max_pool2d(x, kernel, stride, padding): the largest value of each window.
class TAPEGRAD_API MaxPool2d : public Module {
 public:
  /// Windows of `kernel` moved by `stride` (0, the default, means stride = kernel, as
  /// torch's stride=None), with `padding` on each side. Throws ValueError (messages start
  /// "MaxPool2d: ") for a kernel < 1, a stride < 0, or a padding < 0 or more than half
  /// the kernel.
  explicit MaxPool2d(Size2 kernel, Size2 stride = 0, Size2 padding = 0);
  /// (N, C, H, W) -> (N, C, H_out, W_out), H_out = conv_output_size(H, kH, stride.h,
  /// padding.h). ShapeError naming the layer and the shape for an input that is not 4-D
  /// or is smaller than the window after padding.
  Tensor forward(const Tensor& x) override;
  /// "kernel=2x2, stride=2, padding=0".
  std::string extra_repr() const override;

  Size2 kernel() const { return kernel_; }    ///< (kH, kW)
  Size2 stride() const { return stride_; }    ///< as used: the kernel where 0 was given
  Size2 padding() const { return padding_; }  ///< on each side

 private:
  Size2 kernel_;
  Size2 stride_;
  Size2 padding_;
};

/// avg_pool2d(x, kernel, stride, padding, count_include_pad): the mean of each window.
class TAPEGRAD_API AvgPool2d : public Module {
 public:
  /// As MaxPool2d's; with count_include_pad (torch's default) every window divides by
  /// kH kW, without by its elements inside the input. ValueError messages start
  /// "AvgPool2d: ".
  explicit AvgPool2d(Size2 kernel, Size2 stride = 0, Size2 padding = 0,
                     bool count_include_pad = true);
  /// (N, C, H, W) -> (N, C, H_out, W_out), as MaxPool2d; ShapeError likewise.
  Tensor forward(const Tensor& x) override;
  /// "kernel=2x2, stride=2, padding=0" (", count_include_pad=false" when so).
  std::string extra_repr() const override;

  Size2 kernel() const { return kernel_; }    ///< (kH, kW)
  Size2 stride() const { return stride_; }    ///< as used: the kernel where 0 was given
  Size2 padding() const { return padding_; }  ///< on each side
  /// Whether padded zeros count in each window's divisor.
  bool count_include_pad() const { return count_include_pad_; }

 private:
  Size2 kernel_;
  Size2 stride_;
  Size2 padding_;
  bool count_include_pad_;
};

/// adaptive_avg_pool2d(x, output_size): average pooling to a fixed output size;
/// AdaptiveAvgPool2d(1) is global average pooling.
class TAPEGRAD_API AdaptiveAvgPool2d : public Module {
 public:
  /// Pools to `output_size` (H_out, W_out); ValueError ("AdaptiveAvgPool2d: ...") for an
  /// extent < 1.
  explicit AdaptiveAvgPool2d(Size2 output_size);
  /// (N, C, H, W) -> (N, C, H_out, W_out); ShapeError for an input that is not 4-D.
  Tensor forward(const Tensor& x) override;
  /// "output_size=1x1".
  std::string extra_repr() const override;
  /// (H_out, W_out).
  Size2 output_size() const { return output_size_; }

 private:
  Size2 output_size_;
};

}  // namespace tapegrad::nn
