#pragma once
// What the classifier examples share: the two-class Fashion-MNIST pair they train on,
// accuracy as the course computes it (fraction of examples predicted right), and the
// train / dev split of the tuning and error-analysis lessons.
#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "cli.hpp"

namespace tapegrad::examples {

/// Fraction of columns where the prediction (A > 0.5) equals Y; A and Y are (1, m).
inline double binary_accuracy(const Tensor& A, const Tensor& Y) {
  NoGradGuard no_grad;
  return mean(equal(A > 0.5, Y)).item();
}

/// Fraction of columns whose largest score (axis 0) is the label in Y:
/// scores (classes, m), Y (1, m) class indices.
inline double accuracy(const Tensor& scores, const Tensor& Y) {
  NoGradGuard no_grad;
  return mean(equal(argmax(scores, 0, /*keepdims=*/true), Y)).item();
}

/// "7 (Sneaker)".
inline std::string class_label(int c) {
  return fmt::format("{} ({})", c, data::kFashionMnistClasses.at(static_cast<std::size_t>(c)));
}

/// Train and test examples of two Fashion-MNIST classes: `first` -> y = 0, `second` -> y = 1.
struct Pair {
  data::Dataset train;
  data::Dataset test;
};

/// Reads Fashion-MNIST from `dir` (the first `limit` training images only, if given)
/// and keeps the two classes.
inline Pair load_pair(const std::filesystem::path& dir, int first, int second,
                      std::optional<std::int64_t> limit = std::nullopt) {
  return {data::binary_subset(data::load_fashion_mnist(dir, "train", limit), first, second),
          data::binary_subset(data::load_fashion_mnist(dir, "t10k"), first, second)};
}

/// The examples `index` of a set, in that order.
inline data::Dataset subset(const data::Dataset& set, const std::vector<std::int64_t>& index) {
  std::vector<int> labels;
  labels.reserve(index.size());
  for (std::int64_t i : index) labels.push_back(set.labels.at(static_cast<std::size_t>(i)));
  return {data::gather_columns(set.X, index), data::gather_columns(set.Y, index), labels};
}

/// A training set and the dev set carved from it.
struct TrainDev {
  data::Dataset train;
  data::Dataset dev;
};

/// The third course's split: `dev_size` examples drawn at random (seeded) from `all` as
/// the dev set, so from the distribution the test set comes from; the rest to train on.
inline TrainDev split_off_dev(const data::Dataset& all, std::int64_t dev_size, std::uint64_t seed) {
  Generator gen(seed);
  const std::vector<std::int64_t> order = randperm(all.m(), gen);
  const auto middle = order.begin() + dev_size;
  return {subset(all, {middle, order.end()}), subset(all, {order.begin(), middle})};
}

/// Fashion-MNIST as the third course splits it: a training set, a dev set carved from it,
/// and the test set kept for the end.
struct TrainDevTest {
  data::Dataset all;  ///< train and dev together: the images read, in file order
  data::Dataset train;
  data::Dataset dev;
  data::Dataset test;
};

/// Reads the training images (the first `data.limit`, if given) and the test set, and
/// draws `dev_size` of the training images (default: a sixth of those read) as the dev
/// set. Throws UsageError when the dev set would leave nothing to train on.
inline TrainDevTest load_train_dev_test(const DataOptions& data,
                                        std::optional<std::int64_t> dev_size, std::uint64_t seed) {
  data::Dataset all = data::load_fashion_mnist(data.dir, "train", data.limit);
  data::Dataset test = data::load_fashion_mnist(data.dir, "t10k");
  const std::int64_t m_dev = dev_size.value_or(all.m() / 6);
  if (m_dev < 1 || m_dev >= all.m())
    throw UsageError(fmt::format(
        "--dev {} must leave images to train on: {} training images were read", m_dev, all.m()));
  TrainDev split = split_off_dev(all, m_dev, seed);
  return {std::move(all), std::move(split.train), std::move(split.dev), std::move(test)};
}

/// "12000 examples (6000 of y = 0, 6000 of y = 1)".
inline std::string describe(const data::Dataset& set) {
  std::int64_t ones = 0;
  for (int label : set.labels) ones += label;
  return fmt::format("{} examples ({} of y = 0, {} of y = 1)", set.m(), set.m() - ones, ones);
}

}  // namespace tapegrad::examples
