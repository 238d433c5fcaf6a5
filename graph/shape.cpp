#include <algorithm>
#include <functional>
#include <limits>
#include <range/v3/algorithm/any_of.hpp>
#include <range/v3/numeric/accumulate.hpp>
#include <range/v3/view/concat.hpp>
#include <range/v3/view/repeat_n.hpp>
#include <range/v3/view/zip.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/shape.hpp>

namespace tapegrad {

std::int64_t numel(const Shape& shape) {
  return ranges::accumulate(shape, std::int64_t{1}, std::multiplies<>());
}

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  // Align from the right: a missing leading axis counts as 1.
  auto padded = [n](const Shape& s) {
    return ranges::views::concat(ranges::views::repeat_n(std::int64_t{1}, n - s.size()), s);
  };
  Shape out;
  out.reserve(n);
  for (auto [da, db] : ranges::views::zip(padded(a), padded(b))) {
    if (da != db && da != 1 && db != 1)
      throw ShapeError(fmt::format("{}: shapes cannot be broadcast together: {} and {}", op,
                                   shape_str(a), shape_str(b)));
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

int normalize_axis(const char* op, int axis, std::size_t ndim) {
  const int n = static_cast<int>(ndim);
  if (axis < -n || axis >= n)
    throw IndexError(
        fmt::format("{}: axis {} is out of range for a tensor with {} dimensions", op, axis, ndim));
  return axis < 0 ? axis + n : axis;
}

int normalize_axis(const char* op, int axis, const Shape& shape) {
  const int n = static_cast<int>(shape.size());
  if (axis < -n || axis >= n)
    throw IndexError(fmt::format("{}: axis {} is out of range for a tensor of shape {}", op, axis,
                                 shape_str(shape)));
  return axis < 0 ? axis + n : axis;
}

std::vector<std::int64_t> strides_of(const Shape& shape) {
  std::vector<std::int64_t> s(shape.size());
  std::int64_t step = 1;
  for (std::size_t i = shape.size(); i-- > 0;) {
    s[i] = step;
    step *= shape[i];
  }
  return s;
}

void check_shape(const char* op, const Shape& shape) {
  if (ranges::any_of(shape, [](std::int64_t d) { return d < 0; }))
    throw ShapeError(fmt::format("{}: negative extent in shape {}", op, shape_str(shape)));
  // numel, every partial product of extents and numel * dtype size must fit in int64,
  // also when a zero extent makes numel 0: [2^62, 4, 0] overflowed numel's product.
  std::int64_t elements = 1;
  for (std::int64_t d : shape) {
    if (d == 0) continue;
    if (elements > std::numeric_limits<std::int64_t>::max() / 8 / d)
      throw ShapeError(fmt::format("{}: shape {} has too many elements", op, shape_str(shape)));
    elements *= d;
  }
}

}  // namespace tapegrad
