#pragma once
// Elementwise arithmetic with numpy broadcasting, and comparisons to masks.
// Gradients of broadcast inputs are reduced to their shapes by the engine (sum_to).
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// a + b, broadcasting. d/da = 1, d/db = 1.
TAPEGRAD_API Tensor add(const Tensor& a, const Tensor& b);
/// a - b, broadcasting. d/da = 1, d/db = -1.
TAPEGRAD_API Tensor sub(const Tensor& a, const Tensor& b);
/// a * b, broadcasting. d/da = b, d/db = a.
TAPEGRAD_API Tensor mul(const Tensor& a, const Tensor& b);
/// a / b, broadcasting. d/da = 1/b, d/db = -a/b^2.
TAPEGRAD_API Tensor div(const Tensor& a, const Tensor& b);
/// -x.
TAPEGRAD_API Tensor neg(const Tensor& x);

/// x + s, x * s, s - x, s / x ... with a scalar s (no broadcasting needed).
TAPEGRAD_API Tensor add(const Tensor& x, double s);
TAPEGRAD_API Tensor mul(const Tensor& x, double s);
TAPEGRAD_API Tensor sub(double s, const Tensor& x);
TAPEGRAD_API Tensor div(double s, const Tensor& x);

/// mask ? a : b elementwise, broadcasting all three; the mask gets no gradient.
TAPEGRAD_API Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);

/// Comparisons give masks of 1 and 0 in the inputs' dtype, never recorded.
TAPEGRAD_API Tensor greater(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor less(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor greater_equal(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor less_equal(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor equal(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor not_equal(const Tensor& a, const Tensor& b);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

inline Tensor operator+(const Tensor& x, double s) { return add(x, s); }
inline Tensor operator+(double s, const Tensor& x) { return add(x, s); }
inline Tensor operator-(const Tensor& x, double s) { return add(x, -s); }
inline Tensor operator-(double s, const Tensor& x) { return sub(s, x); }
inline Tensor operator*(const Tensor& x, double s) { return mul(x, s); }
inline Tensor operator*(double s, const Tensor& x) { return mul(x, s); }
inline Tensor operator/(const Tensor& x, double s) { return mul(x, 1.0 / s); }
inline Tensor operator/(double s, const Tensor& x) { return div(s, x); }

TAPEGRAD_API Tensor operator>(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor operator<(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor operator>=(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor operator<=(const Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor operator>(const Tensor& a, double s);
TAPEGRAD_API Tensor operator<(const Tensor& a, double s);
TAPEGRAD_API Tensor operator>=(const Tensor& a, double s);
TAPEGRAD_API Tensor operator<=(const Tensor& a, double s);

/// In-place updates, for optimizers and initialisation; never recorded, and refused
/// on a tensor that requires grad while grad mode is on.
TAPEGRAD_API Tensor& operator+=(Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor& operator-=(Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor& operator*=(Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor& operator/=(Tensor& a, const Tensor& b);
TAPEGRAD_API Tensor& operator+=(Tensor& a, double s);
TAPEGRAD_API Tensor& operator-=(Tensor& a, double s);
TAPEGRAD_API Tensor& operator*=(Tensor& a, double s);
TAPEGRAD_API Tensor& operator/=(Tensor& a, double s);

}  // namespace tapegrad
