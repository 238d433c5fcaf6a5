#include <fmt/format.h>

#include <cmath>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/batch_norm.hpp>
#include <tapegrad/ops/normalization.hpp>

namespace tapegrad::nn {

BatchNorm::BatchNorm(std::int64_t num_features, BatchNormOptions options)
    : Module("BatchNorm"), num_features_(num_features), options_(options) {
  if (num_features <= 0)
    throw ValueError(fmt::format("BatchNorm: num_features must be positive, got {}", num_features));
  if (!(options.momentum >= 0.0 && options.momentum <= 1.0))
    throw ValueError(
        fmt::format("BatchNorm: momentum must be in [0, 1], got {}", options.momentum));
  if (!(options.eps > 0.0 && std::isfinite(options.eps)))
    throw ValueError(
        fmt::format("BatchNorm: eps must be a finite number > 0, got {}", options.eps));
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

}  // namespace tapegrad::nn
