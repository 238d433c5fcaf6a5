#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/optim/layers.hpp>

namespace tapegrad::nn {

Activation activation_from_name(std::string_view name) {
  if (name == "none" || name == "linear") return Activation::none;
  if (name == "relu") return Activation::relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  if (name == "leaky_relu") return Activation::leaky_relu;
  throw ValueError(
      fmt::format("activation: unknown name '{}' (relu, sigmoid, tanh, leaky_relu, none)", name));
}

std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::none:
      return "none";
    case Activation::relu:
      return "relu";
    case Activation::sigmoid:
      return "sigmoid";
    case Activation::tanh:
      return "tanh";
    case Activation::leaky_relu:
      return "leaky_relu";
  }
  return "?";
}

Tensor activate(const Tensor& z, Activation a, double slope) {
  switch (a) {
    case Activation::none:
      return z;
    case Activation::relu:
      return relu(z);
    case Activation::sigmoid:
      return sigmoid(z);
    case Activation::tanh:
      return tapegrad::tanh(z);
    case Activation::leaky_relu:
      return leaky_relu(z, slope);
  }
  return z;
}

// ---- Linear -----------------------------------------------------------------------

Linear::Linear(std::int64_t in_features, std::int64_t out_features, init::Init weight_init,
               Dtype dtype, Generator& gen) {
  if (in_features <= 0 || out_features <= 0)
    throw ValueError(
        fmt::format("Linear: sizes must be positive, got in={} out={}", in_features, out_features));
  W = init::make(weight_init, {out_features, in_features}, dtype, gen);
  b = zeros({out_features, 1}, dtype);
  W.requires_grad_();
  b.requires_grad_();
}

Tensor Linear::forward(const Tensor& x) const {
  if (x.dim() != 2 || x.size(0) != in_features())
    throw ShapeError(
        fmt::format("Linear: input of shape {} for a layer of {} inputs (expects ({}, m))",
                    shape_str(x.shape()), in_features(), in_features()));
  return matmul(W, x) + b;
}

// ---- MLP --------------------------------------------------------------------------

namespace {
std::vector<Activation> hidden_then_linear(std::size_t n_dims, Activation hidden) {
  if (n_dims < 2) return {};  // the constructor reports it
  std::vector<Activation> acts(n_dims - 1, hidden);
  acts.back() = Activation::none;
  return acts;
}

std::vector<Activation> parse_all(const std::vector<std::string>& names) {
  std::vector<Activation> acts;
  acts.reserve(names.size());
  for (const auto& n : names) acts.push_back(activation_from_name(n));
  return acts;
}
}  // namespace

MLP::MLP(std::vector<std::int64_t> layers_dims, const char* hidden, MLPOptions options)
    : MLP(layers_dims, activation_from_name(hidden), options) {}

MLP::MLP(std::vector<std::int64_t> layers_dims, Activation hidden, MLPOptions options)
    : MLP(layers_dims, hidden_then_linear(layers_dims.size(), hidden), options) {}

MLP::MLP(std::vector<std::int64_t> layers_dims, const std::vector<std::string>& activations,
         MLPOptions options)
    : MLP(std::move(layers_dims), parse_all(activations), options) {}

MLP::MLP(std::vector<std::int64_t> layers_dims, std::vector<Activation> activations,
         MLPOptions options)
    : dims_(std::move(layers_dims)),
      activations_(std::move(activations)),
      leaky_slope_(options.leaky_slope) {
  if (dims_.size() < 2)
    throw ValueError(
        fmt::format("MLP: layers_dims needs at least 2 sizes (n_x, n_L), got {}", dims_));
  for (std::int64_t n : dims_)
    if (n <= 0) throw ValueError(fmt::format("MLP: layer sizes must be positive, got {}", dims_));
  if (activations_.size() != dims_.size() - 1)
    throw ValueError(fmt::format("MLP: {} activations for {} layers (layers_dims {})",
                                 activations_.size(), dims_.size() - 1, dims_));
  Generator& gen = options.gen ? *options.gen : default_generator();
  layers_.reserve(dims_.size() - 1);
  for (std::size_t l = 1; l < dims_.size(); ++l) {
    const Activation a = activations_[l - 1];
    const bool rectifier = a == Activation::relu || a == Activation::leaky_relu;
    const init::Init w_init =
        options.weight_init.value_or(rectifier ? init::Init::he_normal : init::Init::xavier_normal);
    layers_.emplace_back(dims_[l - 1], dims_[l], w_init, options.dtype, gen);
  }
}

Tensor MLP::forward(const Tensor& x) const {
  Tensor a = x;
  for (std::size_t l = 0; l < layers_.size(); ++l)
    a = activate(layers_[l](a), activations_[l], leaky_slope_);
  return a;
}

std::vector<Tensor> MLP::parameters() const {
  std::vector<Tensor> out;
  out.reserve(2 * layers_.size());
  for (const Linear& layer : layers_) {
    out.push_back(layer.W);
    out.push_back(layer.b);
  }
  return out;
}

NamedTensors MLP::named_parameters() const {
  NamedTensors out;
  out.reserve(2 * layers_.size());
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    out.emplace_back(fmt::format("W{}", l + 1), layers_[l].W);
    out.emplace_back(fmt::format("b{}", l + 1), layers_[l].b);
  }
  return out;
}

}  // namespace tapegrad::nn
