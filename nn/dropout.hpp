#pragma once
/// \file
/// The dropout layer: inverted dropout while training, the identity in evaluation.
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Zeroes each element with probability p and scales the rest by 1 / (1 - p) while
/// training() (ops/normalization.hpp, dropout); returns x itself after eval().
/// The course's keep_prob is 1 - p.
class TAPEGRAD_API Dropout : public Module {
 public:
  /// Masks drawn from `gen`, which must outlive the layer. Throws ValueError for p
  /// outside [0, 1) ("Dropout: p must be in [0, 1), got 1").
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());
  /// training(): dropout(x, p, gen); eval: x.
  Tensor forward(const Tensor& x) override;
  /// "p=0.5".
  std::string extra_repr() const override;
  /// The probability of zeroing an element.
  double p() const { return p_; }

 private:
  double p_;
  Generator* gen_;
};

}  // namespace tapegrad::nn
