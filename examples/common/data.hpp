#pragma once
// Data for the example programs, in the course's layout: X is (n_x, m) with one
// example per column, Y is (1, m) holding class indices as floats.
//
//   auto train = data::load_fashion_mnist(data::kFashionMnistDir, "train");
//   for (auto [X_batch, Y_batch] : data::MiniBatches(train.X, train.Y, 64, seed)) ...
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tapegrad::data {

/// Where the dataset-fashion-mnist package installs the four .gz files.
inline constexpr std::string_view kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// The ten Fashion-MNIST class names, by label.
inline constexpr std::array<std::string_view, 10> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// A labelled set: X (n_x, m) float32, Y (1, m) float32 class indices, labels the same as ints.
struct Dataset {
  Tensor X;
  Tensor Y;
  std::vector<int> labels;
  /// Number of examples (columns).
  std::int64_t m() const { return X.defined() ? X.size(1) : 0; }
};

// ---- IDX files (MNIST, Fashion-MNIST) ------------------------------------------
// Each reader takes a gzip-compressed or a plain file (zlib reads both) and throws
// IoError naming the file and the byte offset of anything wrong.

/// An idx3-ubyte image file -> (rows * cols, m) float32 in [0, 1], image i in column i.
/// `limit` keeps only the first `limit` images.
Tensor read_idx_images(const std::filesystem::path& file,
                       std::optional<std::int64_t> limit = std::nullopt);

/// An unsigned-byte IDX file as it is stored: `dims` with the item count first, and the
/// items' bytes row-major. For programs that keep a data set as bytes, a quarter of
/// its float32 size.
struct IdxBytes {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;
};
IdxBytes read_idx_bytes(const std::filesystem::path& file, int ndims,
                        std::optional<std::int64_t> limit = std::nullopt);

/// An idx1-ubyte label file -> m labels, each checked to be in [0, num_classes).
std::vector<int> read_idx_labels(const std::filesystem::path& file,
                                 std::optional<std::int64_t> limit = std::nullopt,
                                 int num_classes = 10);

/// `split` "train" or "t10k" of Fashion-MNIST in `dir` -> X (784, m), Y (1, m), labels.
/// Reads <split>-images-idx3-ubyte.gz (or the unpacked file if there is no .gz);
/// throws IoError if image and label counts differ.
Dataset load_fashion_mnist(const std::filesystem::path& dir, std::string_view split,
                           std::optional<std::int64_t> limit = std::nullopt);

// ---- reshaping and selecting ---------------------------------------------------

/// The examples of two classes, relabelled first -> 0, second -> 1: X (n_x, m'), Y (1, m').
Dataset binary_subset(const Dataset& data, int first_class, int second_class);

/// The course's flatten: (m, h, w) or (m, h, w, c) -> (h * w * c, m), same dtype.
Tensor flatten(const Tensor& images);

/// Pixel values 0..max_value -> [0, 1], as a new tensor of the same shape and dtype.
Tensor scale_pixels(const Tensor& pixels, double max_value = 255.0);

/// Columns `index` of a 2-D tensor: (n, m) -> (n, index.size()), same dtype, no history.
Tensor gather_columns(const Tensor& A, std::span<const std::int64_t> index);

// ---- CSV -----------------------------------------------------------------------

/// A user's table: X (n_features, m), Y (1, m), and the feature column names in row order of X.
struct CsvData {
  Tensor X;
  Tensor Y;
  std::vector<std::string> features;
};

/// A comma-separated file with a header row and numeric cells -> X from every column but
/// `label_column`, Y from that one. Throws IoError naming file, line and column.
CsvData load_csv(const std::filesystem::path& file, std::string_view label_column,
                 Dtype dtype = float32);

// ---- mini-batches --------------------------------------------------------------

/// One mini-batch: X (n_x, b), Y (k, b).
struct Batch {
  Tensor X;
  Tensor Y;
};

/// The mini-batches of one epoch over the columns of X (n_x, m) and Y (k, m): every
/// column exactly once, batches of `batch_size` and a last partial batch if m does not
/// divide. Batches are gathered when visited, so an epoch never copies the whole set.
class MiniBatches {
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

  class iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const MiniBatches* owner, std::int64_t i) : owner_(owner), i_(i) {}
    Batch operator*() const { return (*owner_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    void operator++(int) { ++i_; }
    bool operator==(const iterator& other) const { return i_ == other.i_; }

   private:
    const MiniBatches* owner_ = nullptr;
    std::int64_t i_ = 0;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size()}; }

 private:
  void check(std::int64_t batch_size) const;
  Tensor X_;
  Tensor Y_;
  std::int64_t batch_size_;
  std::vector<std::int64_t> order_;
};

}  // namespace tapegrad::data
