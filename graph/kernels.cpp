#include <tapegrad/graph/kernels.hpp>

namespace tapegrad::kernels {

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    throw DtypeError(fmt::format("{}: dtypes differ: {} {} and {} {}", op, dtype_name(a.dtype()),
                                 shape_str(a.shape()), dtype_name(b.dtype()),
                                 shape_str(b.shape())));
}

void check_defined(const char* op, const Tensor& t) {
  if (!t.defined()) throw Error(fmt::format("{}: tensor is undefined", op));
}

AxisSplit split_at(const Shape& shape, int axis) {
  AxisSplit s;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (i < axis)
      s.outer *= shape[i];
    else if (i == axis)
      s.n = shape[i];
    else
      s.inner *= shape[i];
  }
  return s;
}

Tensor expand(const Tensor& x, const Shape& shape, const char* op) {
  check_defined(op, x);
  if (x.shape() == shape) return x;
  if (x.shape().size() > shape.size() || broadcast_shapes(op, x.shape(), shape) != shape)
    throw ShapeError(fmt::format("{}: cannot broadcast shape {} to {}", op, shape_str(x.shape()),
                                 shape_str(shape)));
  Tensor out = Tensor::empty(shape, x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    broadcast_loop(shape, x.data<T>(), x.shape(), x.data<T>(), x.shape(), out.data<T>(),
                   [](T v, T) { return v; });
  });
  return out;
}

Tensor sum_axis_keepdim(const Tensor& x, int axis) {
  Shape out_shape = x.shape();
  out_shape[axis] = 1;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  const AxisSplit s = split_at(x.shape(), axis);
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    T* po = out.data<T>();
    if (s.inner == 1) {
      parallel_for(s.outer, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(s.n, 1)),
                   [&](std::int64_t o0, std::int64_t o1) {
                     for (std::int64_t o = o0; o < o1; ++o) {
                       const T* row = px + o * s.n;
                       double acc = 0;  // a long row sums in double: float32 loses digits fast
                       for (std::int64_t k = 0; k < s.n; ++k) acc += row[k];
                       po[o] = static_cast<T>(acc);
                     }
                   });
      return;
    }
    // Split over the kept elements (outer x inner), so that each output element is
    // summed by one thread in one order: the result does not depend on the threads.
    parallel_for(s.outer * s.inner,
                 std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(s.n, 1)),
                 [&](std::int64_t e0, std::int64_t e1) {
                   for (std::int64_t o = e0 / s.inner; o * s.inner < e1; ++o) {
                     const std::int64_t i0 = std::max(e0, o * s.inner) - o * s.inner;
                     const std::int64_t i1 = std::min(e1, (o + 1) * s.inner) - o * s.inner;
                     T* dst = po + o * s.inner;
                     for (std::int64_t i = i0; i < i1; ++i) dst[i] = 0;
                     for (std::int64_t k = 0; k < s.n; ++k) {
                       const T* src = px + (o * s.n + k) * s.inner;
                       for (std::int64_t i = i0; i < i1; ++i) dst[i] += src[i];
                     }
                   }
                 });
  });
  return out;
}

Tensor sum_all(const Tensor& x) {
  Tensor out = Tensor::empty({}, x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    *out.data<T>() = static_cast<T>(sum_terms(x.numel(), [px](std::int64_t i) { return px[i]; }));
  });
  return out;
}

}  // namespace tapegrad::kernels
