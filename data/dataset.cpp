#include <fmt/format.h>

#include <algorithm>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/transforms.hpp>

namespace tapegrad::data {

/// (labels) -> (1, m) float32 tensor of class indices.
Tensor labels_to_row(const std::vector<int>& labels) {
  const auto m = static_cast<std::int64_t>(labels.size());
  Tensor Y = Tensor::empty({1, m}, float32);
  std::copy(labels.begin(), labels.end(), Y.data<float>());
  return Y;
}

Dataset binary_subset(const Dataset& data, int first_class, int second_class) {
  if (first_class == second_class)
    throw ValueError(
        fmt::format("binary_subset: the two classes must differ, got {} twice", first_class));
  if (static_cast<std::int64_t>(data.labels.size()) != data.m())
    throw ShapeError(fmt::format("binary_subset: {} labels for X of shape {}", data.labels.size(),
                                 shape_str(data.X.shape())));
  std::vector<std::int64_t> keep;
  std::vector<int> labels;
  std::int64_t n_first = 0;
  for (std::size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] != first_class && data.labels[i] != second_class) continue;
    keep.push_back(static_cast<std::int64_t>(i));
    labels.push_back(data.labels[i] == first_class ? 0 : 1);
    n_first += data.labels[i] == first_class;
  }
  const auto n_second = static_cast<std::int64_t>(keep.size()) - n_first;
  if (n_first == 0 || n_second == 0)
    throw ValueError(fmt::format("binary_subset: no examples of class {}",
                                 n_first == 0 ? first_class : second_class));
  Dataset subset;
  subset.X = gather_columns(data.X, keep);
  subset.labels = std::move(labels);
  subset.Y = labels_to_row(subset.labels);
  return subset;
}

}  // namespace tapegrad::data
