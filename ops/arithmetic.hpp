#pragma once
/// \file
/// Elementwise arithmetic with numpy broadcasting, and comparisons to masks.
/// Shapes: two inputs broadcast to a common shape (numpy rules), which is the result's;
/// the gradient of a broadcast input is reduced back to its shape by the engine
/// (sum_to).
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
/// -x, same shape. d/dx = -1.
TAPEGRAD_API Tensor neg(const Tensor& x);

/// x + s for a scalar s, same shape. d/dx = 1.
TAPEGRAD_API Tensor add(const Tensor& x, double s);
/// x * s for a scalar s, same shape. d/dx = s.
TAPEGRAD_API Tensor mul(const Tensor& x, double s);
/// s - x for a scalar s, same shape. d/dx = -1.
TAPEGRAD_API Tensor sub(double s, const Tensor& x);
/// s / x for a scalar s, same shape. d/dx = -s / x^2.
TAPEGRAD_API Tensor div(double s, const Tensor& x);
/// x / s for a scalar s, same shape; divides (10 / 3 in float32 is 3.3333333, not
/// 10 * (1 / 3.0)). d/dx = 1/s.
TAPEGRAD_API Tensor div(const Tensor& x, double s);

/// Elementwise larger of a and b, broadcasting; NaN if either is NaN. d/da = 1 where
/// a > b, 0 where a < b, 1/2 at a tie (as PyTorch: the gradient is split); d/db mirrors.
TAPEGRAD_API Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise smaller of a and b, broadcasting; NaN if either is NaN. d/da = 1 where
/// a < b, 0 where a > b, 1/2 at a tie; d/db mirrors.
TAPEGRAD_API Tensor minimum(const Tensor& a, const Tensor& b);

/// mask ? a : b elementwise, broadcasting all three. d/da = mask, d/db = 1 - mask;
/// the mask gets no gradient.
TAPEGRAD_API Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);

// Comparisons, broadcasting: masks of 1 and 0 in the inputs' dtype, of the broadcast
// shape. Never recorded (no gradient).
TAPEGRAD_API Tensor greater(const Tensor& a, const Tensor& b);        ///< mask of a > b
TAPEGRAD_API Tensor less(const Tensor& a, const Tensor& b);           ///< mask of a < b
TAPEGRAD_API Tensor greater_equal(const Tensor& a, const Tensor& b);  ///< mask of a >= b
TAPEGRAD_API Tensor less_equal(const Tensor& a, const Tensor& b);     ///< mask of a <= b
TAPEGRAD_API Tensor equal(const Tensor& a, const Tensor& b);          ///< mask of a == b
TAPEGRAD_API Tensor not_equal(const Tensor& a, const Tensor& b);      ///< mask of a != b

// Operators: the recorded ops above (same broadcasting, same gradients).
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }  ///< add(a, b)
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }  ///< sub(a, b)
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }  ///< mul(a, b)
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }  ///< div(a, b)
inline Tensor operator-(const Tensor& x) { return neg(x); }                      ///< neg(x)

inline Tensor operator+(const Tensor& x, double s) { return add(x, s); }   ///< add(x, s)
inline Tensor operator+(double s, const Tensor& x) { return add(x, s); }   ///< add(x, s)
inline Tensor operator-(const Tensor& x, double s) { return add(x, -s); }  ///< add(x, -s)
inline Tensor operator-(double s, const Tensor& x) { return sub(s, x); }   ///< sub(s, x)
inline Tensor operator*(const Tensor& x, double s) { return mul(x, s); }   ///< mul(x, s)
inline Tensor operator*(double s, const Tensor& x) { return mul(x, s); }   ///< mul(x, s)
inline Tensor operator/(const Tensor& x, double s) { return div(x, s); }   ///< div(x, s)
inline Tensor operator/(double s, const Tensor& x) { return div(s, x); }   ///< div(s, x)

// Comparison operators: masks of 1 and 0 in the inputs' dtype, never recorded. A
// scalar may stand on either side (2.0 > A is the mask of A < 2). A == B is a mask
// too, as in PyTorch, not a bool: compare values with .to_vector() or all-of a mask.
TAPEGRAD_API Tensor operator>(const Tensor& a, const Tensor& b);   ///< greater(a, b)
TAPEGRAD_API Tensor operator<(const Tensor& a, const Tensor& b);   ///< less(a, b)
TAPEGRAD_API Tensor operator>=(const Tensor& a, const Tensor& b);  ///< greater_equal(a, b)
TAPEGRAD_API Tensor operator<=(const Tensor& a, const Tensor& b);  ///< less_equal(a, b)
TAPEGRAD_API Tensor operator==(const Tensor& a, const Tensor& b);  ///< equal(a, b)
TAPEGRAD_API Tensor operator!=(const Tensor& a, const Tensor& b);  ///< not_equal(a, b)
TAPEGRAD_API Tensor operator>(const Tensor& a, double s);          ///< mask of a > s
TAPEGRAD_API Tensor operator<(const Tensor& a, double s);          ///< mask of a < s
TAPEGRAD_API Tensor operator>=(const Tensor& a, double s);         ///< mask of a >= s
TAPEGRAD_API Tensor operator<=(const Tensor& a, double s);         ///< mask of a <= s
TAPEGRAD_API Tensor operator==(const Tensor& a, double s);         ///< mask of a == s
TAPEGRAD_API Tensor operator!=(const Tensor& a, double s);         ///< mask of a != s
TAPEGRAD_API Tensor operator>(double s, const Tensor& a);          ///< mask of s > a
TAPEGRAD_API Tensor operator<(double s, const Tensor& a);          ///< mask of s < a
TAPEGRAD_API Tensor operator>=(double s, const Tensor& a);         ///< mask of s >= a
TAPEGRAD_API Tensor operator<=(double s, const Tensor& a);         ///< mask of s <= a
TAPEGRAD_API Tensor operator==(double s, const Tensor& a);         ///< mask of s == a
TAPEGRAD_API Tensor operator!=(double s, const Tensor& a);         ///< mask of s != a

// In-place updates, for optimizers and initialisation: `b` broadcasts to a's shape,
// which does not change. Never recorded, and refused (GraphError) on a tensor that
// requires grad while grad mode is on: update parameters inside a NoGradGuard.
TAPEGRAD_API Tensor& operator+=(Tensor& a, const Tensor& b);  ///< a = a + b, in place
TAPEGRAD_API Tensor& operator-=(Tensor& a, const Tensor& b);  ///< a = a - b, in place
TAPEGRAD_API Tensor& operator*=(Tensor& a, const Tensor& b);  ///< a = a * b, in place
TAPEGRAD_API Tensor& operator/=(Tensor& a, const Tensor& b);  ///< a = a / b, in place
TAPEGRAD_API Tensor& operator+=(Tensor& a, double s);         ///< a = a + s, in place
TAPEGRAD_API Tensor& operator-=(Tensor& a, double s);         ///< a = a - s, in place
TAPEGRAD_API Tensor& operator*=(Tensor& a, double s);         ///< a = a * s, in place
TAPEGRAD_API Tensor& operator/=(Tensor& a, double s);         ///< a = a / s, in place

}  // namespace tapegrad
