#pragma once
// Tensors with names, in a fixed order: what a model's parameters, an optimizer's
// state and a checkpoint file all are.
#include <string>
#include <tapegrad/graph/tensor.hpp>
#include <utility>
#include <vector>

namespace tapegrad {

/// ("W1", W1), ("b1", b1), ...: order is kept (files list tensors in this order).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

}  // namespace tapegrad
