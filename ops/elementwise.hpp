#pragma once
/// \file
/// Elementwise math functions, each with its derivative beside it. Every result has
/// the input's shape.
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// e^x. d/dx = e^x.
TAPEGRAD_API Tensor exp(const Tensor& x);
/// Natural log. d/dx = 1/x.
TAPEGRAD_API Tensor log(const Tensor& x);
/// log(1 + x), accurate for small x. d/dx = 1 / (1 + x).
TAPEGRAD_API Tensor log1p(const Tensor& x);
/// e^x - 1, accurate for small x. d/dx = e^x.
TAPEGRAD_API Tensor expm1(const Tensor& x);
/// x^p for a scalar p. d/dx = p x^(p-1).
TAPEGRAD_API Tensor pow(const Tensor& x, double p);
/// x^2. d/dx = 2x.
TAPEGRAD_API Tensor square(const Tensor& x);
/// sqrt(x). d/dx = 1 / (2 sqrt(x)).
TAPEGRAD_API Tensor sqrt(const Tensor& x);
/// |x|. d/dx = sign(x) (0 at 0).
TAPEGRAD_API Tensor abs(const Tensor& x);
/// x limited to [lo, hi]. d/dx = 1 inside, 0 where clamped.
TAPEGRAD_API Tensor clamp(const Tensor& x, double lo, double hi);

}  // namespace tapegrad
