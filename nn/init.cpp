#include <fmt/format.h>

#include <cmath>
#include <tapegrad/nn/init.hpp>

namespace tapegrad::init {

namespace {

// Fills a new tensor with draw() converted to the dtype: one dispatch, then a plain loop.
template <class Draw>
Tensor filled(const Shape& shape, Dtype dtype, Draw draw) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, [&]<class T>(T) {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(draw());
  });
  return t;
}

Tensor normal(const Shape& shape, Dtype dtype, Generator& gen, double std) {
  return filled(shape, dtype, [&] { return std * gen.normal(); });
}

Tensor symmetric_uniform(const Shape& shape, Dtype dtype, Generator& gen, double bound) {
  return filled(shape, dtype, [&] { return bound * (2.0 * gen.uniform() - 1.0); });
}

}  // namespace

Fans fans(const Shape& shape) {
  if (shape.size() < 2)
    throw ShapeError(fmt::format(
        "init: fan_in and fan_out need a weight of at least 2 axes (fan_out, fan_in), got {}",
        shape_str(shape)));
  std::int64_t receptive = 1;
  for (std::size_t k = 2; k < shape.size(); ++k) receptive *= shape[k];
  return {shape[1] * receptive, shape[0] * receptive};
}

Tensor zeros(const Shape& shape, Dtype dtype) { return tapegrad::zeros(shape, dtype); }

Tensor small_random(const Shape& shape, Dtype dtype, Generator& gen, double scale) {
  return normal(shape, dtype, gen, scale);
}

Tensor xavier_normal(const Shape& shape, Dtype dtype, Generator& gen, double gain) {
  const Fans f = fans(shape);
  return normal(shape, dtype, gen,
                gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out)));
}

Tensor xavier_uniform(const Shape& shape, Dtype dtype, Generator& gen, double gain) {
  const Fans f = fans(shape);
  return symmetric_uniform(shape, dtype, gen,
                           gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out)));
}

Tensor he_normal(const Shape& shape, Dtype dtype, Generator& gen) {
  return normal(shape, dtype, gen, std::sqrt(2.0 / static_cast<double>(fans(shape).fan_in)));
}

Tensor he_uniform(const Shape& shape, Dtype dtype, Generator& gen) {
  return symmetric_uniform(shape, dtype, gen,
                           std::sqrt(6.0 / static_cast<double>(fans(shape).fan_in)));
}

Tensor kaiming_uniform(const Shape& shape, double a, Dtype dtype, Generator& gen) {
  // gain sqrt(2 / (1 + a^2)) times sqrt(3 / fan_in): the uniform of that std.
  return symmetric_uniform(
      shape, dtype, gen,
      std::sqrt(6.0 / ((1.0 + a * a) * static_cast<double>(fans(shape).fan_in))));
}

Tensor uniform(const Shape& shape, double bound, Dtype dtype, Generator& gen) {
  if (!(bound >= 0.0 && std::isfinite(bound)))
    throw ValueError(
        fmt::format("init::uniform: bound must be a finite number >= 0, got {}", bound));
  return symmetric_uniform(shape, dtype, gen, bound);
}

Tensor make(Init init, const Shape& shape, Dtype dtype, Generator& gen) {
  switch (init) {
    case Init::zeros:
      return tapegrad::zeros(shape, dtype);
    case Init::small_random:
      return small_random(shape, dtype, gen);
    case Init::xavier_normal:
      return xavier_normal(shape, dtype, gen);
    case Init::xavier_uniform:
      return xavier_uniform(shape, dtype, gen);
    case Init::he_normal:
      return he_normal(shape, dtype, gen);
    case Init::he_uniform:
      return he_uniform(shape, dtype, gen);
    case Init::pytorch_default:
      return kaiming_uniform(shape, std::sqrt(5.0), dtype, gen);
  }
  throw ValueError("init::make: unknown initializer");
}

Init init_from_name(std::string_view name) {
  if (name == "zeros") return Init::zeros;
  if (name == "small_random" || name == "random") return Init::small_random;
  if (name == "xavier_normal") return Init::xavier_normal;
  if (name == "xavier_uniform") return Init::xavier_uniform;
  if (name == "he_normal" || name == "he") return Init::he_normal;
  if (name == "he_uniform") return Init::he_uniform;
  if (name == "pytorch_default" || name == "pytorch") return Init::pytorch_default;
  throw ValueError(fmt::format(
      "init: unknown initializer '{}' (zeros, small_random, xavier_normal, xavier_uniform, "
      "he_normal, he_uniform, pytorch_default)",
      name));
}

}  // namespace tapegrad::init
