#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/pooling.hpp>
#include <vector>

namespace tapegrad {
namespace {

constexpr const char* kMaxPool = "max_pool2d";
constexpr const char* kAvgPool = "avg_pool2d";
constexpr const char* kAdaptiveAvgPool = "adaptive_avg_pool2d";

// A sliding-window pool's arguments, the stride's default filled in.
struct Window {
  Size2 kernel, stride, padding;
};

// The input and output extents of a pool over x's N C planes.
struct Planes {
  std::int64_t count, H, W, Ho, Wo;
};
Planes planes_of(const Shape& in, const Shape& out) {
  return {in[0] * in[1], in[2], in[3], out[2], out[3]};
}

// Calls body(plane) for every (image, channel) plane, split over the pool in ranges of
// whole planes: every output element is computed by one thread in one fixed order, so
// the result is the same for any thread count.
template <class F>
void for_planes(const Planes& p, F&& body) {
  const std::int64_t grain =
      std::max<std::int64_t>(1, kernels::kGrain / std::max<std::int64_t>(p.H * p.W, 1));
  parallel_for(p.count, grain, [&](std::int64_t p0, std::int64_t p1) {
    for (std::int64_t k = p0; k < p1; ++k) body(k);
  });
}

// The input rows [begin, end) that one output row reads (or the columns of one output
// column), and the count its mean divides by along that axis.
struct Span {
  std::int64_t begin, end, count;
};

// Kernel column b of a sliding window, as a loop over output columns: column j in
// [j0, j1) reads input column j stride + offset (offset = b - padding); for the other
// output columns it is padding.
struct Tap {
  std::int64_t j0, j1, offset;
};

// Where every window of a pool reads. The sliding pools visit a window row by row and,
// in a row, tap by tap (kernel column by kernel column), each tap a loop over all output
// columns: strided loads the compiler vectorizes, and each window still visited in
// row-major order. Adaptive windows have no fixed stride: they are read span by span.
struct Windows {
  std::vector<Span> rows, cols;
  std::vector<Tap> taps;    // empty for an adaptive pool
  std::int64_t stride = 1;  // along W, for the taps
  bool is_2x2 = false;      // 2x2 at stride 2 without padding: loops of its own
};

// Output index o of a sliding window reads [o s - p, o s - p + k), clipped to the input;
// its count is k when the padding counts, else the clipped length.
std::vector<Span> sliding_spans(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                std::int64_t stride, std::int64_t padding, bool count_padding) {
  std::vector<Span> spans(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t start = o * stride - padding;
    const std::int64_t begin = std::max<std::int64_t>(start, 0);
    const std::int64_t end = std::min(start + kernel, in);
    spans[static_cast<std::size_t>(o)] = {begin, end, count_padding ? kernel : end - begin};
  }
  return spans;
}

Windows sliding_windows(const Shape& in, const Shape& out, const Window& w, bool count_padding) {
  Windows win;
  win.rows = sliding_spans(in[2], out[2], w.kernel.h, w.stride.h, w.padding.h, count_padding);
  win.cols = sliding_spans(in[3], out[3], w.kernel.w, w.stride.w, w.padding.w, count_padding);
  win.stride = w.stride.w;
  win.is_2x2 = w.kernel == Size2(2) && w.stride == Size2(2) && w.padding == Size2(0);
  const std::int64_t s = w.stride.w;
  for (std::int64_t b = 0; b < w.kernel.w; ++b) {
    const std::int64_t offset = b - w.padding.w;
    // j0: the first j with j s + offset >= 0; j1: the first with j s + offset >= W.
    const std::int64_t j0 = offset >= 0 ? 0 : (-offset + s - 1) / s;
    const std::int64_t j1 = in[3] > offset ? std::min(out[3], (in[3] - offset + s - 1) / s) : 0;
    win.taps.push_back({j0, std::max(j0, j1), offset});
  }
  return win;
}

// Output index o of an adaptive pool reads [floor(o in / out), ceil((o + 1) in / out)).
std::vector<Span> adaptive_spans(std::int64_t in, std::int64_t out) {
  std::vector<Span> spans(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t begin = o * in / out;
    const std::int64_t end = ((o + 1) * in + out - 1) / out;
    spans[static_cast<std::size_t>(o)] = {begin, end, end - begin};
  }
  return spans;
}

Windows adaptive_windows(const Shape& in, const Shape& out) {
  Windows win;
  win.rows = adaptive_spans(in[2], out[2]);
  win.cols = adaptive_spans(in[3], out[3]);
  return win;
}

void check_4d(const char* op, const Tensor& x) {
  kernels::check_defined(op, x);
  if (x.dim() != 4)
    throw ShapeError(
        fmt::format("{}: expected a 4-D input (N, C, H, W), got {}", op, shape_str(x.shape())));
}

// Checks a sliding pool's arguments against x; stride 0 becomes the kernel.
Window check_window(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  check_4d(op, x);
  const std::string input = shape_str(x.shape());
  if (kernel.h < 1 || kernel.w < 1)
    throw ValueError(fmt::format("{}: kernel {}x{} must be at least 1 in each direction: input {}",
                                 op, kernel.h, kernel.w, input));
  if (stride.h < 0 || stride.w < 0)
    throw ValueError(fmt::format(
        "{}: stride {}x{} must be at least 1 in each direction (0 means the kernel): input {}", op,
        stride.h, stride.w, input));
  if (padding.h < 0 || padding.w < 0 || padding.h > kernel.h / 2 || padding.w > kernel.w / 2)
    throw ValueError(
        fmt::format("{}: padding {}x{} must be between 0 and half the kernel {}x{}: input {}", op,
                    padding.h, padding.w, kernel.h, kernel.w, input));
  const std::int64_t padded_h = x.size(2) + 2 * padding.h, padded_w = x.size(3) + 2 * padding.w;
  if (kernel.h > padded_h || kernel.w > padded_w)
    throw ShapeError(fmt::format("{}: kernel {}x{} is larger than the padded input {}x{}: input {}",
                                 op, kernel.h, kernel.w, padded_h, padded_w, input));
  return {
      kernel, {stride.h == 0 ? kernel.h : stride.h, stride.w == 0 ? kernel.w : stride.w}, padding};
}

Shape window_output_shape(const Tensor& x, const Window& w) {
  return {x.size(0), x.size(1), conv_output_size(x.size(2), w.kernel.h, w.stride.h, w.padding.h),
          conv_output_size(x.size(3), w.kernel.w, w.stride.w, w.padding.w)};
}

// max(a, b) where a NaN wins, as in PyTorch: a NaN in a window makes its maximum NaN.
template <class T>
T nan_max(T a, T b) {
  return (b > a || std::isnan(b)) ? b : a;
}

// v is where a window's maximum m came from: equal to it, or a NaN (m is NaN only when
// the window holds one; else no element of the window is NaN).
template <class T>
bool is_max(T v, T m) {
  return v == m || std::isnan(v);
}

// ---- max_pool2d ---------------------------------------------------------------------------

// One plane, 2x2 windows at stride 2: y[i, j] = max of x[2i..2i+1, 2j..2j+1].
template <class T>
void max_2x2_forward(const T* x, T* y, const Planes& p) {
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    const T* r0 = x + 2 * i * p.W;
    const T* r1 = r0 + p.W;
    T* yo = y + i * p.Wo;
    for (std::int64_t j = 0; j < p.Wo; ++j)
      yo[j] = nan_max(nan_max(r0[2 * j], r0[2 * j + 1]), nan_max(r1[2 * j], r1[2 * j + 1]));
  }
}

// The windows do not overlap: each input element gets g of its window or 0, written once
// (the odd last row and column, which no window reads, get 0).
template <class T>
void max_2x2_backward(const T* x, const T* y, const T* g, T* dx, const Planes& p) {
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    const T* r0 = x + 2 * i * p.W;
    const T* r1 = r0 + p.W;
    T* d0 = dx + 2 * i * p.W;
    T* d1 = d0 + p.W;
    const T* yo = y + i * p.Wo;
    const T* go = g + i * p.Wo;
    for (std::int64_t j = 0; j < p.Wo; ++j) {
      // The first maximum in row-major order takes the gradient: `left` is what the
      // elements before it did not take (selects, no branches: the loop vectorizes).
      const T m = yo[j];
      T left = go[j];
      const T* in[4] = {r0 + 2 * j, r0 + 2 * j + 1, r1 + 2 * j, r1 + 2 * j + 1};
      T* out[4] = {d0 + 2 * j, d0 + 2 * j + 1, d1 + 2 * j, d1 + 2 * j + 1};
      for (int e = 0; e < 4; ++e) {
        const bool hit = is_max(*in[e], m);
        *out[e] = hit ? left : T(0);
        left = hit ? T(0) : left;
      }
    }
    std::fill(d0 + 2 * p.Wo, d0 + p.W, T(0));
    std::fill(d1 + 2 * p.Wo, d1 + p.W, T(0));
  }
  std::fill(dx + 2 * p.Ho * p.W, dx + p.H * p.W, T(0));
}

// One plane, any sliding window: each output row starts at -infinity and takes the
// maximum with every element of its windows, tap by tap.
template <class T>
void max_forward(const T* x, T* y, const Planes& p, const Windows& win) {
  const std::int64_t s = win.stride;
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    T* yo = y + i * p.Wo;
    std::fill(yo, yo + p.Wo, -std::numeric_limits<T>::infinity());
    const Span& r = win.rows[static_cast<std::size_t>(i)];
    for (std::int64_t h = r.begin; h < r.end; ++h) {
      const T* row = x + h * p.W;
      for (const Tap& t : win.taps)
        for (std::int64_t j = t.j0; j < t.j1; ++j) yo[j] = nan_max(yo[j], row[j * s + t.offset]);
    }
  }
}

// dx = g scattered to each window's first maximum, summed where windows overlap. The
// maximum's place is found again from x and y rather than saved (no index buffer): the
// windows are visited in row-major order, and left[j] is the g that window j has not
// given away yet.
template <class T>
void max_backward(const T* x, const T* y, const T* g, T* dx, const Planes& p, const Windows& win) {
  const std::int64_t s = win.stride;
  std::fill(dx, dx + p.H * p.W, T(0));
  std::vector<T> left(static_cast<std::size_t>(p.Wo));
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    const T* yo = y + i * p.Wo;
    std::copy(g + i * p.Wo, g + (i + 1) * p.Wo, left.begin());
    const Span& r = win.rows[static_cast<std::size_t>(i)];
    for (std::int64_t h = r.begin; h < r.end; ++h) {
      const T* row = x + h * p.W;
      T* drow = dx + h * p.W;
      for (const Tap& t : win.taps)
        for (std::int64_t j = t.j0; j < t.j1; ++j) {
          // Two selects on is_max (GCC vectorizes this form, not one with a bool kept).
          const std::int64_t c = j * s + t.offset;
          const T l = left[j];
          drow[c] += is_max(row[c], yo[j]) ? l : T(0);
          left[j] = is_max(row[c], yo[j]) ? T(0) : l;
        }
    }
  }
}

Tensor max_pool_forward(const Tensor& x, const Shape& out_shape, const Windows& win) {
  Tensor y = Tensor::empty(out_shape, x.dtype());
  const Planes p = planes_of(x.shape(), out_shape);
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_planes(p, [&](std::int64_t k) {
      if (win.is_2x2)
        max_2x2_forward(px + k * p.H * p.W, py + k * p.Ho * p.Wo, p);
      else
        max_forward(px + k * p.H * p.W, py + k * p.Ho * p.Wo, p, win);
    });
  });
  return y;
}

Tensor max_pool_backward(const Tensor& x, const Tensor& y, const Tensor& g, const Windows& win) {
  Tensor dx = Tensor::empty(x.shape(), x.dtype());
  const Planes p = planes_of(x.shape(), y.shape());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    const T* pg = g.data<T>();
    T* pd = dx.data<T>();
    for_planes(p, [&](std::int64_t k) {
      const std::int64_t in = k * p.H * p.W, out = k * p.Ho * p.Wo;
      if (win.is_2x2)
        max_2x2_backward(px + in, py + out, pg + out, pd + in, p);
      else
        max_backward(px + in, py + out, pg + out, pd + in, p, win);
    });
  });
  return dx;
}

// ---- mean pools (avg_pool2d, adaptive_avg_pool2d) ------------------------------------------

// One plane, 2x2 windows at stride 2: y = (a + b + c + d) / 4.
template <class T>
void avg_2x2_forward(const T* x, T* y, const Planes& p) {
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    const T* r0 = x + 2 * i * p.W;
    const T* r1 = r0 + p.W;
    T* yo = y + i * p.Wo;
    for (std::int64_t j = 0; j < p.Wo; ++j)
      yo[j] = ((r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1])) * T(0.25);
  }
}

// d/dx = g / 4 on each window, written once; 0 on the odd last row and column.
template <class T>
void avg_2x2_backward(const T* g, T* dx, const Planes& p) {
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    T* d0 = dx + 2 * i * p.W;
    T* d1 = d0 + p.W;
    const T* go = g + i * p.Wo;
    for (std::int64_t j = 0; j < p.Wo; ++j) {
      const T v = go[j] * T(0.25);
      d0[2 * j] = v;
      d0[2 * j + 1] = v;
      d1[2 * j] = v;
      d1[2 * j + 1] = v;
    }
    std::fill(d0 + 2 * p.Wo, d0 + p.W, T(0));
    std::fill(d1 + 2 * p.Wo, d1 + p.W, T(0));
  }
  std::fill(dx + 2 * p.Ho * p.W, dx + p.H * p.W, T(0));
}

// y[i, j] = the window's sum (in double, in row-major order) / (rows[i].count
// cols[j].count); sliding windows tap by tap, adaptive ones span by span.
template <class T>
void mean_forward(const T* x, T* y, const Planes& p, const Windows& win) {
  std::vector<double> acc(static_cast<std::size_t>(p.Wo));
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    const Span& r = win.rows[static_cast<std::size_t>(i)];
    std::fill(acc.begin(), acc.end(), 0.0);
    for (std::int64_t h = r.begin; h < r.end; ++h) {
      const T* row = x + h * p.W;
      for (const Tap& t : win.taps)
        for (std::int64_t j = t.j0; j < t.j1; ++j)
          acc[j] += static_cast<double>(row[j * win.stride + t.offset]);
      if (win.taps.empty())
        for (std::int64_t j = 0; j < p.Wo; ++j) {
          const Span& c = win.cols[static_cast<std::size_t>(j)];
          for (std::int64_t w = c.begin; w < c.end; ++w) acc[j] += static_cast<double>(row[w]);
        }
    }
    for (std::int64_t j = 0; j < p.Wo; ++j)
      y[i * p.Wo + j] = static_cast<T>(
          acc[j] / static_cast<double>(r.count * win.cols[static_cast<std::size_t>(j)].count));
  }
}

// dx = g[i, j] / divisor spread over window (i, j), summed where windows overlap.
template <class T>
void mean_backward(const T* g, T* dx, const Planes& p, const Windows& win) {
  std::fill(dx, dx + p.H * p.W, T(0));
  std::vector<T> v(static_cast<std::size_t>(p.Wo));
  for (std::int64_t i = 0; i < p.Ho; ++i) {
    const Span& r = win.rows[static_cast<std::size_t>(i)];
    for (std::int64_t j = 0; j < p.Wo; ++j)
      v[j] =
          g[i * p.Wo + j] / static_cast<T>(r.count * win.cols[static_cast<std::size_t>(j)].count);
    for (std::int64_t h = r.begin; h < r.end; ++h) {
      T* drow = dx + h * p.W;
      for (const Tap& t : win.taps)
        for (std::int64_t j = t.j0; j < t.j1; ++j) drow[j * win.stride + t.offset] += v[j];
      if (win.taps.empty())
        for (std::int64_t j = 0; j < p.Wo; ++j) {
          const Span& c = win.cols[static_cast<std::size_t>(j)];
          for (std::int64_t w = c.begin; w < c.end; ++w) drow[w] += v[j];
        }
    }
  }
}

Tensor mean_pool_forward(const Tensor& x, const Shape& out_shape, const Windows& win) {
  Tensor y = Tensor::empty(out_shape, x.dtype());
  const Planes p = planes_of(x.shape(), out_shape);
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for_planes(p, [&](std::int64_t k) {
      if (win.is_2x2)
        avg_2x2_forward(px + k * p.H * p.W, py + k * p.Ho * p.Wo, p);
      else
        mean_forward(px + k * p.H * p.W, py + k * p.Ho * p.Wo, p, win);
    });
  });
  return y;
}

// g (N, C, Ho, Wo) -> dx of `in_shape`.
Tensor mean_pool_backward(const Tensor& g, const Shape& in_shape, const Windows& win) {
  Tensor dx = Tensor::empty(in_shape, g.dtype());
  const Planes p = planes_of(in_shape, g.shape());
  dispatch(g.dtype(), [&]<class T>(T) {
    const T* pg = g.data<T>();
    T* pd = dx.data<T>();
    for_planes(p, [&](std::int64_t k) {
      if (win.is_2x2)
        avg_2x2_backward(pg + k * p.Ho * p.Wo, pd + k * p.H * p.W, p);
      else
        mean_backward(pg + k * p.Ho * p.Wo, pd + k * p.H * p.W, p, win);
    });
  });
  return dx;
}

}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding) {
  const Window w = check_window(kMaxPool, x, kernel, stride, padding);
  const Shape out_shape = window_output_shape(x, w);
  // The windows are clipped to the input: padding is never read (it counts as -infinity).
  Tensor y = max_pool_forward(x, out_shape, sliding_windows(x.shape(), out_shape, w, false));
  if (!should_record({&x})) return y;
  // Saves x and y (data shared with tensors that exist anyway), not the argmax indices.
  return record(kMaxPool, y, {&x}, [x = x.detach(), y = y.detach(), w](const Tensor& g, Needs) {
    return Grads{max_pool_backward(x, y, g, sliding_windows(x.shape(), y.shape(), w, false))};
  });
}

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                  bool count_include_pad) {
  const Window w = check_window(kAvgPool, x, kernel, stride, padding);
  const Shape out_shape = window_output_shape(x, w);
  Tensor y =
      mean_pool_forward(x, out_shape, sliding_windows(x.shape(), out_shape, w, count_include_pad));
  if (!should_record({&x})) return y;
  return record(
      kAvgPool, y, {&x}, [shape = x.shape(), w, count_include_pad](const Tensor& g, Needs) {
        return Grads{
            mean_pool_backward(g, shape, sliding_windows(shape, g.shape(), w, count_include_pad))};
      });
}

Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
  check_4d(kAdaptiveAvgPool, x);
  if (output_size.h < 1 || output_size.w < 1)
    throw ValueError(
        fmt::format("{}: output size {}x{} must be at least 1 in each direction: "
                    "input {}",
                    kAdaptiveAvgPool, output_size.h, output_size.w, shape_str(x.shape())));
  // A window of an empty axis would be empty: its mean 0 / 0.
  if (x.size(2) == 0 || x.size(3) == 0)
    throw ShapeError(
        fmt::format("{}: input {} has an empty spatial axis (H and W must be at "
                    "least 1)",
                    kAdaptiveAvgPool, shape_str(x.shape())));
  const Shape out_shape = {x.size(0), x.size(1), output_size.h, output_size.w};
  Tensor y = mean_pool_forward(x, out_shape, adaptive_windows(x.shape(), out_shape));
  if (!should_record({&x})) return y;
  return record(kAdaptiveAvgPool, y, {&x}, [shape = x.shape()](const Tensor& g, Needs) {
    return Grads{mean_pool_backward(g, shape, adaptive_windows(shape, g.shape()))};
  });
}

}  // namespace tapegrad
