#pragma once
/// \file
/// Flatten: the bridge from convolution layers to fully connected ones. Images are
/// (N, C, H, W), as in PyTorch, but tapegrad's nn::Linear takes the course's layout,
/// one example per COLUMN (in, m), and the losses take (classes, m) with the classes
/// on axis 0. So Flatten is torch's flatten followed by a transpose:
/// (N, C, H, W) -> (C H W, N), column n holding image n's values in (C, H, W) order.
///
///   nn::Sequential net{nn::Conv2d(1, 6, 5), nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(),
///                      nn::Linear(6 * 12 * 12, 10)};
///   Tensor logits = net(X);                             // X (N, 1, 28, 28) -> (10, N)
///   Tensor loss = softmax_cross_entropy(logits, Y, 0);  // Y (N) labels
#include <tapegrad/graph/export.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// (N, d1, ..., dk) -> (d1 ... dk, N): each example's values as one column.
class TAPEGRAD_API Flatten : public Module {
 public:
  Flatten() : Module("Flatten") {}  ///< no parameters
  /// (N, ...) -> (features, N), a copy (the transpose moves the data); the gradient is
  /// the upstream one moved back. ShapeError for an input of fewer than 2 axes.
  Tensor forward(const Tensor& x) override;
};

}  // namespace tapegrad::nn
