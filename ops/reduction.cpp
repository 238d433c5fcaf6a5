#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/arithmetic.hpp>
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

// For each slice along `axis`: the index of its first largest element (NaN wins, as
// in numpy, so that a NaN is never hidden).
std::vector<std::int64_t> argmax_along(const Tensor& x, int axis) {
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
          if (std::isnan(b)) break;  // the first NaN is the max, as in PyTorch
          if (v > b || std::isnan(v)) best = k;
        }
        idx[o * s.inner + i] = best;
      }
  });
  return idx;
}

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
  return sum(x) * (1.0 / static_cast<double>(x.numel()));
}

Tensor mean(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("mean", x);
  axis = normalize_axis("mean", axis, x.shape());
  check_nonempty_axis("mean", x, axis);
  return sum(x, axis, keepdims) * (1.0 / static_cast<double>(x.size(axis)));
}

Tensor max(const Tensor& x) {
  kernels::check_defined("max", x);
  if (x.numel() == 0)
    throw ShapeError(fmt::format("max: tensor of shape {} is empty", shape_str(x.shape())));
  return max(reshape(x, {x.numel()}), 0, false);
}

Tensor max(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("max", x);
  axis = normalize_axis("max", axis, x.shape());
  check_nonempty_axis("max", x, axis);
  const auto idx = argmax_along(x, axis);
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
  return record("max", out, {&x}, [idx, s, shape = x.shape()](const Tensor& g, Needs) {
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

Tensor argmax(const Tensor& x) {
  kernels::check_defined("argmax", x);
  if (x.numel() == 0)
    throw ShapeError(fmt::format("argmax: tensor of shape {} is empty", shape_str(x.shape())));
  return argmax(reshape(x.detach(), {x.numel()}), 0, false);
}

Tensor argmax(const Tensor& x, int axis, bool keepdims) {
  kernels::check_defined("argmax", x);
  axis = normalize_axis("argmax", axis, x.shape());
  check_nonempty_axis("argmax", x, axis);
  const auto idx = argmax_along(x, axis);
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axis, keepdims), x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    for (std::size_t i = 0; i < idx.size(); ++i) out.data<T>()[i] = static_cast<T>(idx[i]);
  });
  return out;
}

}  // namespace tapegrad
