#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>

namespace tapegrad {
using kernels::map_unary;

Tensor exp(const Tensor& x) {
  kernels::check_defined("exp", x);
  Tensor y = map_unary(x, [](auto v) { return std::exp(v); });
  if (!should_record({&x})) return y;
  return record("exp", y, {&x}, [y = y.detach()](const Tensor& g, Needs) { return Grads{g * y}; });
}

Tensor log(const Tensor& x) {
  kernels::check_defined("log", x);
  Tensor y = map_unary(x, [](auto v) { return std::log(v); });
  if (!should_record({&x})) return y;
  return record("log", y, {&x}, [x = x.detach()](const Tensor& g, Needs) { return Grads{g / x}; });
}

Tensor log1p(const Tensor& x) {
  kernels::check_defined("log1p", x);
  Tensor y = map_unary(x, [](auto v) { return std::log1p(v); });
  if (!should_record({&x})) return y;
  return record("log1p", y, {&x},
                [x = x.detach()](const Tensor& g, Needs) { return Grads{g / (x + 1.0)}; });
}

Tensor expm1(const Tensor& x) {
  kernels::check_defined("expm1", x);
  Tensor y = map_unary(x, [](auto v) { return std::expm1(v); });
  if (!should_record({&x})) return y;
  // d/dx (e^x - 1) = e^x = y + 1
  return record("expm1", y, {&x},
                [y = y.detach()](const Tensor& g, Needs) { return Grads{g * (y + 1.0)}; });
}

Tensor pow(const Tensor& x, double p) {
  kernels::check_defined("pow", x);
  if (p == 2.0) return square(x);
  Tensor y = map_unary(x, [p](auto v) { return std::pow(v, static_cast<decltype(v)>(p)); });
  if (!should_record({&x})) return y;
  return record("pow", y, {&x}, [x = x.detach(), p](const Tensor& g, Needs) {
    const Tensor d = map_unary(x, [p](auto v) {
      using T = decltype(v);
      // p x^(p-1); x^0 is constant, so its slope is 0 even at x = 0 (not 0 * inf).
      return p == 0 ? T(0) : static_cast<T>(p) * std::pow(v, static_cast<T>(p - 1));
    });
    return Grads{g * d};
  });
}

Tensor square(const Tensor& x) {
  kernels::check_defined("square", x);
  Tensor y = map_unary(x, [](auto v) { return v * v; });
  if (!should_record({&x})) return y;
  return record("square", y, {&x},
                [x = x.detach()](const Tensor& g, Needs) { return Grads{g * x * 2.0}; });
}

Tensor sqrt(const Tensor& x) {
  kernels::check_defined("sqrt", x);
  Tensor y = map_unary(x, [](auto v) { return std::sqrt(v); });
  if (!should_record({&x})) return y;
  return record("sqrt", y, {&x},
                [y = y.detach()](const Tensor& g, Needs) { return Grads{g / (y * 2.0)}; });
}

Tensor abs(const Tensor& x) {
  kernels::check_defined("abs", x);
  Tensor y = map_unary(x, [](auto v) { return std::abs(v); });
  if (!should_record({&x})) return y;
  return record("abs", y, {&x}, [x = x.detach()](const Tensor& g, Needs) {
    const Tensor sign = map_unary(x, [](auto v) {
      using T = decltype(v);
      return v > 0 ? T(1) : (v < 0 ? T(-1) : T(0));
    });
    return Grads{g * sign};
  });
}

Tensor clamp(const Tensor& x, double lo, double hi) {
  kernels::check_defined("clamp", x);
  if (lo > hi)
    throw ValueError(fmt::format("clamp: lower bound {} is above upper bound {}", lo, hi));
  Tensor y = map_unary(x, [lo, hi](auto v) {
    using T = decltype(v);
    return v < T(lo) ? T(lo) : (v > T(hi) ? T(hi) : v);
  });
  if (!should_record({&x})) return y;
  return record("clamp", y, {&x}, [x = x.detach(), lo, hi](const Tensor& g, Needs) {
    const Tensor inside = map_unary(x, [lo, hi](auto v) {
      using T = decltype(v);
      return v >= T(lo) && v <= T(hi) ? T(1) : T(0);
    });
    return Grads{g * inside};
  });
}

}  // namespace tapegrad
