#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <tapegrad/data/idx.hpp>
#include <tapegrad/data/images.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/threads.hpp>

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

/// dir/name.gz, or dir/name when only the unpacked file is there (as load_fashion_mnist).
fs::path gz_or_plain(const fs::path& dir, const std::string& name) {
  fs::path gz = dir / (name + ".gz");
  if (!fs::exists(gz) && fs::exists(dir / name)) return dir / name;
  return gz;
}

/// Where one image's window starts in its zero-padded copy, and whether it is mirrored.
struct Choice {
  std::int64_t row = 0;  // in [0, 2 padding]; padding is the unmoved image
  std::int64_t col = 0;
  bool flip = false;
};

// The same scale as read_idx_images, so both readers give the same bits.
constexpr float kScale = 1.0f / 255.0f;
// Pixels converted per task of the pool, at least: below this the hand-off costs more
// than the work.
constexpr std::int64_t kGrainPixels = 8192;

/// out (C, H, W) = image (C, H, W) cropped at `c` after zero padding by `pad`, then
/// mirrored if c.flip: out(r, j) = image(r + c.row - pad, j' + c.col - pad), with
/// j' = W - 1 - j when flipped, and 0 outside the image.
void augmented(const std::uint8_t* image, float* out, std::int64_t channels, std::int64_t h,
               std::int64_t w, std::int64_t pad, const Choice& c) {
  for (std::int64_t ch = 0; ch < channels; ++ch) {
    const std::uint8_t* plane = image + ch * h * w;
    for (std::int64_t r = 0; r < h; ++r, out += w) {
      const std::int64_t src_r = r + c.row - pad;
      if (src_r < 0 || src_r >= h) {
        std::fill(out, out + w, 0.0f);
        continue;
      }
      const std::uint8_t* src = plane + src_r * w;
      // Columns j whose source column lies inside the image, [lo, hi); zeros elsewhere.
      const std::int64_t shift = c.col - pad;
      const std::int64_t lo = std::clamp<std::int64_t>(c.flip ? shift : -shift, 0, w);
      const std::int64_t hi = std::clamp<std::int64_t>(c.flip ? w + shift : w - shift, lo, w);
      std::fill(out, out + lo, 0.0f);
      if (c.flip) {
        for (std::int64_t j = lo; j < hi; ++j) out[j] = src[w - 1 - j + shift] * kScale;
      } else {
        for (std::int64_t j = lo; j < hi; ++j) out[j] = src[j + shift] * kScale;
      }
      std::fill(out + hi, out + w, 0.0f);
    }
  }
}

void check_images(const ImageBytes& d) {
  if (d.channels < 1 || d.height < 1 || d.width < 1 || d.count < 0)
    throw ValueError(
        fmt::format("image_batch: ImageBytes of {} images of {}x{}x{}: sizes must be "
                    "positive",
                    d.count, d.channels, d.height, d.width));
  const auto want = static_cast<std::size_t>(d.count * d.image_size());
  if (d.bytes.size() != want || d.labels.size() != static_cast<std::size_t>(d.count))
    throw ValueError(fmt::format(
        "image_batch: ImageBytes of {} images of {}x{}x{} holds {} bytes and {} labels "
        "(expected {} and {})",
        d.count, d.channels, d.height, d.width, d.bytes.size(), d.labels.size(), want, d.count));
}

}  // namespace

ImageBytes load_fashion_mnist_images(const fs::path& dir, std::string_view split,
                                     std::optional<std::int64_t> limit) {
  if (split != "train" && split != "t10k")
    throw ValueError(fmt::format(
        "load_fashion_mnist_images: split must be \"train\" or \"t10k\", got \"{}\"", split));
  const fs::path image_file = gz_or_plain(dir, fmt::format("{}-images-idx3-ubyte", split));
  const fs::path label_file = gz_or_plain(dir, fmt::format("{}-labels-idx1-ubyte", split));
  IdxBytes images = read_idx_bytes(image_file, 3, limit);
  std::vector<int> labels = read_idx_labels(label_file, limit);
  if (images.dims[0] != static_cast<std::int64_t>(labels.size()))
    throw IoError(fmt::format("{}: {} labels, but {} has {} images{}", label_file.string(),
                              labels.size(), image_file.string(), images.dims[0],
                              limit ? fmt::format(" (read with a limit of {})", *limit) : ""));
  ImageBytes out;
  out.channels = 1;
  out.height = images.dims[1];
  out.width = images.dims[2];
  out.count = images.dims[0];
  out.bytes = std::move(images.bytes);
  out.labels = std::move(labels);
  return out;
}

std::pair<Tensor, Tensor> image_batch(const ImageBytes& images, std::span<const std::int64_t> index,
                                      Augment augment, Generator* gen) {
  check_images(images);
  if (augment.crop_padding < 0)
    throw ValueError(
        fmt::format("image_batch: crop_padding must be >= 0, got {}", augment.crop_padding));
  const auto k = static_cast<std::int64_t>(index.size());
  for (std::int64_t i = 0; i < k; ++i)
    if (index[i] < 0 || index[i] >= images.count)
      throw IndexError(fmt::format(
          "image_batch: index {} (at position {} of the batch) is out of range for {} images",
          index[i], i, images.count));

  // Every choice drawn here, image after image, before any thread runs: the batch then
  // depends on the generator's state only, never on how the work is split.
  const std::int64_t pad = augment.crop_padding;
  std::vector<Choice> choices;
  if (!augment.none()) {
    Generator& g = gen != nullptr ? *gen : default_generator();
    choices.resize(static_cast<std::size_t>(k));
    for (Choice& c : choices) {
      c.row = c.col = pad;
      if (pad > 0) {
        c.row = g.integer(0, 2 * pad + 1);
        c.col = g.integer(0, 2 * pad + 1);
      }
      if (augment.horizontal_flip) c.flip = g.uniform() < 0.5;
    }
  }

  const std::int64_t size = images.image_size();
  Tensor X = Tensor::empty({k, images.channels, images.height, images.width}, float32);
  Tensor Y = Tensor::empty({k}, float32);
  float* x = X.data<float>();
  float* y = Y.data<float>();
  for (std::int64_t i = 0; i < k; ++i) y[i] = static_cast<float>(images.labels[index[i]]);
  const std::uint8_t* bytes = images.bytes.data();
  parallel_for(k, std::max<std::int64_t>(1, kGrainPixels / size),
               [&](std::int64_t begin, std::int64_t end) {
                 for (std::int64_t i = begin; i < end; ++i) {
                   const std::uint8_t* src = bytes + index[i] * size;
                   float* dst = x + i * size;
                   if (choices.empty()) {
                     for (std::int64_t p = 0; p < size; ++p) dst[p] = src[p] * kScale;
                   } else {
                     augmented(src, dst, images.channels, images.height, images.width, pad,
                               choices[static_cast<std::size_t>(i)]);
                   }
                 }
               });
  return {X, Y};
}

}  // namespace tapegrad::data
