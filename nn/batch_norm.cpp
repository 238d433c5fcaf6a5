#include <fmt/format.h>

#include <cmath>
#include <string>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/batch_norm.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <utility>

namespace tapegrad::nn {

BatchNorm::BatchNorm(std::int64_t num_features, BatchNormOptions options)
    : BatchNorm("BatchNorm", num_features, options) {}

BatchNorm::BatchNorm(std::string name, std::int64_t num_features, BatchNormOptions options)
    : Module(std::move(name)), num_features_(num_features), options_(options) {
  if (num_features <= 0)
    throw ValueError(
        fmt::format("{}: num_features must be positive, got {}", type_name(), num_features));
  if (!(options.momentum >= 0.0 && options.momentum <= 1.0))
    throw ValueError(
        fmt::format("{}: momentum must be in [0, 1], got {}", type_name(), options.momentum));
  if (!(options.eps > 0.0 && std::isfinite(options.eps)))
    throw ValueError(
        fmt::format("{}: eps must be a finite number > 0, got {}", type_name(), options.eps));
  if (options.affine) {
    weight = register_parameter("weight", ones({num_features}, options.dtype));
    bias = register_parameter("bias", zeros({num_features}, options.dtype));
  }
  if (options.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}, options.dtype));
    running_var = register_buffer("running_var", ones({num_features}, options.dtype));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  const BatchNormOptions& o = options_;
  // Without running statistics there is nothing else to normalize by: the batch's, always.
  const bool use_batch = training() || !o.track_running_stats;
  return batch_norm(x, running_mean, running_var, weight, bias, use_batch, o.momentum, o.eps,
                    o.axis);
}

std::string BatchNorm::extra_repr() const {
  const BatchNormOptions& o = options_;
  return fmt::format("features={}, axis={}, momentum={}, eps={}{}{}", num_features_, o.axis,
                     o.momentum, o.eps, o.affine ? "" : ", affine=false",
                     o.track_running_stats ? "" : ", track_running_stats=false");
}

namespace {
BatchNormOptions on_channels(BatchNormOptions options) {
  options.axis = 1;
  return options;
}
}  // namespace

BatchNorm2d::BatchNorm2d(std::int64_t num_channels, BatchNormOptions options)
    : BatchNorm("BatchNorm2d", num_channels, on_channels(options)) {}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (!x.defined() || x.dim() != 4 || x.size(1) != num_features())
    throw ShapeError(fmt::format(
        "BatchNorm2d: input of shape {} for {} channels (expects (N, {}, "
        "H, W))",
        x.defined() ? shape_str(x.shape()) : "undefined", num_features(), num_features()));
  return BatchNorm::forward(x);
}

}  // namespace tapegrad::nn
