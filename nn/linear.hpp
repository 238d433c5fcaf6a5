#pragma once
/// \file
/// The fully connected layer in the course's layout: X is (n_x, m), one example per
/// column; W[l] is (n[l], n[l-1]), b[l] is (n[l], 1). Its parameters are named
/// "weight" and "bias", as PyTorch's nn.Linear (whose bias is (out,): io maps the two).
#include <cstdint>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// z = W x + b: (in, m) -> (out, m), W (out, in), b (out, 1) broadcast over columns.
class TAPEGRAD_API Linear : public Module {
 public:
  /// W from `weight_init`, b zeros; both require grad. Throws ValueError for a size <= 0.
  Linear(std::int64_t in_features, std::int64_t out_features,
         init::Init weight_init = init::Init::xavier_uniform, Dtype dtype = float32,
         Generator& gen = default_generator());

  /// (in, m) -> (out, m): matmul(W, x) + b; ShapeError for another input shape.
  Tensor forward(const Tensor& x) override;
  /// "in=784, out=256".
  std::string extra_repr() const override;

  /// n[l-1]: the rows of x, the columns of W.
  std::int64_t in_features() const { return W.size(1); }
  /// n[l]: the rows of the output and of W.
  std::int64_t out_features() const { return W.size(0); }

  /// (out, in), the registered "weight": change it in place, do not rebind it.
  Tensor W;
  /// (out, 1), the registered "bias": change it in place, do not rebind it.
  Tensor b;
};

}  // namespace tapegrad::nn
