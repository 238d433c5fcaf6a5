#pragma once
// A thin model layer, optional sugar over plain graph code: Linear and MLP in the
// course's layout (X is (n_x, m), one example per column; W[l] is (n[l], n[l-1]),
// b[l] is (n[l], 1)). Their parameters are ordinary tensors that require grad:
// hand parameters() to an optimizer and named_parameters() to save_parameters().
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/optim/init.hpp>
#include <tapegrad/optim/named_tensors.hpp>
#include <vector>

namespace tapegrad::nn {

/// The g[l] of a layer; none is the identity (a linear output layer: logits).
enum class Activation { none, relu, sigmoid, tanh, leaky_relu };

/// "none" (or "linear"), "relu", "sigmoid", "tanh", "leaky_relu"; throws ValueError otherwise.
TAPEGRAD_API Activation activation_from_name(std::string_view name);
/// The name activation_from_name reads.
TAPEGRAD_API std::string_view activation_name(Activation a);
/// g(z) elementwise; leaky_relu uses `slope` for z < 0.
TAPEGRAD_API Tensor activate(const Tensor& z, Activation a, double slope = 0.01);

/// z = W x + b: (in, m) -> (out, m), W (out, in), b (out, 1) broadcast over columns.
class TAPEGRAD_API Linear {
 public:
  /// W from `weight_init`, b zeros; both require grad.
  Linear(std::int64_t in_features, std::int64_t out_features,
         init::Init weight_init = init::Init::xavier_uniform, Dtype dtype = float32,
         Generator& gen = default_generator());

  /// (in, m) -> (out, m): matmul(W, x) + b.
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)

  /// {W, b}.
  std::vector<Tensor> parameters() const { return {W, b}; }
  /// n[l-1]: the rows of x, the columns of W.
  std::int64_t in_features() const { return W.size(1); }
  /// n[l]: the rows of the output and of W.
  std::int64_t out_features() const { return W.size(0); }

  Tensor W;  ///< (out, in)
  Tensor b;  ///< (out, 1)
};

/// What MLP's constructors take besides layers_dims and the activations.
struct MLPOptions {
  /// Dtype of every W and b.
  Dtype dtype = float32;
  /// Weight initializer; unset: He normal before relu / leaky_relu, Xavier normal otherwise.
  std::optional<init::Init> weight_init;
  /// Slope of leaky_relu for negative inputs.
  double leaky_slope = 0.01;
  /// Generator for the weights; null: the thread's default generator.
  Generator* gen = nullptr;
};

/// A stack of Linear layers from the course's layers_dims {n_x, n1, ..., n_L}:
/// A[l] = g[l](W[l] A[l-1] + b[l]). forward returns the last layer's output, which is
/// linear unless an activation is given for it: logits, to pair with the fused losses.
class TAPEGRAD_API MLP {
 public:
  /// `hidden` for every hidden layer, the last layer linear: MLP({784, 256, 10}, "relu").
  MLP(std::vector<std::int64_t> layers_dims, const char* hidden = "relu", MLPOptions options = {});
  /// As above, `hidden` as an enum: MLP({784, 256, 10}, Activation::relu).
  MLP(std::vector<std::int64_t> layers_dims, Activation hidden, MLPOptions options = {});
  /// One activation per layer (layers_dims.size() - 1 of them), last layer included.
  MLP(std::vector<std::int64_t> layers_dims, const std::vector<std::string>& activations,
      MLPOptions options = {});
  /// One activation per layer, as enums; throws ValueError for a wrong count, fewer than
  /// 2 sizes or a size <= 0.
  MLP(std::vector<std::int64_t> layers_dims, std::vector<Activation> activations,
      MLPOptions options = {});

  /// (n_x, m) -> (n_L, m).
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }  ///< forward(x)

  /// W1, b1, W2, b2, ...: what an optimizer takes.
  std::vector<Tensor> parameters() const;
  /// ("W1", W1), ("b1", b1), ...: what save_parameters takes.
  NamedTensors named_parameters() const;

  /// Training or evaluation mode (for layers such as dropout that differ; none yet).
  void train(bool on = true) { training_ = on; }
  /// train(false).
  void eval() { training_ = false; }
  /// True until eval() or train(false) (a new MLP trains).
  bool training() const { return training_; }

  /// The layers, first to last (L of them).
  const std::vector<Linear>& layers() const { return layers_; }
  /// g[1], ..., g[L]: one per layer, the last one included.
  const std::vector<Activation>& activations() const { return activations_; }
  /// {n_x, n1, ..., n_L}, as given to the constructor.
  const std::vector<std::int64_t>& layers_dims() const { return dims_; }

 private:
  std::vector<std::int64_t> dims_;
  std::vector<Activation> activations_;
  std::vector<Linear> layers_;
  double leaky_slope_;
  bool training_ = true;
};

}  // namespace tapegrad::nn
