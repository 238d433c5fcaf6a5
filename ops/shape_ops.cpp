#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>
#include <range/v3/algorithm/any_of.hpp>
#include <range/v3/algorithm/count.hpp>
#include <range/v3/algorithm/find.hpp>
#include <range/v3/view/filter.hpp>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/shape_ops.hpp>

namespace tapegrad {
namespace {

// Copies, for each of `outer` blocks, `count` runs of `run` elements (element size
// `bytes`): the shape of every slice/concat along one axis of a row-major tensor.
void copy_blocks(const void* src, std::int64_t src_block, void* dst, std::int64_t dst_block,
                 std::int64_t outer, std::int64_t run, std::size_t bytes) {
  auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  for (std::int64_t o = 0; o < outer; ++o)
    std::memcpy(d + o * dst_block * bytes, s + o * src_block * bytes, run * bytes);
}

std::int64_t wrap(std::int64_t i, std::int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

Tensor reshape(const Tensor& x, Shape shape) {
  kernels::check_defined("reshape", x);
  const auto inferred = ranges::count(shape, -1);
  if (inferred > 1)
    throw ShapeError(fmt::format("reshape: more than one -1 in {}", shape_str(shape)));
  if (inferred == 1) {
    // The -1 takes what the other extents leave: numel / (product of the others).
    const Shape given = shape;
    auto known = given | ranges::views::filter([](std::int64_t e) { return e != -1; });
    const Shape others(known.begin(), known.end());
    const std::int64_t rest = numel(others);
    if (rest == 0 || x.numel() % rest != 0)
      throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {}",
                                   shape_str(x.shape()), x.numel(), shape_str(given)));
    *ranges::find(shape, -1) = x.numel() / rest;
  }
  check_shape("reshape", shape);
  if (numel(shape) != x.numel())
    throw ShapeError(fmt::format("reshape: cannot reshape {} ({} elements) into {} ({} elements)",
                                 shape_str(x.shape()), x.numel(), shape_str(shape), numel(shape)));
  Tensor out = x.detach();
  out.impl().shape = shape;
  return record("reshape", out, {&x},
                [from = x.shape()](const Tensor& g, Needs) { return Grads{reshape(g, from)}; });
}

Tensor flatten(const Tensor& x) {
  kernels::check_defined("flatten", x);
  return reshape(x, {x.numel()});
}

Tensor flatten(const Tensor& x, int start_dim, int end_dim) {
  kernels::check_defined("flatten", x);
  // A scalar flattens as the one-element vector it is (torch.flatten's rule).
  const Shape& in = x.dim() == 0 ? Shape{1} : x.shape();
  const int start = normalize_axis("flatten", start_dim, in);
  const int end = normalize_axis("flatten", end_dim, in);
  if (end < start)
    throw IndexError(
        fmt::format("flatten: end_dim {} comes before start_dim {} for a tensor of shape {}",
                    end_dim, start_dim, shape_str(x.shape())));
  Shape shape(in.begin(), in.begin() + start);
  shape.push_back(std::accumulate(in.begin() + start, in.begin() + end + 1, std::int64_t{1},
                                  std::multiplies<>()));
  shape.insert(shape.end(), in.begin() + end + 1, in.end());
  return reshape(x, shape);
}

Tensor transpose(const Tensor& x) {
  kernels::check_defined("transpose", x);
  if (x.dim() != 2)
    throw ShapeError(fmt::format("transpose: needs a 2-D tensor, got {} (use transpose(x, a, b))",
                                 shape_str(x.shape())));
  return transpose(x, 0, 1);
}

Tensor transpose(const Tensor& x, int axis0, int axis1) {
  kernels::check_defined("transpose", x);
  const std::size_t nd = x.shape().size();
  axis0 = normalize_axis("transpose", axis0, x.shape());
  axis1 = normalize_axis("transpose", axis1, x.shape());
  Shape shape = x.shape();
  std::swap(shape[axis0], shape[axis1]);
  Tensor out = Tensor::empty(shape, x.dtype());
  // Walk the output in order; the source stride of each output axis is the input's
  // stride of the axis it came from.
  auto in_strides = strides_of(x.shape());
  std::swap(in_strides[axis0], in_strides[axis1]);
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    if (nd == 2) {  // blocked, for the cache
      const std::int64_t r = shape[0], c = shape[1];
      constexpr std::int64_t B = 32;
      for (std::int64_t i0 = 0; i0 < r; i0 += B)
        for (std::int64_t j0 = 0; j0 < c; j0 += B)
          for (std::int64_t i = i0; i < std::min(r, i0 + B); ++i)
            for (std::int64_t j = j0; j < std::min(c, j0 + B); ++j)
              dst[i * c + j] = src[i * in_strides[0] + j * in_strides[1]];
      return;
    }
    std::vector<std::int64_t> idx(nd, 0);
    std::int64_t off = 0;
    for (std::int64_t k = 0; k < out.numel(); ++k) {
      dst[k] = src[off];
      for (std::size_t d = nd; d-- > 0;) {
        off += in_strides[d];
        if (++idx[d] < shape[d]) break;
        off -= in_strides[d] * shape[d];
        idx[d] = 0;
      }
    }
  });
  return record("transpose", out, {&x}, [axis0, axis1](const Tensor& g, Needs) {
    return Grads{transpose(g, axis0, axis1)};
  });
}

Tensor slice(const Tensor& x, int axis, std::int64_t begin, std::int64_t end) {
  kernels::check_defined("slice", x);
  axis = normalize_axis("slice", axis, x.shape());
  const std::int64_t n = x.size(axis);
  if (wrap(begin, n) < 0 || wrap(end, n) > n || wrap(begin, n) > wrap(end, n))
    throw IndexError(fmt::format("slice: [{}, {}) is out of range for axis {} of shape {}", begin,
                                 end, axis, shape_str(x.shape())));
  begin = wrap(begin, n);
  end = wrap(end, n);
  Shape shape = x.shape();
  shape[axis] = end - begin;
  Tensor out = Tensor::empty(shape, x.dtype());
  const kernels::AxisSplit s = kernels::split_at(x.shape(), axis);
  const std::size_t bytes = dtype_size(x.dtype());
  copy_blocks(static_cast<const char*>(x.raw_data()) + begin * s.inner * bytes, s.n * s.inner,
              out.raw_data(), (end - begin) * s.inner, s.outer, (end - begin) * s.inner, bytes);
  if (!should_record({&x})) return out;
  return record("slice", out, {&x}, [from = x.shape(), begin, end, s](const Tensor& g, Needs) {
    // Scatter the gradient back into zeros at the slice's place.
    Tensor dx = zeros(from, g.dtype());
    const std::size_t bytes = dtype_size(g.dtype());
    copy_blocks(g.raw_data(), (end - begin) * s.inner,
                static_cast<char*>(dx.raw_data()) + begin * s.inner * bytes, s.n * s.inner, s.outer,
                (end - begin) * s.inner, bytes);
    return Grads{dx};
  });
}

Tensor select(const Tensor& x, int axis, std::int64_t index) {
  kernels::check_defined("select", x);
  axis = normalize_axis("select", axis, x.shape());
  const std::int64_t n = x.size(axis);
  if (index < -n || index >= n)
    throw IndexError(fmt::format("select: index {} is out of range for axis {} of shape {}", index,
                                 axis, shape_str(x.shape())));
  index = wrap(index, n);
  Shape shape = x.shape();
  shape.erase(shape.begin() + axis);
  return reshape(slice(x, axis, index, index + 1), shape);
}

Tensor index_select(const Tensor& x, int axis, const std::vector<std::int64_t>& indices) {
  kernels::check_defined("index_select", x);
  axis = normalize_axis("index_select", axis, x.shape());
  const std::int64_t n = x.size(axis);
  for (std::int64_t i : indices)
    if (i < 0 || i >= n)
      throw IndexError(fmt::format("index_select: index {} is out of range for axis {} of shape {}",
                                   i, axis, shape_str(x.shape())));
  Shape shape = x.shape();
  shape[axis] = static_cast<std::int64_t>(indices.size());
  Tensor out = Tensor::empty(shape, x.dtype());
  const kernels::AxisSplit s = kernels::split_at(x.shape(), axis);
  const auto k = static_cast<std::int64_t>(indices.size());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* src = x.data<T>();
    T* dst = out.data<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t j = 0; j < k; ++j)
        std::copy_n(src + (o * s.n + indices[j]) * s.inner, s.inner, dst + (o * k + j) * s.inner);
  });
  if (!should_record({&x})) return out;
  return record("index_select", out, {&x},
                [from = x.shape(), indices, s, k](const Tensor& g, Needs) {
                  Tensor dx = zeros(from, g.dtype());
                  dispatch(g.dtype(), [&]<class T>(T) {
                    const T* pg = g.data<T>();
                    T* pd = dx.data<T>();
                    for (std::int64_t o = 0; o < s.outer; ++o)
                      for (std::int64_t j = 0; j < k; ++j)
                        for (std::int64_t i = 0; i < s.inner; ++i)
                          pd[(o * s.n + indices[j]) * s.inner + i] += pg[(o * k + j) * s.inner + i];
                  });
                  return Grads{dx};
                });
}

namespace {

// Calls f(x_offset, padded_offset) for every row (run along the last axis) of a tensor of
// shape `in` placed inside one of shape `out` at the offsets `before` (one per axis):
// the offsets, in elements, of the row's first element in each.
template <class F>
void for_each_row_inside(const Shape& in, const Shape& out, const std::vector<std::int64_t>& before,
                         F f) {
  const std::size_t nd = in.size();
  if (nd == 0) {
    f(std::int64_t{0}, std::int64_t{0});
    return;
  }
  const auto out_strides = strides_of(out);
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < nd; ++d) rows *= in[d];
  if (rows == 0 || in[nd - 1] == 0) return;
  std::int64_t at = 0;  // the offset in `out` of the current row's first element
  for (std::size_t d = 0; d < nd; ++d) at += before[d] * out_strides[d];
  std::vector<std::int64_t> idx(nd, 0);
  for (std::int64_t r = 0; r < rows; ++r) {
    f(r * in[nd - 1], at);
    for (std::size_t d = nd - 1; d-- > 0;) {  // odometer over the outer axes
      at += out_strides[d];
      if (++idx[d] < in[d]) break;
      at -= out_strides[d] * in[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value) {
  kernels::check_defined("pad", x);
  const std::size_t nd = x.shape().size();
  if (pads.size() % 2 != 0)
    throw ValueError(
        fmt::format("pad: pads must come in (before, after) pairs, got {} values {} "
                    "for input {}",
                    pads.size(), pads, shape_str(x.shape())));
  if (pads.size() / 2 > nd)
    throw ValueError(fmt::format("pad: {} pairs of padding {} for a {}-D input {}", pads.size() / 2,
                                 pads, nd, shape_str(x.shape())));
  if (ranges::any_of(pads, [](std::int64_t p) { return p < 0; }))
    throw ValueError(fmt::format("pad: padding must be at least 0, got {} for input {}", pads,
                                 shape_str(x.shape())));
  // Pair k pads axis nd - 1 - k: torch's order, from the last axis.
  Shape shape = x.shape();
  std::vector<std::int64_t> before(nd, 0);
  for (std::size_t k = 0; k < pads.size() / 2; ++k) {
    const std::size_t axis = nd - 1 - k;
    before[axis] = pads[2 * k];
    shape[axis] += pads[2 * k] + pads[2 * k + 1];
  }
  Tensor out = full(shape, value, x.dtype());
  const std::size_t bytes = dtype_size(x.dtype());
  const std::size_t run = (nd == 0 ? 1 : static_cast<std::size_t>(x.shape().back())) * bytes;
  const auto* src = static_cast<const char*>(x.raw_data());
  auto* dst = static_cast<char*>(out.raw_data());
  for_each_row_inside(x.shape(), shape, before, [&](std::int64_t from, std::int64_t to) {
    std::memcpy(dst + to * bytes, src + from * bytes, run);
  });
  if (!should_record({&x})) return out;
  // d/dx = the interior of g: the same rows copied back.
  return record("pad", out, {&x}, [from = x.shape(), before](const Tensor& g, Needs) {
    Tensor dx = Tensor::empty(from, g.dtype());
    const std::size_t bytes = dtype_size(g.dtype());
    const std::size_t run = (from.empty() ? 1 : static_cast<std::size_t>(from.back())) * bytes;
    const auto* src = static_cast<const char*>(g.raw_data());
    auto* dst = static_cast<char*>(dx.raw_data());
    for_each_row_inside(from, g.shape(), before, [&](std::int64_t to, std::int64_t at) {
      std::memcpy(dst + to * bytes, src + at * bytes, run);
    });
    return Grads{dx};
  });
}

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  if (xs.empty()) throw ValueError("concat: no tensors to join");
  for (const Tensor& x : xs) kernels::check_defined("concat", x);
  const Tensor& first = xs.front();
  axis = normalize_axis("concat", axis, first.shape());
  Shape shape = first.shape();
  shape[axis] = 0;
  for (const Tensor& x : xs) {
    kernels::check_same_dtype("concat", first, x);
    Shape a = x.shape(), b = first.shape();
    if (a.size() != b.size() || (a[axis] = 0, b[axis] = 0, a != b))
      throw ShapeError(fmt::format("concat: shapes {} and {} differ outside axis {}",
                                   shape_str(first.shape()), shape_str(x.shape()), axis));
    shape[axis] += x.size(axis);
  }
  std::vector<const Tensor*> ins;
  ins.reserve(xs.size());
  for (const Tensor& x : xs) ins.push_back(&x);
  const bool recording = should_record(ins);
  Tensor out = Tensor::empty(shape, first.dtype());
  const kernels::AxisSplit s = kernels::split_at(shape, axis);
  const std::size_t bytes = dtype_size(first.dtype());
  std::int64_t at = 0;
  std::vector<std::int64_t> starts;
  starts.reserve(xs.size());
  for (const Tensor& x : xs) {
    starts.push_back(at);
    const std::int64_t len = x.size(axis);
    copy_blocks(x.raw_data(), len * s.inner,
                static_cast<char*>(out.raw_data()) + at * s.inner * bytes, s.n * s.inner, s.outer,
                len * s.inner, bytes);
    at += len;
  }
  if (!recording) return out;
  std::vector<std::int64_t> lengths;
  lengths.reserve(xs.size());
  for (const Tensor& x : xs) lengths.push_back(x.size(axis));
  return record("concat", out, ins, [axis, starts, lengths](const Tensor& g, Needs needs) {
    Grads grads(starts.size());
    for (std::size_t i = 0; i < starts.size(); ++i)
      if (needs[i]) grads[i] = slice(g, axis, starts[i], starts[i] + lengths[i]);
    return grads;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int axis) {
  if (xs.empty()) throw ValueError("stack: no tensors to join");
  for (const Tensor& x : xs) kernels::check_defined("stack", x);
  const Shape& first = xs.front().shape();
  for (std::size_t i = 1; i < xs.size(); ++i) {
    kernels::check_same_dtype("stack", xs.front(), xs[i]);
    if (xs[i].shape() != first)
      throw ShapeError(fmt::format("stack: tensor {} has shape {}, tensor 0 has {}", i,
                                   shape_str(xs[i].shape()), shape_str(first)));
  }
  axis = normalize_axis("stack", axis, first.size() + 1);
  // concat of the inputs with an axis of extent 1 inserted: the gradient of each is
  // its slice of g, reshaped back (the rules of concat and reshape).
  Shape lifted = first;
  lifted.insert(lifted.begin() + axis, 1);
  std::vector<Tensor> parts;
  parts.reserve(xs.size());
  for (const Tensor& x : xs) parts.push_back(reshape(x, lifted));
  return concat(parts, axis);
}

}  // namespace tapegrad
