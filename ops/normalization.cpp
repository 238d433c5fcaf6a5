#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/ops/normalization.hpp>
#include <vector>

namespace tapegrad {
namespace {

constexpr const char* kBatchNorm = "batch_norm";

// A per-feature input (weight, bias, running statistic) must be (C) and of x's dtype.
void check_feature_tensor(const char* what, const Tensor& t, const Tensor& x, int axis) {
  if (!t.defined()) return;
  const std::int64_t c = x.size(axis);
  if (t.dim() != 1)
    throw ShapeError(fmt::format("{}: {} must be 1-D ({} features), got {} for input {} at axis {}",
                                 kBatchNorm, what, c, shape_str(t.shape()), shape_str(x.shape()),
                                 axis));
  if (t.size(0) != c)
    throw ShapeError(fmt::format("{}: {} has {} features, input has {} at axis {}: {}", kBatchNorm,
                                 what, t.size(0), c, axis, shape_str(x.shape())));
  kernels::check_same_dtype(kBatchNorm, x, t);
}

// Calls body(c0, c1) on disjoint ranges of features, each range on one thread; a range
// visits its features' elements as (o, c, i), so every feature is summed in the same
// order however the features are split. `per_feature` is the elements of one feature.
template <class F>
void for_feature_ranges(std::int64_t features, std::int64_t per_feature, F&& body) {
  const std::int64_t grain =
      std::max<std::int64_t>(1, kernels::kGrain / std::max<std::int64_t>(per_feature, 1));
  parallel_for(features, grain, body);
}

// acc[c] += term(c, index of (o, c, i)) over the features [c0, c1): o outer, i inner, so a
// feature's terms are added in one fixed order, and the innermost loop is contiguous in
// both layouts ((C, m): i; (m, C): c).
template <class Term>
void accumulate(const kernels::AxisSplit& s, std::int64_t c0, std::int64_t c1, double* acc,
                Term term) {
  if (s.inner == 1) {  // (m, C): one row of features at a time, a loop the compiler vectorizes
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t c = c0; c < c1; ++c) acc[c] += term(c, o * s.n + c);
    return;
  }
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t base = (o * s.n + c) * s.inner;
      double a = 0;
      for (std::int64_t i = 0; i < s.inner; ++i) a += term(c, base + i);
      acc[c] += a;
    }
}

// Applies f(c, index) to every element of the features [c0, c1).
template <class F>
void each_element(const kernels::AxisSplit& s, std::int64_t c0, std::int64_t c1, F f) {
  if (s.inner == 1) {
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t c = c0; c < c1; ++c) f(c, o * s.n + c);
    return;
  }
  for (std::int64_t o = 0; o < s.outer; ++o)
    for (std::int64_t c = c0; c < c1; ++c) {
      const std::int64_t base = (o * s.n + c) * s.inner;
      for (std::int64_t i = 0; i < s.inner; ++i) f(c, base + i);
    }
}

// The batch's mean and biased variance of every feature, in double (two passes: the
// variance of the centred values does not cancel as E[x^2] - E[x]^2 does).
template <class T>
void batch_stats(const T* x, const kernels::AxisSplit& s, double* mean, double* var) {
  const double n = static_cast<double>(s.outer * s.inner);
  for_feature_ranges(s.n, s.outer * s.inner, [&](std::int64_t c0, std::int64_t c1) {
    std::fill(mean + c0, mean + c1, 0.0);
    std::fill(var + c0, var + c1, 0.0);
    accumulate(s, c0, c1, mean, [x](std::int64_t, std::int64_t k) { return double(x[k]); });
    for (std::int64_t c = c0; c < c1; ++c) mean[c] /= n;
    accumulate(s, c0, c1, var, [x, mean](std::int64_t c, std::int64_t k) {
      const double d = double(x[k]) - mean[c];
      return d * d;
    });
    for (std::int64_t c = c0; c < c1; ++c) var[c] /= n;
  });
}

// r = (1 - momentum) r + momentum * stat, in place and never recorded.
void update_running(const Tensor& r, const std::vector<double>& stat, double momentum) {
  dispatch(r.dtype(), [&]<class T>(T) {
    T* p = r.data<T>();
    for (std::size_t c = 0; c < stat.size(); ++c)
      p[c] = static_cast<T>((1.0 - momentum) * static_cast<double>(p[c]) + momentum * stat[c]);
  });
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps, int axis) {
  kernels::check_defined(kBatchNorm, x);
  axis = normalize_axis(kBatchNorm, axis, x.shape());
  if (!(momentum >= 0.0 && momentum <= 1.0))
    throw ValueError(fmt::format("{}: momentum must be in [0, 1], got {}", kBatchNorm, momentum));
  if (!(eps > 0.0 && std::isfinite(eps)))
    throw ValueError(fmt::format("{}: eps must be a finite number > 0, got {}", kBatchNorm, eps));
  check_feature_tensor("weight", weight, x, axis);
  check_feature_tensor("bias", bias, x, axis);
  check_feature_tensor("running_mean", running_mean, x, axis);
  check_feature_tensor("running_var", running_var, x, axis);
  if (running_mean.defined() != running_var.defined())
    throw ValueError(
        fmt::format("{}: running_mean and running_var must both be given or both be "
                    "undefined, got only {}",
                    kBatchNorm, running_mean.defined() ? "running_mean" : "running_var"));
  const bool has_running = running_mean.defined();
  if (!training && !has_running)
    throw ValueError(fmt::format(
        "{}: eval mode (training=false) normalizes by running_mean and running_var, which are "
        "undefined (input {})",
        kBatchNorm, shape_str(x.shape())));
  const kernels::AxisSplit s = kernels::split_at(x.shape(), axis);
  const std::int64_t per_feature = s.outer * s.inner;
  if (training && per_feature <= 1)
    throw ValueError(fmt::format(
        "{}: expected more than 1 value per feature when training, got input {} ({} value per "
        "feature at axis {}): the batch variance is undefined",
        kBatchNorm, shape_str(x.shape()), per_feature, axis));
  if (training && has_running) {
    running_mean.check_mutable(kBatchNorm);
    running_var.check_mutable(kBatchNorm);
  }

  // stats: row 0 the mean, row 1 invstd = 1 / sqrt(var + eps), of each feature, in double.
  const std::int64_t C = s.n;
  Tensor stats = Tensor::empty({2, C}, float64);
  double* mean = stats.data<double>();
  double* invstd = mean + C;
  if (training) {
    std::vector<double> var(static_cast<std::size_t>(C));
    dispatch(x.dtype(), [&]<class T>(T) { batch_stats(x.data<T>(), s, mean, var.data()); });
    for (std::int64_t c = 0; c < C; ++c) invstd[c] = 1.0 / std::sqrt(var[c] + eps);
    if (has_running) {
      // The running variance is the unbiased estimate, var * N / (N - 1), as PyTorch's.
      const double n = static_cast<double>(per_feature);
      for (double& v : var) v *= n / (n - 1.0);
      update_running(running_mean, std::vector<double>(mean, mean + C), momentum);
      update_running(running_var, var, momentum);
    }
  } else {
    const std::vector<double> rm = running_mean.to_vector(), rv = running_var.to_vector();
    for (std::int64_t c = 0; c < C; ++c) {
      mean[c] = rm[c];
      invstd[c] = 1.0 / std::sqrt(rv[c] + eps);
    }
  }

  // y = (x - mean) * (invstd * weight) + bias: x - mean first, so that a large mean does
  // not cancel the digits of a small spread in float32.
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    const T* pw = weight.defined() ? weight.data<T>() : nullptr;
    const T* pb = bias.defined() ? bias.data<T>() : nullptr;
    for_feature_ranges(C, per_feature, [&](std::int64_t c0, std::int64_t c1) {
      std::vector<T> m(static_cast<std::size_t>(c1 - c0)), scale(m.size()), shift(m.size());
      for (std::int64_t c = c0; c < c1; ++c) {
        const std::size_t j = static_cast<std::size_t>(c - c0);
        m[j] = static_cast<T>(mean[c]);
        scale[j] = static_cast<T>(invstd[c] * (pw ? static_cast<double>(pw[c]) : 1.0));
        shift[j] = pb ? pb[c] : T(0);
      }
      each_element(s, c0, c1, [&](std::int64_t c, std::int64_t k) {
        const std::size_t j = static_cast<std::size_t>(c - c0);
        py[k] = (px[k] - m[j]) * scale[j] + shift[j];
      });
    });
  });

  if (!should_record({&x, &weight, &bias})) return y;
  return record(
      kBatchNorm, y, {&x, &weight, &bias},
      [x = x.detach(), weight = weight.defined() ? weight.detach() : Tensor(), stats, s, training](
          const Tensor& g, Needs needs) {
        const std::int64_t C = s.n;
        const double n = static_cast<double>(s.outer * s.inner);
        const double* mean = stats.data<double>();
        const double* invstd = mean + C;
        // sum(g) and sum(g xhat) per feature: dbias and dweight, and the training dx's terms.
        std::vector<double> sum_g(static_cast<std::size_t>(C), 0.0), sum_gx(sum_g);
        const bool need_sums = training || needs[1] || needs[2];
        Grads grads(3);
        dispatch(x.dtype(), [&]<class T>(T) {
          const T* px = x.data<T>();
          const T* pg = g.data<T>();
          if (need_sums)
            for_feature_ranges(C, s.outer * s.inner, [&](std::int64_t c0, std::int64_t c1) {
              accumulate(s, c0, c1, sum_g.data(),
                         [pg](std::int64_t, std::int64_t k) { return double(pg[k]); });
              accumulate(s, c0, c1, sum_gx.data(), [&](std::int64_t c, std::int64_t k) {
                return double(pg[k]) * (double(px[k]) - mean[c]) * invstd[c];
              });
            });
          if (needs[0]) {
            const T* pw = weight.defined() ? weight.data<T>() : nullptr;
            Tensor dx = Tensor::empty(x.shape(), x.dtype());
            T* pd = dx.data<T>();
            // dx = a g + b + d xhat: a = invstd w; in training b = -a sum(g) / N and
            // d = -a sum(g xhat) / N (the mean's and the variance's share), in eval 0.
            for_feature_ranges(C, s.outer * s.inner, [&](std::int64_t c0, std::int64_t c1) {
              const std::size_t len = static_cast<std::size_t>(c1 - c0);
              std::vector<T> m(len), is(len), a(len), b(len), d(len);
              for (std::int64_t c = c0; c < c1; ++c) {
                const std::size_t j = static_cast<std::size_t>(c - c0);
                const double ac = invstd[c] * (pw ? static_cast<double>(pw[c]) : 1.0);
                m[j] = static_cast<T>(mean[c]);
                is[j] = static_cast<T>(invstd[c]);
                a[j] = static_cast<T>(ac);
                b[j] = static_cast<T>(training ? -ac * sum_g[c] / n : 0.0);
                d[j] = static_cast<T>(training ? -ac * sum_gx[c] / n : 0.0);
              }
              each_element(s, c0, c1, [&](std::int64_t c, std::int64_t k) {
                const std::size_t j = static_cast<std::size_t>(c - c0);
                pd[k] = a[j] * pg[k] + b[j] + d[j] * ((px[k] - m[j]) * is[j]);
              });
            });
            grads[0] = dx;
          }
        });
        if (needs[1]) grads[1] = tensor(sum_gx, {C}, x.dtype());
        if (needs[2]) grads[2] = tensor(sum_g, {C}, x.dtype());
        return grads;
      });
}

Tensor dropout(const Tensor& x, double p, Generator& gen) {
  kernels::check_defined("dropout", x);
  if (!(p >= 0.0 && p < 1.0))
    throw ValueError(fmt::format("dropout: p must be in [0, 1), got {}", p));
  if (p == 0.0) return x;
  const bool recording = should_record({&x});
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor mask = recording ? Tensor::empty(x.shape(), x.dtype()) : Tensor();
  // An element is kept when its 32 random bits u satisfy u >= p 2^32: P = 1 - p to 2^-32.
  // Drawn serially in element order, so the mask depends on the seed alone.
  // (p within 2^-32 of 1 would need 2^32: capped, it keeps a value with chance 2^-32.)
  const auto threshold =
      static_cast<std::uint32_t>(std::min(std::ceil(p * 4294967296.0), 4294967295.0));
  auto& engine = gen.engine();
  dispatch(x.dtype(), [&]<class T>(T) {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    T* pm = recording ? mask.data<T>() : nullptr;
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    const std::int64_t n = x.numel();
    // y = x * m with m = 0 or 1 / (1 - p): a dropped NaN stays NaN (0 * NaN), as in PyTorch.
    // The bits are drawn a block at a time, then turned into the block's mask by a loop
    // the compiler vectorizes (the ?: is a select; a branch on a coin flip mispredicts).
    constexpr std::int64_t kBlock = 1024;  // elements: kBlock / 2 draws
    std::uint32_t bits[kBlock];
    for (std::int64_t i0 = 0; i0 < n; i0 += kBlock) {
      const std::int64_t len = std::min(kBlock, n - i0);
      for (std::int64_t k = 0; k < len; k += 2) {
        const std::uint64_t r = engine();
        bits[k] = static_cast<std::uint32_t>(r);
        bits[k + 1] = static_cast<std::uint32_t>(r >> 32);
      }
      const T* bx = px + i0;
      T* by = py + i0;
      if (pm) {
        T* bm = pm + i0;
        for (std::int64_t k = 0; k < len; ++k) {
          bm[k] = bits[k] >= threshold ? scale : T(0);
          by[k] = bx[k] * bm[k];
        }
      } else {
        for (std::int64_t k = 0; k < len; ++k)
          by[k] = bx[k] * (bits[k] >= threshold ? scale : T(0));
      }
    }
  });
  if (!recording) return y;
  // d/dx = m: the saved mask already holds the 1 / (1 - p).
  return record("dropout", y, {&x}, [mask](const Tensor& g, Needs) {
    return Grads{kernels::map_same_shape(g, mask, [](auto gv, auto mv) { return gv * mv; })};
  });
}

}  // namespace tapegrad
