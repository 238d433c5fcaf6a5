#pragma once
// Helpers shared by the test suites: seeded inputs placed away from kinks, and
// element-wise comparisons that say where two tensors differ.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tapegrad::test {

/// Uniform values in [lo, hi), float64, from a generator seeded with `seed`.
inline Tensor uniform(const Shape& shape, double lo, double hi, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<double> v(static_cast<std::size_t>(numel(shape)));
  for (double& e : v) e = lo + (hi - lo) * gen.uniform();
  return tensor(v, shape, float64);
}

/// Values with |x| in [min_abs, max_abs] and random signs: at least min_abs from the
/// kink at 0 of relu, abs and leaky_relu.
inline Tensor away_from_zero(const Shape& shape, double min_abs, double max_abs,
                             std::uint64_t seed) {
  Generator gen(seed);
  std::vector<double> v(static_cast<std::size_t>(numel(shape)));
  for (double& e : v)
    e = (min_abs + (max_abs - min_abs) * gen.uniform()) * (gen.uniform() < 0.5 ? -1.0 : 1.0);
  return tensor(v, shape, float64);
}

/// Uniform values in [lo, hi) none of which lies within `margin` of a kink.
inline Tensor away_from(const Shape& shape, double lo, double hi, const std::vector<double>& kinks,
                        double margin, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<double> v(static_cast<std::size_t>(numel(shape)));
  for (double& e : v) {
    do e = lo + (hi - lo) * gen.uniform();
    while (std::any_of(kinks.begin(), kinks.end(),
                       [&](double k) { return std::fabs(e - k) < margin; }));
  }
  return tensor(v, shape, float64);
}

/// Pairwise distinct values, any two at least 0.1 apart, in shuffled order: max has
/// no ties (finite differences with step 2e-4 never swap the winner).
inline Tensor distinct(const Shape& shape, std::uint64_t seed) {
  Generator gen(seed);
  const std::int64_t n = numel(shape);
  const auto perm = randperm(n, gen);
  std::vector<double> v(static_cast<std::size_t>(n));
  const double offset = gen.uniform();
  for (std::int64_t i = 0; i < n; ++i)
    v[i] = 0.1 * static_cast<double>(perm[i]) - 0.05 * static_cast<double>(n) + offset +
           0.02 * gen.uniform();
  return tensor(v, shape, float64);
}

/// Smallest distance from any element of x to any kink, and between any two elements
/// when `ties` is set: proves a sample is away from where a rule is undefined.
inline double kink_distance(const Tensor& x, const std::vector<double>& kinks, bool ties = false) {
  const std::vector<double> v = x.to_vector();
  double d = INFINITY;
  for (double e : v)
    for (double k : kinks) d = std::min(d, std::fabs(e - k));
  if (ties)
    for (std::size_t i = 0; i < v.size(); ++i)
      for (std::size_t j = i + 1; j < v.size(); ++j) d = std::min(d, std::fabs(v[i] - v[j]));
  return d;
}

/// Worst |a - b| / max(|a|, |b|, floor * s), with s the largest finite |b|: a relative
/// error that judges elements far below the tensor's scale against that scale. Equal
/// values count 0; a NaN, or an infinity against anything else, counts as infinitely
/// far (never dropped by std::max); so do vectors of different lengths.
inline double max_rel_diff(const std::vector<double>& a, const std::vector<double>& b,
                           double floor = 1e-3) {
  if (a.size() != b.size()) return INFINITY;
  double scale = 0;
  for (double e : b)
    if (std::isfinite(e)) scale = std::max(scale, std::fabs(e));
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    const double denom = std::max({std::fabs(a[i]), std::fabs(b[i]), floor * scale});
    const double rel = std::fabs(a[i] - b[i]) / denom;  // NaN for a NaN or for Inf / Inf
    worst = std::max(worst, std::isfinite(rel) ? rel : INFINITY);
  }
  return worst;
}

/// "[3, 4], [3, 1]": the shapes of a check's inputs.
inline std::string shapes_str(const std::vector<Tensor>& xs) {
  std::string s;
  for (const Tensor& x : xs) s += (s.empty() ? "" : ", ") + shape_str(x.shape());
  return s;
}

}  // namespace tapegrad::test
