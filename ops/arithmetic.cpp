#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/arithmetic.hpp>

namespace tapegrad {
using kernels::map_binary;
using kernels::map_unary;

namespace {
template <class T>
T cast(double s) {
  return static_cast<T>(s);
}
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary("add", a, b, [](auto x, auto y) { return x + y; });
  return record("add", out, {&a, &b}, [](const Tensor& g, Needs) { return Grads{g, g}; });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary("sub", a, b, [](auto x, auto y) { return x - y; });
  return record("sub", out, {&a, &b}, [](const Tensor& g, Needs needs) {
    return Grads{g, needs[1] ? neg(g) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary("mul", a, b, [](auto x, auto y) { return x * y; });
  if (!should_record({&a, &b})) return out;
  return record("mul", out, {&a, &b},
                [a = a.detach(), b = b.detach()](const Tensor& g, Needs needs) {
                  return Grads{needs[0] ? g * b : Tensor(), needs[1] ? g * a : Tensor()};
                });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary("div", a, b, [](auto x, auto y) { return x / y; });
  if (!should_record({&a, &b})) return out;
  return record(
      "div", out, {&a, &b}, [a = a.detach(), b = b.detach()](const Tensor& g, Needs needs) {
        // d/da a/b = 1/b ; d/db a/b = -a/b^2
        return Grads{needs[0] ? g / b : Tensor(), needs[1] ? -(g * a) / (b * b) : Tensor()};
      });
}

Tensor neg(const Tensor& x) {
  kernels::check_defined("neg", x);
  Tensor out = map_unary(x, [](auto v) { return -v; });
  return record("neg", out, {&x}, [](const Tensor& g, Needs) { return Grads{neg(g)}; });
}

Tensor add(const Tensor& x, double s) {
  kernels::check_defined("add", x);
  Tensor out = map_unary(x, [s](auto v) { return v + cast<decltype(v)>(s); });
  return record("add_scalar", out, {&x}, [](const Tensor& g, Needs) { return Grads{g}; });
}

Tensor mul(const Tensor& x, double s) {
  kernels::check_defined("mul", x);
  Tensor out = map_unary(x, [s](auto v) { return v * cast<decltype(v)>(s); });
  return record("mul_scalar", out, {&x}, [s](const Tensor& g, Needs) { return Grads{g * s}; });
}

Tensor sub(double s, const Tensor& x) {
  kernels::check_defined("sub", x);
  Tensor out = map_unary(x, [s](auto v) { return cast<decltype(v)>(s) - v; });
  return record("rsub_scalar", out, {&x}, [](const Tensor& g, Needs) { return Grads{neg(g)}; });
}

Tensor div(double s, const Tensor& x) {
  kernels::check_defined("div", x);
  Tensor out = map_unary(x, [s](auto v) { return cast<decltype(v)>(s) / v; });
  if (!should_record({&x})) return out;
  return record("rdiv_scalar", out, {&x}, [x = x.detach(), s](const Tensor& g, Needs) {
    return Grads{g * (-s) / (x * x)};  // d/dx s/x = -s/x^2
  });
}

Tensor div(const Tensor& x, double s) {
  kernels::check_defined("div", x);
  Tensor out = map_unary(x, [s](auto v) { return v / cast<decltype(v)>(s); });
  return record("div_scalar", out, {&x}, [s](const Tensor& g, Needs) { return Grads{g / s}; });
}

namespace {
// maximum(a, b) when pick_a(a, b) is a > b, minimum when it is a < b. NaN wins, as
// in PyTorch. The gradient of a is g * w, of b g * (1 - w), with w = 1 where a is
// picked, 0 where b is, and 1/2 at a tie (PyTorch splits it: neither input is the
// one that "won", and the halves keep d/da + d/db = 1 as for max(x, x) = x).
template <class Pick>
Tensor extremum(const char* name, const Tensor& a, const Tensor& b, Pick pick_a) {
  Tensor out = map_binary(name, a, b, [pick_a](auto x, auto y) {
    return std::isnan(x) || pick_a(x, y) ? x : y;  // y when y is NaN, or picked
  });
  if (!should_record({&a, &b})) return out;
  return record(name, out, {&a, &b},
                [name, pick_a, a = a.detach(), b = b.detach()](const Tensor& g, Needs needs) {
                  const Tensor w = map_binary(name, a, b, [pick_a](auto x, auto y) {
                    using T = decltype(x);
                    return x == y ? T(0.5) : (pick_a(x, y) ? T(1) : T(0));
                  });
                  return Grads{needs[0] ? g * w : Tensor(), needs[1] ? g * (1.0 - w) : Tensor()};
                });
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extremum("maximum", a, b, [](auto x, auto y) { return x > y; });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return extremum("minimum", a, b, [](auto x, auto y) { return x < y; });
}

Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  kernels::check_defined("where", mask);
  kernels::check_same_dtype("where", mask, a);
  kernels::check_same_dtype("where", a, b);
  const Shape shape =
      broadcast_shapes("where", broadcast_shapes("where", mask.shape(), a.shape()), b.shape());
  const Tensor keep = map_unary(kernels::expand(mask, shape),
                                [](auto m) { return m != 0 ? decltype(m)(1) : decltype(m)(0); });
  const Tensor av = kernels::expand(a, shape), bv = kernels::expand(b, shape);
  // Picked, not blended: keep*a + (1-keep)*b would turn an unpicked inf into NaN.
  Tensor out = kernels::map_same_shape(keep, av, [](auto m, auto x) { return m != 0 ? x : 0; });
  dispatch(out.dtype(), [&]<class T>(T) {
    const T* pk = keep.data<T>();
    const T* pb = bv.data<T>();
    T* po = out.data<T>();
    for (std::int64_t i = 0; i < out.numel(); ++i)
      if (pk[i] == 0) po[i] = pb[i];
  });
  return record("where", out, {&a, &b}, [keep](const Tensor& g, Needs needs) {
    return Grads{needs[0] ? g * keep : Tensor(), needs[1] ? g * (1.0 - keep) : Tensor()};
  });
}

#define TAPEGRAD_COMPARISON(name, op)                                                           \
  Tensor name(const Tensor& a, const Tensor& b) {                                               \
    return map_binary(#name, a, b,                                                              \
                      [](auto x, auto y) { return x op y ? decltype(x)(1) : decltype(x)(0); }); \
  }
TAPEGRAD_COMPARISON(greater, >)
TAPEGRAD_COMPARISON(less, <)
TAPEGRAD_COMPARISON(greater_equal, >=)
TAPEGRAD_COMPARISON(less_equal, <=)
TAPEGRAD_COMPARISON(equal, ==)
TAPEGRAD_COMPARISON(not_equal, !=)
#undef TAPEGRAD_COMPARISON

Tensor operator>(const Tensor& a, const Tensor& b) { return greater(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return less(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return greater_equal(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return less_equal(a, b); }
Tensor operator==(const Tensor& a, const Tensor& b) { return equal(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return not_equal(a, b); }
// A scalar is a [] tensor of the other side's dtype (checked defined first, so an
// undefined tensor gets the usual message).
#define TAPEGRAD_SCALAR_COMPARISON(op, name)      \
  Tensor operator op(const Tensor& a, double s) { \
    kernels::check_defined(#name, a);             \
    return name(a, scalar(s, a.dtype()));         \
  }                                               \
  Tensor operator op(double s, const Tensor& a) { \
    kernels::check_defined(#name, a);             \
    return name(scalar(s, a.dtype()), a);         \
  }
TAPEGRAD_SCALAR_COMPARISON(>, greater)
TAPEGRAD_SCALAR_COMPARISON(<, less)
TAPEGRAD_SCALAR_COMPARISON(>=, greater_equal)
TAPEGRAD_SCALAR_COMPARISON(<=, less_equal)
TAPEGRAD_SCALAR_COMPARISON(==, equal)
TAPEGRAD_SCALAR_COMPARISON(!=, not_equal)
#undef TAPEGRAD_SCALAR_COMPARISON

Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return a.add_(b, -1.0); }
Tensor& operator*=(Tensor& a, const Tensor& b) {
  a.check_mutable("mul_");
  kernels::update_binary("mul_", a, b, [](auto x, auto y) { return x * y; });
  return a;
}
Tensor& operator/=(Tensor& a, const Tensor& b) {
  a.check_mutable("div_");
  kernels::update_binary("div_", a, b, [](auto x, auto y) { return x / y; });
  return a;
}
Tensor& operator+=(Tensor& a, double s) { return a.add_(s); }
Tensor& operator-=(Tensor& a, double s) { return a.add_(-s); }
Tensor& operator*=(Tensor& a, double s) { return a.mul_(s); }
Tensor& operator/=(Tensor& a, double s) {  // a true division, as a / s
  a.check_mutable("div_");
  kernels::update_binary("div_", a, scalar(s, a.dtype()), [](auto x, auto y) { return x / y; });
  return a;
}

}  // namespace tapegrad
