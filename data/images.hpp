#pragma once
/// \file
/// Image data sets for convolutional nets, kept as bytes until a batch is made: all of
/// Fashion-MNIST costs 47 MB of bytes, not 188 MB of float32. A batch comes out in
/// PyTorch's (N, C, H, W) layout, optionally augmented (random crop, horizontal flip).
///
///   auto train = data::load_fashion_mnist_images(data::kFashionMnistDir, "train");
///   Generator gen(0);
///   const auto order = randperm(train.count, gen);
///   const data::Augment augment{.crop_padding = 2, .horizontal_flip = true};
///   for (std::int64_t i = 0; i < train.count; i += 64) {
///     const std::span<const std::int64_t> batch(order.data() + i,
///                                               std::min<std::int64_t>(64, train.count - i));
///     auto [X, Y] = data::image_batch(train, batch, augment, &gen);  // (64, 1, 28, 28), (64)
///     Tensor loss = softmax_cross_entropy(model(X), Y, 0);
///     ...
///   }
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <utility>
#include <vector>

namespace tapegrad::data {

/// `count` images of channels x height x width bytes each, with their labels.
struct ImageBytes {
  std::int64_t channels = 0;  ///< C
  std::int64_t height = 0;    ///< H
  std::int64_t width = 0;     ///< W
  std::int64_t count = 0;     ///< number of images
  /// Image i at [i * image_size(), (i + 1) * image_size()), each (C, H, W) row-major.
  std::vector<std::uint8_t> bytes;
  std::vector<int> labels;  ///< one class index per image
  /// C H W: the bytes of one image.
  std::int64_t image_size() const { return channels * height * width; }
};

/// `split` "train" or "t10k" of Fashion-MNIST (or MNIST) in `dir`, as bytes: 1 x 28 x 28
/// images and their labels. Reads `<split>-images-idx3-ubyte.gz` and
/// `<split>-labels-idx1-ubyte.gz` (or the unpacked files when there is no .gz); `limit`
/// keeps the first `limit` images. Throws ValueError for another split, IoError (naming
/// the file) for a file that cannot be read or counts that differ (under a limit, the
/// counts of what was read).
TAPEGRAD_API ImageBytes load_fashion_mnist_images(const std::filesystem::path& dir,
                                                  std::string_view split,
                                                  std::optional<std::int64_t> limit = std::nullopt);

/// Augmentation applied to each image of a batch as it is made, each image's choices
/// drawn from a Generator.
struct Augment {
  /// Random crop: pad each side with this many zero pixels, then crop back to H x W at
  /// an offset drawn uniformly in [0, 2 crop_padding] along each axis (torchvision's
  /// RandomCrop(size, padding)). 0: no crop.
  std::int64_t crop_padding = 0;
  /// Random left-right flip of the (cropped) image with probability 1/2 (torchvision's
  /// RandomHorizontalFlip).
  bool horizontal_flip = false;
  /// True when neither is asked for.
  bool none() const { return crop_padding == 0 && !horizontal_flip; }
};

/// Images `index` (in that order) of `images` -> X (k, C, H, W) float32, pixel / 255 in
/// [0, 1], and Y (k) float32 labels (class indices, as softmax_cross_entropy takes them).
/// With augmentation, each image's crop offsets (row, then column) and flip are drawn
/// from `gen` (the thread's default_generator() when null), one image after another, so
/// the same generator state gives the same batch whatever the thread count; without,
/// no number is drawn. The conversion is split over the thread pool. Throws IndexError
/// naming the index, its position and the count for an index outside [0, count);
/// ValueError for a negative crop_padding or an ImageBytes whose bytes or labels do not
/// match its sizes.
TAPEGRAD_API std::pair<Tensor, Tensor> image_batch(const ImageBytes& images,
                                                   std::span<const std::int64_t> index,
                                                   Augment augment = {}, Generator* gen = nullptr);

}  // namespace tapegrad::data
