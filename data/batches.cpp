#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <tapegrad/data/batches.hpp>
#include <tapegrad/data/transforms.hpp>

namespace tapegrad::data {

MiniBatches::MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size)
    : X_(X), Y_(Y), batch_size_(batch_size) {
  check(batch_size);
  order_.resize(static_cast<std::size_t>(X.size(1)));
  std::iota(order_.begin(), order_.end(), 0);
}

MiniBatches::MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size, Generator& gen)
    : X_(X), Y_(Y), batch_size_(batch_size) {
  check(batch_size);
  order_ = randperm(X.size(1), gen);
}

MiniBatches::MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size,
                         std::uint64_t seed)
    : X_(X), Y_(Y), batch_size_(batch_size) {
  check(batch_size);
  Generator gen(seed);
  order_ = randperm(X.size(1), gen);
}

void MiniBatches::check(std::int64_t batch_size) const {
  if (batch_size <= 0)
    throw ValueError(fmt::format("MiniBatches: batch_size must be > 0, got {}", batch_size));
  if (!X_.defined() || !Y_.defined() || X_.dim() != 2 || Y_.dim() != 2 || X_.size(1) != Y_.size(1))
    throw ShapeError(
        fmt::format("MiniBatches: expected X (n_x, m) and Y (k, m) with the same m, got {} and {}",
                    X_.defined() ? shape_str(X_.shape()) : "undefined",
                    Y_.defined() ? shape_str(Y_.shape()) : "undefined"));
}

std::int64_t MiniBatches::size() const {
  const auto m = static_cast<std::int64_t>(order_.size());
  return (m + batch_size_ - 1) / batch_size_;
}

Batch MiniBatches::operator[](std::int64_t i) const {
  if (i < 0 || i >= size())
    throw IndexError(fmt::format("MiniBatches: batch {} out of range for {} batches", i, size()));
  const std::int64_t start = i * batch_size_;
  const std::int64_t stop = std::min(start + batch_size_, static_cast<std::int64_t>(order_.size()));
  const std::span<const std::int64_t> columns(order_.data() + start,
                                              static_cast<std::size_t>(stop - start));
  return {gather_columns(X_, columns), gather_columns(Y_, columns)};
}

DataLoader::DataLoader(Tensor X, Tensor Y, DataLoaderOptions options)
    : X_(std::move(X)), Y_(std::move(Y)), options_(options), gen_(options.seed) {
  MiniBatches(X_, Y_, options_.batch_size);  // checks the shapes and the batch size
}

MiniBatches DataLoader::epoch() {
  if (options_.shuffle) return {X_, Y_, options_.batch_size, gen_};
  return {X_, Y_, options_.batch_size};
}

std::int64_t DataLoader::batches_per_epoch() const {
  return (size() + options_.batch_size - 1) / options_.batch_size;
}

}  // namespace tapegrad::data
