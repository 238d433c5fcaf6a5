#pragma once
// Weight initializers, all drawn from a seeded Generator (the thread's default one
// unless given), so manual_seed(s) makes a model's starting point reproducible.
// A weight has the course's layout W[l]: (n[l], n[l-1]) = (fan_out, fan_in).
#include <cstdint>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad::init {

/// The fan-in and fan-out of a weight, as fans() returns them.
struct Fans {
  ///@{
  /// Inputs of each unit and units each input feeds: what the Xavier and He std divide by.
  std::int64_t fan_in = 0, fan_out = 0;
  ///@}
};
/// (fan_out, fan_in, k...) -> fan_in = shape[1] * k..., fan_out = shape[0] * k...
/// (PyTorch's rule); throws ShapeError for fewer than 2 axes.
TAPEGRAD_API Fans fans(const Shape& shape);

/// All zeros (the course's choice for b; for W it leaves every unit the same).
TAPEGRAD_API Tensor zeros(const Shape& shape, Dtype dtype = float32);
/// The course's small random weights: randn * scale (scale 0.01).
TAPEGRAD_API Tensor small_random(const Shape& shape, Dtype dtype = float32,
                                 Generator& gen = default_generator(), double scale = 0.01);
/// Glorot normal: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)).
TAPEGRAD_API Tensor xavier_normal(const Shape& shape, Dtype dtype = float32,
                                  Generator& gen = default_generator(), double gain = 1.0);
/// Glorot uniform: U[-a, a), a = gain sqrt(6 / (fan_in + fan_out)).
TAPEGRAD_API Tensor xavier_uniform(const Shape& shape, Dtype dtype = float32,
                                   Generator& gen = default_generator(), double gain = 1.0);
/// He normal (the course's He init, for relu): N(0, std^2), std = sqrt(2 / fan_in).
TAPEGRAD_API Tensor he_normal(const Shape& shape, Dtype dtype = float32,
                              Generator& gen = default_generator());
/// He uniform: U[-a, a), a = sqrt(6 / fan_in).
TAPEGRAD_API Tensor he_uniform(const Shape& shape, Dtype dtype = float32,
                               Generator& gen = default_generator());
/// PyTorch's kaiming_uniform_(w, a) for a leaky relu of slope `a`: U[-b, b),
/// b = sqrt(6 / ((1 + a^2) fan_in)). a = 0 is he_uniform; a = sqrt(5), the default of
/// torch's nn.Linear and nn.Conv2d weights, gives b = 1 / sqrt(fan_in).
TAPEGRAD_API Tensor kaiming_uniform(const Shape& shape, double a, Dtype dtype = float32,
                                    Generator& gen = default_generator());
/// U[-bound, bound), any shape (a bias of shape (out) included): PyTorch's bias default
/// is uniform(shape, 1 / sqrt(fan_in of the weight)).
TAPEGRAD_API Tensor uniform(const Shape& shape, double bound, Dtype dtype = float32,
                            Generator& gen = default_generator());

/// The initializers by name, for layers that take one as an option. pytorch_default is
/// kaiming_uniform with a = sqrt(5): U[-1/sqrt(fan_in), 1/sqrt(fan_in)), what torch's
/// nn.Linear and nn.Conv2d start from.
enum class Init {
  zeros,
  small_random,
  xavier_normal,
  xavier_uniform,
  he_normal,
  he_uniform,
  pytorch_default
};
/// Init::he_normal -> he_normal(shape, dtype, gen), and so on.
TAPEGRAD_API Tensor make(Init init, const Shape& shape, Dtype dtype = float32,
                         Generator& gen = default_generator());
/// "zeros", "small_random" (or "random"), "xavier_normal", "xavier_uniform",
/// "he_normal" (or "he"), "he_uniform", "pytorch_default" (or "pytorch"); throws
/// ValueError otherwise.
TAPEGRAD_API Init init_from_name(std::string_view name);

}  // namespace tapegrad::init
