#pragma once
/// \file
/// The residual block of ResNet-18/34 (torchvision's BasicBlock), and the same block
/// without its skip connection (the course's "plain" network) for the comparison:
///
///   y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
///
/// conv1 is 3x3 with the block's stride, conv2 3x3 with stride 1, both padding 1 and no
/// bias (the batch norm after each has one). The shortcut is x itself when the block
/// keeps the shape (in == out, stride 1), else "downsample": a 1x1 convolution with the
/// block's stride (no bias) and a BatchNorm2d, which brings x to the output's shape.
/// Parameter names are torchvision's: "conv1.weight", "bn1.weight", ...,
/// "downsample.0.weight", "downsample.1.running_mean".
#include <cstdint>
#include <memory>
#include <string>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/nn/batch_norm.hpp>
#include <tapegrad/nn/conv.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/sequential.hpp>

namespace tapegrad::nn {

/// Two 3x3 convolutions with batch norm and relu, plus (with `shortcut`) the input:
/// (N, in, H, W) -> (N, out, H_out, W_out), H_out = floor((H - 1) / stride) + 1.
class TAPEGRAD_API ResidualBlock : public Module {
 public:
  /// A block of `in_channels` -> `out_channels` whose first convolution moves by
  /// `stride`. shortcut = false leaves out the skip (and the downsample): a plain block
  /// with the same layers. The convolutions start He normal (N(0, 2 / fan_in), for the
  /// relus), drawn from `gen` in the order conv1, conv2, downsample. Throws ValueError
  /// (messages start "ResidualBlock: ") for a channel count or stride < 1.
  ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride = 1,
                bool shortcut = true, Dtype dtype = float32, Generator& gen = default_generator());

  /// (N, in, H, W) -> (N, out, H_out, W_out). Throws ShapeError naming the block and the
  /// shape for an input that is not 4-D or has another channel count.
  Tensor forward(const Tensor& x) override;

  /// C_in.
  std::int64_t in_channels() const { return in_channels_; }
  /// C_out.
  std::int64_t out_channels() const { return out_channels_; }
  /// The stride of conv1 (and of the downsample).
  std::int64_t stride() const { return stride_; }
  /// Whether the input is added back before the last relu.
  bool shortcut() const { return shortcut_; }

  std::shared_ptr<Conv2d> conv1;     ///< "conv1": 3x3, stride, padding 1, no bias
  std::shared_ptr<BatchNorm2d> bn1;  ///< "bn1"
  std::shared_ptr<Conv2d> conv2;     ///< "conv2": 3x3, stride 1, padding 1, no bias
  std::shared_ptr<BatchNorm2d> bn2;  ///< "bn2"
  /// "downsample": Sequential{1x1 Conv2d with the stride, BatchNorm2d} when the shortcut
  /// must change the shape; null otherwise (and always without shortcut).
  std::shared_ptr<Sequential> downsample;

 private:
  std::int64_t in_channels_;
  std::int64_t out_channels_;
  std::int64_t stride_;
  bool shortcut_;
};

}  // namespace tapegrad::nn
