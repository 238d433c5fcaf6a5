#define BOOST_TEST_MODULE safetensors
#include <fmt/format.h>

#include <bit>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;
namespace tt = boost::test_tools;

using test::read_bytes;
using test::TempDir;
using test::write_bytes;

namespace {

// A file by hand: the 8-byte little-endian length of `header`, the header, the data.
std::string file_of(const std::string& header, const std::string& data = {}) {
  std::string out;
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFFu));
  return out + header + data;
}

std::string le16(std::uint16_t v) {
  return {static_cast<char>(v & 0xFFu), static_cast<char>(v >> 8)};
}

// `body` throws E with a message that starts with `start` and holds every one of `parts`.
template <class E>
void check_throws(const std::function<void()>& body, const std::string& start,
                  const std::vector<std::string>& parts = {}) {
  try {
    body();
    BOOST_ERROR("no exception; expected one starting: " << start);
  } catch (const E& e) {
    const std::string message = e.what();
    BOOST_TEST(message.starts_with(start), message);
    for (const std::string& part : parts)
      BOOST_TEST(message.find(part) != std::string::npos, "'" << part << "' not in: " << message);
  }
}

// decode_safetensors of `bytes` fails with "read_safetensors: f.safetensors: <start>...".
void check_rejected(const std::string& bytes, const std::string& start,
                    const std::vector<std::string>& parts = {}) {
  check_throws<IoError>([&] { decode_safetensors(bytes, "f.safetensors"); },
                        "read_safetensors: f.safetensors: " + start, parts);
}

// A header of one F32 tensor "a" of shape [2] at data bytes [0, 8): the good file the
// hostile cases below change one thing of.
const std::string kOneTensor = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
const std::string kEightBytes(8, '\0');

}  // namespace

// ---- writing and reading every element type -------------------------------------------------

BOOST_AUTO_TEST_CASE(every_writable_dtype_round_trips_with_its_values) {
  const Tensor values = tensor({-128.0, -1.0, 0.0, 1.0, 127.0}, {5}, float64);
  struct Case {
    const char* code;
    std::size_t size;
    Dtype read_as;
  };
  for (const Case c : {Case{"F64", 8, float64}, Case{"F32", 4, float32}, Case{"I64", 8, float64},
                       Case{"I32", 4, float64}, Case{"I16", 2, float32}, Case{"I8", 1, float32}}) {
    const SafetensorsTensor st = safetensors_tensor(values, c.code, "v");
    BOOST_TEST(st.dtype == c.code);
    BOOST_TEST(st.data.size() == 5 * c.size);
    const Tensor back = st.to_tensor();
    BOOST_TEST((back.dtype() == c.read_as), c.code);
    BOOST_TEST(back.to_vector() == values.to_vector(), tt::per_element());
  }
  const Tensor bytes = tensor({0.0, 1.0, 254.0, 255.0}, {2, 2}, float32);
  const SafetensorsTensor u8 = safetensors_tensor(bytes, "U8");
  BOOST_TEST(u8.data == std::string("\x00\x01\xfe\xff", 4));
  BOOST_TEST(u8.to_tensor().to_vector() == bytes.to_vector(), tt::per_element());
  const SafetensorsTensor flags = safetensors_tensor(tensor({1.0, 0.0, 1.0}, {3}), "BOOL");
  BOOST_TEST(flags.data == std::string("\x01\x00\x01", 3));
  // Stored little-endian whatever the machine: -2 as I16 is FE FF.
  BOOST_TEST(safetensors_tensor(tensor({-2.0}, {1}), "I16").data == "\xfe\xff");
}

BOOST_AUTO_TEST_CASE(float_tensors_keep_their_bits_through_a_file) {
  TempDir dir;
  Generator gen(11);
  const NamedTensors tensors{{"w", randn({3, 4}, float32, gen)},
                             {"b", randn({3, 1}, float64, gen)},
                             {"s", scalar(0.1, float64)},
                             {"e", zeros({2, 0}, float32)},
                             {"tiny", tensor({5e-324, -0.0, 1e308}, {3}, float64)}};
  save_safetensors(dir / "t.safetensors", tensors, {{"format", "pt"}, {"author", "test"}});
  const Safetensors file = read_safetensors(dir / "t.safetensors");
  BOOST_TEST_REQUIRE(file.tensors.size() == 5u);
  BOOST_TEST(file.tensors[0].first == "w");  // data order is the order saved
  BOOST_TEST(file.tensors[4].first == "tiny");
  BOOST_TEST(file.find("b")->dtype == "F64");
  BOOST_TEST(file.find("s")->shape.empty());
  BOOST_TEST(file.find("nope") == nullptr);
  BOOST_TEST_REQUIRE(file.metadata.size() == 2u);  // sorted by key
  BOOST_TEST(file.metadata[0].first == "author");
  BOOST_TEST(file.metadata[1].second == "pt");
  const NamedTensors back = load_safetensors(dir / "t.safetensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    BOOST_TEST(back[i].first == tensors[i].first);
    BOOST_TEST((back[i].second.dtype() == tensors[i].second.dtype()));
    BOOST_TEST(back[i].second.shape() == tensors[i].second.shape(), tt::per_element());
    BOOST_TEST(back[i].second.to_vector() == tensors[i].second.to_vector(), tt::per_element());
  }
  BOOST_TEST(std::signbit(back[4].second.to_vector()[1]));  // -0.0 stays -0.0
}

BOOST_AUTO_TEST_CASE(the_header_is_the_formats_own) {
  const Safetensors file{{{"b", safetensors_tensor(tensor({1.0, 2.0}, {2}), "F32")},
                          {"a", safetensors_tensor(tensor({3.0}, {1, 1}), "I64")}},
                         {{"k", "v"}}};
  const std::string bytes = encode_safetensors(file);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  BOOST_TEST(n % 8 == 0u);  // padded with spaces: the data starts aligned
  BOOST_TEST(bytes.size() == 8 + n + 8 + 8);
  const std::string header = bytes.substr(8, n);
  BOOST_TEST(header.starts_with(
      R"({"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I64","shape":[1,1],"data_offsets":[8,16]}})"));
  BOOST_TEST(header.find_first_not_of(' ', header.rfind('}') + 1) == std::string::npos);
}

BOOST_AUTO_TEST_CASE(half_and_bfloat16_read_exactly_as_float32) {
  // 1, -2, 2^-24 (the smallest subnormal), 65504 (the largest), inf, 1/3 rounded.
  const std::string halves =
      le16(0x3C00) + le16(0xC000) + le16(0x0001) + le16(0x7BFF) + le16(0x7C00) + le16(0x3555);
  const std::string bf16 = le16(0x3F80) + le16(0xC040) + le16(0x0001);
  const std::string header = R"({"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]},)"
                             R"("g":{"dtype":"BF16","shape":[3],"data_offsets":[12,18]}})";
  const NamedTensors t = decode_safetensors(file_of(header, halves + bf16), "x").to_tensors();
  BOOST_TEST((t[0].second.dtype() == float32));
  const std::vector<double> h = t[0].second.to_vector();
  BOOST_TEST(h[0] == 1.0);
  BOOST_TEST(h[1] == -2.0);
  BOOST_TEST(h[2] == std::ldexp(1.0, -24));
  BOOST_TEST(h[3] == 65504.0);
  BOOST_TEST(std::isinf(h[4]));
  BOOST_TEST(h[5] == 0.333251953125);
  const std::vector<double> g = t[1].second.to_vector();
  BOOST_TEST(g[0] == 1.0);
  BOOST_TEST(g[1] == -3.0);
  BOOST_TEST(g[2] == static_cast<double>(std::bit_cast<float>(std::uint32_t{1} << 16)));
}

BOOST_AUTO_TEST_CASE(integers_beyond_float64s_exact_range_are_refused) {
  std::string data;
  for (std::uint64_t v : {std::uint64_t{1} << 53, (std::uint64_t{1} << 53) + 1})
    for (int i = 0; i < 8; ++i) data.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
  const std::string ok =
      file_of(R"({"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data.substr(0, 8));
  BOOST_TEST(decode_safetensors(ok, "x").tensors[0].second.to_tensor().to_vector()[0] ==
             9007199254740992.0);
  const std::string big =
      file_of(R"({"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", data);
  check_throws<IoError>([&] { decode_safetensors(big, "x").to_tensors(); },
                        "safetensors: I64 element 1 (9007199254740993) is beyond 2^53",
                        {"(tensor 'n')"});
}

BOOST_AUTO_TEST_CASE(writing_as_an_integer_type_refuses_what_it_cannot_hold) {
  check_throws<ValueError>(
      [] {
        safetensors_tensor(tensor({1.0, 256.0}, {2}), "U8", "img");
      },
      "safetensors_tensor: 'img': element 1 is 256, which U8 cannot hold");
  check_throws<ValueError>([] { safetensors_tensor(tensor({0.5}, {1}), "I32", "y"); },
                           "safetensors_tensor: 'y': element 0 is 0.5, which I32 cannot hold");
  check_throws<ValueError>([] { safetensors_tensor(tensor({std::nan("")}, {1}), "I64", "y"); },
                           "safetensors_tensor: 'y': element 0 is nan");
  check_throws<ValueError>([] { safetensors_tensor(tensor({-129.0}, {1}), "I8", "y"); },
                           "safetensors_tensor: 'y': element 0 is -129");
  check_throws<ValueError>([] { safetensors_tensor(tensor({2.0}, {1}), "BOOL", "m"); },
                           "safetensors_tensor: 'm': element 0 is 2, which BOOL cannot hold");
  check_throws<ValueError>([] { safetensors_tensor(tensor({1.0}, {1}), "F16", "h"); },
                           "safetensors_tensor: 'h': cannot write dtype 'F16'");
  check_throws<ValueError>([] { safetensors_tensor(tensor({1.0}, {1}), "Q4", "h"); },
                           "safetensors_tensor: 'h': cannot write dtype 'Q4'");
}

BOOST_AUTO_TEST_CASE(writing_refuses_names_and_sizes_the_format_cannot_hold) {
  const SafetensorsTensor one = safetensors_tensor(tensor({1.0}, {1}));
  check_throws<ValueError>(
      [&] {
        encode_safetensors({{{"", one}}, {}});
      },
      "save_safetensors: a tensor has an empty name");
  check_throws<ValueError>(
      [&] {
        encode_safetensors({{{"a", one}, {"a", one}}, {}});
      },
      "save_safetensors: the name 'a' is given twice");
  check_throws<ValueError>(
      [&] {
        encode_safetensors({{{"__metadata__", one}}, {}});
      },
      "save_safetensors: '__metadata__' is the format's reserved name");
  SafetensorsTensor short_data = one;
  short_data.data.pop_back();
  check_throws<ValueError>(
      [&] {
        encode_safetensors({{{"a", short_data}}, {}});
      },
      "save_safetensors: 'a': F32 of shape [1] needs 4 bytes, has 3");
  SafetensorsTensor odd = one;
  odd.dtype = "F8";
  check_throws<ValueError>(
      [&] {
        encode_safetensors({{{"a", odd}}, {}});
      },
      "save_safetensors: 'a': unknown dtype 'F8'");
}

// ---- a hostile file: every promise of the format is checked, with the byte ------------------

BOOST_AUTO_TEST_CASE(the_good_file_the_hostile_ones_start_from_reads) {
  const Safetensors file = decode_safetensors(file_of(kOneTensor, kEightBytes), "f.safetensors");
  BOOST_TEST(file.tensors.size() == 1u);
  BOOST_TEST(file.tensors[0].second.to_tensor().to_vector() == std::vector<double>({0.0, 0.0}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(a_short_file_or_a_bad_length_is_refused) {
  check_rejected("",
                 "truncated at byte 0: the 8-byte header length needs 8 bytes, but the file "
                 "has 0 bytes");
  check_rejected(std::string("\x10\x00\x00", 3), "truncated at byte 3");
  std::string past_end = file_of(kOneTensor, kEightBytes);
  past_end[0] = static_cast<char>(past_end[0] + 9);  // 9 bytes more than the file holds
  check_rejected(past_end, "truncated: the header length at byte 0 says",
                 {fmt::format("but the file has {} bytes", past_end.size())});
  std::string huge = file_of(kOneTensor, kEightBytes);
  huge[4] = '\x01';  // 2^32 + size
  check_rejected(huge, "header length 42949", {"over the format's limit of 100000000 bytes"});
  check_rejected(file_of(""), "the header at byte 8 is not a JSON object");
  check_rejected(file_of("[1, 2]"), "the header at byte 8 is not a JSON object");
  check_rejected(file_of(" {}"), "the header at byte 8 is not a JSON object");
}

BOOST_AUTO_TEST_CASE(malformed_json_names_the_byte) {
  // The 'x' is at header byte 6, file byte 14.
  check_rejected(file_of(R"({"a": x})"), "header not valid JSON", {"(byte 14)"});
  check_rejected(file_of(R"({"a":{"dtype":"F32")"), "header not valid JSON");
  check_rejected(file_of(R"({} trailing)"), "header not valid JSON");
  check_rejected(file_of(std::string("{\"a\0\":1}", 8)), "header not valid JSON");
}

BOOST_AUTO_TEST_CASE(an_entry_must_be_dtype_shape_and_offsets_of_the_right_kinds) {
  const std::string e8 = kEightBytes;
  check_rejected(file_of(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", e8),
                 "tensor 'a': unknown dtype 'F33' (known: F64, F32, F16, BF16, I64");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", e8),
                 "header: tensor 'a': unknown key 'x'");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2]}})", e8),
                 "header: tensor 'a': no 'data_offsets'");
  check_rejected(file_of(R"({"a":{"dtype":"F32","dtype":"F32","shape":[2],)"
                         R"("data_offsets":[0,8]}})",
                         e8),
                 "header: tensor 'a': 'dtype' appears twice");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", e8),
                 "header: tensor 'a': -2 in shape");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", e8),
                 "header: tensor 'a': 2.0 in shape is not a whole number");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", e8),
                 "header: tensor 'a': data_offsets has more than 2 numbers");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", e8),
                 "header: tensor 'a': data_offsets has 1 numbers, not 2");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", e8),
                 "header: tensor 'a''s shape: an array where");
  check_rejected(file_of(R"({"a":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", e8),
                 "header: tensor 'a''s dtype: a number where a string was expected");
  check_rejected(file_of(R"({"a":[1]})", e8), "header: tensor 'a': an array where an object");
  check_rejected(file_of(R"({"__metadata__":{"k":1}})"),
                 "header: __metadata__ key 'k': a number where a string was expected");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                         e8 + e8),
                 "header: tensor 'a' appears twice");
  check_rejected(file_of(R"({"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", e8),
                 "a tensor has an empty name");
}

BOOST_AUTO_TEST_CASE(the_tensors_must_tile_the_data_exactly) {
  const std::string e8 = kEightBytes;
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", e8),
                 "tensor 'a': data_offsets [0, 8] hold 8 bytes, but F32 of shape [3] takes 12");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", e8),
                 "tensor 'a': data_offsets [8, 0] end before they begin");
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", e8),
                 "tensor 'a': data_offsets [4, 12] run past the end of the data (8 bytes");
  // overlap: b starts inside a
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                         e8),
                 "tensor 'b' (data bytes 4 to 8) overlaps tensor 'a' (to 8)");
  // a hole of 4 bytes between a and b
  const std::string holed = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                            R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  check_rejected(
      file_of(holed, e8 + std::string(4, '\0')), "data bytes 4 to 8 (file bytes",
      {fmt::format("{} to {}", 8 + holed.size() + 4, 8 + holed.size() + 8), "belong to no tensor"});
  // trailing bytes after the last tensor
  check_rejected(file_of(kOneTensor, e8 + "xyz"), "3 bytes after the last tensor's data",
                 {fmt::format("(from byte {})", 8 + kOneTensor.size() + 8)});
  check_rejected(file_of(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],)"
                         R"("data_offsets":[0,8]}})",
                         e8),
                 "tensor 'a': shape [4611686018427387904, 4] has too many elements");
}

BOOST_AUTO_TEST_CASE(tensors_may_come_in_any_header_order_and_are_read_in_data_order) {
  const std::string header = R"({"late":{"dtype":"U8","shape":[1],"data_offsets":[1,2]},)"
                             R"("early":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("none":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}})";
  const Safetensors file = decode_safetensors(file_of(header, "\x07\x09"), "x");
  BOOST_TEST_REQUIRE(file.tensors.size() == 3u);
  BOOST_TEST(file.tensors[0].first == "early");
  BOOST_TEST(file.tensors[0].second.to_tensor().to_vector()[0] == 7.0);
  BOOST_TEST(file.tensors[1].first == "late");
  BOOST_TEST(file.tensors[2].second.to_tensor().numel() == 0);
}

BOOST_AUTO_TEST_CASE(reading_a_missing_or_hostile_file_names_the_function_and_the_file) {
  TempDir dir;
  check_throws<IoError>(
      [&] { read_safetensors(dir / "absent.safetensors"); },
      "read_safetensors: " + (dir / "absent.safetensors").string() + ": cannot open for reading");
  write_bytes(dir / "bad.safetensors", file_of(R"({"a": x})"));
  check_throws<IoError>(
      [&] { load_safetensors(dir / "bad.safetensors"); },
      "load_safetensors: " + (dir / "bad.safetensors").string() + ": header not valid JSON");
}

// ---- a model in and out: PyTorch's names and shapes -----------------------------------------

BOOST_AUTO_TEST_CASE(a_model_is_saved_with_torchs_bias_shapes_and_loads_back) {
  TempDir dir;
  Generator gen(5);
  nn::MLP model({4, 3, 2}, nn::ReLU(), {.gen = &gen});
  save_safetensors(dir / "m.safetensors", model, {{"format", "pt"}});
  const Safetensors file = read_safetensors(dir / "m.safetensors");
  BOOST_TEST_REQUIRE(file.tensors.size() == 4u);
  BOOST_TEST(file.tensors[0].first == "0.weight");
  BOOST_TEST(file.find("0.weight")->shape == Shape({3, 4}), tt::per_element());
  BOOST_TEST(file.find("0.bias")->shape == Shape({3}), tt::per_element());
  BOOST_TEST(file.find("2.bias")->shape == Shape({2}), tt::per_element());

  Generator other(99);
  nn::MLP fresh({4, 3, 2}, nn::ReLU(), {.gen = &other});
  load_safetensors_into(dir / "m.safetensors", fresh);
  const NamedTensors want = model.state_dict();
  const NamedTensors got = fresh.state_dict();
  for (std::size_t i = 0; i < want.size(); ++i) {
    BOOST_TEST(got[i].second.shape() == want[i].second.shape(), tt::per_element());
    BOOST_TEST(got[i].second.to_vector() == want[i].second.to_vector(), tt::per_element());
  }
  BOOST_TEST(got[1].second.shape() == Shape({3, 1}), tt::per_element());  // still a column
}

BOOST_AUTO_TEST_CASE(loading_converts_dtypes_and_maps_only_the_bias_vector) {
  TempDir dir;
  // A float64 file into float32 destinations; (n,) into (n, 1) and (n, 1) into (n,).
  save_safetensors(dir / "f.safetensors",
                   NamedTensors{{"w", tensor({0.1, 0.2}, {1, 2}, float64)},
                                {"col", tensor({1.0, 2.0}, {2}, float64)},
                                {"vec", tensor({3.0, 4.0}, {2, 1}, float64)}});
  Tensor w = zeros({1, 2}, float32), col = zeros({2, 1}, float32), vec = zeros({2}, float64);
  load_safetensors_into(dir / "f.safetensors", NamedTensors{{"w", w}, {"col", col}, {"vec", vec}});
  BOOST_TEST(w.to_vector()[0] == static_cast<double>(0.1f));
  BOOST_TEST(col.to_vector() == std::vector<double>({1.0, 2.0}), tt::per_element());
  BOOST_TEST(col.shape() == Shape({2, 1}), tt::per_element());
  BOOST_TEST(vec.to_vector() == std::vector<double>({3.0, 4.0}), tt::per_element());
  // No other reinterpretation: (1, 2) is not (2,) nor (2, 1).
  Tensor wrong = zeros({2}, float32);
  check_throws<ShapeError>(
      [&] {
        load_safetensors_into(dir / "f.safetensors", NamedTensors{{"w", wrong}}, false);
      },
      "load_safetensors_into: " + (dir / "f.safetensors").string() +
          ": tensor 'w' has shape [1, 2], the destination has [2]");
}

BOOST_AUTO_TEST_CASE(loading_is_all_or_nothing_and_strict_about_names) {
  TempDir dir;
  const fs::path path = dir / "f.safetensors";
  const std::string where = "load_safetensors_into: " + path.string() + ": ";
  save_safetensors(path, NamedTensors{{"a", tensor({1.0, 2.0}, {2})},
                                      {"b", tensor({3.0, 4.0, 5.0}, {3})},
                                      {"bn.num_batches_tracked", scalar(12.0, float64)}});
  Tensor a = zeros({2}), b = zeros({2});
  // b's shape is wrong: a, checked first, must stay as it was.
  check_throws<ShapeError>(
      [&] {
        load_safetensors_into(path, NamedTensors{{"a", a}, {"b", b}});
      },
      where + "tensor 'b' has shape [3], the destination has [2]");
  BOOST_TEST(a.to_vector() == std::vector<double>({0.0, 0.0}), tt::per_element());
  check_throws<ValueError>(
      [&] {
        load_safetensors_into(path, NamedTensors{{"a", a}, {"c", zeros({1})}});
      },
      where + "has no tensor named 'c'");
  BOOST_TEST(a.to_vector() == std::vector<double>({0.0, 0.0}), tt::per_element());
  // strict: b is in the file, not in the destination (num_batches_tracked is allowed)
  check_throws<ValueError>(
      [&] {
        load_safetensors_into(path, NamedTensors{{"a", a}});
      },
      where + "unexpected tensor 'b' (not in the destination)");
  BOOST_TEST(a.to_vector() == std::vector<double>({0.0, 0.0}), tt::per_element());
  load_safetensors_into(path, NamedTensors{{"a", a}}, /*strict=*/false);
  BOOST_TEST(a.to_vector() == std::vector<double>({1.0, 2.0}), tt::per_element());
  Tensor b3 = zeros({3});
  load_safetensors_into(path, NamedTensors{{"a", a}, {"b", b3}});  // the counter is skipped
  BOOST_TEST(b3.to_vector() == std::vector<double>({3.0, 4.0, 5.0}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(batch_norm_loads_torchs_buffers_and_skips_its_counter) {
  TempDir dir;
  nn::BatchNorm2d bn(3);
  const NamedTensors state = bn.state_dict();
  NamedTensors torch_like;
  for (const auto& [name, t] : state)
    torch_like.emplace_back(name, full(t.shape(), 0.5, t.dtype()));
  torch_like.emplace_back("num_batches_tracked", scalar(7.0, float64));
  Safetensors file;
  for (const auto& [name, t] : torch_like)
    file.tensors.emplace_back(
        name, safetensors_tensor(t, name == "num_batches_tracked" ? "I64" : "", name));
  save_safetensors(dir / "bn.safetensors", file);
  load_safetensors_into(dir / "bn.safetensors", bn);
  for (const auto& [name, t] : bn.state_dict())
    BOOST_TEST(t.to_vector() == std::vector<double>(static_cast<std::size_t>(t.numel()), 0.5),
               tt::per_element());
}

BOOST_AUTO_TEST_CASE(a_failed_save_leaves_the_old_file) {
  TempDir dir;
  const fs::path path = dir / "m.safetensors";
  save_safetensors(path, NamedTensors{{"a", tensor({1.0}, {1})}});
  const std::string before = read_bytes(path);
  check_throws<ValueError>(
      [&] {
        save_safetensors(path, NamedTensors{{"a", tensor({1.0}, {1})}, {"a", zeros({1})}});
      },
      "save_safetensors: the name 'a' is given twice");
  BOOST_TEST(read_bytes(path) == before);
}
