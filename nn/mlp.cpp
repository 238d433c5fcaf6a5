#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/mlp.hpp>

namespace tapegrad::nn {

namespace {

std::vector<AnyModule> hidden_then_linear(std::size_t n_dims, const AnyModule& hidden) {
  if (n_dims < 2) return {};  // the constructor reports it
  std::vector<AnyModule> acts(n_dims - 1, hidden);
  acts.back() = Identity();
  return acts;
}

bool is_rectifier(const Module& m) {
  return dynamic_cast<const ReLU*>(&m) != nullptr || dynamic_cast<const LeakyReLU*>(&m) != nullptr;
}

}  // namespace

MLP::MLP(const std::vector<std::int64_t>& layers_dims, const AnyModule& hidden, MLPOptions options)
    : MLP(layers_dims, hidden_then_linear(layers_dims.size(), hidden), options) {}

MLP::MLP(std::vector<std::int64_t> layers_dims, std::vector<AnyModule> activations,
         MLPOptions options)
    : Sequential("MLP"), dims_(std::move(layers_dims)) {
  if (dims_.size() < 2)
    throw ValueError(
        fmt::format("MLP: layers_dims needs at least 2 sizes (n_x, n_L), got {}", dims_));
  for (std::int64_t n : dims_)
    if (n <= 0) throw ValueError(fmt::format("MLP: layer sizes must be positive, got {}", dims_));
  if (activations.size() != dims_.size() - 1)
    throw ValueError(fmt::format("MLP: {} activations for {} layers (layers_dims {})",
                                 activations.size(), dims_.size() - 1, dims_));
  Generator& gen = options.gen ? *options.gen : default_generator();
  for (std::size_t l = 1; l < dims_.size(); ++l) {
    const std::shared_ptr<Module>& g = activations[l - 1].ptr();
    const init::Init w_init = options.weight_init.value_or(
        is_rectifier(*g) ? init::Init::he_normal : init::Init::xavier_normal);
    layers_.push_back(std::make_shared<Linear>(dims_[l - 1], dims_[l], w_init, options.dtype, gen));
    push_back(layers_.back());
    activations_.push_back(g);
    if (dynamic_cast<const Identity*>(g.get()) == nullptr) push_back(g);
  }
}

Linear& MLP::layer(std::size_t l) const {
  if (l < 1 || l > layers_.size())
    throw IndexError(fmt::format("MLP: layer {} out of range 1..{}", l, layers_.size()));
  return *layers_[l - 1];
}

const Module& MLP::activation(std::size_t l) const {
  if (l < 1 || l > activations_.size())
    throw IndexError(fmt::format("MLP: activation {} out of range 1..{}", l, activations_.size()));
  return *activations_[l - 1];
}

}  // namespace tapegrad::nn
