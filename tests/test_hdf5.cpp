// HDF5 files as h5py writes them (data/hdf5.hpp): every dtype to its exact values, the
// shapes kept, strings, the course's image sets, and every error naming the function,
// the file and the dataset, with nothing printed by HDF5 on the way.
//
// The files come from tests/hdf5/make_files.py (the ctest fixture hdf5_files), in the
// folder named by the environment variable TAPEGRAD_HDF5_FILES.
#define BOOST_TEST_MODULE hdf5
#include <fcntl.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

namespace {

/// The folder of make_files.py's files.
fs::path files() {
  const char* dir = std::getenv("TAPEGRAD_HDF5_FILES");
  BOOST_TEST_REQUIRE(dir != nullptr,
                     "TAPEGRAD_HDF5_FILES is not set: run `ctest -R hdf5`, or make_files.py "
                     "DIR and TAPEGRAD_HDF5_FILES=DIR");
  BOOST_TEST_REQUIRE(fs::is_regular_file(fs::path(dir) / "numbers.h5"),
                     "no numbers.h5 in " << dir << ": run tests/hdf5/make_files.py " << dir);
  return dir;
}

/// A file of the fixture folder, as the path string the messages quote.
std::string file(const std::string& name) { return (files() / name).string(); }

/// The datasets of numbers.h5 in name order, as its listing says them. The soft link "soft"
/// leads to f8 and is not listed again.
constexpr std::string_view kNumbersDatasets =
    "bool, compound, empty, f2, f4, f4_big_endian, f8, f8_near_float32_max, "
    "f8_near_float32_max_as_f4, fixed_strings, group/inner/y, group/x, i1, i2, i4, "
    "i4_beyond_2_24, i8, i8_beyond_2_53, scalar_f8, scalar_i8, scalar_string, strings_2d, "
    "u1, u1_rank4, u2, u4, u8, u8_max, vlen_bytes, vlen_strings";

/// "a, b, c" -> {"a", "b", "c"}.
std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= list.size();) {
    const std::size_t end = std::min(list.find(", ", start), list.size());
    out.emplace_back(list.substr(start, end - start));
    start = end + 2;
  }
  return out;
}

/// A predicate for BOOST_CHECK_EXCEPTION: the message holds every one of `parts`.
std::function<bool(const IoError&)> message_has(std::vector<std::string> parts) {
  return [parts = std::move(parts)](const IoError& e) {
    const std::string what = e.what();
    BOOST_TEST_MESSAGE(what);
    bool all = true;
    for (const std::string& part : parts)
      if (what.find(part) == std::string::npos) {
        BOOST_TEST_MESSAGE("'" << part << "' not in: " << what);
        all = false;
      }
    return all;
  };
}

/// The message starts with "<function>: <file>: ", as every one of data/hdf5's does.
std::function<bool(const IoError&)> message_is(const std::string& fn, const std::string& path,
                                               std::vector<std::string> parts) {
  const std::string prefix = fn + ": " + path + ": ";
  auto has = message_has(std::move(parts));
  return [prefix, has](const IoError& e) {
    const bool starts = std::string(e.what()).rfind(prefix, 0) == 0;
    if (!starts) BOOST_TEST_MESSAGE("does not start with '" << prefix << "': " << e.what());
    return has(e) && starts;
  };
}

std::vector<float> floats(const Tensor& t) {
  BOOST_TEST_REQUIRE((t.dtype() == float32));
  return {t.data<float>(), t.data<float>() + t.numel()};
}
std::vector<double> doubles(const Tensor& t) {
  BOOST_TEST_REQUIRE((t.dtype() == float64));
  return {t.data<double>(), t.data<double>() + t.numel()};
}

/// Everything written to stderr (the file descriptor, as a C library writes) while f
/// runs; f's exception, if any, is swallowed and `threw` says so.
std::string stderr_of(const std::function<void()>& f, bool* threw = nullptr) {
  test::TempDir dir;
  const fs::path capture = dir / "stderr.txt";
  std::fflush(stderr);
  const int saved = ::dup(2);
  BOOST_TEST_REQUIRE(saved >= 0);
  const int fd = ::open(capture.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  BOOST_TEST_REQUIRE(fd >= 0);
  ::dup2(fd, 2);
  ::close(fd);
  bool thrown = false;
  try {
    f();
  } catch (const std::exception&) {
    thrown = true;
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  if (threw != nullptr) *threw = thrown;
  std::ifstream in(capture, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

// ---- numbers: the dtype by the header's rule, the exact values -------------------------

BOOST_AUTO_TEST_CASE(float32_dataset_reads_as_float32_with_its_shape) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "f4");
  BOOST_TEST(t.shape() == (Shape{2, 3}), tt::per_element());
  const std::vector<float> v = floats(t);
  const std::vector<float> expected{0.5f, -1.25f, 3.0f, 1e-3f, 2.5e7f, -0.0f};
  BOOST_TEST(v == expected, tt::per_element());
  BOOST_TEST(std::signbit(v[5]), "-0.0 keeps its sign");
}

BOOST_AUTO_TEST_CASE(big_endian_floats_read_as_their_values) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "f4_big_endian");
  BOOST_TEST(t.shape() == (Shape{3}), tt::per_element());
  BOOST_TEST(floats(t) == (std::vector<float>{1.5f, -2.0f, 1e-3f}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(float64_dataset_reads_as_float64_exactly) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "f8");
  BOOST_TEST(doubles(t) == (std::vector<double>{0.1, -2.0, 1e300, 5e-324}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(float16_dataset_reads_as_float32) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "f2");
  BOOST_TEST(floats(t) == (std::vector<float>{0.5f, -3.0f}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(narrow_integers_read_as_float32) {
  const std::string f = file("numbers.h5");
  BOOST_TEST(floats(data::read_hdf5(f, "i1")) == (std::vector<float>{-128, -1, 0, 127}),
             tt::per_element());
  BOOST_TEST(floats(data::read_hdf5(f, "u1")) == (std::vector<float>{0, 1, 254, 255}),
             tt::per_element());
  BOOST_TEST(floats(data::read_hdf5(f, "i2")) == (std::vector<float>{-32768, 32767}),
             tt::per_element());
  BOOST_TEST(floats(data::read_hdf5(f, "u2")) == (std::vector<float>{0, 65535}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(wide_integers_read_as_float64) {
  const std::string f = file("numbers.h5");
  BOOST_TEST(
      doubles(data::read_hdf5(f, "i4")) == (std::vector<double>{-2147483648.0, 2147483647.0}),
      tt::per_element());
  // Stored big endian.
  BOOST_TEST(doubles(data::read_hdf5(f, "u4")) == (std::vector<double>{0, 4294967295.0}),
             tt::per_element());
  const double two_53 = 9007199254740992.0;
  BOOST_TEST(doubles(data::read_hdf5(f, "i8")) == (std::vector<double>{-two_53, -1, 0, two_53}),
             tt::per_element());
  BOOST_TEST(doubles(data::read_hdf5(f, "u8")) == (std::vector<double>{0, two_53}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(dtype_asked_for_overrides_the_rule) {
  const std::string f = file("numbers.h5");
  BOOST_TEST(doubles(data::read_hdf5(f, "i1", float64)) == (std::vector<double>{-128, -1, 0, 127}),
             tt::per_element());
  // Floats asked for as float32 are rounded to the nearest float.
  const std::vector<float> f8 = floats(data::read_hdf5(f, "f8", float32));
  BOOST_TEST(f8[0] == 0.1f);
  BOOST_TEST(f8[1] == -2.0f);
}

// Rounded to nearest as numpy's astype(float32): FLT_MAX for what lies below halfway to
// 2^128, infinity from there (HDF5's own conversion gives infinity above FLT_MAX).
BOOST_AUTO_TEST_CASE(float64_asked_for_as_float32_rounds_as_numpy_does) {
  const std::string f = file("numbers.h5");
  const std::vector<float> v = floats(data::read_hdf5(f, "f8_near_float32_max", float32));
  const std::vector<float> numpy = floats(data::read_hdf5(f, "f8_near_float32_max_as_f4"));
  BOOST_TEST(v == numpy, tt::per_element());
  constexpr float kMax = std::numeric_limits<float>::max();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  BOOST_TEST(v == (std::vector<float>{kMax, kMax, kInf, -kMax, kInf, 0.0f}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(booleans_read_as_0_and_1) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "bool");
  BOOST_TEST(floats(t) == (std::vector<float>{1, 0, 1}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(scalar_datasets_have_shape_empty) {
  const Tensor f8 = data::read_hdf5(file("numbers.h5"), "scalar_f8");
  BOOST_TEST(f8.shape().empty());
  BOOST_TEST(f8.numel() == 1);
  BOOST_TEST(doubles(f8) == (std::vector<double>{2.75}), tt::per_element());
  const Tensor i8 = data::read_hdf5(file("numbers.h5"), "scalar_i8");
  BOOST_TEST(i8.shape().empty());
  BOOST_TEST(doubles(i8) == (std::vector<double>{-7}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(empty_dataset_keeps_its_shape) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "empty");
  BOOST_TEST(t.shape() == (Shape{0, 3}), tt::per_element());
  BOOST_TEST(t.numel() == 0);
  BOOST_TEST((t.dtype() == float32));
}

BOOST_AUTO_TEST_CASE(rank_4_dataset_keeps_row_major_order) {
  const Tensor t = data::read_hdf5(file("numbers.h5"), "u1_rank4");
  BOOST_TEST(t.shape() == (Shape{2, 3, 4, 5}), tt::per_element());
  const std::vector<float> v = floats(t);
  BOOST_TEST_REQUIRE(v.size() == 120U);
  // element (a, b, c, d) = a * 60 + b * 20 + c * 5 + d, its row-major index.
  for (std::size_t i = 0; i < v.size(); ++i) BOOST_TEST(v[i] == static_cast<float>(i));
}

BOOST_AUTO_TEST_CASE(datasets_in_groups_read_by_their_path) {
  const std::string f = file("numbers.h5");
  const Tensor x = data::read_hdf5(f, "group/x");
  BOOST_TEST(x.shape() == (Shape{2, 2}), tt::per_element());
  BOOST_TEST(floats(x) == (std::vector<float>{1, 2, 3, 4}), tt::per_element());
  BOOST_TEST(doubles(data::read_hdf5(f, "group/inner/y")) == (std::vector<double>{9.5}),
             tt::per_element());
  BOOST_TEST(doubles(data::read_hdf5(f, "/group/inner/y")) == (std::vector<double>{9.5}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(soft_link_reads_as_its_target) {
  BOOST_TEST(doubles(data::read_hdf5(file("numbers.h5"), "soft")) ==
                 (std::vector<double>{0.1, -2.0, 1e300, 5e-324}),
             tt::per_element());
}

// ---- integers that have no exact float ------------------------------------------------

BOOST_AUTO_TEST_CASE(integer_beyond_2_53_is_refused) {
  const std::string f = file("numbers.h5");
  BOOST_CHECK_EXCEPTION(
      data::read_hdf5(f, "i8_beyond_2_53"), IoError,
      message_is("read_hdf5", f,
                 {"'i8_beyond_2_53'", "9007199254740993", "element 2", "2^53", "float64"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "u8_max"), IoError,
                        message_is("read_hdf5", f, {"'u8_max'", "18446744073709551615", "2^53"}));
}

BOOST_AUTO_TEST_CASE(integer_beyond_2_24_is_refused_as_float32) {
  const std::string f = file("numbers.h5");
  // 2^24 itself is exact; 2^24 + 1 is not.
  BOOST_CHECK_EXCEPTION(
      data::read_hdf5(f, "i4_beyond_2_24", float32), IoError,
      message_is("read_hdf5", f, {"'i4_beyond_2_24'", "16777217", "element 1", "2^24", "float32"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "i8", float32), IoError,
                        message_is("read_hdf5", f, {"'i8'", "-9007199254740992", "element 0"}));
  // As float64 (its default) both are exact.
  BOOST_TEST(doubles(data::read_hdf5(f, "i4_beyond_2_24")) ==
                 (std::vector<double>{16777216.0, 16777217.0}),
             tt::per_element());
}

// ---- strings ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fixed_length_strings_end_at_their_padding) {
  BOOST_TEST(data::read_hdf5_strings(file("numbers.h5"), "fixed_strings") ==
                 (std::vector<std::string>{"non-cat", "cat"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(variable_length_strings_read_as_utf8) {
  BOOST_TEST(data::read_hdf5_strings(file("numbers.h5"), "vlen_strings") ==
                 (std::vector<std::string>{"caf\xc3\xa9", "", "a longer string"}),
             tt::per_element());
  BOOST_TEST(data::read_hdf5_strings(file("numbers.h5"), "vlen_bytes") ==
                 (std::vector<std::string>{"ab", "c"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(scalar_and_2d_strings_read_row_major) {
  BOOST_TEST(data::read_hdf5_strings(file("numbers.h5"), "scalar_string") ==
                 (std::vector<std::string>{"one"}),
             tt::per_element());
  BOOST_TEST(data::read_hdf5_strings(file("numbers.h5"), "strings_2d") ==
                 (std::vector<std::string>{"a", "bb", "ccc", "d"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(strings_read_as_numbers_are_refused) {
  const std::string f = file("numbers.h5");
  BOOST_CHECK_EXCEPTION(
      data::read_hdf5(f, "fixed_strings"), IoError,
      message_is("read_hdf5", f,
                 {"'fixed_strings'", "holds strings, not numbers", "read_hdf5_strings"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "vlen_strings"), IoError,
                        message_is("read_hdf5", f, {"'vlen_strings'", "holds strings"}));
}

BOOST_AUTO_TEST_CASE(numbers_read_as_strings_are_refused) {
  const std::string f = file("numbers.h5");
  BOOST_CHECK_EXCEPTION(
      data::read_hdf5_strings(f, "f4"), IoError,
      message_is("read_hdf5_strings", f, {"'f4'", "holds floats, not strings", "read_hdf5"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5_strings(f, "u1"), IoError,
                        message_is("read_hdf5_strings", f, {"'u1'", "holds integers"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5_strings(f, "bool"), IoError,
                        message_is("read_hdf5_strings", f, {"'bool'", "holds enum values"}));
}

// ---- the types it does not read, and paths that are no dataset --------------------------

BOOST_AUTO_TEST_CASE(compound_dataset_is_refused) {
  const std::string f = file("numbers.h5");
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "compound"), IoError,
                        message_is("read_hdf5", f, {"'compound'", "compound records"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5_strings(f, "compound"), IoError,
                        message_is("read_hdf5_strings", f, {"'compound'", "compound records"}));
}

BOOST_AUTO_TEST_CASE(group_asked_for_as_a_dataset_is_refused) {
  const std::string f = file("numbers.h5");
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "group"), IoError,
                        message_is("read_hdf5", f, {"'group' is a group, not a dataset"}));
  BOOST_CHECK_EXCEPTION(
      data::read_hdf5_strings(f, "group/inner"), IoError,
      message_is("read_hdf5_strings", f, {"'group/inner' is a group, not a dataset"}));
}

BOOST_AUTO_TEST_CASE(missing_dataset_lists_what_the_file_has) {
  const std::string f = file("numbers.h5");
  BOOST_CHECK_EXCEPTION(
      data::read_hdf5(f, "train_set_x"), IoError,
      message_is("read_hdf5", f,
                 {"has no dataset 'train_set_x'; it has: " + std::string(kNumbersDatasets)}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "group/nothing/x"), IoError,
                        message_is("read_hdf5", f, {"has no dataset 'group/nothing/x'"}));
  const std::string empty = file("no_datasets.h5");
  BOOST_CHECK_EXCEPTION(data::read_hdf5_strings(empty, "list_classes"), IoError,
                        message_is("read_hdf5_strings", empty,
                                   {"has no dataset 'list_classes'; it has: no datasets"}));
}

// ---- the names of a file's datasets -----------------------------------------------------

BOOST_AUTO_TEST_CASE(datasets_are_listed_in_name_order_groups_walked_into) {
  const std::vector<std::string> expected = split(kNumbersDatasets);
  BOOST_TEST_REQUIRE(expected.size() == 30U);
  const std::vector<std::string> listed = data::hdf5_datasets(file("numbers.h5"));
  BOOST_TEST(listed == expected, tt::per_element());
  // The soft link "soft" leads to f8: listed once, as f8.
  BOOST_TEST(std::count(listed.begin(), listed.end(), "f8") == 1);
  BOOST_TEST(std::count(listed.begin(), listed.end(), "soft") == 0);
  BOOST_TEST(data::hdf5_datasets(file("course_m.h5")) ==
                 (std::vector<std::string>{"expected_X", "expected_Y", "list_classes",
                                           "train_set_x", "train_set_y"}),
             tt::per_element());
  BOOST_TEST(data::hdf5_datasets(file("no_datasets.h5")).empty());
}

// ---- files that are missing or are not HDF5 ---------------------------------------------

BOOST_AUTO_TEST_CASE(missing_file_is_named_by_every_function) {
  const std::string f = (files() / "missing.h5").string();
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "x"), IoError,
                        message_is("read_hdf5", f, {"cannot open: no such file"}));
  BOOST_CHECK_EXCEPTION(data::read_hdf5_strings(f, "x"), IoError,
                        message_is("read_hdf5_strings", f, {"no such file"}));
  BOOST_CHECK_EXCEPTION(data::hdf5_datasets(f), IoError,
                        message_is("hdf5_datasets", f, {"no such file"}));
  BOOST_CHECK_EXCEPTION(data::load_hdf5_image_set(f), IoError,
                        message_is("load_hdf5_image_set", f, {"no such file"}));
}

BOOST_AUTO_TEST_CASE(folder_is_not_a_file) {
  const std::string f = files().string();
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "x"), IoError,
                        message_is("read_hdf5", f, {"is a folder, not a file"}));
}

BOOST_AUTO_TEST_CASE(file_that_is_not_hdf5_is_refused) {
  const std::string f = file("not_hdf5.h5");
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "x"), IoError,
                        message_is("read_hdf5", f, {"not an HDF5 file"}));
  BOOST_CHECK_EXCEPTION(data::hdf5_datasets(f), IoError,
                        message_is("hdf5_datasets", f, {"not an HDF5 file"}));
}

BOOST_AUTO_TEST_CASE(truncated_file_is_refused_with_hdf5s_reason) {
  const std::string f = file("truncated.h5");
  // HDF5's own reason: "truncated file: eof = ..., stored_eof = ...".
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "f4"), IoError,
                        message_is("read_hdf5", f, {"cannot open as HDF5", "truncated file"}));
  BOOST_CHECK_EXCEPTION(data::load_hdf5_image_set(f), IoError,
                        message_is("load_hdf5_image_set", f, {"truncated file"}));
}

BOOST_AUTO_TEST_CASE(corrupt_superblock_is_refused) {
  const std::string f = file("corrupt_superblock.h5");
  BOOST_CHECK_EXCEPTION(data::read_hdf5(f, "f4"), IoError,
                        message_is("read_hdf5", f, {"cannot open as HDF5"}));
  BOOST_CHECK_EXCEPTION(data::hdf5_datasets(f), IoError,
                        message_is("hdf5_datasets", f, {"cannot open as HDF5"}));
}

// ---- the course's image sets -------------------------------------------------------------

// X (h w c, m) is numpy's x.reshape(m, -1).T / 255. element by element; Y (1, m) is y.
void check_course_file(const std::string& f, const data::Hdf5ImageNames& names, std::int64_t m,
                       std::int64_t h, std::int64_t w, std::int64_t c) {
  const data::Hdf5ImageSet set = data::load_hdf5_image_set(f, names);
  const std::int64_t n_x = h * w * c;
  BOOST_TEST(set.X.shape() == (Shape{n_x, m}), tt::per_element());
  BOOST_TEST(set.Y.shape() == (Shape{1, m}), tt::per_element());
  BOOST_TEST(set.height == h);
  BOOST_TEST(set.width == w);
  BOOST_TEST(set.channels == c);
  BOOST_TEST(set.classes == (std::vector<std::string>{"non-cat", "cat"}), tt::per_element());

  const std::vector<double> expected_X = doubles(data::read_hdf5(f, "expected_X"));
  const std::vector<float> X = floats(set.X);
  BOOST_TEST_REQUIRE(X.size() == expected_X.size());
  std::vector<float> rounded(expected_X.begin(), expected_X.end());
  BOOST_TEST(X == rounded, tt::per_element());

  const std::vector<double> expected_Y = doubles(data::read_hdf5(f, "expected_Y"));
  BOOST_TEST(set.Y.to_vector() == expected_Y, tt::per_element());
  BOOST_TEST_REQUIRE(set.labels.size() == expected_Y.size());
  for (std::size_t i = 0; i < set.labels.size(); ++i)
    BOOST_TEST(set.labels[i] == static_cast<int>(expected_Y[i]));
  BOOST_TEST(set.m() == m);

  // Unscaled: the bytes themselves, column i the image i in (h, w, c) order.
  const data::Hdf5ImageSet raw = data::load_hdf5_image_set(f, names, /*scale=*/false);
  const std::vector<float> x = floats(data::read_hdf5(f, names.x));  // (m, h, w, c)
  const std::vector<float> X_raw = floats(raw.X);
  BOOST_TEST_REQUIRE(X_raw.size() == x.size());
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n_x; ++j)
      BOOST_TEST(
          X_raw[static_cast<std::size_t>(j * m + i)] == x[static_cast<std::size_t>(i * n_x + j)],
          "X[" << j << ", " << i << "]");
}

BOOST_AUTO_TEST_CASE(course_file_with_labels_m_reads_as_numpy_does) {
  check_course_file(file("course_m.h5"), {}, 7, 4, 3, 3);
}

BOOST_AUTO_TEST_CASE(course_file_with_labels_1_m_reads_as_numpy_does) {
  check_course_file(file("course_1m.h5"), data::Hdf5ImageNames::course("test"), 5, 2, 6, 3);
}

BOOST_AUTO_TEST_CASE(course_names_of_a_split) {
  const data::Hdf5ImageNames names = data::Hdf5ImageNames::course("test");
  BOOST_TEST(names.x == "test_set_x");
  BOOST_TEST(names.y == "test_set_y");
  BOOST_TEST(names.classes == "list_classes");
}

BOOST_AUTO_TEST_CASE(course_file_without_class_names_asked) {
  const data::Hdf5ImageSet set =
      data::load_hdf5_image_set(file("course_m.h5"), {"train_set_x", "train_set_y", ""});
  BOOST_TEST(set.classes.empty());
  BOOST_TEST(set.m() == 7);
}

BOOST_AUTO_TEST_CASE(course_file_of_the_other_split_names_the_missing_dataset) {
  const std::string f = file("course_1m.h5");
  BOOST_CHECK_EXCEPTION(
      data::load_hdf5_image_set(f), IoError,
      message_is("load_hdf5_image_set", f,
                 {"has no dataset 'train_set_x'; it has: expected_X, expected_Y, list_classes, "
                  "test_set_x, test_set_y"}));
}

BOOST_AUTO_TEST_CASE(course_files_in_another_layout_are_refused) {
  const auto check = [](const std::string& name, const std::vector<std::string>& parts) {
    const std::string f = file(name);
    BOOST_CHECK_EXCEPTION(data::load_hdf5_image_set(f), IoError,
                          message_is("load_hdf5_image_set", f, parts));
  };
  check("course_mismatched_m.h5",
        {"'train_set_y' is [2]", "expected labels (3) or (1, 3)", "'train_set_x'"});
  check("course_rank3.h5", {"'train_set_x' is [3, 4, 3]", "expected images (m, height"});
  check("course_label_out_of_range.h5", {"'train_set_y'", "label 2 (example 1)",
                                         "out of range for the 2 classes", "'list_classes'"});
  check("course_fractional_label.h5",
        {"'train_set_y'", "label 0.5 (example 1)", "not a whole number"});
  check("course_float_x.h5", {"'train_set_x' holds floats", "expected image bytes"});
  check("course_x_beyond_255.h5", {"'train_set_x'", "the value 270 (image 0)", "not a byte"});
  check("course_y_2d.h5", {"'train_set_y' is [3, 1]", "expected labels (3) or (1, 3)"});
}

// ---- HDF5 says nothing on stderr, and leaves the user's error handler as it was ---------

// Without this control, an empty capture could mean the capture does not work.
BOOST_AUTO_TEST_CASE(stderr_capture_sees_what_is_written) {
  long written = 0;
  const std::string captured = stderr_of([&] {
    std::fputs("written\n", stderr);
    written = ::write(2, "raw\n", 4);
  });
  BOOST_TEST(written == 4);
  BOOST_TEST(captured.find("written\n") != std::string::npos);
  BOOST_TEST(captured.find("raw\n") != std::string::npos);
  // And HDF5's default handler does print, where the reader does not switch it off.
  const std::string loud = stderr_of([] {
    const hid_t id = H5Fopen("/nonexistent/file.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id >= 0) H5Fclose(id);
  });
  BOOST_TEST(loud.find("HDF5") != std::string::npos, "HDF5 printed: " << loud);
}

BOOST_AUTO_TEST_CASE(failing_calls_print_nothing_to_stderr) {
  const std::string numbers = file("numbers.h5");
  const std::vector<std::function<void()>> calls{
      [&] { data::read_hdf5(numbers, "missing"); },
      [&] { data::read_hdf5(numbers, "group/nothing/x"); },
      [&] { data::read_hdf5(numbers, "group"); },
      [&] { data::read_hdf5(numbers, "compound"); },
      [&] { data::read_hdf5(numbers, "i8_beyond_2_53"); },
      [&] { data::read_hdf5_strings(numbers, "f4"); },
      [&] { data::read_hdf5(file("truncated.h5"), "f4"); },
      [&] { data::hdf5_datasets(file("truncated.h5")); },
      [&] { data::read_hdf5(file("corrupt_superblock.h5"), "f4"); },
      [&] { data::read_hdf5(file("not_hdf5.h5"), "f4"); },
      [&] { data::load_hdf5_image_set(file("course_1m.h5")); },
      [&] { data::load_hdf5_image_set(file("course_y_2d.h5")); },
  };
  for (std::size_t i = 0; i < calls.size(); ++i) {
    bool threw = false;
    const std::string captured = stderr_of(calls[i], &threw);
    BOOST_TEST(threw, "call " << i << " did not throw");
    BOOST_TEST(captured.empty(), "call " << i << " printed: " << captured);
  }
  // Reading what is there prints nothing either.
  const std::string captured = stderr_of([&] {
    data::hdf5_datasets(numbers);
    data::read_hdf5(numbers, "soft");
    data::read_hdf5_strings(numbers, "vlen_strings");
  });
  BOOST_TEST(captured.empty(), "printed: " << captured);
}

namespace {
int handler_calls = 0;
herr_t counting_handler(hid_t, void*) {
  ++handler_calls;
  return 0;
}
}  // namespace

BOOST_AUTO_TEST_CASE(users_error_handler_is_restored_and_not_called) {
  H5E_auto2_t before = nullptr;
  void* before_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &before, &before_data);
  int token = 0;
  H5Eset_auto2(H5E_DEFAULT, counting_handler, &token);
  handler_calls = 0;
  BOOST_CHECK_THROW(data::read_hdf5(file("numbers.h5"), "missing"), IoError);
  BOOST_CHECK_THROW(data::read_hdf5(file("truncated.h5"), "f4"), IoError);
  BOOST_TEST(handler_calls == 0);
  H5E_auto2_t after = nullptr;
  void* after_data = nullptr;
  H5Eget_auto2(H5E_DEFAULT, &after, &after_data);
  BOOST_TEST((after == &counting_handler));
  BOOST_TEST(after_data == static_cast<void*>(&token));
  // The control: HDF5 does call it for a failure of the user's own.
  H5Fopen("/nonexistent/file.h5", H5F_ACC_RDONLY, H5P_DEFAULT);
  BOOST_TEST(handler_calls == 1);
  H5Eset_auto2(H5E_DEFAULT, before, before_data);
}

// ---- two threads at once -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(two_threads_read_at_once) {
  const std::string numbers = file("numbers.h5");
  const std::string course = file("course_m.h5");
  const std::vector<double> f8{0.1, -2.0, 1e300, 5e-324};
  const data::Hdf5ImageSet reference = data::load_hdf5_image_set(course);
  const std::vector<double> X = reference.X.to_vector();
  int wrong[2] = {0, 0};
  int errors[2] = {0, 0};
  const auto work = [&](int t) {
    for (int i = 0; i < 50; ++i) {
      if (data::read_hdf5(numbers, t == 0 ? "f8" : "soft").to_vector() != f8) ++wrong[t];
      if (data::load_hdf5_image_set(course).X.to_vector() != X) ++wrong[t];
      if (data::read_hdf5_strings(numbers, "vlen_strings").at(0) != "caf\xc3\xa9") ++wrong[t];
      try {
        data::read_hdf5(numbers, "missing");
      } catch (const IoError& e) {
        if (std::string(e.what()).find("has no dataset 'missing'") != std::string::npos)
          ++errors[t];
      }
    }
  };
  std::thread other(work, 1);
  work(0);
  other.join();
  BOOST_TEST(wrong[0] == 0);
  BOOST_TEST(wrong[1] == 0);
  BOOST_TEST(errors[0] == 50);
  BOOST_TEST(errors[1] == 50);
}
