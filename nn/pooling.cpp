#include <fmt/format.h>

#include <string>
#include <string_view>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/pooling.hpp>
#include <tapegrad/ops/pooling.hpp>

namespace tapegrad::nn {

namespace {

std::string extent_str(Size2 s) { return fmt::format("{}x{}", s.h, s.w); }

// A stride or padding the same both ways shows as one number.
std::string compact_str(Size2 s) { return s.h == s.w ? fmt::format("{}", s.h) : extent_str(s); }

// The window arguments both pooling layers take; returns the stride as used.
Size2 checked_window(std::string_view layer, Size2 kernel, Size2 stride, Size2 padding) {
  if (kernel.h < 1 || kernel.w < 1)
    throw ValueError(fmt::format("{}: kernel must be >= 1, got {}", layer, extent_str(kernel)));
  if (stride.h < 0 || stride.w < 0)
    throw ValueError(fmt::format("{}: stride must be >= 1 (or 0 for the kernel), got {}", layer,
                                 compact_str(stride)));
  // As torch: a window that could lie wholly in the padding has nothing to pool.
  if (padding.h < 0 || padding.w < 0 || 2 * padding.h > kernel.h || 2 * padding.w > kernel.w)
    throw ValueError(
        fmt::format("{}: padding must be in [0, kernel / 2], got {} for a kernel of {}", layer,
                    compact_str(padding), extent_str(kernel)));
  return {stride.h == 0 ? kernel.h : stride.h, stride.w == 0 ? kernel.w : stride.w};
}

void check_image(std::string_view layer, const Tensor& x) {
  if (!x.defined() || x.dim() != 4)
    throw ShapeError(fmt::format("{}: input of shape {} (expects (N, C, H, W))", layer,
                                 x.defined() ? shape_str(x.shape()) : "undefined"));
}

void check_window_fits(std::string_view layer, const Tensor& x, Size2 kernel, Size2 padding) {
  check_image(layer, x);
  if (x.size(2) + 2 * padding.h < kernel.h || x.size(3) + 2 * padding.w < kernel.w)
    throw ShapeError(
        fmt::format("{}: input of shape {} is smaller than the window {} (padding {} on each side)",
                    layer, shape_str(x.shape()), extent_str(kernel), extent_str(padding)));
}

std::string window_repr(Size2 kernel, Size2 stride, Size2 padding) {
  const auto one = [](Size2 s) { return s.h == s.w ? fmt::format("{}", s.h) : extent_str(s); };
  return fmt::format("kernel={}, stride={}, padding={}", extent_str(kernel), one(stride),
                     one(padding));
}

}  // namespace

MaxPool2d::MaxPool2d(Size2 kernel, Size2 stride, Size2 padding)
    : Module("MaxPool2d"),
      kernel_(kernel),
      stride_(checked_window("MaxPool2d", kernel, stride, padding)),
      padding_(padding) {}

Tensor MaxPool2d::forward(const Tensor& x) {
  check_window_fits("MaxPool2d", x, kernel_, padding_);
  return max_pool2d(x, kernel_, stride_, padding_);
}

std::string MaxPool2d::extra_repr() const { return window_repr(kernel_, stride_, padding_); }

AvgPool2d::AvgPool2d(Size2 kernel, Size2 stride, Size2 padding, bool count_include_pad)
    : Module("AvgPool2d"),
      kernel_(kernel),
      stride_(checked_window("AvgPool2d", kernel, stride, padding)),
      padding_(padding),
      count_include_pad_(count_include_pad) {}

Tensor AvgPool2d::forward(const Tensor& x) {
  check_window_fits("AvgPool2d", x, kernel_, padding_);
  return avg_pool2d(x, kernel_, stride_, padding_, count_include_pad_);
}

std::string AvgPool2d::extra_repr() const {
  return window_repr(kernel_, stride_, padding_) +
         (count_include_pad_ ? "" : ", count_include_pad=false");
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size)
    : Module("AdaptiveAvgPool2d"), output_size_(output_size) {
  if (output_size.h < 1 || output_size.w < 1)
    throw ValueError(fmt::format("AdaptiveAvgPool2d: output_size must be >= 1, got {}",
                                 extent_str(output_size)));
}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  check_image("AdaptiveAvgPool2d", x);
  return adaptive_avg_pool2d(x, output_size_);
}

std::string AdaptiveAvgPool2d::extra_repr() const {
  return fmt::format("output_size={}", extent_str(output_size_));
}

}  // namespace tapegrad::nn
