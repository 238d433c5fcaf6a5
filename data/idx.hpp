#pragma once
/// \file
/// IDX files (MNIST, Fashion-MNIST), gzip-compressed or plain, into the course's
/// layout. Every reader throws IoError naming the file and the byte offset of
/// anything wrong.
///
///   auto train = data::load_fashion_mnist(data::kFashionMnistDir, "train");
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::data {

/// Where the dataset-fashion-mnist package installs the four .gz files.
inline constexpr std::string_view kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// The ten Fashion-MNIST class names, by label.
inline constexpr std::array<std::string_view, 10> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/// An idx3-ubyte image file -> (rows * cols, m) float32 in [0, 1], image i in column i.
/// `limit` keeps only the first `limit` images.
TAPEGRAD_API Tensor read_idx_images(const std::filesystem::path& file,
                                    std::optional<std::int64_t> limit = std::nullopt);

/// An unsigned-byte IDX file as it is stored: `dims` with the item count first, and the
/// items' bytes row-major. For programs that keep a data set as bytes, a quarter of
/// its float32 size.
struct IdxBytes {
  std::vector<std::int64_t> dims;   ///< item count (as read), then each item's extents
  std::vector<std::uint8_t> bytes;  ///< the items, row-major
};
/// An unsigned-byte IDX file of `ndims` dimensions, as bytes (the first `limit` items).
TAPEGRAD_API IdxBytes read_idx_bytes(const std::filesystem::path& file, int ndims,
                                     std::optional<std::int64_t> limit = std::nullopt);

/// An idx1-ubyte label file -> m labels, each checked to be in [0, num_classes).
TAPEGRAD_API std::vector<int> read_idx_labels(const std::filesystem::path& file,
                                              std::optional<std::int64_t> limit = std::nullopt,
                                              int num_classes = 10);

/// `split` "train" or "t10k" of Fashion-MNIST in `dir` -> X (784, m), Y (1, m), labels.
/// Reads `<split>-images-idx3-ubyte.gz` (or the unpacked file if there is no .gz);
/// throws IoError if image and label counts differ.
TAPEGRAD_API Dataset load_fashion_mnist(const std::filesystem::path& dir, std::string_view split,
                                        std::optional<std::int64_t> limit = std::nullopt);

}  // namespace tapegrad::data
