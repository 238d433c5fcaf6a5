#pragma once
// What every benchmark shares: a clock, medians, and the `name: value unit` lines.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <vector>

namespace bench {

inline double now() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline void line(std::string_view name, double value, std::string_view unit) {
  fmt::print("{}: {:.4g} {}\n", name, value, unit);
  std::fflush(stdout);
}

}  // namespace bench
