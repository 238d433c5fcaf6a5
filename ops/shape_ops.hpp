#pragma once
/// \file
/// Reshaping, transposing, slicing and joining. All differentiable: each gradient
/// is the upstream gradient moved back to where the element came from (reshaped,
/// transposed back, scattered into zeros, split).
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad {

/// Same elements, new shape (one extent may be -1: inferred). Shares the data.
TAPEGRAD_API Tensor reshape(const Tensor& x, Shape shape);
/// All elements as one axis: (numel).
TAPEGRAD_API Tensor flatten(const Tensor& x);
/// Axes start_dim..end_dim (inclusive; negative counts from the end) merged into one, as
/// torch.flatten: (N, C, H, W) with start_dim 1 -> (N, C H W). Shares the data. Throws
/// IndexError for an axis out of range or end_dim before start_dim.
TAPEGRAD_API Tensor flatten(const Tensor& x, int start_dim, int end_dim = -1);
/// (n, m) -> (m, n). For matrix products prefer the BLAS flags of gemm.
TAPEGRAD_API Tensor transpose(const Tensor& x);
/// Swaps two axes.
TAPEGRAD_API Tensor transpose(const Tensor& x, int axis0, int axis1);
/// Elements [begin, end) along `axis`; negative bounds count from the end.
TAPEGRAD_API Tensor slice(const Tensor& x, int axis, std::int64_t begin, std::int64_t end);
/// Element `index` along `axis`, which is removed: select(X, 1, j) is column j.
TAPEGRAD_API Tensor select(const Tensor& x, int axis, std::int64_t index);
/// Entries `indices` along `axis`, in that order (repeats allowed: their gradients add).
TAPEGRAD_API Tensor index_select(const Tensor& x, int axis,
                                 const std::vector<std::int64_t>& indices);
/// Pads with `value`, as torch.nn.functional.pad (constant mode): `pads` holds pairs
/// (before, after) starting from the last axis: {1, 1} pads the last axis by one on each
/// side, {l, r, t, b} the last two (left, right, top, bottom). d/dx = the interior of g.
/// Throws ValueError for an odd count, more pairs than axes, or a negative padding.
TAPEGRAD_API Tensor pad(const Tensor& x, const std::vector<std::int64_t>& pads, double value = 0.0);
/// Joins tensors along `axis`; all other extents must agree.
TAPEGRAD_API Tensor concat(const std::vector<Tensor>& xs, int axis);
/// Joins tensors of one shape S along a new axis at `axis` (from -(dim+1) to dim):
/// n tensors of (a, b) with axis 0 give (n, a, b). Each gradient is its slice of g.
TAPEGRAD_API Tensor stack(const std::vector<Tensor>& xs, int axis = 0);

/// Row i of a matrix, kept 2-D: (1, m).
inline Tensor row(const Tensor& x, std::int64_t i) { return slice(x, 0, i, i + 1); }
/// Column j of a matrix, kept 2-D: (n, 1).
inline Tensor col(const Tensor& x, std::int64_t j) { return slice(x, 1, j, j + 1); }
/// Columns [begin, end): a mini-batch of a (n_x, m) data matrix.
inline Tensor cols(const Tensor& x, std::int64_t begin, std::int64_t end) {
  return slice(x, 1, begin, end);
}

}  // namespace tapegrad
