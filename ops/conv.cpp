#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/conv.hpp>
#include <type_traits>
#include <vector>

namespace tapegrad {
namespace {

constexpr const char* kConv = "conv2d";

// Everything the kernels need to know about one convolution, checked once.
struct Geometry {
  std::int64_t N, C, H, W;      // input
  std::int64_t O, kh, kw;       // weight (O, C / groups, kh, kw)
  std::int64_t OH, OW;          // output plane
  std::int64_t groups, Cg, Og;  // channels per group: input, output
  Size2 stride, padding, dilation;
  std::int64_t plane() const { return OH * OW; }       // L: output positions per image
  std::int64_t patch() const { return Cg * kh * kw; }  // K: one column of im2col
  std::int64_t in_plane() const { return H * W; }      // input positions per channel
  bool direct() const {  // 1x1, stride 1, no padding: the input is its own im2col
    return kh == 1 && kw == 1 && stride == Size2(1) && padding == Size2(0);
  }
};

Geometry check(const Tensor& x, const Tensor& w, const Tensor& b, Size2 stride, Size2 padding,
               Size2 dilation, std::int64_t groups) {
  kernels::check_defined(kConv, x);
  kernels::check_defined(kConv, w);
  const auto shapes = [&] {
    return fmt::format("{} * {}", shape_str(x.shape()), shape_str(w.shape()));
  };
  if (x.dim() != 4)
    throw ShapeError(fmt::format("{}: input must be 4-D (N, C, H, W), got {}", kConv, shapes()));
  if (w.dim() != 4)
    throw ShapeError(fmt::format("{}: weight must be 4-D (C_out, C_in / groups, kH, kW), got {}",
                                 kConv, shapes()));
  kernels::check_same_dtype(kConv, x, w);
  if (stride.h < 1 || stride.w < 1)
    throw ValueError(fmt::format("{}: stride must be >= 1, got {}x{}", kConv, stride.h, stride.w));
  if (dilation.h < 1 || dilation.w < 1)
    throw ValueError(
        fmt::format("{}: dilation must be >= 1, got {}x{}", kConv, dilation.h, dilation.w));
  if (padding.h < 0 || padding.w < 0)
    throw ValueError(
        fmt::format("{}: padding must be >= 0, got {}x{}", kConv, padding.h, padding.w));
  Geometry g{x.size(0), x.size(1), x.size(2), x.size(3), w.size(0), w.size(2), w.size(3), 0,
             0,         groups,    0,         0,         stride,    padding,   dilation};
  if (groups < 1) throw ValueError(fmt::format("{}: groups must be >= 1, got {}", kConv, groups));
  if (g.C % groups != 0 || g.O % groups != 0)
    throw ValueError(fmt::format(
        "{}: groups {} must divide the input channels ({}) and the output channels ({}): {}", kConv,
        groups, g.C, g.O, shapes()));
  if (g.C < 1 || g.O < 1)
    throw ShapeError(
        fmt::format("{}: needs at least one input and one output channel: {}", kConv, shapes()));
  g.Cg = g.C / groups;
  g.Og = g.O / groups;
  if (w.size(1) != g.Cg)
    throw ShapeError(fmt::format("{}: input has {} channels, weight expects {}{}: {}", kConv, g.C,
                                 w.size(1) * groups,
                                 groups > 1 ? fmt::format(" ({} groups)", groups) : "", shapes()));
  if (g.kh < 1 || g.kw < 1)
    throw ShapeError(fmt::format("{}: the kernel must be at least 1x1: {}", kConv, shapes()));
  const std::int64_t span_h = dilation.h * (g.kh - 1) + 1, span_w = dilation.w * (g.kw - 1) + 1;
  if (span_h > g.H + 2 * padding.h || span_w > g.W + 2 * padding.w)
    throw ShapeError(fmt::format(
        "{}: kernel {}x{} (dilated {}x{}) is larger than the padded input {}x{}: {}", kConv, g.kh,
        g.kw, span_h, span_w, g.H + 2 * padding.h, g.W + 2 * padding.w, shapes()));
  g.OH = conv_output_size(g.H, g.kh, stride.h, padding.h, dilation.h);
  g.OW = conv_output_size(g.W, g.kw, stride.w, padding.w, dilation.w);
  if (b.defined()) {
    kernels::check_same_dtype(kConv, x, b);
    if (b.dim() != 1 || b.size(0) != g.O)
      throw ShapeError(fmt::format("{}: bias must be ({}), one per output channel, got {}: {}",
                                   kConv, g.O, shape_str(b.shape()), shapes()));
  }
  return g;
}

template <class T>
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, const T* a,
          std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c, std::int64_t ldc) {
  const auto opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
  const auto i = [](std::int64_t v) { return static_cast<blasint>(v); };
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, opa, opb, i(m), i(n), i(k), 1.0f, a, i(lda), b, i(ldb), beta, c,
                i(ldc));
  else
    cblas_dgemm(CblasRowMajor, opa, opb, i(m), i(n), i(k), 1.0, a, i(lda), b, i(ldb), beta, c,
                i(ldc));
}

// For kernel offset (p, q): the output columns [lo, hi) of a row whose input column
// ow * s - pad + q d lies inside [0, W). Outside them the im2col entry is padding.
struct ColumnRange {
  std::int64_t lo, hi;
};
ColumnRange inside(std::int64_t out, std::int64_t in, std::int64_t s, std::int64_t pad,
                   std::int64_t offset) {
  // ow s - pad + offset >= 0  <=>  ow >= ceil((pad - offset) / s)
  const std::int64_t first = pad - offset;
  std::int64_t lo = first <= 0 ? 0 : (first + s - 1) / s;
  // ow s - pad + offset <= in - 1  <=>  ow <= floor((in - 1 + pad - offset) / s)
  const std::int64_t last = in - 1 + pad - offset;
  std::int64_t hi = last < 0 ? 0 : last / s + 1;
  lo = std::min(lo, out);
  hi = std::clamp(hi, lo, out);
  return {lo, hi};
}

// im2col of one image's channel group into columns [col0, col0 + L) of `cols`, a
// (K, ld) matrix: row (c, p, q), column (oh, ow) = x[c, oh s_h - pad_h + p d_h, ...].
// The rows of a small image are short (28 or 10 values): plain loops, not a memcpy and
// two memsets per row, which cost more in calls than in copying.
template <class T>
void im2col(const Geometry& g, const T* __restrict x, T* __restrict cols, std::int64_t ld) {
  for (std::int64_t c = 0; c < g.Cg; ++c)
    for (std::int64_t p = 0; p < g.kh; ++p)
      for (std::int64_t q = 0; q < g.kw; ++q) {
        T* row = cols + ((c * g.kh + p) * g.kw + q) * ld;
        const ColumnRange cr = inside(g.OW, g.W, g.stride.w, g.padding.w, q * g.dilation.w);
        const std::int64_t shift = q * g.dilation.w - g.padding.w;
        for (std::int64_t oh = 0; oh < g.OH; ++oh) {
          T* out = row + oh * g.OW;
          const std::int64_t ih = oh * g.stride.h - g.padding.h + p * g.dilation.h;
          if (ih < 0 || ih >= g.H) {
            for (std::int64_t ow = 0; ow < g.OW; ++ow) out[ow] = T(0);
            continue;
          }
          const T* in = x + (c * g.H + ih) * g.W + shift;
          for (std::int64_t ow = 0; ow < cr.lo; ++ow) out[ow] = T(0);
          if (g.stride.w == 1)
            for (std::int64_t ow = cr.lo; ow < cr.hi; ++ow) out[ow] = in[ow];
          else
            for (std::int64_t ow = cr.lo; ow < cr.hi; ++ow) out[ow] = in[ow * g.stride.w];
          for (std::int64_t ow = cr.hi; ow < g.OW; ++ow) out[ow] = T(0);
        }
      }
}

// The adjoint of im2col: adds each column entry back to the input element it came from.
template <class T>
void col2im(const Geometry& g, const T* cols, std::int64_t ld, T* dx) {
  for (std::int64_t c = 0; c < g.Cg; ++c)
    for (std::int64_t p = 0; p < g.kh; ++p)
      for (std::int64_t q = 0; q < g.kw; ++q) {
        const T* row = cols + ((c * g.kh + p) * g.kw + q) * ld;
        const ColumnRange cr = inside(g.OW, g.W, g.stride.w, g.padding.w, q * g.dilation.w);
        const std::int64_t shift = q * g.dilation.w - g.padding.w;
        for (std::int64_t oh = 0; oh < g.OH; ++oh) {
          const std::int64_t ih = oh * g.stride.h - g.padding.h + p * g.dilation.h;
          if (ih < 0 || ih >= g.H) continue;
          const T* in = row + oh * g.OW;
          T* out = dx + (c * g.H + ih) * g.W;
          if (g.stride.w == 1)
            for (std::int64_t ow = cr.lo; ow < cr.hi; ++ow) out[ow + shift] += in[ow];
          else
            for (std::int64_t ow = cr.lo; ow < cr.hi; ++ow) out[ow * g.stride.w + shift] += in[ow];
        }
      }
}

// Images are processed a chunk at a time: one im2col matrix (K, nb L) per chunk and group,
// so that each GEMM covers nb images. nb follows from the layer's size alone (never the
// thread count), so the order in which the weight gradient's partial sums are added is
// fixed. kChunkBytes keeps the chunk's columns within L2.
constexpr std::int64_t kChunkBytes = std::int64_t{1} << 20;
// At least this many chunks when the batch allows, so that the pool has work to split.
constexpr std::int64_t kMinChunks = 8;

std::int64_t images_per_chunk(const Geometry& g, std::size_t element) {
  const std::int64_t per_image = g.patch() * g.plane() * static_cast<std::int64_t>(element);
  std::int64_t nb = std::max<std::int64_t>(1, kChunkBytes / std::max<std::int64_t>(per_image, 1));
  nb = std::min(nb, std::max<std::int64_t>(1, (g.N + kMinChunks - 1) / kMinChunks));
  return std::max<std::int64_t>(1, std::min(nb, g.N));
}

// The im2col matrices a forward pass keeps for its backward: those of a layer whose
// matrices take at most 32 MiB in all (LeNet's, the first layer of most nets), so that
// the backward does not build them again; larger ones are rebuilt, chunk by chunk, to keep
// the memory of a deep net's graph near its activations'.
std::atomic<std::int64_t> save_budget{std::int64_t{32} << 20};  // bytes; see set_conv_column_budget

bool saves_columns(const Geometry& g, std::size_t element) {
  if (g.direct() && images_per_chunk(g, element) == 1) return false;  // the input itself
  return g.N * g.groups * g.patch() * g.plane() * static_cast<std::int64_t>(element) <=
         save_budget.load(std::memory_order_relaxed);
}

// Where chunk [n0, n0 + nb), group gi, starts among the saved matrices: chunk after chunk,
// each its groups' (K, nb L) matrices one after another.
std::int64_t saved_offset(const Geometry& g, std::int64_t n0, std::int64_t nb, std::int64_t gi) {
  return (n0 * g.groups + gi * nb) * g.patch() * g.plane();
}

// One scratch buffer per thread, grown as needed and kept: a conv net's layers ask for
// the same sizes every step, so after the first they cost no allocation.
template <class T>
T* scratch(std::size_t slot, std::int64_t count) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& b = buffers[slot];
  if (b.size() < static_cast<std::size_t>(count)) b.resize(static_cast<std::size_t>(count));
  return b.data();
}

// The im2col matrix of images [n0, n0 + nb), group gi: (K, nb L), image j in columns
// [j L, (j + 1) L). A direct (1x1) convolution of one image is its input itself. Written
// into `saved` at the chunk's place when the forward pass keeps it for the backward,
// else into this thread's scratch buffer.
template <class T>
const T* columns(const Geometry& g, const T* x, std::int64_t n0, std::int64_t nb, std::int64_t gi,
                 std::int64_t& ld, T* saved = nullptr) {
  const std::int64_t L = g.plane();
  if (g.direct() && nb == 1) {
    ld = L;
    return x + (n0 * g.C + gi * g.Cg) * g.in_plane();
  }
  ld = nb * L;
  T* cols = saved ? saved + saved_offset(g, n0, nb, gi) : scratch<T>(0, g.patch() * nb * L);
  for (std::int64_t j = 0; j < nb; ++j)
    im2col(g, x + ((n0 + j) * g.C + gi * g.Cg) * g.in_plane(), cols + j * L, ld);
  return cols;
}

template <class T>
void forward(const Geometry& g, const T* x, const T* w, const T* b, T* y, T* saved) {
  const std::int64_t L = g.plane(), K = g.patch();
  const std::int64_t nb = images_per_chunk(g, sizeof(T));
  const std::int64_t chunks = (g.N + nb - 1) / nb;
  parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
      const std::int64_t n0 = chunk * nb, len = std::min(nb, g.N - n0);
      for (std::int64_t gi = 0; gi < g.groups; ++gi) {
        std::int64_t ld = 0;
        const T* cols = columns(g, x, n0, len, gi, ld, saved);
        const T* wg = w + gi * g.Og * K;
        if (len == 1) {  // straight into the image's output channels
          gemm<T>(false, false, g.Og, L, K, wg, K, cols, ld, T(0), y + (n0 * g.O + gi * g.Og) * L,
                  L);
          continue;
        }
        // (Og, len L), then each image's (Og, L) block to its place in (N, O, L).
        T* out = scratch<T>(1, g.Og * len * L);
        gemm<T>(false, false, g.Og, len * L, K, wg, K, cols, ld, T(0), out, len * L);
        for (std::int64_t o = 0; o < g.Og; ++o)
          for (std::int64_t j = 0; j < len; ++j)
            std::memcpy(y + ((n0 + j) * g.O + gi * g.Og + o) * L, out + (o * len + j) * L,
                        static_cast<std::size_t>(L) * sizeof(T));
      }
      if (b)
        for (std::int64_t n = n0; n < n0 + len; ++n)
          for (std::int64_t o = 0; o < g.O; ++o) {
            T* row = y + (n * g.O + o) * L;
            const T bo = b[o];
            for (std::int64_t i = 0; i < L; ++i) row[i] += bo;
          }
    }
  });
}

// The upstream gradient of images [n0, n0 + len), group gi, as one (Og, len L) matrix.
template <class T>
const T* gathered(const Geometry& g, const T* gy, std::int64_t n0, std::int64_t len,
                  std::int64_t gi, std::int64_t& ld) {
  const std::int64_t L = g.plane();
  if (len == 1) {
    ld = L;
    return gy + (n0 * g.O + gi * g.Og) * L;
  }
  ld = len * L;
  T* out = scratch<T>(1, g.Og * len * L);
  for (std::int64_t o = 0; o < g.Og; ++o)
    for (std::int64_t j = 0; j < len; ++j)
      std::memcpy(out + (o * len + j) * L, gy + ((n0 + j) * g.O + gi * g.Og + o) * L,
                  static_cast<std::size_t>(L) * sizeof(T));
  return out;
}

// dx = col2im(W^T g) and dW = sum over chunks of g im2col(x)^T; the chunks' dW are
// summed afterwards in chunk order.
template <class T>
void backward(const Geometry& g, const T* x, const T* saved, const T* w, const T* gy, T* dx,
              T* dw) {
  const std::int64_t L = g.plane(), K = g.patch();
  const std::int64_t nb = images_per_chunk(g, sizeof(T));
  const std::int64_t chunks = (g.N + nb - 1) / nb;
  const std::int64_t wsize = g.O * K;
  std::vector<T> partial(dw ? static_cast<std::size_t>(chunks * wsize) : 0);
  if (dx) std::fill(dx, dx + g.N * g.C * g.in_plane(), T(0));
  parallel_for(chunks, 1, [&](std::int64_t c0, std::int64_t c1) {
    for (std::int64_t chunk = c0; chunk < c1; ++chunk) {
      const std::int64_t n0 = chunk * nb, len = std::min(nb, g.N - n0);
      for (std::int64_t gi = 0; gi < g.groups; ++gi) {
        std::int64_t ldg = 0;
        const T* gg = gathered(g, gy, n0, len, gi, ldg);
        const T* wg = w + gi * g.Og * K;
        if (dw) {
          std::int64_t ld = len * L;
          const T* cols =
              saved ? saved + saved_offset(g, n0, len, gi) : columns(g, x, n0, len, gi, ld);
          gemm<T>(false, true, g.Og, K, len * L, gg, ldg, cols, ld, T(0),
                  partial.data() + chunk * wsize + gi * g.Og * K, K);
        }
        if (dx) {
          T* dcols = scratch<T>(0, K * len * L);  // the im2col buffer is free again
          gemm<T>(true, false, K, len * L, g.Og, wg, K, gg, ldg, T(0), dcols, len * L);
          for (std::int64_t j = 0; j < len; ++j)
            col2im(g, dcols + j * L, len * L, dx + ((n0 + j) * g.C + gi * g.Cg) * g.in_plane());
        }
      }
    }
  });
  if (!dw) return;
  parallel_for(wsize, kernels::kGrain, [&](std::int64_t i0, std::int64_t i1) {
    for (std::int64_t i = i0; i < i1; ++i) {
      T s = 0;
      for (std::int64_t chunk = 0; chunk < chunks; ++chunk)
        s += partial[static_cast<std::size_t>(chunk * wsize + i)];
      dw[i] = s;
    }
  });
}

// db[o] = the sum of g over images and positions, each channel in one fixed order.
template <class T>
void bias_grad(const Geometry& g, const T* gy, T* db) {
  const std::int64_t L = g.plane();
  parallel_for(g.O, 1, [&](std::int64_t o0, std::int64_t o1) {
    for (std::int64_t o = o0; o < o1; ++o) {
      double s = 0;
      for (std::int64_t n = 0; n < g.N; ++n) {
        const T* row = gy + (n * g.O + o) * L;
        T r = 0;
        for (std::int64_t i = 0; i < L; ++i) r += row[i];
        s += static_cast<double>(r);
      }
      db[o] = static_cast<T>(s);
    }
  });
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride,
              Size2 padding, Size2 dilation, std::int64_t groups) {
  const Geometry g = check(x, weight, bias, stride, padding, dilation, groups);
  Tensor y = Tensor::empty({g.N, g.O, g.OH, g.OW}, x.dtype());
  const bool recording = should_record({&x, &weight, &bias});
  // The im2col matrices, kept for the weight gradient when small enough (saves_columns).
  const bool keep = recording && weight.requires_grad() &&
                    saves_columns(g, x.dtype() == float32 ? sizeof(float) : sizeof(double));
  Tensor saved =
      keep ? Tensor::empty({g.N * g.groups * g.patch() * g.plane()}, x.dtype()) : Tensor();
  dispatch(x.dtype(), [&]<class T>(T) {
    forward<T>(g, x.data<T>(), weight.data<T>(), bias.defined() ? bias.data<T>() : nullptr,
               y.data<T>(), keep ? saved.data<T>() : nullptr);
  });
  if (!recording) return y;
  // The rule keeps the input only when it rebuilds the matrices from it.
  return record(kConv, y, {&x, &weight, &bias},
                [x = keep ? Tensor() : x.detach(), saved, weight = weight.detach(), g](
                    const Tensor& gy, Needs needs) {
                  const Dtype dtype = weight.dtype();
                  Grads grads(3);
                  if (needs[0]) grads[0] = Tensor::empty({g.N, g.C, g.H, g.W}, dtype);
                  if (needs[1]) grads[1] = Tensor::empty(weight.shape(), dtype);
                  if (needs[2]) grads[2] = Tensor::empty({g.O}, dtype);
                  dispatch(dtype, [&]<class T>(T) {
                    if (needs[0] || needs[1])
                      backward<T>(g, x.defined() ? x.data<T>() : nullptr,
                                  saved.defined() ? saved.data<T>() : nullptr, weight.data<T>(),
                                  gy.data<T>(), needs[0] ? grads[0].data<T>() : nullptr,
                                  needs[1] ? grads[1].data<T>() : nullptr);
                    if (needs[2]) bias_grad<T>(g, gy.data<T>(), grads[2].data<T>());
                  });
                  return grads;
                });
}

namespace detail {
std::int64_t set_conv_column_budget(std::int64_t bytes) { return save_budget.exchange(bytes); }
}  // namespace detail

// ---- causal_depthwise_conv1d --------------------------------------------------------

Tensor causal_depthwise_conv1d(const Tensor& x, const Tensor& weight) {
  kernels::check_defined("causal_depthwise_conv1d", x);
  kernels::check_defined("causal_depthwise_conv1d", weight);
  if (x.dim() != 3 || weight.dim() != 2 || weight.size(0) < 1 || weight.size(1) != x.size(2))
    throw ShapeError(fmt::format(
        "causal_depthwise_conv1d: needs x (N, L, C) and weight (K, C) with K >= 1; x {}, "
        "weight {}",
        shape_str(x.shape()), shape_str(weight.shape())));
  kernels::check_same_dtype("causal_depthwise_conv1d", x, weight);
  const std::int64_t N = x.size(0), L = x.size(1), C = x.size(2), K = weight.size(0);
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  const auto grain = std::max<std::int64_t>(1, 16384 / std::max<std::int64_t>(1, L * C * K));
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    const T* pw = weight.data<T>();
    T* py = y.data<T>();
    parallel_for(N, grain, [&](std::int64_t n0, std::int64_t n1) {
      for (std::int64_t n = n0; n < n1; ++n)
        for (std::int64_t t = 0; t < L; ++t) {
          T* yr = py + (n * L + t) * C;
          const T* xr = px + (n * L + t) * C;
          for (std::int64_t c = 0; c < C; ++c) yr[c] = pw[c] * xr[c];
          for (std::int64_t s = 1; s < K && s <= t; ++s) {
            const T* xs = xr - s * C;
            const T* ws = pw + s * C;
            for (std::int64_t c = 0; c < C; ++c) yr[c] += ws[c] * xs[c];
          }
        }
    });
  });
  if (!should_record({&x, &weight})) return y;
  return record(
      "causal_depthwise_conv1d", y, {&x, &weight},
      [x = x.detach(), w = weight.detach(), N, L, C, K, grain](const Tensor& g, Needs needs) {
        Grads grads(2);
        dispatch(g.dtype(), [&]<class T>(T) {
          const T* pg = g.data<T>();
          const T* px = x.data<T>();
          const T* pw = w.data<T>();
          if (needs[0]) {  // dx[t] = sum_s w[s] g[t + s]
            grads[0] = Tensor::empty(x.shape(), x.dtype());
            T* pd = grads[0].data<T>();
            parallel_for(N, grain, [&](std::int64_t n0, std::int64_t n1) {
              for (std::int64_t n = n0; n < n1; ++n)
                for (std::int64_t t = 0; t < L; ++t) {
                  T* dr = pd + (n * L + t) * C;
                  const T* gr = pg + (n * L + t) * C;
                  for (std::int64_t c = 0; c < C; ++c) dr[c] = pw[c] * gr[c];
                  for (std::int64_t s = 1; s < K && t + s < L; ++s) {
                    const T* gs = gr + s * C;
                    const T* ws = pw + s * C;
                    for (std::int64_t c = 0; c < C; ++c) dr[c] += ws[c] * gs[c];
                  }
                }
            });
          }
          if (needs[1]) {  // one partial sum a sequence, then those in the order of n
            std::vector<T> partial(static_cast<std::size_t>(N * K * C), T(0));
            parallel_for(N, grain, [&](std::int64_t n0, std::int64_t n1) {
              for (std::int64_t n = n0; n < n1; ++n) {
                T* pn = partial.data() + n * K * C;
                for (std::int64_t t = 0; t < L; ++t) {
                  const T* gr = pg + (n * L + t) * C;
                  for (std::int64_t s = 0; s < K && s <= t; ++s) {
                    const T* xs = px + (n * L + t - s) * C;
                    T* ps = pn + s * C;
                    for (std::int64_t c = 0; c < C; ++c) ps[c] += gr[c] * xs[c];
                  }
                }
              }
            });
            grads[1] = zeros({K, C}, w.dtype());
            T* pdw = grads[1].data<T>();
            for (std::int64_t n = 0; n < N; ++n)
              for (std::int64_t i = 0; i < K * C; ++i)
                pdw[i] += partial[static_cast<std::size_t>(n * K * C + i)];
          }
        });
        return grads;
      });
}

}  // namespace tapegrad
