#pragma once
// The course's parameter-dictionary network of the toy-set lessons (initialization,
// regularization, optimization) and of cat_classifier: W[l], b[l] as plain tensors, one
// initializer loop with the weight rule as its argument, [LINEAR -> RELU] x (L - 1) ->
// LINEAR forward, and the gradient-descent update.
#include <cstdint>
#include <functional>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tapegrad::examples {

/// The course's parameters of an L-layer network.
struct Parameters {
  std::vector<Tensor> W;  ///< W[l - 1] is the course's W[l]: (n[l], n[l-1])
  std::vector<Tensor> b;  ///< b[l - 1] is the course's b[l]: (n[l], 1)

  /// Every tensor the optimizer updates.
  std::vector<Tensor> all() const {
    std::vector<Tensor> out = W;
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  /// A copy to train, so that each compared setting starts from the same weights.
  Parameters clone() const {
    Parameters copy;
    for (const Tensor& w : W) copy.W.push_back(w.clone().requires_grad_());
    for (const Tensor& c : b) copy.b.push_back(c.clone().requires_grad_());
    return copy;
  }
};

/// W[l] = weight({n[l], n[l-1]}) for l = 1 .. L, in that order; b[l] = 0.
inline Parameters initialize_parameters(const std::vector<std::int64_t>& layers_dims,
                                        const std::function<Tensor(const Shape&)>& weight) {
  Parameters parameters;
  for (std::size_t l = 1; l < layers_dims.size(); ++l) {
    parameters.W.push_back(weight({layers_dims[l], layers_dims[l - 1]}).requires_grad_());
    parameters.b.push_back(zeros({layers_dims[l], 1}).requires_grad_());
  }
  return parameters;
}

/// [LINEAR -> RELU] x (L - 1) -> LINEAR: the last layer's Z (logits), with inverted
/// dropout on every hidden layer's activations when keep_prob < 1 (training only).
inline Tensor linear_relu_forward(const Tensor& X, const Parameters& parameters,
                                  double keep_prob = 1) {
  const std::size_t L = parameters.W.size();
  Tensor A = X;
  for (std::size_t l = 0; l + 1 < L; ++l) {
    A = relu(matmul(parameters.W[l], A) + parameters.b[l]);
    if (keep_prob < 1) A = dropout(A, 1 - keep_prob);  // A = A * D / keep_prob
  }
  return matmul(parameters.W[L - 1], A) + parameters.b[L - 1];
}

/// Gradient descent: W[l] = W[l] - learning_rate * dW[l], b[l] = b[l] - learning_rate *
/// db[l], then the gradients are zeroed for the next iteration.
inline void update_parameters(Parameters& parameters, double learning_rate) {
  NoGradGuard no_grad;
  for (std::size_t l = 0; l < parameters.W.size(); ++l) {
    parameters.W[l] -= learning_rate * parameters.W[l].grad();
    parameters.b[l] -= learning_rate * parameters.b[l].grad();
    parameters.W[l].zero_grad();
    parameters.b[l].zero_grad();
  }
}

}  // namespace tapegrad::examples
