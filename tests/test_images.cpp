// Image data sets as bytes (data/images.hpp): loading IDX files, batches in (N, C, H, W),
// augmentation (random crop after zero padding, horizontal flip) and its determinism.
#define BOOST_TEST_MODULE images
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace tapegrad;
namespace tt = boost::test_tools;

using test::TempDir;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Plain IDX files: the reader takes them as it takes the .gz ones (test_data checks the
// gzip path of the same reader).
void write_bytes(const fs::path& file, const Bytes& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

void put_u32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

// Pixel p of image i in the test files.
std::uint8_t pixel(std::uint32_t i, std::uint32_t p) {
  return static_cast<std::uint8_t>((i * 37 + p * 11) % 256);
}

Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols) {
  Bytes b;
  put_u32(b, 0x803);
  put_u32(b, count);
  put_u32(b, rows);
  put_u32(b, cols);
  for (std::uint32_t i = 0; i < count; ++i)
    for (std::uint32_t p = 0; p < rows * cols; ++p) b.push_back(pixel(i, p));
  return b;
}

Bytes idx_labels(const std::vector<int>& labels) {
  Bytes b;
  put_u32(b, 0x801);
  put_u32(b, static_cast<std::uint32_t>(labels.size()));
  for (int l : labels) b.push_back(static_cast<std::uint8_t>(l));
  return b;
}

// A Fashion-MNIST-like directory (unpacked files) of `count` images of rows x cols.
void write_split(const fs::path& dir, const std::string& split, std::uint32_t count,
                 std::uint32_t rows, std::uint32_t cols, const std::vector<int>& labels) {
  write_bytes(dir / (split + "-images-idx3-ubyte"), idx_images(count, rows, cols));
  write_bytes(dir / (split + "-labels-idx1-ubyte"), idx_labels(labels));
}

// Runs f, which must throw E whose message contains every one of `parts`.
template <class E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE(msg);
    for (const std::string& part : parts)
      BOOST_TEST(msg.find(part) != std::string::npos, "'" << part << "' not in: " << msg);
    return;
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type; message: " << e.what());
    return;
  }
  BOOST_ERROR("no exception thrown");
}

// `count` images of C x H x W with distinct-ish pixel values and labels i % 10.
data::ImageBytes made_images(std::int64_t count, std::int64_t c, std::int64_t h, std::int64_t w) {
  data::ImageBytes d{c, h, w, count, {}, {}};
  for (std::int64_t i = 0; i < count * c * h * w; ++i)
    d.bytes.push_back(static_cast<std::uint8_t>((i * 7 + 3) % 251));
  for (std::int64_t i = 0; i < count; ++i) d.labels.push_back(static_cast<int>(i % 10));
  return d;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.numel() * dtype_size(a.dtype())) == 0;
}

// Image n of a batch X (k, 1, H, W) as H rows of W values.
std::vector<std::vector<double>> plane(const Tensor& X, std::int64_t n) {
  std::vector<std::vector<double>> out(static_cast<std::size_t>(X.size(2)));
  for (std::int64_t r = 0; r < X.size(2); ++r)
    for (std::int64_t c = 0; c < X.size(3); ++c) out[r].push_back(X.at({n, 0, r, c}));
  return out;
}

// The 3x3 image 1..9 (/ 255) cropped at (row, col) of its copy zero-padded by `pad`, then
// mirrored: built by padding an array and cutting it, not by index formulas.
std::vector<std::vector<double>> cut(std::int64_t row, std::int64_t col, bool flip,
                                     std::int64_t pad = 1) {
  const std::int64_t side = 3 + 2 * pad;
  std::vector<std::vector<double>> padded(side, std::vector<double>(side, 0.0));
  for (std::int64_t r = 0; r < 3; ++r)
    for (std::int64_t c = 0; c < 3; ++c)
      padded[r + pad][c + pad] = static_cast<double>((r * 3 + c + 1) * (1.0f / 255.0f));
  std::vector<std::vector<double>> out(3);
  for (std::int64_t r = 0; r < 3; ++r) {
    for (std::int64_t c = 0; c < 3; ++c) out[r].push_back(padded[row + r][col + c]);
    if (flip) std::reverse(out[r].begin(), out[r].end());
  }
  return out;
}

data::ImageBytes one_to_nine(std::int64_t copies) {
  data::ImageBytes d{1, 3, 3, copies, {}, {}};
  for (std::int64_t i = 0; i < copies; ++i) {
    for (std::uint8_t v = 1; v <= 9; ++v) d.bytes.push_back(v);
    d.labels.push_back(0);
  }
  return d;
}

std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

// ---- loading --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(load_fashion_mnist_images_keeps_the_bytes_and_labels) {
  TempDir dir;
  write_split(dir.path, "train", 3, 4, 5, {7, 0, 9});
  const data::ImageBytes d = data::load_fashion_mnist_images(dir.path, "train");
  BOOST_TEST(d.channels == 1);
  BOOST_TEST(d.height == 4);
  BOOST_TEST(d.width == 5);
  BOOST_TEST(d.count == 3);
  BOOST_TEST(d.image_size() == 20);
  BOOST_TEST_REQUIRE(d.bytes.size() == 60u);
  for (std::uint32_t i = 0; i < 3; ++i)
    for (std::uint32_t p = 0; p < 20; ++p) BOOST_TEST(d.bytes[i * 20 + p] == pixel(i, p));
  BOOST_TEST(d.labels == (std::vector<int>{7, 0, 9}), tt::per_element());

  const data::ImageBytes first = data::load_fashion_mnist_images(dir.path, "train", 2);
  BOOST_TEST(first.count == 2);
  BOOST_TEST(first.bytes.size() == 40u);
  BOOST_TEST(first.labels == (std::vector<int>{7, 0}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(load_fashion_mnist_images_reads_the_test_split) {
  TempDir dir;
  write_split(dir.path, "t10k", 2, 3, 3, {1, 2});
  const data::ImageBytes d = data::load_fashion_mnist_images(dir.path, "t10k");
  BOOST_TEST(d.count == 2);
  BOOST_TEST(d.bytes[9] == pixel(1, 0));
  BOOST_TEST(d.labels == (std::vector<int>{1, 2}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(a_batch_has_the_same_values_as_read_idx_images) {
  TempDir dir;
  write_split(dir.path, "train", 6, 4, 3, {0, 1, 2, 3, 4, 5});
  const data::ImageBytes d = data::load_fashion_mnist_images(dir.path, "train");
  const Tensor columns = data::read_idx_images(dir.path / "train-images-idx3-ubyte");  // (12, 6)
  const auto index = iota(6);
  const auto [X, Y] = data::image_batch(d, index);
  // (6, 1, 4, 3) -> (6, 12) -> (12, 6): the course's columns, bit for bit.
  BOOST_TEST(same_bits(X.reshape({6, 12}).t().clone(), columns));
}

BOOST_AUTO_TEST_CASE(load_fashion_mnist_images_rejects_bad_splits_and_mismatched_counts) {
  TempDir dir;
  expect_error<ValueError>([&] { data::load_fashion_mnist_images(dir.path, "test"); },
                           {"load_fashion_mnist_images", "\"test\""});
  write_split(dir.path, "train", 3, 2, 2, {1, 2});
  expect_error<IoError>([&] { data::load_fashion_mnist_images(dir.path, "train"); },
                        {"train-labels-idx1-ubyte", "2 labels", "3 images"});
  expect_error<IoError>([&] { data::load_fashion_mnist_images(dir.path / "missing", "t10k"); },
                        {"t10k-images-idx3-ubyte"});
}

// ---- batches --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(image_batch_gives_nchw_pixels_over_255_and_float_labels) {
  const data::ImageBytes d = made_images(5, 2, 3, 4);
  const std::vector<std::int64_t> index = {3, 0, 3};
  const auto [X, Y] = data::image_batch(d, index);
  BOOST_TEST_REQUIRE(X.shape() == (Shape{3, 2, 3, 4}));
  BOOST_TEST((X.dtype() == float32));
  BOOST_TEST_REQUIRE(Y.shape() == (Shape{3}));
  BOOST_TEST((Y.dtype() == float32));
  for (std::int64_t n = 0; n < 3; ++n) {
    BOOST_TEST(Y.at({n}) == d.labels[index[n]]);
    for (std::int64_t c = 0; c < 2; ++c)
      for (std::int64_t r = 0; r < 3; ++r)
        for (std::int64_t w = 0; w < 4; ++w) {
          const std::uint8_t byte = d.bytes[index[n] * 24 + c * 12 + r * 4 + w];
          BOOST_TEST(X.at({n, c, r, w}) == byte / 255.0, tt::tolerance(1e-6));
        }
  }
  // No index: an empty batch of the right shape.
  const auto [E, EY] = data::image_batch(d, {});
  BOOST_TEST(E.shape() == (Shape{0, 2, 3, 4}));
  BOOST_TEST(EY.shape() == (Shape{0}));
}

BOOST_AUTO_TEST_CASE(image_batch_without_augmentation_draws_nothing) {
  const data::ImageBytes d = made_images(4, 1, 2, 2);
  Generator gen(3);
  const std::string before = gen.state();
  const auto index = iota(4);
  data::image_batch(d, index, {}, &gen);
  BOOST_TEST(gen.state() == before);
}

// ---- augmentation ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(random_crop_is_a_window_of_the_zero_padded_image_drawn_row_then_column) {
  const data::ImageBytes d = one_to_nine(200);
  Generator gen(21), replay(21);
  const auto index = iota(200);
  const auto [X, Y] = data::image_batch(d, index, {.crop_padding = 1}, &gen);
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (std::int64_t n = 0; n < 200; ++n) {
    const std::int64_t row = replay.integer(0, 3);
    const std::int64_t col = replay.integer(0, 3);
    seen.insert({row, col});
    BOOST_TEST((plane(X, n) == cut(row, col, false)), "image " << n << " crop " << row << col);
  }
  BOOST_TEST(seen.size() == 9u);              // every offset of [0, 2]^2 came up
  BOOST_TEST(gen.state() == replay.state());  // two draws an image, no more
}

BOOST_AUTO_TEST_CASE(horizontal_flip_mirrors_about_half_of_the_images) {
  const data::ImageBytes d = one_to_nine(200);
  Generator gen(22), replay(22);
  const auto index = iota(200);
  const auto [X, Y] = data::image_batch(d, index, {.horizontal_flip = true}, &gen);
  int flipped = 0;
  for (std::int64_t n = 0; n < 200; ++n) {
    const bool flip = replay.uniform() < 0.5;
    flipped += flip ? 1 : 0;
    BOOST_TEST((plane(X, n) == cut(1, 1, flip)), "image " << n);
  }
  BOOST_TEST(flipped > 70);
  BOOST_TEST(flipped < 130);
  BOOST_TEST(gen.state() == replay.state());
}

BOOST_AUTO_TEST_CASE(crop_and_flip_together_crop_first_then_mirror) {
  const data::ImageBytes d = one_to_nine(100);
  Generator gen(23), replay(23);
  const auto index = iota(100);
  const auto [X, Y] =
      data::image_batch(d, index, {.crop_padding = 1, .horizontal_flip = true}, &gen);
  for (std::int64_t n = 0; n < 100; ++n) {
    const std::int64_t row = replay.integer(0, 3);
    const std::int64_t col = replay.integer(0, 3);
    const bool flip = replay.uniform() < 0.5;
    BOOST_TEST((plane(X, n) == cut(row, col, flip)), "image " << n);
  }
  // A padding wider than the image: some crops hold nothing of it.
  Generator wide(24), wide_replay(24);
  const auto [P, PY] =
      data::image_batch(d, index, {.crop_padding = 4, .horizontal_flip = true}, &wide);
  int blank = 0;
  for (std::int64_t n = 0; n < 100; ++n) {
    const std::int64_t row = wide_replay.integer(0, 9);
    const std::int64_t col = wide_replay.integer(0, 9);
    const bool flip = wide_replay.uniform() < 0.5;
    BOOST_TEST((plane(P, n) == cut(row, col, flip, 4)), "image " << n << " padding 4");
    blank += P[n].sum().item() == 0.0 ? 1 : 0;
  }
  BOOST_TEST(blank > 0);
  // Every channel of an image gets the same crop and flip.
  data::ImageBytes two = made_images(1, 2, 4, 4);
  std::copy(two.bytes.begin(), two.bytes.begin() + 16, two.bytes.begin() + 16);
  Generator g(5);
  const std::vector<std::int64_t> one = {0};
  const auto [Z, ZY] =
      data::image_batch(two, one, {.crop_padding = 2, .horizontal_flip = true}, &g);
  for (std::int64_t r = 0; r < 4; ++r)
    for (std::int64_t c = 0; c < 4; ++c) BOOST_TEST(Z.at({0, 0, r, c}) == Z.at({0, 1, r, c}));
}

BOOST_AUTO_TEST_CASE(augmented_batches_are_the_same_for_a_seed_whatever_the_thread_count) {
  const data::ImageBytes d = made_images(300, 1, 28, 28);
  std::vector<std::int64_t> index;
  for (std::int64_t i = 0; i < 256; ++i) index.push_back((i * 97) % 300);
  const data::Augment augment{.crop_padding = 2, .horizontal_flip = true};
  const int threads = num_threads();
  set_num_threads(1);
  Generator a(7);
  const auto [X1, Y1] = data::image_batch(d, index, augment, &a);
  set_num_threads(4);
  Generator b(7);
  const auto [X4, Y4] = data::image_batch(d, index, augment, &b);
  set_num_threads(threads);
  BOOST_TEST(same_bits(X1, X4));
  BOOST_TEST(same_bits(Y1, Y4));
  // Another seed, other crops; and the same generator, drawn on, a new batch.
  Generator c(8);
  BOOST_TEST(!same_bits(X1, data::image_batch(d, index, augment, &c).first));
  BOOST_TEST(!same_bits(X1, data::image_batch(d, index, augment, &a).first));
  // No generator given: the thread's default one.
  manual_seed(7);
  BOOST_TEST(same_bits(X1, data::image_batch(d, index, augment).first));
}

// ---- errors ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(image_batch_names_an_index_out_of_range) {
  const data::ImageBytes d = made_images(5, 1, 2, 2);
  const std::vector<std::int64_t> past = {0, 7, 1};
  expect_error<IndexError>([&] { data::image_batch(d, past); },
                           {"image_batch", "index 7", "position 1", "5 images"});
  const std::vector<std::int64_t> negative = {-1};
  expect_error<IndexError>([&] { data::image_batch(d, negative); }, {"index -1", "position 0"});
}

BOOST_AUTO_TEST_CASE(image_batch_rejects_a_negative_padding_and_inconsistent_bytes) {
  data::ImageBytes d = made_images(3, 1, 2, 2);
  const std::vector<std::int64_t> index = {0};
  expect_error<ValueError>([&] { data::image_batch(d, index, {.crop_padding = -1}); },
                           {"crop_padding", "-1"});
  d.bytes.pop_back();
  expect_error<ValueError>([&] { data::image_batch(d, index); }, {"image_batch", "11 bytes", "12"});
  d = made_images(3, 1, 2, 2);
  d.labels.pop_back();
  expect_error<ValueError>([&] { data::image_batch(d, index); }, {"2 labels"});
  d = made_images(3, 1, 2, 2);
  d.width = 0;
  expect_error<ValueError>([&] { data::image_batch(d, index); }, {"1x2x0"});
}
