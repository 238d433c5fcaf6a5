#pragma once
/// \file
/// Activation modules, for Sequential: each applies the op of the same name
/// (ops/activation.hpp) and has no parameters. Functional wraps any function of a
/// tensor, a user's own op included, as a step of a Sequential.
#include <functional>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/nn/module.hpp>
#include <utility>

namespace tapegrad::nn {

/// relu(x) = max(x, 0).
class TAPEGRAD_API ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;  ///< relu(x)
};

/// leaky_relu(x) = x for x > 0, slope * x otherwise.
class TAPEGRAD_API LeakyReLU : public Module {
 public:
  /// `slope` for x < 0 (PyTorch's negative_slope).
  explicit LeakyReLU(double slope = 0.01) : Module("LeakyReLU"), slope_(slope) {}
  Tensor forward(const Tensor& x) override;  ///< leaky_relu(x, slope)
  std::string extra_repr() const override;   ///< "slope=0.01"
  double slope() const { return slope_; }    ///< the slope for x < 0

 private:
  double slope_;
};

/// sigmoid(x) = 1 / (1 + e^-x).
class TAPEGRAD_API Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;  ///< sigmoid(x)
};

/// tanh(x).
class TAPEGRAD_API Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;  ///< tanh(x)
};

/// The base of modules that normalize along one axis (Softmax, LogSoftmax).
class TAPEGRAD_API AlongAxis : public Module {
 public:
  int axis() const { return axis_; }        ///< the axis normalized along
  std::string extra_repr() const override;  ///< "axis=0"

 protected:
  /// A module named `type_name` that works along `axis`.
  AlongAxis(std::string type_name, int axis) : Module(std::move(type_name)), axis_(axis) {}

 private:
  int axis_;
};

/// softmax(x, axis): axis 0 for the course's (classes, m) scores.
class TAPEGRAD_API Softmax : public AlongAxis {
 public:
  /// Normalizes along `axis`.
  explicit Softmax(int axis) : AlongAxis("Softmax", axis) {}
  Tensor forward(const Tensor& x) override;  ///< softmax(x, axis)
};

/// log_softmax(x, axis).
class TAPEGRAD_API LogSoftmax : public AlongAxis {
 public:
  /// Normalizes along `axis`.
  explicit LogSoftmax(int axis) : AlongAxis("LogSoftmax", axis) {}
  Tensor forward(const Tensor& x) override;  ///< log_softmax(x, axis)
};

/// x itself: a linear output layer's "activation".
class TAPEGRAD_API Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& x) override { return x; }  ///< x
};

/// Any function of a tensor as a module without parameters:
/// `nn::Functional([](const Tensor& z) { return z * sigmoid(z); }, "SiLU")`.
class TAPEGRAD_API Functional : public Module {
 public:
  /// The function each forward() calls.
  using Function = std::function<Tensor(const Tensor&)>;
  /// `f` as a step named `name`; throws ValueError for an empty function.
  explicit Functional(Function f, std::string name = "Functional");
  Tensor forward(const Tensor& x) override { return f_(x); }  ///< f(x)

 private:
  Function f_;
};

}  // namespace tapegrad::nn
