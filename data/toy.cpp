#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <numeric>
#include <string_view>
#include <tapegrad/data/toy.hpp>
#include <vector>

namespace tapegrad::data {

namespace {

void check_size(std::string_view fn, std::int64_t m) {
  if (m < 2) throw ValueError(fmt::format("{}: m must be at least 2, got {}", fn, m));
}

void check_spread(std::string_view fn, std::string_view name, double value) {
  if (!(value >= 0) || !std::isfinite(value))
    throw ValueError(fmt::format("{}: {} must be a finite number >= 0, got {}", fn, name, value));
}

/// Class 0 takes the first m / 2 points (sklearn's split of an odd m), class 1 the rest.
std::int64_t class0_size(std::int64_t m) { return m / 2; }

/// n angles evenly spaced from 0: over [0, span] with both ends when `closed` (a half
/// circle's two tips), else over [0, span) (a whole circle, whose end is its start).
double angle(std::int64_t i, std::int64_t n, double span, bool closed) {
  if (closed) return n == 1 ? 0.0 : span * static_cast<double>(i) / static_cast<double>(n - 1);
  return span * static_cast<double>(i) / static_cast<double>(n);
}

/// The set from m exact points (x[i], y[i]) and labels, with N(0, noise^2) added to both
/// coordinates of each point in order (x then y): the same seed gives the same bits.
ToySet finish(const std::vector<double>& x, const std::vector<double>& y,
              const std::vector<float>& labels, double noise, Generator& gen) {
  const auto m = static_cast<std::int64_t>(x.size());
  ToySet set{Tensor::empty({2, m}, float32), Tensor::empty({1, m}, float32)};
  float* X = set.X.data<float>();
  float* Y = set.Y.data<float>();
  for (std::int64_t i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(i);
    const double dx = noise * gen.normal();
    const double dy = noise * gen.normal();
    X[i] = static_cast<float>(x[k] + dx);
    X[m + i] = static_cast<float>(y[k] + dy);
    Y[i] = labels[k];
  }
  return set;
}

}  // namespace

ToySet make_moons(std::int64_t m, double noise, Generator& gen) {
  check_size("make_moons", m);
  check_spread("make_moons", "noise", noise);
  const std::int64_t n0 = class0_size(m), n1 = m - n0;
  std::vector<double> x, y;
  std::vector<float> labels;
  x.reserve(static_cast<std::size_t>(m));
  y.reserve(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < n0; ++i) {  // upper half of the unit circle at (0, 0)
    const double t = angle(i, n0, std::numbers::pi, true);
    x.push_back(std::cos(t));
    y.push_back(std::sin(t));
    labels.push_back(0);
  }
  for (std::int64_t i = 0; i < n1; ++i) {  // lower half of the unit circle at (1, 0.5)
    const double t = angle(i, n1, std::numbers::pi, true);
    x.push_back(1 - std::cos(t));
    y.push_back(0.5 - std::sin(t));
    labels.push_back(1);
  }
  return finish(x, y, labels, noise, gen);
}

ToySet make_circles(std::int64_t m, double noise, double factor, Generator& gen) {
  check_size("make_circles", m);
  check_spread("make_circles", "noise", noise);
  if (!(factor > 0 && factor < 1))
    throw ValueError(fmt::format("make_circles: factor must be in (0, 1), got {}", factor));
  const std::int64_t n0 = class0_size(m), n1 = m - n0;
  std::vector<double> x, y;
  std::vector<float> labels;
  for (std::int64_t i = 0; i < n0; ++i) {
    const double t = angle(i, n0, 2 * std::numbers::pi, false);
    x.push_back(std::cos(t));
    y.push_back(std::sin(t));
    labels.push_back(0);
  }
  for (std::int64_t i = 0; i < n1; ++i) {
    const double t = angle(i, n1, 2 * std::numbers::pi, false);
    x.push_back(factor * std::cos(t));
    y.push_back(factor * std::sin(t));
    labels.push_back(1);
  }
  return finish(x, y, labels, noise, gen);
}

ToySet make_blobs(std::int64_t m, double spread, double flip, Generator& gen) {
  check_size("make_blobs", m);
  check_spread("make_blobs", "spread", spread);
  if (!(flip >= 0 && flip <= 1))
    throw ValueError(fmt::format("make_blobs: flip must be in [0, 1], got {}", flip));
  const std::int64_t n0 = class0_size(m);
  std::vector<double> x(static_cast<std::size_t>(m)), y(static_cast<std::size_t>(m), 0.0);
  std::vector<float> labels(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < m; ++i) {
    x[static_cast<std::size_t>(i)] = i < n0 ? -1.0 : 1.0;
    labels[static_cast<std::size_t>(i)] = i < n0 ? 0.0f : 1.0f;
  }
  ToySet set = finish(x, y, labels, spread, gen);
  // Exactly round(flip * m) distinct labels flipped: the first k steps of a Fisher-Yates
  // shuffle pick them, so the share of wrong labels is what was asked, not near it.
  const auto k = static_cast<std::int64_t>(std::llround(flip * static_cast<double>(m)));
  std::vector<std::int64_t> order(static_cast<std::size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  float* Y = set.Y.data<float>();
  for (std::int64_t i = 0; i < k; ++i) {
    std::swap(order[static_cast<std::size_t>(i)],
              order[static_cast<std::size_t>(gen.integer(i, m))]);
    float& label = Y[order[static_cast<std::size_t>(i)]];
    label = 1 - label;
  }
  return set;
}

}  // namespace tapegrad::data
