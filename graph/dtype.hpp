#pragma once
/// \file
/// Element types. Every op takes both; float32 is for speed, float64 for checks.
#include <cstddef>
#include <string_view>
#include <tapegrad/graph/error.hpp>

namespace tapegrad {

/// Element type of a tensor.
enum class Dtype {
  float32,  ///< C++ float: training
  float64   ///< C++ double: gradient checks
};

/// Shorthand for Dtype::float32: zeros({2, 3}, tapegrad::float32).
inline constexpr Dtype float32 = Dtype::float32;
/// Shorthand for Dtype::float64.
inline constexpr Dtype float64 = Dtype::float64;

/// "float32" or "float64", as messages and printouts write it.
constexpr std::string_view dtype_name(Dtype d) {
  return d == Dtype::float32 ? "float32" : "float64";
}
/// Bytes per element: 4 or 8.
constexpr std::size_t dtype_size(Dtype d) { return d == Dtype::float32 ? 4 : 8; }

/// The Dtype of a C++ element type: dtype_of<float>() == Dtype::float32.
template <class T>
constexpr Dtype dtype_of();
/// float -> Dtype::float32.
template <>
constexpr Dtype dtype_of<float>() {
  return Dtype::float32;
}
/// double -> Dtype::float64.
template <>
constexpr Dtype dtype_of<double>() {
  return Dtype::float64;
}

/// Calls f(T{}) with T the C++ type of `d`: the one place a dtype becomes a type.
template <class F>
decltype(auto) dispatch(Dtype d, F&& f) {
  if (d == Dtype::float32) return f(float{});
  return f(double{});
}

}  // namespace tapegrad
