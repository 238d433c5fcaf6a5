#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/reduction.hpp>

namespace tapegrad {
using kernels::map_unary;

namespace {

template <class T>
T stable_sigmoid(T v) {
  if (v >= 0) return T(1) / (T(1) + std::exp(-v));
  const T e = std::exp(v);  // e^v < 1: no overflow for very negative v
  return e / (T(1) + e);
}

// log-softmax along one axis, into out; the shared kernel of softmax, log_softmax
// and softmax_cross_entropy.
template <class T>
void log_softmax_kernel(const T* x, T* out, const kernels::AxisSplit& s) {
  // One slice per (outer, inner) pair, each done by one thread.
  parallel_for(s.outer * s.inner,
               std::max<std::int64_t>(1, kernels::kGrain / std::max<std::int64_t>(s.n, 1)),
               [&](std::int64_t e0, std::int64_t e1) {
                 for (std::int64_t e = e0; e < e1; ++e) {
                   const std::int64_t o = e / s.inner, i = e % s.inner;
                   const T* px = x + o * s.n * s.inner + i;
                   T* po = out + o * s.n * s.inner + i;
                   T m = px[0];
                   for (std::int64_t k = 1; k < s.n; ++k) m = std::max(m, px[k * s.inner]);
                   if (!std::isfinite(m)) m = 0;  // all -inf, or an inf/nan that must propagate
                   double z = 0;
                   for (std::int64_t k = 0; k < s.n; ++k)
                     z += std::exp(static_cast<double>(px[k * s.inner] - m));
                   // (x - m) - log z, not x - (m + log z): m + log z rounded to T loses the digits
                   // of log z when m is large (logits near 1000 in float32 erred by 3e-5).
                   const double log_z = std::log(z);
                   for (std::int64_t k = 0; k < s.n; ++k)
                     po[k * s.inner] =
                         static_cast<T>(static_cast<double>(px[k * s.inner] - m) - log_z);
                 }
               });
}

}  // namespace

Tensor detail::log_softmax_values(const Tensor& x, int axis) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const kernels::AxisSplit s = kernels::split_at(x.shape(), axis);
  dispatch(x.dtype(), [&]<class T>(T) { log_softmax_kernel(x.data<T>(), out.data<T>(), s); });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  kernels::check_defined("sigmoid", x);
  Tensor s = map_unary(x, [](auto v) { return stable_sigmoid(v); });
  if (!should_record({&x})) return s;
  return record("sigmoid", s, {&x}, [s = s.detach()](const Tensor& g, Needs) {
    return Grads{g * kernels::map_unary(s, [](auto v) { return v * (1 - v); })};  // s (1 - s)
  });
}

Tensor tanh(const Tensor& x) {
  kernels::check_defined("tanh", x);
  Tensor t = map_unary(x, [](auto v) { return std::tanh(v); });
  if (!should_record({&x})) return t;
  return record("tanh", t, {&x}, [t = t.detach()](const Tensor& g, Needs) {
    return Grads{g * kernels::map_unary(t, [](auto v) { return 1 - v * v; })};  // 1 - t^2
  });
}

Tensor relu(const Tensor& x) {
  kernels::check_defined("relu", x);
  // v < 0 rather than v > 0: a NaN passes through, as in PyTorch, instead of becoming 0.
  Tensor y = map_unary(x, [](auto v) { return v < 0 ? decltype(v)(0) : v; });
  if (!should_record({&x})) return y;
  // y > 0 exactly where x > 0: saving the result serves as the mask.
  return record("relu", y, {&x}, [y = y.detach()](const Tensor& g, Needs) {
    return Grads{kernels::map_same_shape(
        g, y, [](auto gv, auto yv) { return yv > 0 ? gv : decltype(gv)(0); })};
  });
}

Tensor relu_squared(const Tensor& x) {
  kernels::check_defined("relu_squared", x);
  // As relu's: a NaN passes through.
  Tensor y = map_unary(x, [](auto v) { return v < 0 ? decltype(v)(0) : v * v; });
  if (!should_record({&x})) return y;
  return record("relu_squared", y, {&x}, [x = x.detach()](const Tensor& g, Needs) {
    return Grads{kernels::map_same_shape(
        g, x, [](auto gv, auto xv) { return xv > 0 ? 2 * xv * gv : decltype(gv)(0); })};
  });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  kernels::check_defined("leaky_relu", x);
  Tensor y =
      map_unary(x, [slope](auto v) { return v > 0 ? v : static_cast<decltype(v)>(slope) * v; });
  if (!should_record({&x})) return y;
  return record("leaky_relu", y, {&x}, [x = x.detach(), slope](const Tensor& g, Needs) {
    return Grads{kernels::map_same_shape(g, x, [slope](auto gv, auto xv) {
      return xv > 0 ? gv : static_cast<decltype(gv)>(slope) * gv;
    })};
  });
}

Tensor softmax(const Tensor& x, int axis) {
  kernels::check_defined("softmax", x);
  axis = normalize_axis("softmax", axis, x.shape());
  Tensor s = map_unary(detail::log_softmax_values(x, axis), [](auto v) { return std::exp(v); });
  if (!should_record({&x})) return s;
  return record("softmax", s, {&x}, [s = s.detach(), axis](const Tensor& g, Needs) {
    return Grads{s * (g - sum(g * s, axis, true))};
  });
}

Tensor log_softmax(const Tensor& x, int axis) {
  kernels::check_defined("log_softmax", x);
  axis = normalize_axis("log_softmax", axis, x.shape());
  Tensor y = detail::log_softmax_values(x, axis);
  if (!should_record({&x})) return y;
  return record("log_softmax", y, {&x}, [y = y.detach(), axis](const Tensor& g, Needs) {
    const Tensor s = kernels::map_unary(y, [](auto v) { return std::exp(v); });
    return Grads{g - s * sum(g, axis, true)};
  });
}

}  // namespace tapegrad
