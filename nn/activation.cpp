#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/ops/activation.hpp>

namespace tapegrad::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }

Tensor LeakyReLU::forward(const Tensor& x) { return leaky_relu(x, slope_); }
std::string LeakyReLU::extra_repr() const { return fmt::format("slope={}", slope_); }

Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Tensor Tanh::forward(const Tensor& x) { return tapegrad::tanh(x); }

std::string AlongAxis::extra_repr() const { return fmt::format("axis={}", axis_); }

Tensor Softmax::forward(const Tensor& x) { return softmax(x, axis()); }

Tensor LogSoftmax::forward(const Tensor& x) { return log_softmax(x, axis()); }

Functional::Functional(Function f, std::string name) : Module(std::move(name)), f_(std::move(f)) {
  if (!f_) throw ValueError(fmt::format("{}: the function is empty", type_name()));
}

}  // namespace tapegrad::nn
