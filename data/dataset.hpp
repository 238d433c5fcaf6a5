#pragma once
/// \file
/// A labelled data set in the course's layout: X is (n_x, m) with one example per
/// column, Y is (1, m) holding class indices as floats.
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::data {

/// A labelled set: X (n_x, m) float32, Y (1, m) float32 class indices, labels the same as ints.
struct Dataset {
  Tensor X;                 ///< (n_x, m), one example per column
  Tensor Y;                 ///< (1, m) class indices
  std::vector<int> labels;  ///< the m class indices as ints
  /// Number of examples (columns).
  std::int64_t m() const { return X.defined() ? X.size(1) : 0; }
};

/// m class indices -> (1, m) float32 tensor holding them.
TAPEGRAD_API Tensor labels_to_row(const std::vector<int>& labels);

/// The examples of two classes, relabelled first -> 0, second -> 1: X (n_x, m'), Y (1, m').
TAPEGRAD_API Dataset binary_subset(const Dataset& data, int first_class, int second_class);

}  // namespace tapegrad::data
