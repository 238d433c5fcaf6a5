#pragma once
/// \file
/// The batch normalization layers: normalize each feature by the mini-batch's
/// statistics while training, by running averages of them in evaluation. BatchNorm
/// takes the feature axis as an option; BatchNorm2d is PyTorch's layer for images
/// (N, C, H, W), one feature per channel.
#include <cstdint>
#include <string>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// BatchNorm's settings: BatchNorm(256, {.axis = 1}) for PyTorch's (m, features).
struct BatchNormOptions {
  /// Feature axis: 0 for the course's (features, m), 1 for (m, features) or (N, C, H, W).
  int axis = 0;
  /// Weight of the new batch's statistic in the running averages (PyTorch's).
  double momentum = 0.1;
  /// Added to the variance before its square root.
  double eps = 1e-5;
  /// Learned "weight" (ones) and "bias" (zeros); without, y is the normalized x.
  bool affine = true;
  /// Keep "running_mean" and "running_var" for evaluation; without, evaluation also
  /// normalizes by the batch's statistics.
  bool track_running_stats = true;
  /// Dtype of the parameters and buffers, and of the inputs the layer takes.
  Dtype dtype = float32;
};

/// y = (x - mean) / sqrt(var + eps) * weight + bias per feature (ops/normalization.hpp,
/// batch_norm): the batch's mean and biased variance while training (updating the
/// running averages), the running averages after eval().
class TAPEGRAD_API BatchNorm : public Module {
 public:
  /// Throws ValueError for num_features <= 0, momentum outside [0, 1] or eps <= 0
  /// (messages start "BatchNorm: ").
  explicit BatchNorm(std::int64_t num_features, BatchNormOptions options = {});
  /// batch_norm(x, running_mean, running_var, weight, bias, training(), momentum, eps,
  /// axis); in evaluation without tracked statistics, the batch's statistics.
  Tensor forward(const Tensor& x) override;
  /// "features=256, axis=0, momentum=0.1, eps=1e-05" (", affine=false" and
  /// ", track_running_stats=false" when so).
  std::string extra_repr() const override;
  /// C: the extent of the feature axis.
  std::int64_t num_features() const { return num_features_; }
  /// As given (BatchNorm2d: with axis 1).
  const BatchNormOptions& options() const { return options_; }

  /// (C), the registered "weight" (ones); undefined without affine.
  Tensor weight;
  /// (C), the registered "bias" (zeros); undefined without affine.
  Tensor bias;
  /// (C), the registered buffer "running_mean" (zeros); undefined without tracking.
  Tensor running_mean;
  /// (C), the registered buffer "running_var" (ones); undefined without tracking.
  Tensor running_var;

 protected:
  /// As BatchNorm(num_features, options), named `name` in messages and to_string().
  BatchNorm(std::string name, std::int64_t num_features, BatchNormOptions options);

 private:
  std::int64_t num_features_;
  BatchNormOptions options_;
};

/// Batch normalization of images, as PyTorch's nn.BatchNorm2d: statistics per channel
/// over (N, H, W), the same parameters and buffers as BatchNorm ("weight", "bias",
/// "running_mean", "running_var", each (C)).
class TAPEGRAD_API BatchNorm2d : public BatchNorm {
 public:
  /// BatchNorm of `num_channels` features along axis 1; options.axis is ignored (set to
  /// 1). ValueError as BatchNorm's, the messages starting "BatchNorm2d: ".
  explicit BatchNorm2d(std::int64_t num_channels, BatchNormOptions options = {});
  /// (N, C, H, W) -> the same shape. Throws ShapeError naming the layer and the shape for
  /// an input that is not 4-D or has another channel count.
  Tensor forward(const Tensor& x) override;
};

}  // namespace tapegrad::nn
