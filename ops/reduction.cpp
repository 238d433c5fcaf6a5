#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape_ops.hpp>

namespace tapegrad {
namespace {

Shape reduced_shape(const Shape& shape, int axis, bool keepdims) {
  Shape out = shape;
  if (keepdims)
    out[axis] = 1;
  else
    out.erase(out.begin() + axis);
  return out;
}

// For each slice along `axis`: the index of its first largest (Better is >) or
// smallest (Better is <) element. NaN wins, as in numpy, so that a NaN is never hidden.
template <class Better>
std::vector<std::int64_t> best_along(const Tensor& x, int axis, Better better) {
  const kernels::AxisSplit s = kernels::split_at(x.shape(), axis);
  std::vector<std::int64_t> idx(static_cast<std::size_t>(s.outer * s.inner), 0);
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* p = x.data<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t i = 0; i < s.inner; ++i) {
        const T* base = p + o * s.n * s.inner + i;
        std::int64_t best = 0;
        for (std::int64_t k = 1; k < s.n; ++k) {
          const T v = base[k * s.inner], b = base[best * s.inner];
          if (std::isnan(b)) break;  // the first NaN wins, as in PyTorch
          if (better(v, b) || std::isnan(v)) best = k;
        }
        idx[o * s.inner + i] = best;
      }
  });
  return idx;
}
constexpr auto kLarger = [](auto v, auto b) { return v > b; };
constexpr auto kSmaller = [](auto v, auto b) { return v < b; };

void check_nonempty_axis(const char* op, const Tensor& x, int axis) {
  if (x.size(axis) == 0)
    throw ShapeError(
        fmt::format("{}: axis {} of shape {} is empty", op, axis, shape_str(x.shape())));
}

}  // namespace

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  Tensor out = kernels::expand(x, shape, "broadcast_to");
  if (out.impl_ptr() == x.impl_ptr()) out = x.clone();
  return record("broadcast_to", out, {&x}, [](const Tensor& g, Needs) { return Grads{g}; });
}

Tensor sum(const Tensor& x) {
  kernels::check_defined("sum", x);
  Tensor out = kernels::sum_all(x);
  return record("sum", out, {&x}, [shape = x.shape()](const Tensor& g, Needs) {
    return Grads{kernels::expand(g, shape)};
  });
}

Tensor sum(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("sum", x);
  axis = normalize_axis("sum", axis, x.shape());
  Tensor out = kernels::sum_axis_keepdim(x, axis);
  if (!keepdims) out = reshape(out.detach(), reduced_shape(x.shape(), axis, false));
  return record("sum", out, {&x}, [shape = x.shape(), axis](const Tensor& g, Needs) {
    return Grads{kernels::expand(reshape(g, reduced_shape(shape, axis, true)), shape)};
  });
}

Tensor mean(const Tensor& x) {
  kernels::check_defined("mean", x);
  if (x.numel() == 0)
    throw ShapeError(fmt::format("mean: tensor of shape {} is empty", shape_str(x.shape())));
  return sum(x) / static_cast<double>(x.numel());
}

Tensor mean(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("mean", x);
  axis = normalize_axis("mean", axis, x.shape());
  check_nonempty_axis("mean", x, axis);
  return sum(x, axis, keepdims) / static_cast<double>(x.size(axis));
}

namespace {

// max or min along `axis` at the indices `idx` picked by best_along.
Tensor pick_along(const char* name, const Tensor& x, int axis, bool keepdims,
                  const std::vector<std::int64_t>& idx) {
  const kernels::AxisSplit s = kernels::split_at(x.shape(), axis);
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axis, keepdims), x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* p = x.data<T>();
    T* po = out.data<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t i = 0; i < s.inner; ++i)
        po[o * s.inner + i] = p[(o * s.n + idx[o * s.inner + i]) * s.inner + i];
  });
  if (!should_record({&x})) return out;
  return record(name, out, {&x}, [idx, s, shape = x.shape()](const Tensor& g, Needs) {
    // The gradient flows only to the element that was picked.
    Tensor dx = zeros(shape, g.dtype());
    dispatch(g.dtype(), [&]<class T>(T) {
      const T* pg = g.data<T>();
      T* pd = dx.data<T>();
      for (std::int64_t o = 0; o < s.outer; ++o)
        for (std::int64_t i = 0; i < s.inner; ++i)
          pd[(o * s.n + idx[o * s.inner + i]) * s.inner + i] = pg[o * s.inner + i];
    });
    return Grads{dx};
  });
}

// The indices of best_along as a tensor of x's dtype (no gradient).
Tensor indices_along(const Tensor& x, int axis, bool keepdims,
                     const std::vector<std::int64_t>& idx) {
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axis, keepdims), x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    for (std::size_t i = 0; i < idx.size(); ++i) out.data<T>()[i] = static_cast<T>(idx[i]);
  });
  return out;
}

void check_nonempty(const char* op, const Tensor& x) {
  kernels::check_defined(op, x);
  if (x.numel() == 0)
    throw ShapeError(fmt::format("{}: tensor of shape {} is empty", op, shape_str(x.shape())));
}

}  // namespace

Tensor max(const Tensor& x) {
  check_nonempty("max", x);
  return max(reshape(x, {x.numel()}), 0, false);
}

Tensor max(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("max", x);
  axis = normalize_axis("max", axis, x.shape());
  check_nonempty_axis("max", x, axis);
  return pick_along("max", x, axis, keepdims, best_along(x, axis, kLarger));
}

Tensor min(const Tensor& x) {
  check_nonempty("min", x);
  return min(reshape(x, {x.numel()}), 0, false);
}

Tensor min(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("min", x);
  axis = normalize_axis("min", axis, x.shape());
  check_nonempty_axis("min", x, axis);
  return pick_along("min", x, axis, keepdims, best_along(x, axis, kSmaller));
}

Tensor argmax(const Tensor& x) {
  check_nonempty("argmax", x);
  return argmax(reshape(x.detach(), {x.numel()}), 0, false);
}

Tensor argmax(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("argmax", x);
  axis = normalize_axis("argmax", axis, x.shape());
  check_nonempty_axis("argmax", x, axis);
  return indices_along(x, axis, keepdims, best_along(x, axis, kLarger));
}

Tensor argmin(const Tensor& x) {
  check_nonempty("argmin", x);
  return argmin(reshape(x.detach(), {x.numel()}), 0, false);
}

Tensor argmin(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("argmin", x);
  axis = normalize_axis("argmin", axis, x.shape());
  check_nonempty_axis("argmin", x, axis);
  return indices_along(x, axis, keepdims, best_along(x, axis, kSmaller));
}

// var, std and logsumexp are compositions of recorded ops: their gradients follow
// from the rules above and need none of their own.

Tensor var(const Tensor& x) {
  kernels::check_defined("var", x);
  return var(reshape(x, {x.numel()}), 0, false, 1.0);
}

Tensor var(const Tensor& x, int axis, bool keepdims, double correction) {
  kernels::check_defined("var", x);
  axis = normalize_axis("var", axis, x.shape());
  const double dof = static_cast<double>(x.size(axis)) - correction;
  if (!(dof > 0))
    throw ValueError(fmt::format(
        "var: axis {} of shape {} has {} elements, which correction {} leaves {} degrees of "
        "freedom (n - correction must be positive)",
        axis, shape_str(x.shape()), x.size(axis), correction, dof));
  const Tensor d = x - mean(x, axis, true);  // deviations from the mean
  return sum(d * d, axis, keepdims) / dof;
}

Tensor std(const Tensor& x) { return sqrt(var(x)); }

Tensor std(const Tensor& x, int axis, bool keepdims, double correction) {
  return sqrt(var(x, axis, keepdims, correction));
}

Tensor logsumexp(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("logsumexp", x);
  axis = normalize_axis("logsumexp", axis, x.shape());
  check_nonempty_axis("logsumexp", x, axis);
  // The shift m is a constant: lse = m + log(sum(e^(x - m))) for any m, so its
  // gradient adds nothing. A non-finite max (all -inf, or an inf) shifts by 0 instead,
  // so that -inf - -inf does not make a NaN.
  const Tensor m = kernels::map_unary(max(x.detach(), axis, true),
                                      [](auto v) { return std::isfinite(v) ? v : decltype(v)(0); });
  Tensor out = log(sum(exp(x - m), axis, true)) + m;
  return keepdims ? out : reshape(out, reduced_shape(x.shape(), axis, false));
}

}  // namespace tapegrad
