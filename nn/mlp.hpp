#pragma once
/// \file
/// MLP: the course's L-layer network from its layers_dims {n_x, n1, ..., n_L}, as a
/// Sequential of Linear layers and activations:
/// A[l] = g[l](W[l] A[l-1] + b[l]).
///
///   nn::MLP model({784, 256, 10}, nn::ReLU());                  // logits out
///   nn::MLP net({2, 4, 1}, {nn::Tanh(), nn::Sigmoid()});        // one activation per layer
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/linear.hpp>
#include <tapegrad/nn/sequential.hpp>
#include <vector>

namespace tapegrad::nn {

/// What MLP's constructors take besides layers_dims and the activations.
struct MLPOptions {
  /// Dtype of every W and b.
  Dtype dtype = float32;
  /// Weight initializer; unset: He normal before ReLU / LeakyReLU, Xavier normal otherwise.
  std::optional<init::Init> weight_init = std::nullopt;
  /// Generator for the weights; null: the thread's default generator.
  Generator* gen = nullptr;
};

/// A stack of Linear layers and activations. Identity activations are left out of the
/// steps, so MLP({784, 256, 10}) names its parameters "0.weight", "0.bias",
/// "2.weight", "2.bias", as PyTorch's Sequential(Linear, ReLU, Linear).
class TAPEGRAD_API MLP : public Sequential {
 public:
  /// `hidden` after every hidden layer (one module shared by all), the last layer
  /// linear: its output is logits, for the fused losses.
  explicit MLP(const std::vector<std::int64_t>& layers_dims, const AnyModule& hidden = ReLU(),
               MLPOptions options = {});
  /// One activation per layer (layers_dims.size() - 1 of them), the last one included
  /// (Identity for logits). Throws ValueError for a wrong count, fewer than 2 sizes or a
  /// size <= 0.
  MLP(std::vector<std::int64_t> layers_dims, std::vector<AnyModule> activations,
      MLPOptions options = {});

  /// Activations are modules, not names: a name is refused at compile time, with the
  /// form to write instead (MLP(dims, nn::ReLU())).
  template <std::size_t N>
  MLP(const std::vector<std::int64_t>& /*layers_dims*/, const char (&/*name*/)[N],
      MLPOptions /*options*/ = {})
      : Sequential("MLP") {
    static_assert(N == 0,
                  "nn::MLP takes activation modules, not names: write nn::MLP(dims, nn::ReLU())");
  }
  /// The same for a list of names: write MLP(dims, {nn::Tanh(), nn::Sigmoid()}).
  template <class Name>
  requires std::convertible_to<Name, std::string_view> MLP(
      const std::vector<std::int64_t>& /*layers_dims*/, std::initializer_list<Name> /*names*/,
      MLPOptions /*options*/ = {})
      : Sequential("MLP") {
    static_assert(!std::convertible_to<Name, std::string_view>,
                  "nn::MLP takes activation modules, not names: write "
                  "nn::MLP(dims, {nn::Tanh(), nn::Sigmoid()})");
  }

  /// L, the number of Linear layers.
  std::size_t num_layers() const { return layers_.size(); }
  /// Layer l of the course, l = 1..L (`model.layer(1).W` is W1); IndexError otherwise.
  Linear& layer(std::size_t l) const;
  /// g[l], l = 1..L (an Identity for a linear layer); IndexError otherwise.
  const Module& activation(std::size_t l) const;
  /// {n_x, n1, ..., n_L}, as given to the constructor.
  const std::vector<std::int64_t>& layers_dims() const { return dims_; }

 private:
  std::vector<std::int64_t> dims_;
  std::vector<std::shared_ptr<Linear>> layers_;
  std::vector<std::shared_ptr<Module>> activations_;
};

}  // namespace tapegrad::nn
