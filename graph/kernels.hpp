#pragma once
/// \file
/// Element loops shared by the engine and the ops. Dispatch on dtype happens once
/// per call; the loops themselves are plain contiguous loops the compiler vectorizes.
#include <algorithm>
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/graph/threads.hpp>
#include <vector>

namespace tapegrad::kernels {

/// Elements per range below which an element loop is not split over threads.
inline constexpr std::int64_t kGrain = 4096;

/// Throws DtypeError naming `op` unless a and b have one dtype.
TAPEGRAD_API void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
/// Throws Error naming `op` if t is undefined.
TAPEGRAD_API void check_defined(const char* op, const Tensor& t);

/// out = f(x) elementwise; f is called with the element type (write it generic).
template <class F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    T* po = out.data<T>();
    parallel_for(x.numel(), kGrain, [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) po[i] = f(px[i]);
    });
  });
  return out;
}

/// out = f(a, b) elementwise, for two tensors of the same shape (no broadcasting).
template <class F>
Tensor map_same_shape(const Tensor& a, const Tensor& b, F f) {
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  dispatch(a.dtype(), [&]<class T>(T) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    parallel_for(a.numel(), kGrain, [&](std::int64_t i0, std::int64_t i1) {
      for (std::int64_t i = i0; i < i1; ++i) po[i] = f(pa[i], pb[i]);
    });
  });
  return out;
}

/// Walks out_shape in row-major order with a and b broadcast to it, calling
/// f(a_elem, b_elem) -> out_elem. a_shape and b_shape must broadcast to out_shape.
template <class T, class F>
void broadcast_loop(const Shape& out_shape, const T* a, const Shape& a_shape, const T* b,
                    const Shape& b_shape, T* out, F f) {
  const std::size_t nd = out_shape.size();
  const std::int64_t total = numel(out_shape);
  if (total == 0) return;
  if (nd == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  // Strides of a and b aligned to out's axes; 0 where the input is broadcast.
  auto aligned_strides = [&](const Shape& s) {
    std::vector<std::int64_t> st(nd, 0);
    std::int64_t step = 1;
    for (std::size_t k = 0; k < s.size(); ++k) {
      const std::size_t src = s.size() - 1 - k, dst = nd - 1 - k;
      st[dst] = s[src] == 1 ? 0 : step;
      step *= s[src];
    }
    return st;
  };
  const auto sa = aligned_strides(a_shape), sb = aligned_strides(b_shape);
  const std::int64_t inner = out_shape[nd - 1];
  const std::int64_t ia = sa[nd - 1], ib = sb[nd - 1];
  const std::int64_t outer = total / inner;
  // Rows [o0, o1) of the output, each `inner` long.
  auto rows = [&](std::int64_t o0, std::int64_t o1) {
    std::vector<std::int64_t> idx(nd, 0);
    std::int64_t off_a = 0, off_b = 0;
    for (std::size_t d = nd - 1, rest = static_cast<std::size_t>(o0); d-- > 0;) {
      idx[d] = static_cast<std::int64_t>(rest) % out_shape[d];
      rest /= static_cast<std::size_t>(out_shape[d]);
      off_a += idx[d] * sa[d];
      off_b += idx[d] * sb[d];
    }
    for (std::int64_t o = o0; o < o1; ++o) {
      T* po = out + o * inner;
      const T* pa = a + off_a;
      const T* pb = b + off_b;
      if (ia && ib) {
        for (std::int64_t j = 0; j < inner; ++j) po[j] = f(pa[j], pb[j]);
      } else if (ia) {
        const T vb = *pb;
        for (std::int64_t j = 0; j < inner; ++j) po[j] = f(pa[j], vb);
      } else if (ib) {
        const T va = *pa;
        for (std::int64_t j = 0; j < inner; ++j) po[j] = f(va, pb[j]);
      } else {
        const T v = f(*pa, *pb);
        for (std::int64_t j = 0; j < inner; ++j) po[j] = v;
      }
      for (std::size_t d = nd - 1; d-- > 0;) {  // odometer over the outer axes
        off_a += sa[d];
        off_b += sb[d];
        if (++idx[d] < out_shape[d]) break;
        off_a -= sa[d] * out_shape[d];
        off_b -= sb[d] * out_shape[d];
        idx[d] = 0;
      }
    }
  };
  parallel_for(outer, std::max<std::int64_t>(1, kGrain / std::max<std::int64_t>(inner, 1)), rows);
}

/// out = f(a, b) with numpy broadcasting; errors name `op`.
template <class F>
Tensor map_binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_defined(op, a);
  check_defined(op, b);
  check_same_dtype(op, a, b);
  if (a.shape() == b.shape()) return map_same_shape(a, b, f);
  const Shape out_shape = broadcast_shapes(op, a.shape(), b.shape());
  Tensor out = Tensor::empty(out_shape, a.dtype());
  dispatch(a.dtype(), [&]<class T>(T) {
    broadcast_loop(out_shape, a.data<T>(), a.shape(), b.data<T>(), b.shape(), out.data<T>(), f);
  });
  return out;
}

/// a = f(a, b) in place, b broadcast to a's shape (a's shape must be the result's).
template <class F>
void update_binary(const char* op, const Tensor& a, const Tensor& b, F f) {
  check_defined(op, a);
  check_defined(op, b);
  check_same_dtype(op, a, b);
  if (a.shape() != b.shape() && broadcast_shapes(op, a.shape(), b.shape()) != a.shape())
    throw ShapeError(fmt::format("{}: cannot broadcast {} into the shape {} of the target", op,
                                 shape_str(b.shape()), shape_str(a.shape())));
  dispatch(a.dtype(), [&]<class T>(T) {
    T* pa = a.data<T>();
    const T* pb = b.data<T>();
    if (a.shape() == b.shape()) {  // the optimizer's case: one flat loop
      parallel_for(a.numel(), kGrain, [&](std::int64_t i0, std::int64_t i1) {
        for (std::int64_t i = i0; i < i1; ++i) pa[i] = f(pa[i], pb[i]);
      });
      return;
    }
    broadcast_loop(a.shape(), pa, a.shape(), pb, b.shape(), pa, f);
  });
}

/// The sum over i in [0, n) of term(i), in double. Split over the threads in fixed
/// blocks that are added in block order, so the result is the same for any number
/// of threads (and more accurate than one running sum).
template <class F>
double sum_terms(std::int64_t n, F term) {
  constexpr std::int64_t kBlock = 4096;
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  auto block_sum = [&](std::int64_t b) {
    double s = 0;
    for (std::int64_t i = b * kBlock, end = std::min(n, (b + 1) * kBlock); i < end; ++i)
      s += term(i);
    return s;
  };
  if (blocks <= 1) return blocks == 1 ? block_sum(0) : 0.0;
  std::vector<double> partial(static_cast<std::size_t>(blocks));
  parallel_for(blocks, 1, [&](std::int64_t b0, std::int64_t b1) {  // a block is worth a thread
    for (std::int64_t b = b0; b < b1; ++b) partial[static_cast<std::size_t>(b)] = block_sum(b);
  });
  double s = 0;
  for (double p : partial) s += p;
  return s;
}

/// Splits shape at `axis` into (outer, n, inner) for axis-wise loops.
struct AxisSplit {
  std::int64_t outer = 1;  ///< product of the extents before the axis
  std::int64_t n = 1;      ///< the axis's extent
  std::int64_t inner = 1;  ///< product of the extents after the axis
};
/// (outer, n, inner) of `shape` at `axis` (negative counts from the end): element
/// (o, i, j) is at o * n * inner + i * inner + j.
TAPEGRAD_API AxisSplit split_at(const Shape& shape, int axis);

/// x broadcast (copied) to `shape`; throws ShapeError naming `op` if it does not fit.
TAPEGRAD_API Tensor expand(const Tensor& x, const Shape& shape, const char* op = "broadcast_to");

/// Sum over one axis, keeping it as extent 1.
TAPEGRAD_API Tensor sum_axis_keepdim(const Tensor& x, int axis);
/// Sum of all elements, shape [].
TAPEGRAD_API Tensor sum_all(const Tensor& x);

}  // namespace tapegrad::kernels
