#pragma once
/// \file
/// Transforms between the layouts data comes in and the course's (n_x, m).
#include <cstdint>
#include <span>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad::data {

/// The course's flatten: (m, h, w) or (m, h, w, c) -> (h * w * c, m), same dtype.
TAPEGRAD_API Tensor flatten(const Tensor& images);

/// Pixel values 0..max_value -> [0, 1], as a new tensor of the same shape and dtype.
TAPEGRAD_API Tensor scale_pixels(const Tensor& pixels, double max_value = 255.0);

/// Columns `index` of a 2-D tensor: (n, m) -> (n, index.size()), same dtype, no history.
TAPEGRAD_API Tensor gather_columns(const Tensor& A, std::span<const std::int64_t> index);

}  // namespace tapegrad::data
