#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/flatten.hpp>
#include <tapegrad/ops/shape_ops.hpp>

namespace tapegrad::nn {

Tensor Flatten::forward(const Tensor& x) {
  if (!x.defined() || x.dim() < 2)
    throw ShapeError(
        fmt::format("Flatten: input of shape {} has no axes after the batch axis "
                    "(expects (N, ...), e.g. (N, C, H, W))",
                    x.defined() ? shape_str(x.shape()) : "undefined"));
  // torch.flatten(x, 1) makes row n example n; the transpose makes it column n.
  return transpose(flatten(x, 1));
}

}  // namespace tapegrad::nn
