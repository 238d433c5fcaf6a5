// The examples' data helpers: IDX (Fashion-MNIST) reading, subsets and reshaping,
// CSV loading and mini-batches.
#define BOOST_TEST_MODULE data
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace tapegrad;

using test::TempDir;

namespace {

using Bytes = std::vector<std::uint8_t>;

void write_bytes(const fs::path& file, const Bytes& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(file.c_str(), "wb");
    BOOST_REQUIRE(f != nullptr);
    BOOST_REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
                  static_cast<int>(bytes.size()));
    BOOST_REQUIRE(gzclose(f) == Z_OK);
  } else {
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
  }
}

Bytes read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void put_u32(Bytes& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

/// An idx3-ubyte file's bytes: `count` images of rows x cols, pixel p of image i = pixel(i, p).
template <class Pixel>
Bytes idx_images(std::uint32_t count, std::uint32_t rows, std::uint32_t cols, Pixel pixel,
                 std::uint32_t magic = 0x803) {
  Bytes b;
  put_u32(b, magic);
  put_u32(b, count);
  put_u32(b, rows);
  put_u32(b, cols);
  for (std::uint32_t i = 0; i < count; ++i)
    for (std::uint32_t p = 0; p < rows * cols; ++p) b.push_back(pixel(i, p));
  return b;
}

Bytes idx_labels(const std::vector<int>& labels, std::uint32_t magic = 0x801) {
  Bytes b;
  put_u32(b, magic);
  put_u32(b, static_cast<std::uint32_t>(labels.size()));
  for (int l : labels) b.push_back(static_cast<std::uint8_t>(l));
  return b;
}

std::uint8_t small_pixel(std::uint32_t i, std::uint32_t p) {
  return static_cast<std::uint8_t>(i * 10 + p);
}

/// Runs f, which must throw IoError whose message contains every one of `parts`.
template <class F>
void check_io_error(F f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const IoError& e) {
    const std::string message = e.what();
    BOOST_TEST_MESSAGE("IoError: " << message);
    for (const auto& part : parts)
      BOOST_TEST(message.find(part) != std::string::npos, "'" << part << "' in: " << message);
    return;
  }
  BOOST_FAIL("expected tapegrad::IoError");
}

}  // namespace

// ---- IDX -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gzip_idx_images_load_one_image_per_column_scaled_to_unit) {
  TempDir dir;
  write_bytes(dir / "img.gz", idx_images(3, 2, 3, small_pixel), true);
  const Tensor X = data::read_idx_images(dir / "img.gz");
  BOOST_TEST(X.shape() == (Shape{6, 3}));
  BOOST_TEST((X.dtype() == float32));
  for (std::int64_t i = 0; i < 3; ++i)
    for (std::int64_t p = 0; p < 6; ++p)
      BOOST_TEST(X.at({p, i}) == (i * 10 + p) / 255.0, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(plain_idx_file_loads_like_the_gzip_one) {
  TempDir dir;
  write_bytes(dir / "img.gz", idx_images(4, 3, 2, small_pixel), true);
  write_bytes(dir / "img", idx_images(4, 3, 2, small_pixel), false);
  BOOST_TEST(data::read_idx_images(dir / "img").to_vector() ==
             data::read_idx_images(dir / "img.gz").to_vector());
}

BOOST_AUTO_TEST_CASE(limit_keeps_the_first_examples) {
  TempDir dir;
  write_bytes(dir / "img.gz", idx_images(5, 2, 2, small_pixel), true);
  write_bytes(dir / "lab.gz", idx_labels({4, 3, 2, 1, 0}), true);
  const Tensor X = data::read_idx_images(dir / "img.gz", 2);
  BOOST_TEST(X.shape() == (Shape{4, 2}));
  BOOST_TEST(X.at({3, 1}) == 13 / 255.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(data::read_idx_labels(dir / "lab.gz", 3) == (std::vector<int>{4, 3, 2}));
  BOOST_TEST(data::read_idx_images(dir / "img.gz", 100).size(1) == 5);
}

BOOST_AUTO_TEST_CASE(label_outside_the_classes_names_file_and_byte) {
  TempDir dir;
  write_bytes(dir / "lab.gz", idx_labels({1, 2, 10}), true);
  check_io_error([&] { data::read_idx_labels(dir / "lab.gz"); }, {"lab.gz", "byte 10", "label 10"});
  BOOST_TEST(data::read_idx_labels(dir / "lab.gz", std::nullopt, 11).back() == 10);
}

BOOST_AUTO_TEST_CASE(truncated_images_name_file_and_byte) {
  TempDir dir;
  // The header promises 5 images of 2x2, the file holds 3: the data stops at byte 16 + 12.
  Bytes bytes = idx_images(5, 2, 2, small_pixel);
  bytes.resize(16 + 12);
  write_bytes(dir / "short-images.gz", bytes, true);
  check_io_error([&] { data::read_idx_images(dir / "short-images.gz"); },
                 {"short-images.gz", "truncated at byte 28", "expected 20 image bytes"});
  write_bytes(dir / "short-images", bytes, false);
  check_io_error([&] { data::read_idx_images(dir / "short-images"); },
                 {"short-images", "truncated at byte 28"});
  // A header cut short.
  bytes.resize(10);
  write_bytes(dir / "header.gz", bytes, true);
  check_io_error([&] { data::read_idx_images(dir / "header.gz"); },
                 {"header.gz", "truncated at byte 10"});
}

BOOST_AUTO_TEST_CASE(truncated_gzip_stream_names_file_and_byte) {
  TempDir dir;
  write_bytes(dir / "full.gz",
              idx_images(50, 28, 28,
                         [](auto i, auto p) {
                           return static_cast<std::uint8_t>((i * 7919 + p * 31) % 251);
                         }),
              true);
  Bytes gz = read_bytes(dir / "full.gz");
  gz.resize(gz.size() / 2);  // a download that stopped half way
  write_bytes(dir / "cut.gz", gz, false);
  check_io_error([&] { data::read_idx_images(dir / "cut.gz"); }, {"cut.gz", "byte", "truncated"});
}

BOOST_AUTO_TEST_CASE(corrupt_gzip_stream_names_file_and_byte) {
  TempDir dir;
  write_bytes(dir / "full.gz",
              idx_images(50, 28, 28,
                         [](auto i, auto p) {
                           return static_cast<std::uint8_t>((i * 7919 + p * 31) % 251);
                         }),
              true);
  Bytes gz = read_bytes(dir / "full.gz");
  for (std::size_t k = gz.size() / 3; k < gz.size() / 3 + 16; ++k) gz[k] ^= 0x5a;
  write_bytes(dir / "bad.gz", gz, false);
  check_io_error([&] { data::read_idx_images(dir / "bad.gz"); }, {"bad.gz", "byte"});
  // A flip in the CRC trailer: every deflate block is intact, only the check fails. The
  // file is bigger than zlib's read-ahead, so this is caught at the end of the data.
  write_bytes(dir / "big.gz",
              idx_images(1000, 28, 28,
                         [](auto i, auto p) {
                           return static_cast<std::uint8_t>((i * 7919 + p * 31) % 251);
                         }),
              true);
  gz = read_bytes(dir / "big.gz");
  gz[gz.size() - 6] ^= 0xff;
  write_bytes(dir / "crc.gz", gz, false);
  check_io_error([&] { data::read_idx_images(dir / "crc.gz"); }, {"crc.gz", "byte", "corrupt"});
}

BOOST_AUTO_TEST_CASE(wrong_magic_number_names_file_and_byte) {
  TempDir dir;
  write_bytes(dir / "labels-as-images.gz", idx_labels({1, 2, 3}), true);
  check_io_error([&] { data::read_idx_images(dir / "labels-as-images.gz"); },
                 {"labels-as-images.gz", "magic", "byte 0"});
  write_bytes(dir / "float.gz", idx_images(1, 2, 2, small_pixel, 0x0d03), true);
  check_io_error([&] { data::read_idx_images(dir / "float.gz"); }, {"float.gz", "magic"});
}

BOOST_AUTO_TEST_CASE(inconsistent_dimensions_name_file_and_byte) {
  TempDir dir;
  write_bytes(dir / "zero-rows.gz", idx_images(2, 0, 28, small_pixel), true);
  check_io_error([&] { data::read_idx_images(dir / "zero-rows.gz"); }, {"zero-rows.gz", "byte 8"});
  // More bytes than the header says: the dimensions are wrong.
  Bytes bytes = idx_images(2, 2, 2, small_pixel);
  bytes.push_back(7);
  write_bytes(dir / "long.gz", bytes, true);
  check_io_error([&] { data::read_idx_images(dir / "long.gz"); }, {"long.gz", "byte 24"});
}

BOOST_AUTO_TEST_CASE(missing_file_names_it) {
  TempDir dir;
  check_io_error([&] { data::read_idx_images(dir / "nothing.gz"); }, {"nothing.gz", "cannot open"});
}

BOOST_AUTO_TEST_CASE(fashion_mnist_loader_reads_a_split_folder) {
  TempDir dir;
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", idx_images(4, 28, 28, small_pixel), true);
  write_bytes(dir / "t10k-labels-idx1-ubyte.gz", idx_labels({9, 0, 3, 9}), true);
  const data::Dataset d = data::load_fashion_mnist(dir.path, "t10k");
  BOOST_TEST(d.X.shape() == (Shape{784, 4}));
  BOOST_TEST(d.Y.shape() == (Shape{1, 4}));
  BOOST_TEST(d.Y.to_vector() == (std::vector<double>{9, 0, 3, 9}));
  BOOST_TEST(d.labels == (std::vector<int>{9, 0, 3, 9}));
  BOOST_TEST(d.m() == 4);
  BOOST_TEST(data::load_fashion_mnist(dir.path, "t10k", 2).m() == 2);
  BOOST_CHECK_THROW(data::load_fashion_mnist(dir.path, "test"), ValueError);

  // Unpacked files are found when there is no .gz.
  TempDir plain;
  write_bytes(plain / "train-images-idx3-ubyte", idx_images(2, 28, 28, small_pixel), false);
  write_bytes(plain / "train-labels-idx1-ubyte", idx_labels({5, 6}), false);
  BOOST_TEST(data::load_fashion_mnist(plain.path, "train").labels == (std::vector<int>{5, 6}));
}

BOOST_AUTO_TEST_CASE(label_count_differing_from_image_count_names_file_and_byte) {
  TempDir dir;
  write_bytes(dir / "train-images-idx3-ubyte.gz", idx_images(3, 28, 28, small_pixel), true);
  write_bytes(dir / "train-labels-idx1-ubyte.gz", idx_labels({1, 2}), true);
  check_io_error([&] { data::load_fashion_mnist(dir.path, "train"); },
                 {"train-labels-idx1-ubyte.gz", "byte 4", "2 labels", "3 images"});
  // A limit below both counts must not hide the mismatch.
  check_io_error([&] { data::load_fashion_mnist(dir.path, "train", 1); },
                 {"train-labels-idx1-ubyte.gz", "byte"});
}

BOOST_AUTO_TEST_CASE(installed_fashion_mnist_t10k_has_the_expected_shape_and_classes) {
  const fs::path dir(data::kFashionMnistDir);
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    BOOST_TEST_MESSAGE("no Fashion-MNIST at " << dir << ": skipped");
    return;
  }
  const data::Dataset d = data::load_fashion_mnist(dir, "t10k");
  BOOST_TEST(d.X.shape() == (Shape{784, 10000}));
  BOOST_TEST(d.Y.shape() == (Shape{1, 10000}));
  const float* x = d.X.data<float>();
  const auto [lo, hi] = std::minmax_element(x, x + d.X.numel());
  BOOST_TEST(*lo == 0.0f);
  BOOST_TEST(*hi == 1.0f);
  std::vector<int> count(10, 0);
  for (int l : d.labels) ++count.at(static_cast<std::size_t>(l));
  BOOST_TEST(count == std::vector<int>(10, 1000));
  BOOST_TEST(d.Y.at({0, 0}) == d.labels[0]);
  BOOST_TEST(data::load_fashion_mnist(dir, "train", 100).X.shape() == (Shape{784, 100}));
}

// ---- subsets and reshaping -----------------------------------------------------

BOOST_AUTO_TEST_CASE(binary_subset_keeps_two_classes_as_zero_and_one) {
  data::Dataset d;
  d.labels = {3, 5, 1, 5, 3, 7};
  std::vector<double> x;
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 6; ++i) x.push_back(r * 100 + i);  // column i holds i, 100 + i
  d.X = tensor(x, {2, 6});
  const data::Dataset b = data::binary_subset(d, 5, 3);
  BOOST_TEST(b.X.shape() == (Shape{2, 4}));
  BOOST_TEST(b.X.to_vector() == (std::vector<double>{0, 1, 3, 4, 100, 101, 103, 104}));
  BOOST_TEST(b.labels == (std::vector<int>{1, 0, 0, 1}));  // 5 -> 0, 3 -> 1
  BOOST_TEST(b.Y.to_vector() == (std::vector<double>{1, 0, 0, 1}));
  BOOST_TEST(b.Y.shape() == (Shape{1, 4}));
  BOOST_CHECK_THROW(data::binary_subset(d, 3, 3), ValueError);
  BOOST_CHECK_THROW(data::binary_subset(d, 3, 9), ValueError);
}

BOOST_AUTO_TEST_CASE(flatten_puts_each_image_in_a_column) {
  // (m=2, h=2, w=1, c=3): image i, pixel (r, w, c) holds 100 i + 10 r + c.
  std::vector<double> v;
  for (int i = 0; i < 2; ++i)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) v.push_back(100 * i + 10 * r + c);
  const Tensor flat = data::flatten(tensor(v, {2, 2, 1, 3}, float64));
  BOOST_TEST(flat.shape() == (Shape{6, 2}));
  BOOST_TEST((flat.dtype() == float64));
  BOOST_TEST(flat.at({4, 1}) == 111);  // row 1, channel 1 of image 1
  BOOST_TEST(flat.at({2, 0}) == 2);
  BOOST_TEST(data::flatten(tensor(v, {3, 2, 2})).shape() == (Shape{4, 3}));
  BOOST_CHECK_THROW(data::flatten(tensor(v, {12})), ShapeError);
}

BOOST_AUTO_TEST_CASE(scale_pixels_maps_255_to_one_without_touching_its_input) {
  const Tensor raw = tensor({0, 51, 255}, {3, 1});
  const Tensor scaled = data::scale_pixels(raw);
  BOOST_TEST(scaled.to_vector() == (std::vector<double>{0, 0.2, 1}),
             boost::test_tools::tolerance(1e-6) << boost::test_tools::per_element());
  BOOST_TEST(raw.at({2, 0}) == 255);
}

BOOST_AUTO_TEST_CASE(gather_columns_picks_columns_in_index_order) {
  const Tensor A = tensor({0, 1, 2, 10, 11, 12}, {2, 3}, float64);
  const std::vector<std::int64_t> index{2, 0, 2};
  const Tensor G = data::gather_columns(A, index);
  BOOST_TEST(G.shape() == (Shape{2, 3}));
  BOOST_TEST(G.to_vector() == (std::vector<double>{2, 0, 2, 12, 10, 12}));
  const std::vector<std::int64_t> bad{3};
  BOOST_CHECK_THROW(data::gather_columns(A, bad), IndexError);
}

// ---- CSV -----------------------------------------------------------------------

namespace {
fs::path write_text(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name, std::ios::binary) << text;
  return dir / name;
}
}  // namespace

BOOST_AUTO_TEST_CASE(csv_loads_features_as_rows_and_the_label_column_as_y) {
  TempDir dir;
  const auto file = write_text(dir, "iris.csv",
                               "length, \"label\" ,width\r\n"
                               "1.5, 0, -2\r\n"
                               "\r\n"
                               "2.5e1,1,+3.25\r\n"
                               "4,1,5\n");
  const data::CsvData d = data::load_csv(file, "label");
  BOOST_TEST(d.X.shape() == (Shape{2, 3}));
  BOOST_TEST(d.X.to_vector() == (std::vector<double>{1.5, 25, 4, -2, 3.25, 5}));
  BOOST_TEST(d.Y.shape() == (Shape{1, 3}));
  BOOST_TEST(d.Y.to_vector() == (std::vector<double>{0, 1, 1}));
  BOOST_TEST(d.features == (std::vector<std::string>{"length", "width"}));
  BOOST_TEST((data::load_csv(file, "width", float64).X.dtype() == float64));
}

BOOST_AUTO_TEST_CASE(csv_errors_name_file_line_and_column) {
  TempDir dir;
  const auto bad_cell = write_text(dir, "cell.csv", "a,b,y\n1,2,0\n3,abc,1\n");
  check_io_error([&] { data::load_csv(bad_cell, "y"); },
                 {"cell.csv", "line 3", "column 2", "'b'", "'abc'"});
  const auto empty_cell = write_text(dir, "hole.csv", "a,b,y\n1,,0\n");
  check_io_error([&] { data::load_csv(empty_cell, "y"); },
                 {"hole.csv", "line 2", "column 2", "empty"});
  const auto nan = write_text(dir, "nan.csv", "a,y\nnan,0\n");
  check_io_error([&] { data::load_csv(nan, "y"); }, {"nan.csv", "line 2", "column 1"});
  const auto ragged = write_text(dir, "ragged.csv", "a,b,y\n1,2,0\n1,2\n");
  check_io_error([&] { data::load_csv(ragged, "y"); },
                 {"ragged.csv", "line 3", "2 cells", "3 columns"});
  const auto no_label = write_text(dir, "nolabel.csv", "a,b,c\n1,2,3\n");
  check_io_error([&] { data::load_csv(no_label, "y"); },
                 {"nolabel.csv", "line 1", "'y'", "a, b, c"});
  const auto empty = write_text(dir, "empty.csv", "\n  \n");
  check_io_error([&] { data::load_csv(empty, "y"); }, {"empty.csv", "empty"});
  const auto header_only = write_text(dir, "header.csv", "a,y\n");
  check_io_error([&] { data::load_csv(header_only, "y"); }, {"header.csv", "no data rows"});
  check_io_error([&] { data::load_csv(dir / "missing.csv", "y"); }, {"missing.csv", "cannot open"});
  const auto two_signs = write_text(dir, "signs.csv", "a,y\n+-5,0\n");
  check_io_error([&] { data::load_csv(two_signs, "y"); }, {"signs.csv", "line 2", "'+-5'"});
}

// ---- mini-batches --------------------------------------------------------------

namespace {
/// X (2, m) with column j = (j, -j), Y (1, m) with column j = 1000 + j.
std::pair<Tensor, Tensor> numbered_columns(std::int64_t m) {
  std::vector<double> x(static_cast<std::size_t>(2 * m)), y(static_cast<std::size_t>(m));
  for (std::int64_t j = 0; j < m; ++j) {
    x[static_cast<std::size_t>(j)] = static_cast<double>(j);
    x[static_cast<std::size_t>(m + j)] = -static_cast<double>(j);
    y[static_cast<std::size_t>(j)] = 1000.0 + static_cast<double>(j);
  }
  return {tensor(x, {2, m}, float64), tensor(y, {1, m}, float64)};
}

/// The column numbers one epoch visits, in order, checking X and Y stay paired.
std::vector<int> visit(const data::MiniBatches& batches) {
  std::vector<int> seen;
  for (auto [Xb, Yb] : batches) {
    BOOST_REQUIRE(Xb.size(1) == Yb.size(1));
    for (std::int64_t j = 0; j < Xb.size(1); ++j) {
      BOOST_REQUIRE(Xb.at({1, j}) == -Xb.at({0, j}));
      BOOST_REQUIRE(Yb.at({0, j}) == 1000 + Xb.at({0, j}));
      seen.push_back(static_cast<int>(Xb.at({0, j})));
    }
  }
  return seen;
}
}  // namespace

BOOST_AUTO_TEST_CASE(minibatches_cover_every_column_once_with_a_last_partial_batch) {
  const auto [X, Y] = numbered_columns(10);
  const data::MiniBatches batches(X, Y, 4, std::uint64_t{1});
  BOOST_TEST(batches.size() == 3);
  BOOST_TEST(batches[0].X.shape() == (Shape{2, 4}));
  BOOST_TEST(batches[2].X.shape() == (Shape{2, 2}));
  BOOST_TEST(batches[2].Y.shape() == (Shape{1, 2}));
  std::vector<int> seen = visit(batches);
  BOOST_TEST(seen.size() == 10u);
  std::sort(seen.begin(), seen.end());
  std::vector<int> all(10);
  std::iota(all.begin(), all.end(), 0);
  BOOST_TEST(seen == all);
  BOOST_CHECK_THROW(batches[3], IndexError);
  BOOST_TEST(data::MiniBatches(X, Y, 5, std::uint64_t{1}).size() == 2);
  BOOST_TEST(data::MiniBatches(X, Y, 64, std::uint64_t{1}).size() == 1);
}

BOOST_AUTO_TEST_CASE(minibatch_order_is_fixed_by_the_seed) {
  const auto [X, Y] = numbered_columns(50);
  const auto a = visit(data::MiniBatches(X, Y, 8, std::uint64_t{7}));
  const auto b = visit(data::MiniBatches(X, Y, 8, std::uint64_t{7}));
  const auto c = visit(data::MiniBatches(X, Y, 8, std::uint64_t{8}));
  BOOST_TEST(a == b);
  BOOST_TEST(a != c);
  std::vector<int> in_order(50);
  std::iota(in_order.begin(), in_order.end(), 0);
  BOOST_TEST(a != in_order);  // shuffled at all
  BOOST_TEST(visit(data::MiniBatches(X, Y, 8)) == in_order);

  // One generator across epochs: a new order every epoch, reproducible from its seed.
  Generator gen1(3), gen2(3);
  const auto epoch1 = visit(data::MiniBatches(X, Y, 8, gen1));
  const auto epoch2 = visit(data::MiniBatches(X, Y, 8, gen1));
  BOOST_TEST(epoch1 != epoch2);
  BOOST_TEST(visit(data::MiniBatches(X, Y, 8, gen2)) == epoch1);
}

BOOST_AUTO_TEST_CASE(minibatches_reject_bad_arguments) {
  const auto [X, Y] = numbered_columns(6);
  BOOST_CHECK_THROW(data::MiniBatches(X, Y, 0), ValueError);
  const auto [X2, Y2] = numbered_columns(5);
  BOOST_CHECK_THROW(data::MiniBatches(X, Y2, 2), ShapeError);
}
