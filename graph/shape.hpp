#pragma once
/// \file
/// Shapes: row-major extents, with numpy's broadcasting rules.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/object_pool.hpp>
#include <vector>

namespace tapegrad {

/// Extents of a tensor's axes, outermost first: {n, m} is an n x m matrix, {} a scalar.
using Shape = std::vector<std::int64_t, detail::PoolAllocator<std::int64_t>>;

/// Number of elements of a shape; 1 for the scalar shape [].
TAPEGRAD_API std::int64_t numel(const Shape& shape);

/// "[3, 4]": how every message writes a shape.
TAPEGRAD_API std::string shape_str(const Shape& shape);

/// numpy broadcasting of two shapes; throws ShapeError naming `op` if they do not fit.
TAPEGRAD_API Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// Maps a possibly negative axis into [0, ndim); throws IndexError naming `op`.
TAPEGRAD_API int normalize_axis(const char* op, int axis, std::size_t ndim);
/// Same, for an axis of `shape`: the message names the shape.
TAPEGRAD_API int normalize_axis(const char* op, int axis, const Shape& shape);

/// Row-major strides (in elements) of a shape.
TAPEGRAD_API std::vector<std::int64_t> strides_of(const Shape& shape);

/// Checks every extent is non-negative; throws ShapeError naming `op`.
TAPEGRAD_API void check_shape(const char* op, const Shape& shape);

}  // namespace tapegrad
