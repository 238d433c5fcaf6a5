#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/linalg.hpp>

namespace tapegrad::nn {

namespace {
std::int64_t checked(std::int64_t in_features, std::int64_t out_features) {
  if (in_features <= 0 || out_features <= 0)
    throw ValueError(
        fmt::format("Linear: sizes must be positive, got in={} out={}", in_features, out_features));
  return in_features;
}
}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, init::Init weight_init,
               Dtype dtype, Generator& gen)
    : Module("Linear") {
  checked(in_features, out_features);
  W = register_parameter("weight",
                         init::make(weight_init, {out_features, in_features}, dtype, gen));
  b = register_parameter("bias", zeros({out_features, 1}, dtype));
}

Tensor Linear::forward(const Tensor& x) {
  if (x.dim() != 2 || x.size(0) != in_features())
    throw ShapeError(
        fmt::format("Linear: input of shape {} for a layer of {} inputs (expects ({}, m))",
                    shape_str(x.shape()), in_features(), in_features()));
  return matmul(W, x) + b;
}

std::string Linear::extra_repr() const {
  return fmt::format("in={}, out={}", in_features(), out_features());
}

}  // namespace tapegrad::nn
