// recurrent_sequence: a whole RNN, GRU or LSTM layer over a sequence as one recorded op,
// laid out as cuDNN and PyTorch's fused kernels do it:
// - forward: the input projection of every step is one product, X W_ih^T (T N rows);
//   each step then adds h_{t-1} W_hh^T and applies the gates in place;
// - backward: each step computes its gates' gradient and dh_{t-1} = dG_t W_hh; the
//   weights' gradients are then one product each over all steps (dG^T X, dG^T H_prev).
// The recurrence of each batch row is independent of the others', so the rows are cut
// into fixed chunks and the chunks run on the pool's threads, with no synchronization
// per step. The chunks and the blocks of the large products are the same whatever the
// thread count, so every thread count gives the same bits (see ops/linalg.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/recurrent.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <type_traits>
#include <vector>

namespace tapegrad {

namespace {

using i64 = std::int64_t;

// ---- the gates' functions ---------------------------------------------------------------
// float32 uses a branch-free exp the compiler vectorizes (Cody-Waite reduction and a
// degree-6 polynomial: within 2 ulp of expf on the clamped range); float64 uses libm's,
// so that gradient checks and references see the exact functions.

inline float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : x;  // a NaN stays NaN; written as selects, which vectorize
  x = x > 88.0f ? 88.0f : x;
  // round(x / ln 2) by the 1.5 * 2^23 trick; its integer is read from t's bits, not by a
  // float-to-int conversion (undefined for a NaN).
  const float t = x * 1.44269504f + 12582912.0f;
  const float n = t - 12582912.0f;
  const std::int32_t ni = std::bit_cast<std::int32_t>(t) - 0x4B400000;
  const float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * std::bit_cast<float>((ni + 127) << 23);
}

template <class T>
inline T sigmoid_of(T x) {
  if constexpr (std::is_same_v<T, float>)
    return 1.0f / (1.0f + exp_fast(-x));
  else
    return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

template <class T>
inline T tanh_of(T x) {
  if constexpr (std::is_same_v<T, float>) {
    // (1 - e^-2|x|) / (1 + e^-2|x|) with x's sign; near 0 its odd series, where the
    // difference would lose digits.
    const float a = std::fabs(x);
    const float e = exp_fast(-2.0f * a);
    const float big = (1.0f - e) / (1.0f + e);
    const float a2 = a * a;
    const float small =
        a * (1.0f + a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f - a2 * 17.0f / 315.0f)));
    return std::copysign(a < 0.0625f ? small : big, x);
  } else {
    return std::tanh(x);
  }
}

// ---- products -----------------------------------------------------------------------

template <class T>
void gemm_call(bool ta, bool tb, i64 rows, i64 cols, i64 k, T alpha, const T* a, i64 lda,
               const T* b, i64 ldb, T beta, T* c, i64 ldc) {
  detail::blas_gemm(ta, tb, rows, cols, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Rows of C per block of a large product, and batch rows per chunk of the recurrence:
// fixed, so that the calls (and the bits) do not depend on the thread count.
constexpr i64 kProductRows = 64;
constexpr i64 kChunkRows = 16;

// C (rows, cols) = op(A) op(B) (+ C when accumulate), cut into fixed blocks of rows of C
// run on the pool. op(A) is (rows, k), op(B) (k, cols); A is stored (rows, lda) or,
// transposed, (k, lda); C's leading dimension is cols.
template <class T>
void product(bool ta, bool tb, i64 rows, i64 cols, i64 k, const T* a, i64 lda, const T* b, i64 ldb,
             T* c, bool accumulate) {
  if (rows == 0 || cols == 0) return;
  const T beta = accumulate ? T(1) : T(0);
  const i64 blocks = (rows + kProductRows - 1) / kProductRows;
  parallel_for(blocks, 1, [&](i64 b0, i64 b1) {
    for (i64 blk = b0; blk < b1; ++blk) {
      const i64 i0 = blk * kProductRows, i1 = std::min(rows, i0 + kProductRows);
      gemm_call<T>(ta, tb, i1 - i0, cols, k, T(1), ta ? a + i0 : a + i0 * lda, lda, b, ldb, beta,
                   c + i0 * cols, cols);
    }
  });
}

// out[j] = sum over rows of m (rows, cols).
template <class T>
void column_sums(const T* m, i64 rows, i64 cols, T* out) {
  std::fill(out, out + cols, T(0));
  for (i64 r = 0; r < rows; ++r) {
    const T* row = m + r * cols;
    for (i64 j = 0; j < cols; ++j) out[j] += row[j];
  }
}

// Runs body(r0, r1) over fixed chunks of the batch's rows, on the pool.
template <class F>
void over_chunks(i64 N, F&& body) {
  const i64 chunks = (N + kChunkRows - 1) / kChunkRows;
  parallel_for(chunks, 1, [&](i64 c0, i64 c1) {
    for (i64 c = c0; c < c1; ++c) body(c * kChunkRows, std::min(N, (c + 1) * kChunkRows));
  });
}

// ---- the three cells ----------------------------------------------------------------
// Buffers, all row-major with the batch row n of step t at row t N + n:
//   xp  (T N, G H): the input projections, then (after forward) the activated gates
//       (the RNN's stay its pre-activations; z holds their tanh)
//   z   (T + S, N, H): the op's output, h_t at step t (and, for the LSTM, c_T last)
//   aux (T N, H): LSTM: c_t; GRU: W_hn h_{t-1} + b_hn; RNN: unused
//   aux2 (T N, H): LSTM: tanh(c_t)
// Backward fills dxp (T N, G H), the gradient of the input projections, and for the GRU
// dhp (T N, G H), that of the hidden projections (for the LSTM and the RNN they are the
// same, and dhp aliases dxp).

struct Dims {
  i64 T, N, in, H, G;
  bool batch_first;
  i64 S;  // 1 for the LSTM (c_T follows the outputs in z), else 0
  // Row of step t, batch row n in x, xp, aux, aux2, dxp, dhp (T N rows), and in z.
  i64 xrow(i64 t, i64 n) const { return batch_first ? n * T + t : t * N + n; }
  i64 zrow(i64 t, i64 n) const { return batch_first ? n * (T + S) + t : t * N + n; }
  // Rows between batch rows n and n + 1 of one step.
  i64 xstride() const { return batch_first ? T : 1; }
  i64 zstride() const { return batch_first ? T + S : 1; }
};

// ---- the gates of one batch row ---------------------------------------------------
// Each takes every gate as its own pointer, so the compiler sees that they do not
// overlap and vectorizes the loop.

// LSTM forward: the pre-activations i, f, g, o become the gates, in place; c, tanh(c), h.
template <class T>
void lstm_row(i64 H, T* __restrict gi, T* __restrict gf, T* __restrict gg, T* __restrict go,
              const T* __restrict cprev, T* __restrict c, T* __restrict tc, T* __restrict h) {
  for (i64 j = 0; j < H; ++j) {
    const T i = sigmoid_of<T>(gi[j]), f = sigmoid_of<T>(gf[j]);
    const T g = tanh_of<T>(gg[j]), o = sigmoid_of<T>(go[j]);
    gi[j] = i;
    gf[j] = f;
    gg[j] = g;
    go[j] = o;
    const T cv = f * cprev[j] + i * g;
    const T th = tanh_of<T>(cv);
    c[j] = cv;
    tc[j] = th;
    h[j] = o * th;
  }
}

// LSTM backward: the gates' pre-activation gradients from dh (dh_t + the output's
// gradient) and dc, which becomes dc_{t-1}.
template <class T>
void lstm_row_backward(i64 H, const T* __restrict gi, const T* __restrict gf,
                       const T* __restrict gg, const T* __restrict go, const T* __restrict dh,
                       const T* __restrict dout, const T* __restrict tc, const T* __restrict cprev,
                       T* __restrict dc, T* __restrict di, T* __restrict df, T* __restrict dg,
                       T* __restrict dor) {
  for (i64 j = 0; j < H; ++j) {
    const T i = gi[j], f = gf[j], g = gg[j], o = go[j];
    const T dht = dh[j] + dout[j];
    const T th = tc[j];
    const T dct = dc[j] + dht * o * (T(1) - th * th);
    di[j] = dct * g * i * (T(1) - i);
    df[j] = dct * cprev[j] * f * (T(1) - f);
    dg[j] = dct * i * (T(1) - g * g);
    dor[j] = dht * th * o * (T(1) - o);
    dc[j] = dct * f;
  }
}

// GRU forward: xr, xz, xn (W_ih x + b_ih) become r, z, n in place; hr, hz, hn are
// W_hh h + b_hh; hn is kept (saved_hn) for backward.
template <class T>
void gru_row(i64 H, T* __restrict xr, T* __restrict xz, T* __restrict xn, const T* __restrict hr,
             const T* __restrict hz, const T* __restrict hn, const T* __restrict hprev,
             T* __restrict saved_hn, T* __restrict h) {
  for (i64 j = 0; j < H; ++j) {
    const T r = sigmoid_of<T>(xr[j] + hr[j]);
    const T u = sigmoid_of<T>(xz[j] + hz[j]);
    const T n = tanh_of<T>(xn[j] + r * hn[j]);
    xr[j] = r;
    xz[j] = u;
    xn[j] = n;
    saved_hn[j] = hn[j];
    h[j] = (T(1) - u) * n + u * hprev[j];
  }
}

// GRU backward: from dh (dh_t + the output's gradient, in place: it becomes the direct
// part of dh_{t-1}) the gradients of the input projections (dxr, dxz, dxn) and of the
// hidden ones (dhr, dhz, dhn).
template <class T>
void gru_row_backward(i64 H, const T* __restrict r_, const T* __restrict z_, const T* __restrict n_,
                      const T* __restrict hn, const T* __restrict hprev, const T* __restrict dout,
                      T* __restrict dh, T* __restrict dxr, T* __restrict dxz, T* __restrict dxn,
                      T* __restrict dhr, T* __restrict dhz, T* __restrict dhn) {
  for (i64 j = 0; j < H; ++j) {
    const T r = r_[j], u = z_[j], n = n_[j];
    const T dht = dh[j] + dout[j];
    const T dnp = dht * (T(1) - u) * (T(1) - n * n);
    const T drp = dnp * hn[j] * r * (T(1) - r);
    const T dup = dht * (hprev[j] - n) * u * (T(1) - u);
    dxr[j] = drp;
    dxz[j] = dup;
    dxn[j] = dnp;
    dhr[j] = drp;
    dhz[j] = dup;
    dhn[j] = dnp * r;
    dh[j] = dht * u;
  }
}

// The forward recurrence of batch rows [r0, r1).
template <class T>
void forward_rows(RecurrentKind kind, const Dims& d, i64 r0, i64 r1, const T* h0, const T* c0,
                  const T* w_hh, const T* b_hh, T* xp, T* z, T* aux, T* aux2, T* scratch) {
  const i64 H = d.H, GH = d.G * d.H, rows = r1 - r0;
  const i64 xs = d.xstride(), zs = d.zstride();
  for (i64 t = 0; t < d.T; ++t) {
    // h_{t-1} of the chunk's first row, and the distance between its rows.
    const T* hprev = t == 0 ? h0 + r0 * H : z + d.zrow(t - 1, r0) * H;
    const i64 hld = t == 0 ? H : zs * H;
    T* gates = xp + d.xrow(t, r0) * GH;
    T* h = z + d.zrow(t, r0) * H;
    if (kind == RecurrentKind::gru) {
      // hp = h_{t-1} W_hh^T + b_hh apart: r multiplies its n part.
      for (i64 n = 0; n < rows; ++n)
        std::copy(b_hh, b_hh + GH, scratch + n * GH);  // b_hh is zeros when there is none
      gemm_call<T>(false, true, rows, GH, H, T(1), hprev, hld, w_hh, H, T(1), scratch, GH);
      for (i64 n = 0; n < rows; ++n) {
        T* g = gates + n * xs * GH;
        const T* hp = scratch + n * GH;
        gru_row<T>(H, g, g + H, g + 2 * H, hp, hp + H, hp + 2 * H, hprev + n * hld,
                   aux + d.xrow(t, r0 + n) * H, h + n * zs * H);
      }
      continue;
    }
    gemm_call<T>(false, true, rows, GH, H, T(1), hprev, hld, w_hh, H, T(1), gates, xs * GH);
    if (kind == RecurrentKind::rnn_tanh) {
      for (i64 n = 0; n < rows; ++n) {
        const T* __restrict g = gates + n * xs * GH;
        T* __restrict out = h + n * zs * H;
        for (i64 j = 0; j < H; ++j) out[j] = tanh_of<T>(g[j]);
      }
      continue;
    }
    for (i64 n = 0; n < rows; ++n) {  // LSTM: gates i, f, g, o
      T* g = gates + n * xs * GH;
      const T* cprev = t == 0 ? c0 + (r0 + n) * H : aux + d.xrow(t - 1, r0 + n) * H;
      lstm_row<T>(H, g, g + H, g + 2 * H, g + 3 * H, cprev, aux + d.xrow(t, r0 + n) * H,
                  aux2 + d.xrow(t, r0 + n) * H, h + n * zs * H);
    }
  }
  if (kind == RecurrentKind::lstm)  // c_T after the outputs
    for (i64 n = r0; n < r1; ++n) {
      const T* c = aux + d.xrow(d.T - 1, n) * H;
      std::copy(c, c + H, z + d.zrow(d.T, n) * H);
    }
}

// The backward recurrence of batch rows [r0, r1): fills dxp (and dhp) and dh0 (and dc0).
// hprev holds h_{t-1} at row xrow(t, n).
template <class T>
void backward_rows(RecurrentKind kind, const Dims& d, i64 r0, i64 r1, const T* gz, const T* c0,
                   const T* w_hh, const T* xp, const T* z, const T* hprev, const T* aux,
                   const T* aux2, T* dxp, T* dhp, T* dh0, T* dc0) {
  const i64 H = d.H, GH = d.G * d.H, rows = r1 - r0;
  const i64 xs = d.xstride(), zs = d.zstride();
  std::vector<T> dh_buf(static_cast<std::size_t>(rows * H), T(0));
  std::vector<T> dc_buf(static_cast<std::size_t>(rows * H), T(0));
  T* dh = dh_buf.data();
  T* dc = dc_buf.data();
  if (kind == RecurrentKind::lstm)
    for (i64 n = 0; n < rows; ++n) {
      const T* g = gz + d.zrow(d.T, r0 + n) * H;
      std::copy(g, g + H, dc + n * H);
    }
  for (i64 t = d.T - 1; t >= 0; --t) {
    const T* gzt = gz + d.zrow(t, r0) * H;
    const T* a = xp + d.xrow(t, r0) * GH;
    T* dg = dxp + d.xrow(t, r0) * GH;
    if (kind == RecurrentKind::lstm) {
      for (i64 n = 0; n < rows; ++n) {
        const T* g = a + n * xs * GH;
        const T* cprev = t == 0 ? c0 + (r0 + n) * H : aux + d.xrow(t - 1, r0 + n) * H;
        T* dgn = dg + n * xs * GH;
        lstm_row_backward<T>(H, g, g + H, g + 2 * H, g + 3 * H, dh + n * H, gzt + n * zs * H,
                             aux2 + d.xrow(t, r0 + n) * H, cprev, dc + n * H, dgn, dgn + H,
                             dgn + 2 * H, dgn + 3 * H);
      }
      gemm_call<T>(false, false, rows, H, GH, T(1), dg, xs * GH, w_hh, H, T(0), dh, H);
    } else if (kind == RecurrentKind::rnn_tanh) {
      for (i64 n = 0; n < rows; ++n) {
        const T* __restrict hv = z + d.zrow(t, r0 + n) * H;
        const T* __restrict gzn = gzt + n * zs * H;
        const T* __restrict dhn = dh + n * H;
        T* __restrict dgn = dg + n * xs * GH;
        for (i64 j = 0; j < H; ++j) dgn[j] = (dhn[j] + gzn[j]) * (T(1) - hv[j] * hv[j]);
      }
      gemm_call<T>(false, false, rows, H, GH, T(1), dg, xs * GH, w_hh, H, T(0), dh, H);
    } else {  // GRU
      T* dgh = dhp + d.xrow(t, r0) * GH;
      for (i64 n = 0; n < rows; ++n) {
        const T* g = a + n * xs * GH;
        T* dx = dg + n * xs * GH;
        T* dhh = dgh + n * xs * GH;
        gru_row_backward<T>(H, g, g + H, g + 2 * H, aux + d.xrow(t, r0 + n) * H,
                            hprev + d.xrow(t, r0 + n) * H, gzt + n * zs * H, dh + n * H, dx, dx + H,
                            dx + 2 * H, dhh, dhh + H, dhh + 2 * H);
      }
      gemm_call<T>(false, false, rows, H, GH, T(1), dgh, xs * GH, w_hh, H, T(1), dh, H);
    }
  }
  if (dh0) std::copy(dh, dh + rows * H, dh0 + r0 * H);
  if (dc0) std::copy(dc, dc + rows * H, dc0 + r0 * H);
}

const char* kind_name(RecurrentKind kind) {
  switch (kind) {
    case RecurrentKind::rnn_tanh:
      return "rnn";
    case RecurrentKind::gru:
      return "gru";
    case RecurrentKind::lstm:
      return "lstm";
  }
  return "?";
}

i64 gates_of(RecurrentKind kind) {
  return kind == RecurrentKind::lstm ? 4 : kind == RecurrentKind::gru ? 3 : 1;
}

std::string shape_or_none(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : "undefined";
}

struct Inputs {
  const Tensor &x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh;
};

Dims check(RecurrentKind kind, const Inputs& in, bool batch_first) {
  const i64 G = gates_of(kind);
  const std::string shapes =
      fmt::format("x {}, h0 {}, c0 {}, w_ih {}, w_hh {}, b_ih {}, b_hh {}", shape_or_none(in.x),
                  shape_or_none(in.h0), shape_or_none(in.c0), shape_or_none(in.w_ih),
                  shape_or_none(in.w_hh), shape_or_none(in.b_ih), shape_or_none(in.b_hh));
  const auto fail = [&](const std::string& what) {
    return ShapeError(
        fmt::format("recurrent_sequence ({}): {}; {}", kind_name(kind), what, shapes));
  };
  if (!in.x.defined() || !in.w_ih.defined() || !in.w_hh.defined())
    throw ValueError(fmt::format("recurrent_sequence ({}): x, w_ih and w_hh must be defined; {}",
                                 kind_name(kind), shapes));
  if (in.x.dim() != 3)
    throw fail(batch_first ? "x must be 3-D (N, T, in)" : "x must be 3-D (T, N, in)");
  if (in.w_ih.dim() != 2 || in.w_hh.dim() != 2) throw fail("w_ih and w_hh must be 2-D");
  const i64 T = in.x.size(batch_first ? 1 : 0), N = in.x.size(batch_first ? 0 : 1);
  const Dims d{
      T, N, in.x.size(2), in.w_hh.size(1), G, batch_first, kind == RecurrentKind::lstm ? 1 : 0};
  if (d.in == 0 || d.H == 0)
    throw ValueError(fmt::format("recurrent_sequence ({}): an input or hidden size of zero; {}",
                                 kind_name(kind), shapes));
  if (d.T == 0 || d.N == 0)
    throw ValueError(
        fmt::format("recurrent_sequence ({}): a sequence of length zero or an "
                    "empty batch; {}",
                    kind_name(kind), shapes));
  if (in.w_ih.shape() != Shape{G * d.H, d.in} || in.w_hh.shape() != Shape{G * d.H, d.H})
    throw fail(fmt::format("expected w_ih ({} H, in) = [{}, {}] and w_hh ({} H, H) = [{}, {}]", G,
                           G * d.H, d.in, G, G * d.H, d.H));
  if (in.b_ih.defined() != in.b_hh.defined()) throw fail("give both biases or neither");
  if (in.b_ih.defined() && (in.b_ih.shape() != Shape{G * d.H} || in.b_hh.shape() != Shape{G * d.H}))
    throw fail(fmt::format("biases must be ({} H) = [{}]", G, G * d.H));
  const Shape state = {d.N, d.H};
  if (in.h0.defined() && in.h0.shape() != state)
    throw fail(fmt::format("h0 must be (N, H) = {}", shape_str(state)));
  if (kind != RecurrentKind::lstm && in.c0.defined()) throw fail("c0 is for an LSTM only");
  if (in.c0.defined() && in.c0.shape() != state)
    throw fail(fmt::format("c0 must be (N, H) = {}", shape_str(state)));
  for (const Tensor* t : {&in.h0, &in.c0, &in.w_ih, &in.w_hh, &in.b_ih, &in.b_hh})
    if (t->defined()) kernels::check_same_dtype("recurrent_sequence", in.x, *t);
  return d;
}

template <class T>
Tensor run(RecurrentKind kind, const Inputs& in, const Dims& d) {
  const i64 N = d.N, H = d.H, GH = d.G * d.H, TN = d.T * d.N;
  const Dtype dtype = in.x.dtype();
  const bool lstm = kind == RecurrentKind::lstm, gru = kind == RecurrentKind::gru;
  const Tensor h0 = in.h0.defined() ? in.h0.detach() : zeros({N, H}, dtype);
  const Tensor c0 = !lstm ? Tensor() : in.c0.defined() ? in.c0.detach() : zeros({N, H}, dtype);
  const Tensor x = in.x.detach(), w_ih = in.w_ih.detach(), w_hh = in.w_hh.detach();
  Tensor xp = Tensor::empty({TN, GH}, dtype);
  Tensor z = Tensor::empty(d.batch_first ? Shape{N, d.T + d.S, H} : Shape{d.T + d.S, N, H}, dtype);
  Tensor aux = kind == RecurrentKind::rnn_tanh ? Tensor() : Tensor::empty({TN, H}, dtype);
  Tensor aux2 = lstm ? Tensor::empty({TN, H}, dtype) : Tensor();
  // The biases: added to the input projections (b_ih + b_hh for the LSTM and the RNN,
  // b_ih for the GRU, whose b_hh is added to the hidden projections each step).
  std::vector<T> bias_x(static_cast<std::size_t>(GH), T(0));
  std::vector<T> bias_h(static_cast<std::size_t>(GH), T(0));
  if (in.b_ih.defined()) {
    const T* bi = in.b_ih.template data<T>();
    const T* bh = in.b_hh.template data<T>();
    for (std::size_t j = 0; j < bias_x.size(); ++j) {
      bias_x[j] = gru ? bi[j] : bi[j] + bh[j];
      bias_h[j] = gru ? bh[j] : T(0);
    }
  }
  T* pxp = xp.template data<T>();
  for (i64 r = 0; r < TN; ++r) std::copy(bias_x.begin(), bias_x.end(), pxp + r * GH);
  product<T>(false, true, TN, GH, d.in, x.template data<T>(), d.in, w_ih.template data<T>(), d.in,
             pxp, true);
  {
    T* pz = z.template data<T>();
    T* paux = aux.defined() ? aux.template data<T>() : nullptr;
    T* paux2 = aux2.defined() ? aux2.template data<T>() : nullptr;
    const T* ph0 = h0.template data<T>();
    const T* pc0 = c0.defined() ? c0.template data<T>() : nullptr;
    const T* pw = w_hh.template data<T>();
    over_chunks(N, [&](i64 r0, i64 r1) {
      std::vector<T> scratch(gru ? static_cast<std::size_t>((r1 - r0) * GH) : 0);
      forward_rows<T>(kind, d, r0, r1, ph0, pc0, pw, bias_h.data(), pxp, pz, paux, paux2,
                      scratch.data());
    });
  }
  const std::vector<const Tensor*> inputs = {&in.x,    &in.h0,   &in.c0,  &in.w_ih,
                                             &in.w_hh, &in.b_ih, &in.b_hh};
  const std::span<const Tensor* const> span(inputs.data(), inputs.size());
  if (!should_record(span)) return z;
  struct Saved {
    RecurrentKind kind;
    Dims d;
    Tensor x, h0, c0, w_ih, w_hh, xp, z, aux, aux2;
  };
  auto saved =
      std::make_shared<Saved>(Saved{kind, d, x, h0, c0, w_ih, w_hh, xp, z.detach(), aux, aux2});
  return record("recurrent_sequence", z, span, [saved](const Tensor& grad, Needs needs) {
    const Saved& s = *saved;
    const Dims& d = s.d;
    const i64 N = d.N, H = d.H, GH = d.G * d.H, TN = d.T * d.N;
    const Dtype dtype = s.x.dtype();
    const bool gru = s.kind == RecurrentKind::gru;
    const T* pz = s.z.template data<T>();
    // h_{t-1} at row xrow(t, n): h0 at step 0, then the outputs.
    Tensor hprev = Tensor::empty({TN, H}, dtype);
    T* php = hprev.template data<T>();
    const T* ph0 = s.h0.template data<T>();
    for (i64 n = 0; n < N; ++n)
      for (i64 t = 0; t < d.T; ++t) {
        const T* src = t == 0 ? ph0 + n * H : pz + d.zrow(t - 1, n) * H;
        std::copy(src, src + H, php + d.xrow(t, n) * H);
      }
    Tensor dxp = Tensor::empty({TN, GH}, dtype);
    Tensor dhp = gru ? Tensor::empty({TN, GH}, dtype) : dxp;
    Tensor dh0 = needs[1] ? Tensor::empty({N, H}, dtype) : Tensor();
    Tensor dc0 = needs[2] ? Tensor::empty({N, H}, dtype) : Tensor();
    T* pdxp = dxp.template data<T>();
    T* pdhp = dhp.template data<T>();
    over_chunks(N, [&](i64 r0, i64 r1) {
      backward_rows<T>(s.kind, d, r0, r1, grad.template data<T>(),
                       s.c0.defined() ? s.c0.template data<T>() : nullptr,
                       s.w_hh.template data<T>(), s.xp.template data<T>(), pz, php,
                       s.aux.defined() ? s.aux.template data<T>() : nullptr,
                       s.aux2.defined() ? s.aux2.template data<T>() : nullptr, pdxp, pdhp,
                       dh0.defined() ? dh0.template data<T>() : nullptr,
                       dc0.defined() ? dc0.template data<T>() : nullptr);
    });
    Grads grads(7);
    if (needs[0]) {  // dX = dxp W_ih
      Tensor dx = Tensor::empty(s.x.shape(), dtype);
      product<T>(false, false, TN, d.in, GH, pdxp, GH, s.w_ih.template data<T>(), d.in,
                 dx.template data<T>(), false);
      grads[0] = dx;
    }
    grads[1] = dh0;
    grads[2] = dc0;
    if (needs[3]) {  // dW_ih = dxp^T X
      Tensor dw = Tensor::empty({GH, d.in}, dtype);
      product<T>(true, false, GH, d.in, TN, pdxp, GH, s.x.template data<T>(), d.in,
                 dw.template data<T>(), false);
      grads[3] = dw;
    }
    if (needs[4]) {  // dW_hh = dhp^T H_prev
      Tensor dw = Tensor::empty({GH, H}, dtype);
      product<T>(true, false, GH, H, TN, pdhp, GH, php, H, dw.template data<T>(), false);
      grads[4] = dw;
    }
    for (std::size_t k : {std::size_t{5}, std::size_t{6}}) {  // the biases: column sums
      if (!needs[k]) continue;
      Tensor db = Tensor::empty({GH}, dtype);
      column_sums<T>(k == 5 ? pdxp : pdhp, TN, GH, db.template data<T>());
      grads[k] = db;
    }
    return grads;
  });
}

}  // namespace

SequenceOutput recurrent_sequence(RecurrentKind kind, const Tensor& x, const Tensor& h0,
                                  const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                                  const Tensor& b_ih, const Tensor& b_hh, bool batch_first) {
  const Inputs in{x, h0, c0, w_ih, w_hh, b_ih, b_hh};
  const Dims d = check(kind, in, batch_first);
  const Tensor z = x.dtype() == float64 ? run<double>(kind, in, d) : run<float>(kind, in, d);
  const int time = batch_first ? 1 : 0;
  SequenceOutput out;
  out.output = d.S == 0 ? z : slice(z, time, 0, d.T);
  out.h = select(z, time, d.T - 1);
  if (d.S == 1) out.c = select(z, time, d.T);
  return out;
}

}  // namespace tapegrad
