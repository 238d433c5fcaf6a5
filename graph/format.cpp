#include <algorithm>
#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/format.hpp>

namespace tapegrad {
namespace {

constexpr std::int64_t kSummariseAbove = 1000;  // elements
constexpr std::int64_t kEdgeItems = 3;

struct Printer {
  const std::vector<double>& values;
  const Shape& shape;
  const std::vector<std::int64_t> strides;
  bool summarise;
  bool integral;
  int width = 0;
  std::string out;

  std::string number(double v) const {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    if (integral) return fmt::format("{:.0f}.", v);
    const double a = std::fabs(v);
    if (a != 0 && (a >= 1e6 || a < 1e-4)) return fmt::format("{:.4e}", v);
    return fmt::format("{:.4f}", v);
  }

  // Indices of one axis that are shown; -1 stands for the "..." gap.
  std::vector<std::int64_t> shown(std::int64_t n) const {
    std::vector<std::int64_t> idx;
    if (summarise && n > 2 * kEdgeItems) {
      for (std::int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
      idx.push_back(-1);
      for (std::int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    } else {
      for (std::int64_t i = 0; i < n; ++i) idx.push_back(i);
    }
    return idx;
  }

  void measure(std::size_t axis, std::int64_t offset) {
    if (axis == shape.size()) {
      width = std::max(width, static_cast<int>(number(values[offset]).size()));
      return;
    }
    for (std::int64_t i : shown(shape[axis]))
      if (i >= 0) measure(axis + 1, offset + i * strides[axis]);
  }

  void print(std::size_t axis, std::int64_t offset, int indent) {
    if (axis == shape.size()) {
      out += fmt::format("{:>{}}", number(values[offset]), width);
      return;
    }
    out += '[';
    const auto idx = shown(shape[axis]);
    const bool last_axis = axis + 1 == shape.size();
    for (std::size_t k = 0; k < idx.size(); ++k) {
      if (k > 0) {
        out += ',';
        if (last_axis)
          out += ' ';
        else
          out += std::string(shape.size() - axis - 1, '\n') + std::string(indent + 1, ' ');
      }
      if (idx[k] < 0)
        out += "...";
      else
        print(axis + 1, offset + idx[k] * strides[axis], indent + 1);
    }
    out += ']';
  }
};

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "tensor(undefined)";
  const std::vector<double> values = t.to_vector();
  const bool integral = !values.empty() && std::all_of(values.begin(), values.end(), [](double v) {
    return std::isfinite(v) && v == std::round(v) && std::fabs(v) < 1e15;
  });
  Printer p{values, t.shape(), strides_of(t.shape()), t.numel() > kSummariseAbove, integral, 0, {}};
  std::string body;
  if (t.numel() == 0) {
    body = "[]";
  } else {
    p.measure(0, 0);
    p.print(0, 0, static_cast<int>(std::string_view("tensor(").size()));
    body = std::move(p.out);
  }
  std::string extra;
  if (t.requires_grad()) {
    extra = t.is_leaf() ? ", requires_grad=true"
                        : fmt::format(", grad_fn={}", t.impl().autograd->grad_fn->name);
  }
  return fmt::format("tensor({}, dtype={}, shape={}{})", body, dtype_name(t.dtype()),
                     shape_str(t.shape()), extra);
}

}  // namespace tapegrad
