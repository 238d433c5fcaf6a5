#pragma once
// What the conv-net examples (lenet, convnet, resnet) share: Fashion-MNIST kept as bytes
// (data/images.hpp), an epoch's shuffled mini-batches of image indices, and the accuracy
// and cost of a model over a whole set, evaluated a chunk of images at a time (a conv
// net's activations for all 10000 test images at once would take hundreds of MB).
//
// Images are (N, C, H, W), as in PyTorch; the course writes (m, n_H, n_W, n_C), the same
// numbers with the channel axis last. The logits are (10, N), one column per image, as
// the course's (classes, m); the labels Y are (N).
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "cli.hpp"

namespace tapegrad::examples {

/// Fashion-MNIST's two splits as bytes: 1 x 28 x 28 images and their labels.
struct ImageSets {
  data::ImageBytes train;  ///< the first --limit training images, or all 60000
  data::ImageBytes test;   ///< all 10000 test images
};

/// --test-limit N: evaluate on the first N test images only (the smoke tests' quick runs;
/// a conv net's pass over all 10000 takes seconds, many under a sanitizer).
inline void add_test_limit_option(CLI::App& app, std::optional<std::int64_t>& test_limit) {
  app.add_option("--test-limit", test_limit,
                 "evaluate on the first N test images only (quick runs; default: all 10000)")
      ->check(whole_number(1));
}

/// Reads the training images (the first `data.limit`, if given) and the test images (the
/// first `test_limit`, if given).
inline ImageSets load_image_sets(const DataOptions& data,
                                 std::optional<std::int64_t> test_limit = std::nullopt) {
  return {data::load_fashion_mnist_images(data.dir, "train", data.limit),
          data::load_fashion_mnist_images(data.dir, "t10k", test_limit)};
}

/// The images of `images` whose label is one of `classes` (all of them when `classes` is
/// empty), in their order; the labels stay the dataset's 0..9.
inline data::ImageBytes keep_classes(const data::ImageBytes& images,
                                     const std::vector<int>& classes) {
  if (classes.empty()) return images;
  data::ImageBytes kept{.channels = images.channels,
                        .height = images.height,
                        .width = images.width,
                        .count = 0,
                        .bytes = {},
                        .labels = {}};
  const auto size = static_cast<std::size_t>(images.image_size());
  for (std::size_t i = 0; i < images.labels.size(); ++i)
    if (std::find(classes.begin(), classes.end(), images.labels[i]) != classes.end()) {
      const auto first = images.bytes.begin() + static_cast<std::ptrdiff_t>(i * size);
      kept.bytes.insert(kept.bytes.end(), first, first + static_cast<std::ptrdiff_t>(size));
      kept.labels.push_back(images.labels[i]);
      ++kept.count;
    }
  return kept;
}

/// How many mini-batches of `batch_size` cover `count` images (the last one smaller when
/// batch_size does not divide count).
inline std::int64_t batch_count(std::int64_t count, std::int64_t batch_size) {
  return (count + batch_size - 1) / batch_size;
}

/// Mini-batch `b` of `order`: indices [b batch_size, (b + 1) batch_size), cut at the end.
inline std::span<const std::int64_t> batch_indices(const std::vector<std::int64_t>& order,
                                                   std::int64_t b, std::int64_t batch_size) {
  const auto size = static_cast<std::int64_t>(order.size());
  const std::int64_t begin = b * batch_size;
  const std::int64_t end = std::min(size, begin + batch_size);
  return {order.data() + begin, static_cast<std::size_t>(end - begin)};
}

/// The fraction of images whose largest logit (axis 0) is their label:
/// logits (classes, N), Y (N).
inline double accuracy_of(const Tensor& logits, const Tensor& Y) {
  NoGradGuard no_grad;
  return mean(equal(argmax(logits, 0), Y)).item();
}

/// A model's accuracy and mean cost over a set of images.
struct Evaluation {
  double accuracy = 0;
  double cost = 0;  ///< mean softmax cross-entropy
};

/// `model` over all of `images`, `chunk` images at a time, in evaluation mode (batch norm
/// by its running statistics, no dropout); the model is back in training mode after.
inline Evaluation evaluate(nn::Module& model, const data::ImageBytes& images,
                           std::int64_t chunk = 256) {
  NoGradGuard no_grad;
  model.eval();
  std::vector<std::int64_t> all(static_cast<std::size_t>(images.count));
  std::iota(all.begin(), all.end(), std::int64_t{0});
  double correct = 0, cost = 0;
  for (std::int64_t b = 0; b < batch_count(images.count, chunk); ++b) {
    const std::span<const std::int64_t> index = batch_indices(all, b, chunk);
    const auto [X, Y] = data::image_batch(images, index);
    const Tensor logits = model(X);
    const auto k = static_cast<double>(index.size());
    correct += accuracy_of(logits, Y) * k;
    cost += softmax_cross_entropy(logits, Y, /*axis=*/0).item() * k;
  }
  model.train();
  const auto m = static_cast<double>(images.count);
  return {.accuracy = correct / m, .cost = cost / m};
}

/// Each of the k images of `maps` (k, h, w) stretched to [0, 1] on its own (its smallest
/// value black, its largest white), so that a filter or feature map of small weights
/// shows its pattern as well as one of large weights.
inline Tensor stretch_each(const Tensor& maps) {
  NoGradGuard no_grad;
  const Tensor flat = reshape(maps.detach(), {maps.size(0), -1});
  const Tensor lo = min(flat, 1, /*keepdims=*/true);
  const Tensor hi = max(flat, 1, /*keepdims=*/true);
  return reshape((flat - lo) / (hi - lo + 1e-12), maps.shape());
}

/// Prints the shape after each step of `model` for the input `x` (one image, say), and
/// each step's parameter count: the table the course draws beside a conv net.
inline void print_shapes(nn::Sequential& model, const Tensor& x) {
  NoGradGuard no_grad;
  model.eval();
  fmt::print("  {:<18} {:>10}  input\n", shape_str(x.shape()), "parameters");
  Tensor a = x;
  std::int64_t total = 0;
  for (std::size_t i = 0; i < model.size(); ++i) {
    nn::Module& step = model[i];
    a = step(a);
    std::int64_t count = 0;
    for (const Tensor& p : step.parameters()) count += p.numel();
    total += count;
    const std::string repr = step.extra_repr();
    fmt::print("  {:<18} {:>10}  {} {}{}\n", shape_str(a.shape()), count, i, step.type_name(),
               repr.empty() ? "" : "(" + repr + ")");
  }
  fmt::print("  {:<18} {:>10}  in all\n", "", total);
  model.train();
}

}  // namespace tapegrad::examples
