#include <algorithm>
#include <cmath>
#include <cstring>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/object_pool.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

Tensor Tensor::empty(const Shape& shape, Dtype dtype) {
  check_shape("empty", shape);
  auto impl = detail::make_pooled<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->numel = tapegrad::numel(shape);
  impl->storage = Storage::allocate(static_cast<std::size_t>(impl->numel) * dtype_size(dtype));
  return Tensor(std::move(impl));
}

TensorImpl& Tensor::impl() const {
  if (!impl_)
    throw Error(
        "tensor is undefined (a default-constructed Tensor, or a grad() before any backward)");
  return *impl_;
}

std::int64_t Tensor::size(int axis) const { return shape()[normalize_axis("size", axis, shape())]; }

double Tensor::item() const {
  if (numel() != 1)
    throw ShapeError(fmt::format("item: tensor of shape {} has {} elements, not 1",
                                 shape_str(shape()), numel()));
  return dispatch(dtype(), [&]<class T>(T) { return static_cast<double>(*data<T>()); });
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out(static_cast<std::size_t>(numel()));
  dispatch(dtype(), [&]<class T>(T) { std::copy_n(data<T>(), numel(), out.begin()); });
  return out;
}

double Tensor::at(std::initializer_list<std::int64_t> index) const {
  if (index.size() != shape().size())
    throw IndexError(
        fmt::format("at: {} indices for a tensor of shape {}", index.size(), shape_str(shape())));
  std::int64_t offset = 0;
  std::size_t axis = 0;
  for (std::int64_t i : index) {
    const std::int64_t extent = shape()[axis];
    if (i < -extent || i >= extent)
      throw IndexError(fmt::format("at: index {} is out of range for axis {} of shape {}", i, axis,
                                   shape_str(shape())));
    offset = offset * extent + (i < 0 ? i + extent : i);
    ++axis;
  }
  return dispatch(dtype(), [&]<class T>(T) { return static_cast<double>(data<T>()[offset]); });
}

Tensor Tensor::detach() const {
  auto impl = detail::make_pooled<TensorImpl>();
  impl->storage = this->impl().storage;
  impl->shape = shape();
  impl->dtype = dtype();
  impl->numel = numel();
  return Tensor(std::move(impl));
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  std::memcpy(out.raw_data(), raw_data(), static_cast<std::size_t>(numel()) * dtype_size(dtype()));
  return out;
}

Tensor Tensor::to(Dtype target) const {
  if (target == dtype()) return clone();
  Tensor out = empty(shape(), target);
  dispatch(dtype(), [&]<class S>(S) {
    dispatch(target, [&]<class D>(D) {
      const S* src = data<S>();
      D* dst = out.data<D>();
      for (std::int64_t i = 0; i < numel(); ++i) dst[i] = static_cast<D>(src[i]);
    });
  });
  return out;
}

void Tensor::check_mutable(const char* op) const {
  if (requires_grad() && grad_enabled())
    throw GraphError(fmt::format(
        "{}: in-place change of a tensor that requires grad, shape {}, while grad mode is on "
        "(wrap the update in a NoGradGuard)",
        op, shape_str(shape())));
}

Tensor& Tensor::fill_(double value) {
  check_mutable("fill_");
  dispatch(dtype(), [&]<class T>(T) { std::fill_n(data<T>(), numel(), static_cast<T>(value)); });
  return *this;
}

Tensor& Tensor::mul_(double value) {
  check_mutable("mul_");
  dispatch(dtype(), [&]<class T>(T) {
    T* p = data<T>();
    const T v = static_cast<T>(value);
    for (std::int64_t i = 0; i < numel(); ++i) p[i] *= v;
  });
  return *this;
}

Tensor& Tensor::add_(double value) {
  check_mutable("add_");
  dispatch(dtype(), [&]<class T>(T) {
    T* p = data<T>();
    const T v = static_cast<T>(value);
    for (std::int64_t i = 0; i < numel(); ++i) p[i] += v;
  });
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_mutable("add_");
  if (alpha == 1.0) {
    kernels::update_binary("add_", *this, other, [](auto x, auto y) { return x + y; });
  } else {
    dispatch(dtype(), [&]<class T>(T) {
      const T a = static_cast<T>(alpha);
      kernels::update_binary("add_", *this, other, [a](T x, T y) { return x + a * y; });
    });
  }
  return *this;
}

Tensor& Tensor::copy_(const Tensor& other) {
  check_mutable("copy_");
  kernels::update_binary("copy_", *this, other, [](auto, auto y) { return y; });
  return *this;
}

Tensor full(const Shape& shape, double value, Dtype dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, [&]<class T>(T) { std::fill_n(t.data<T>(), t.numel(), static_cast<T>(value)); });
  return t;
}
Tensor zeros(const Shape& shape, Dtype dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, Dtype dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor scalar(double value, Dtype dtype) { return full({}, value, dtype); }

Tensor tensor(const std::vector<double>& values, const Shape& shape, Dtype dtype) {
  check_shape("tensor", shape);
  if (static_cast<std::int64_t>(values.size()) != numel(shape))
    throw ShapeError(fmt::format("tensor: {} values do not fill shape {} ({} elements)",
                                 values.size(), shape_str(shape), numel(shape)));
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, [&]<class T>(T) { std::copy(values.begin(), values.end(), t.data<T>()); });
  return t;
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, Dtype dtype) {
  const std::int64_t n = static_cast<std::int64_t>(rows.size());
  const std::int64_t m = n == 0 ? 0 : static_cast<std::int64_t>(rows.begin()->size());
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(n * m));
  std::int64_t i = 0;
  for (const auto& row : rows) {
    if (static_cast<std::int64_t>(row.size()) != m)
      throw ShapeError(fmt::format(
          "tensor: row {} has {} values, row 0 has {} (rows must be equal)", i, row.size(), m));
    values.insert(values.end(), row.begin(), row.end());
    ++i;
  }
  return tensor(values, {n, m}, dtype);
}

template <class T>
static Tensor from_span(std::span<const T> values, const Shape& shape) {
  check_shape("from_data", shape);
  if (static_cast<std::int64_t>(values.size()) != numel(shape))
    throw ShapeError(fmt::format("from_data: {} values do not fill shape {} ({} elements)",
                                 values.size(), shape_str(shape), numel(shape)));
  Tensor t = Tensor::empty(shape, dtype_of<T>());
  std::copy(values.begin(), values.end(), t.data<T>());
  return t;
}
Tensor from_data(std::span<const float> values, const Shape& shape) {
  return from_span(values, shape);
}
Tensor from_data(std::span<const double> values, const Shape& shape) {
  return from_span(values, shape);
}

Tensor arange(double start, double stop, double step, Dtype dtype) {
  if (step == 0 || !std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    throw ValueError(fmt::format("arange: bad range start={} stop={} step={}", start, stop, step));
  const auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((stop - start) / step)));
  Tensor t = Tensor::empty({n}, dtype);
  dispatch(dtype, [&]<class T>(T) {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i)
      p[i] = static_cast<T>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor linspace(double start, double end, std::int64_t steps, Dtype dtype) {
  if (steps < 0 || !std::isfinite(start) || !std::isfinite(end))
    throw ValueError(
        fmt::format("linspace: bad range start={} end={} steps={}", start, end, steps));
  Tensor t = Tensor::empty({steps}, dtype);
  dispatch(dtype, [&]<class T>(T) {
    // As torch.linspace, in the element type: the first half counts up from start and
    // the second half down from end, so both ends are exact and the steps symmetric.
    const T lo = static_cast<T>(start), hi = static_cast<T>(end);
    const T step = steps > 1 ? (hi - lo) / static_cast<T>(steps - 1) : T(0);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < steps; ++i)
      p[i] =
          i < steps / 2 ? lo + step * static_cast<T>(i) : hi - step * static_cast<T>(steps - 1 - i);
    if (steps == 1) p[0] = lo;  // the one value is start, not end
  });
  return t;
}

Tensor eye(std::int64_t n, Dtype dtype) {
  Tensor t = zeros({n, n}, dtype);
  dispatch(dtype, [&]<class T>(T) {
    for (std::int64_t i = 0; i < n; ++i) t.data<T>()[i * n + i] = 1;
  });
  return t;
}

}  // namespace tapegrad
