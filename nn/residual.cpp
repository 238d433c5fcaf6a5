#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/residual.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>

namespace tapegrad::nn {

namespace {
std::int64_t checked(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride) {
  if (in_channels < 1 || out_channels < 1)
    throw ValueError(fmt::format("ResidualBlock: channel counts must be positive, got in={} out={}",
                                 in_channels, out_channels));
  if (stride < 1)
    throw ValueError(fmt::format("ResidualBlock: stride must be >= 1, got {}", stride));
  return in_channels;
}
}  // namespace

ResidualBlock::ResidualBlock(std::int64_t in_channels, std::int64_t out_channels,
                             std::int64_t stride, bool shortcut, Dtype dtype, Generator& gen)
    : Module("ResidualBlock"),
      in_channels_(checked(in_channels, out_channels, stride)),
      out_channels_(out_channels),
      stride_(stride),
      shortcut_(shortcut) {
  const Conv2dOptions conv3x3{.stride = stride,
                              .padding = 1,
                              .bias = false,
                              .weight_init = init::Init::he_normal,
                              .dtype = dtype};
  const BatchNormOptions bn{.dtype = dtype};
  conv1 = register_module("conv1", Conv2d(in_channels, out_channels, 3, conv3x3, gen));
  bn1 = register_module("bn1", BatchNorm2d(out_channels, bn));
  Conv2dOptions second = conv3x3;
  second.stride = 1;
  conv2 = register_module("conv2", Conv2d(out_channels, out_channels, 3, second, gen));
  bn2 = register_module("bn2", BatchNorm2d(out_channels, bn));
  if (shortcut && (in_channels != out_channels || stride != 1)) {
    const Conv2dOptions conv1x1{
        .stride = stride, .bias = false, .weight_init = init::Init::he_normal, .dtype = dtype};
    downsample =
        register_module("downsample", Sequential{Conv2d(in_channels, out_channels, 1, conv1x1, gen),
                                                 BatchNorm2d(out_channels, bn)});
  }
}

Tensor ResidualBlock::forward(const Tensor& x) {
  if (!x.defined() || x.dim() != 4 || x.size(1) != in_channels_)
    throw ShapeError(fmt::format(
        "ResidualBlock: input of shape {} for a block of {} input channels (expects (N, {}, H, W))",
        x.defined() ? shape_str(x.shape()) : "undefined", in_channels_, in_channels_));
  Tensor y = relu((*bn1)((*conv1)(x)));
  y = (*bn2)((*conv2)(y));
  if (shortcut_) y = y + (downsample ? (*downsample)(x) : x);
  return relu(y);
}

}  // namespace tapegrad::nn
