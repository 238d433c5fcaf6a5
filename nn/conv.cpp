#include <fmt/format.h>

#include <cmath>
#include <string>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/init.hpp>

namespace tapegrad::nn {

namespace {

// "5x5" for a kernel; a stride or padding the same both ways shows as one number.
std::string extent_str(Size2 s, bool always_both) {
  if (s.h == s.w && !always_both) return fmt::format("{}", s.h);
  return fmt::format("{}x{}", s.h, s.w);
}

void check_arguments(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel,
                     const Conv2dOptions& o) {
  if (in_channels < 1 || out_channels < 1)
    throw ValueError(fmt::format("Conv2d: channel counts must be positive, got in={} out={}",
                                 in_channels, out_channels));
  if (kernel.h < 1 || kernel.w < 1)
    throw ValueError(
        fmt::format("Conv2d: kernel_size must be >= 1, got {}", extent_str(kernel, true)));
  if (o.stride.h < 1 || o.stride.w < 1)
    throw ValueError(
        fmt::format("Conv2d: stride must be >= 1, got {}", extent_str(o.stride, false)));
  if (o.padding.h < 0 || o.padding.w < 0)
    throw ValueError(
        fmt::format("Conv2d: padding must be >= 0, got {}", extent_str(o.padding, false)));
  if (o.dilation.h < 1 || o.dilation.w < 1)
    throw ValueError(
        fmt::format("Conv2d: dilation must be >= 1, got {}", extent_str(o.dilation, false)));
  if (o.groups < 1 || in_channels % o.groups != 0 || out_channels % o.groups != 0)
    throw ValueError(fmt::format(
        "Conv2d: groups must be >= 1 and divide both channel counts, got groups={} for in={} "
        "out={}",
        o.groups, in_channels, out_channels));
}

}  // namespace

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size,
               Conv2dOptions options, Generator& gen)
    : Module("Conv2d"),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_size_(kernel_size),
      options_(options) {
  check_arguments(in_channels, out_channels, kernel_size, options);
  const Shape shape = {out_channels, in_channels / options.groups, kernel_size.h, kernel_size.w};
  weight = register_parameter("weight", init::make(options.weight_init, shape, options.dtype, gen));
  if (options.bias) {
    // torch's reset_parameters: the bias uniform in +-1/sqrt(fan_in of the weight).
    const bool torch_like = options.weight_init == init::Init::pytorch_default;
    const double bound = 1.0 / std::sqrt(static_cast<double>(init::fans(shape).fan_in));
    bias = register_parameter("bias", torch_like
                                          ? init::uniform({out_channels}, bound, options.dtype, gen)
                                          : init::zeros({out_channels}, options.dtype));
  }
}

Tensor Conv2d::forward(const Tensor& x) {
  if (!x.defined() || x.dim() != 4 || x.size(1) != in_channels_)
    throw ShapeError(
        fmt::format("Conv2d: input of shape {} for a layer of {} input channels "
                    "(expects (N, {}, H, W))",
                    x.defined() ? shape_str(x.shape()) : "undefined", in_channels_, in_channels_));
  const Conv2dOptions& o = options_;
  const std::int64_t span_h = o.dilation.h * (kernel_size_.h - 1) + 1;
  const std::int64_t span_w = o.dilation.w * (kernel_size_.w - 1) + 1;
  if (x.size(2) + 2 * o.padding.h < span_h || x.size(3) + 2 * o.padding.w < span_w)
    throw ShapeError(fmt::format(
        "Conv2d: input of shape {} is smaller than the kernel: {}x{} with padding {}, the "
        "kernel {} (spanning {}x{})",
        shape_str(x.shape()), x.size(2) + 2 * o.padding.h, x.size(3) + 2 * o.padding.w,
        extent_str(o.padding, false), extent_str(kernel_size_, true), span_h, span_w));
  return conv2d(x, weight, bias, o.stride, o.padding, o.dilation, o.groups);
}

std::string Conv2d::extra_repr() const {
  const Conv2dOptions& o = options_;
  std::string s = fmt::format("in={}, out={}, kernel={}, stride={}, padding={}", in_channels_,
                              out_channels_, extent_str(kernel_size_, true),
                              extent_str(o.stride, false), extent_str(o.padding, false));
  if (o.dilation != Size2(1)) s += fmt::format(", dilation={}", extent_str(o.dilation, false));
  if (o.groups != 1) s += fmt::format(", groups={}", o.groups);
  if (!o.bias) s += ", bias=false";
  return s;
}

}  // namespace tapegrad::nn
