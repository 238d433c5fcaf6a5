#pragma once
/// \file
/// Mini-batches over the columns of a data set, in stored or seeded shuffled order.
///
///   data::DataLoader loader(train.X, train.Y, {.batch_size = 64, .seed = 1});
///   for (int epoch = 0; epoch < 10; ++epoch)
///     for (auto [X, Y] : loader.epoch()) ...
#include <cstddef>
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::data {

/// One mini-batch: X (n_x, b), Y (k, b).
struct Batch {
  Tensor X;  ///< (n_x, b)
  Tensor Y;  ///< (k, b)
};

/// The mini-batches of one epoch over the columns of X (n_x, m) and Y (k, m): every
/// column exactly once, batches of `batch_size` and a last partial batch if m does not
/// divide. Batches are gathered when visited, so an epoch never copies the whole set.
class TAPEGRAD_API MiniBatches {
 public:
  /// Columns in their stored order (no shuffle).
  MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size);
  /// Columns shuffled by `gen`; a generator kept across epochs gives a new order each epoch.
  MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size, Generator& gen);
  /// Columns shuffled by a generator seeded with `seed` (the course passes seed + epoch).
  MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size, std::uint64_t seed);

  /// Number of batches: ceil(m / batch_size).
  std::int64_t size() const;
  /// Batch i, gathered now.
  Batch operator[](std::int64_t i) const;
  /// The column order of this epoch.
  const std::vector<std::int64_t>& order() const { return order_; }

  /// Visits the batches in order; each is gathered when dereferenced.
  class iterator {
   public:
    using value_type = Batch;                ///< what dereferencing gives
    using difference_type = std::ptrdiff_t;  ///< distance between two iterators
    iterator() = default;                    ///< past the end of nothing
    /// Batch `i` of `owner`.
    iterator(const MiniBatches* owner, std::int64_t i) : owner_(owner), i_(i) {}
    Batch operator*() const { return (*owner_)[i_]; }  ///< the batch, gathered now
    /// The next batch.
    iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }  ///< the next batch
    /// Same position.
    bool operator==(const iterator& other) const { return i_ == other.i_; }

   private:
    const MiniBatches* owner_ = nullptr;
    std::int64_t i_ = 0;
  };
  iterator begin() const { return {this, 0}; }     ///< the first batch
  iterator end() const { return {this, size()}; }  ///< past the last batch

 private:
  void check(std::int64_t batch_size) const;
  Tensor X_;
  Tensor Y_;
  std::int64_t batch_size_;
  std::vector<std::int64_t> order_;
};

/// What a DataLoader takes besides the data.
struct DataLoaderOptions {
  std::int64_t batch_size = 64;  ///< columns per batch (the last one may be smaller)
  bool shuffle = true;           ///< a new seeded order each epoch; false: stored order
  std::uint64_t seed = 0;        ///< seeds the loader's own generator
};

/// Mini-batches epoch after epoch, as PyTorch's DataLoader: each epoch() visits every
/// column once, in an order drawn from the loader's own generator (seeded once), so a
/// run is reproducible and a checkpoint that saves generator() resumes the same orders.
class TAPEGRAD_API DataLoader {
 public:
  /// X (n_x, m) and Y (k, m); throws ShapeError for other shapes, ValueError for a
  /// batch size <= 0.
  DataLoader(Tensor X, Tensor Y, DataLoaderOptions options = {});

  /// The next epoch's batches (draws its order from generator() when shuffling).
  MiniBatches epoch();
  /// Batches per epoch: ceil(m / batch_size).
  std::int64_t batches_per_epoch() const;
  /// Examples per epoch: m.
  std::int64_t size() const { return X_.size(1); }
  /// The generator the orders come from: save and restore it to resume a run.
  Generator& generator() { return gen_; }

 private:
  Tensor X_;
  Tensor Y_;
  DataLoaderOptions options_;
  Generator gen_;
};

}  // namespace tapegrad::data
