#pragma once
/// \file
/// The convolution layer on (N, C, H, W) images, as PyTorch's nn.Conv2d: parameters
/// "weight" (out, in / groups, kH, kW) and "bias" (out), so a state dict exchanges with
/// torch's directly.
///
///   nn::Conv2d conv(1, 6, 5, {.padding = 2});   // (N, 1, 28, 28) -> (N, 6, 28, 28)
#include <cstdint>
#include <string>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/conv.hpp>

namespace tapegrad::nn {

/// Conv2d's settings besides the channel counts and the kernel size:
/// `Conv2d(3, 16, 3, {.stride = 2, .padding = 1, .bias = false})`.
struct Conv2dOptions {
  Size2 stride = 1;         ///< step of the window (>= 1)
  Size2 padding = 0;        ///< zeros added on each side (>= 0)
  Size2 dilation = 1;       ///< spacing of the kernel's taps (>= 1)
  std::int64_t groups = 1;  ///< channel groups; must divide both channel counts
  bool bias = true;         ///< learn a "bias" (out); without, the layer has only "weight"
  /// How the weight starts. pytorch_default (torch's): weight and bias both
  /// U[-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in / groups * kH * kW. Any other
  /// choice (he_normal for a relu net: N(0, 2 / fan_in)) draws the weight with it and
  /// starts the bias at zero, as nn::Linear does.
  init::Init weight_init = init::Init::pytorch_default;
  Dtype dtype = float32;  ///< of the parameters, and of the inputs the layer takes
};

/// y = conv2d(x, weight, bias, stride, padding, dilation, groups) (ops/conv.hpp):
/// (N, in, H, W) -> (N, out, H_out, W_out), H_out = conv_output_size(H, kH, stride.h,
/// padding.h, dilation.h), likewise W_out.
class TAPEGRAD_API Conv2d : public Module {
 public:
  /// A layer of `in_channels` -> `out_channels` with a kernel of `kernel_size`,
  /// initialized from `gen`. Throws ValueError (messages start "Conv2d: ") for a channel
  /// count or kernel extent < 1, a stride or dilation < 1, a padding < 0, or groups < 1
  /// or not dividing both channel counts.
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
         Conv2dOptions options = {}, Generator& gen = default_generator());

  /// (N, in, H, W) -> (N, out, H_out, W_out). Throws ShapeError naming the layer and the
  /// shape for an input that is not 4-D, has another channel count, or is smaller than
  /// the kernel after padding.
  Tensor forward(const Tensor& x) override;
  /// "in=1, out=6, kernel=5x5, stride=1, padding=2" (then ", dilation=2", ", groups=2",
  /// ", bias=false" when so; an extent that differs between H and W shows as "2x1").
  std::string extra_repr() const override;

  /// C_in, the channels of the input.
  std::int64_t in_channels() const { return in_channels_; }
  /// C_out, the channels of the output (the rows of weight).
  std::int64_t out_channels() const { return out_channels_; }
  /// (kH, kW).
  Size2 kernel_size() const { return kernel_size_; }
  /// As given.
  const Conv2dOptions& options() const { return options_; }

  /// (out, in / groups, kH, kW), the registered "weight": change it in place, do not
  /// rebind it.
  Tensor weight;
  /// (out), the registered "bias"; undefined with options.bias = false.
  Tensor bias;

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  Size2 kernel_size_;
  Conv2dOptions options_;
};

}  // namespace tapegrad::nn
