#pragma once
/// \file
/// Printing tensors the way numpy does: nested brackets, aligned columns, long axes
/// summarised with "...", then dtype and shape.
#include <fmt/format.h>

#include <ostream>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// "tensor([[1.0000, 2.0000], ...], dtype=float32, shape=[2, 2])"; grad marks appended.
TAPEGRAD_API std::string to_string(const Tensor& t);

/// Writes to_string(t): std::cout << t.
inline std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << to_string(t); }

}  // namespace tapegrad

/// \cond
template <>
struct fmt::formatter<tapegrad::Tensor> : fmt::formatter<std::string_view> {
  template <class Ctx>
  auto format(const tapegrad::Tensor& t, Ctx& ctx) const {
    return fmt::formatter<std::string_view>::format(tapegrad::to_string(t), ctx);
  }
};
/// \endcond
