// Text for the character-level models (data/text.hpp): word lists, their split, the
// character vocabulary, streams and windows for truncated BPTT, and sampling an id.
#define BOOST_TEST_MODULE text
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
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
using data::CharVocab;
using test::TempDir;
using Ids = std::vector<std::int64_t>;
using Words = std::vector<std::string>;

namespace {

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

/// A predicate for BOOST_CHECK_EXCEPTION: the message starts with `prefix`.
template <class E>
std::function<bool(const E&)> starts_with(std::string prefix) {
  return [prefix = std::move(prefix)](const E& e) {
    const bool starts = std::string(e.what()).rfind(prefix, 0) == 0;
    if (!starts) BOOST_TEST_MESSAGE("does not start with '" << prefix << "': " << e.what());
    return starts;
  };
}

/// n distinct words "w0", "w1", ...
Words numbered_words(int n) {
  Words words;
  for (int i = 0; i < n; ++i) words.push_back(fmt::format("w{}", i));
  return words;
}

}  // namespace

// ---- load_words -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(load_words_strips_lowers_drops_apostrophes_dedupes_and_sorts) {
  TempDir dir;
  const auto file = dir / "words.txt";
  // Both line ends, blank lines, a last line without '\n', accented capitals (Å, É, Ö).
  write_text(file,
             "Zebra\n  apple \r\nApple\naaron's\n\n   \n\xc3\x89mile\n\xc3\xa9\x63lair\n"
             "\xc3\x85ngstr\xc3\xb6m\n\tbob\t\nO'Neil\nZEBRA\n\xc3\x85NGSTR\xc3\x96M");
  const Words words = data::load_words(file);
  // By code point: ASCII first, then å (U+00E5) before é (U+00E9).
  const Words want = {"apple",       "bob", "zebra", "\xc3\xa5ngstr\xc3\xb6m", "\xc3\xa9\x63lair",
                      "\xc3\xa9mile"};
  BOOST_TEST(words == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_words_options_keep_case_and_apostrophes) {
  TempDir dir;
  const auto file = dir / "words.txt";
  write_text(file, "Bob\nbob\nbob's\n");
  BOOST_TEST(data::load_words(file, {.lower = false}) == (Words{"Bob", "bob"}),
             boost::test_tools::per_element());
  BOOST_TEST(data::load_words(file, {.drop_apostrophes = false}) == (Words{"bob", "bob's"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_words_reads_the_dictionary_as_torch_charlm_does) {
  if (!fs::exists(data::kDictionaryWords)) return;  // wamerican not installed
  const Words words = data::load_words(data::kDictionaryWords);
  // python3: len(sorted({w.strip().lower() for w in f if w.strip() and "'" not in w}))
  BOOST_TEST(words.size() > 50000u);
  int apostrophes = 0, capitals = 0;
  for (const std::string& w : words) {
    apostrophes += w.find('\'') != std::string::npos;
    capitals += std::any_of(w.begin(), w.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  }
  BOOST_TEST(apostrophes == 0);
  BOOST_TEST(capitals == 0);
  // Sorted with no repeats: strictly increasing.
  BOOST_TEST(
      (std::adjacent_find(words.begin(), words.end(), std::greater_equal<>()) == words.end()));
}

BOOST_AUTO_TEST_CASE(load_words_rejects_a_missing_file) {
  TempDir dir;
  const auto file = dir / "missing.txt";
  BOOST_CHECK_EXCEPTION(
      data::load_words(file), IoError,
      starts_with<IoError>("load_words: " + file.string() + ": cannot open: No such file"));
  BOOST_CHECK_EXCEPTION(data::load_words(dir.path), IoError,
                        starts_with<IoError>("load_words: " + dir.path.string() + ": is a folder"));
}

BOOST_AUTO_TEST_CASE(load_words_rejects_a_list_without_words) {
  TempDir dir;
  for (const std::string text : {"", "\n\n  \n", "bob's\n'\n"}) {
    const auto file = dir / "empty.txt";
    write_text(file, text);
    BOOST_CHECK_EXCEPTION(data::load_words(file), IoError,
                          starts_with<IoError>("load_words: " + file.string() + ": no words"));
  }
}

BOOST_AUTO_TEST_CASE(load_words_rejects_invalid_utf8_naming_line_and_byte) {
  TempDir dir;
  const auto file = dir / "bad.txt";
  const std::string prefix = "load_words: " + file.string() + ": invalid UTF-8 on line ";
  // A byte that never starts UTF-8, on line 2 at byte 8 of the file (bytes count from 0).
  write_text(file, "okay\nbad\xff\n");
  BOOST_CHECK_EXCEPTION(data::load_words(file), IoError,
                        starts_with<IoError>(prefix + "2 at byte 8 (0xff)"));
  // A sequence cut short by the end of the line, an overlong '/', a surrogate, > U+10FFFF.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ab\xc3\nx\n", "1 at byte 2 (0xc3"},
      {"a\n\n\xc0\xaf\n", "3 at byte 3 (0xc0"},
      {"\xed\xa0\x80\n", "1 at byte 0 (0xed"},
      {"x\xf4\x90\x80\x80\n", "1 at byte 1 (0xf4"},
      // Also a line that would be left out (an apostrophe): a bad file is a bad file.
      {"ok\nit's\xe9\n", "2 at byte 7 (0xe9"}};
  for (const auto& [text, where] : cases) {
    write_text(file, text);
    BOOST_CHECK_EXCEPTION(data::load_words(file), IoError, starts_with<IoError>(prefix + where));
  }
}

BOOST_AUTO_TEST_CASE(to_lower_maps_the_capitals_of_latin_greek_and_cyrillic) {
  const std::vector<std::pair<char32_t, char32_t>> pairs = {{U'A', U'a'},
                                                            {U'Z', U'z'},
                                                            {U'a', U'a'},
                                                            {U'1', U'1'},
                                                            {U'\u00C5', U'\u00E5'} /* Å */,
                                                            {U'\u00C9', U'\u00E9'} /* É */,
                                                            {U'\u00D6', U'\u00F6'} /* Ö */,
                                                            {U'\u00D7', U'\u00D7'} /* × stays */,
                                                            {U'\u00DF', U'\u00DF'} /* ß */,
                                                            {U'\u0100', U'\u0101'} /* Ā */,
                                                            {U'\u0101', U'\u0101'},
                                                            {U'\u0139', U'\u013A'} /* Ĺ */,
                                                            {U'\u0141', U'\u0142'} /* Ł */,
                                                            {U'\u0160', U'\u0161'} /* Š */,
                                                            {U'\u0178', U'\u00FF'} /* Ÿ */,
                                                            {U'\u017D', U'\u017E'} /* Ž */,
                                                            {U'\u0130', U'\u0130'} /* İ */,
                                                            {U'\u0391', U'\u03B1'} /* Α */,
                                                            {U'\u03A3', U'\u03C3'} /* Σ */,
                                                            {U'\u0416', U'\u0436'} /* Ж */,
                                                            {U'\u0401', U'\u0451'} /* Ё */,
                                                            {U'\u4E2D', U'\u4E2D'}};
  for (const auto& [upper, lower] : pairs)
    BOOST_TEST(static_cast<std::uint32_t>(data::to_lower(upper)) ==
               static_cast<std::uint32_t>(lower));
}

// ---- split_words, join_words -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(split_words_holds_out_ceil_of_the_fraction_as_torch_charlm) {
  // torch_charlm: cut = len * 9 // 10.
  for (const int n : {1, 9, 10, 11, 30, 73604}) {
    const auto split = data::split_words(numbered_words(n), 0, 0.1);
    BOOST_TEST(split.train.size() == static_cast<std::size_t>(n * 9 / 10), "n = " << n);
    BOOST_TEST(split.held_out.size() == static_cast<std::size_t>(n - n * 9 / 10), "n = " << n);
  }
  const auto all = data::split_words(numbered_words(7), 3, 0.0);
  BOOST_TEST(all.train.size() == 7u);
  BOOST_TEST(all.held_out.empty());
  BOOST_TEST(data::split_words(numbered_words(10), 3, 0.25).held_out.size() == 3u);
}

BOOST_AUTO_TEST_CASE(split_words_is_a_shuffle_determined_by_the_seed) {
  const Words words = numbered_words(200);
  const auto a = data::split_words(words, 7, 0.1);
  const auto b = data::split_words(words, 7, 0.1);
  const auto c = data::split_words(words, 8, 0.1);
  BOOST_TEST(a.train == b.train, boost::test_tools::per_element());
  BOOST_TEST(a.held_out == b.held_out, boost::test_tools::per_element());
  BOOST_TEST((a.train != c.train));
  // The two parts are the words, each once: a permutation, not a draw with repeats.
  std::multiset<std::string> together(a.train.begin(), a.train.end());
  together.insert(a.held_out.begin(), a.held_out.end());
  BOOST_TEST((together == std::multiset<std::string>(words.begin(), words.end())));
  // Shuffled: the order is not the sorted input's.
  BOOST_TEST(
      (Words(a.train.begin(), a.train.begin() + 20) != Words(words.begin(), words.begin() + 20)));
}

BOOST_AUTO_TEST_CASE(split_words_rejects_a_fraction_outside_0_1) {
  for (const double f : {-0.1, 1.0, 1.5, std::nan("")})
    BOOST_CHECK_EXCEPTION(
        data::split_words({"a", "b"}, 0, f), ValueError,
        starts_with<ValueError>("split_words: held_out_fraction must be in [0, 1)"));
}

BOOST_AUTO_TEST_CASE(join_words_ends_every_word_with_a_newline) {
  BOOST_TEST(data::join_words({"ab", "c\xc3\xa9"}) == "ab\nc\xc3\xa9\n");
  BOOST_TEST(data::join_words({}).empty());
}

// ---- CharVocab ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(char_vocab_is_the_sorted_distinct_code_points) {
  const CharVocab vocab("hello\nw\xc3\xb6rld\n");  // "wörld"
  const Words want = {"\n", "d", "e", "h", "l", "o", "r", "w", "\xc3\xb6"};
  BOOST_TEST(vocab.size() == 9);
  BOOST_TEST(vocab.characters() == want, boost::test_tools::per_element());
  BOOST_TEST(vocab.index("\n") == 0);
  BOOST_TEST(vocab.index("l") == 4);
  BOOST_TEST(vocab.index("\xc3\xb6") == 8);
  BOOST_TEST(vocab.index(U'\u00F6') == 8);
  BOOST_TEST(vocab.character(8) == "\xc3\xb6");
  BOOST_TEST(vocab.contains(U'w'));
  BOOST_TEST(!vocab.contains(U'x'));
  BOOST_TEST(CharVocab().size() == 0);
}

BOOST_AUTO_TEST_CASE(char_vocab_encode_decode_round_trip_with_multibyte_characters) {
  const std::string text = "caf\xc3\xa9\n\xc3\xa5ngstr\xc3\xb6m\n\xe4\xb8\xad\xf0\x9f\x98\x80\n";
  const CharVocab vocab(text);
  // \n a c f g m n r s t å(E5) é(E9) ö(F6) 中(4E2D) 😀(1F600): sorted by code point.
  BOOST_TEST(vocab.size() == 15);
  const Ids ids = vocab.encode("caf\xc3\xa9\n\xf0\x9f\x98\x80");
  const Ids want = {2, 1, 3, 11, 0, 14};
  BOOST_TEST(ids == want, boost::test_tools::per_element());
  BOOST_TEST(vocab.decode(ids) == "caf\xc3\xa9\n\xf0\x9f\x98\x80");
  BOOST_TEST(vocab.decode(vocab.encode(text)) == text);
  BOOST_TEST(vocab.encode("").empty());
}

BOOST_AUTO_TEST_CASE(char_vocab_names_an_unknown_character_and_its_position) {
  const CharVocab vocab("ab\n\xc3\xa9");
  BOOST_CHECK_EXCEPTION(
      vocab.encode("ab\nz"), ValueError,
      starts_with<ValueError>("CharVocab::encode: 'z' (U+007A) at character 3 (byte 3) is not in"));
  // Positions count characters, not bytes: after two é, 'q' is character 2 at byte 4.
  BOOST_CHECK_EXCEPTION(
      vocab.encode("\xc3\xa9\xc3\xa9q"), ValueError,
      starts_with<ValueError>("CharVocab::encode: 'q' (U+0071) at character 2 (byte 4)"));
  BOOST_CHECK_EXCEPTION(
      vocab.encode("a\xc3\xb6"), ValueError,
      starts_with<ValueError>("CharVocab::encode: '\xc3\xb6' (U+00F6) at character 1 (byte 1)"));
  BOOST_CHECK_EXCEPTION(vocab.encode("a\tb"), ValueError,
                        starts_with<ValueError>("CharVocab::encode: U+0009 at character 1"));
  BOOST_CHECK_EXCEPTION(
      vocab.encode("a\xc3"), ValueError,
      starts_with<ValueError>("CharVocab::encode: invalid UTF-8 at byte 1 (0xc3)"));
  BOOST_CHECK_EXCEPTION(
      vocab.index("z"), ValueError,
      starts_with<ValueError>("CharVocab::index: 'z' (U+007A) is not in the vocabulary"));
  BOOST_CHECK_EXCEPTION(vocab.index(U'\u00F6'), ValueError,
                        starts_with<ValueError>("CharVocab::index: '\xc3\xb6' (U+00F6) is not in"));
  BOOST_CHECK_EXCEPTION(vocab.index("ab"), ValueError,
                        starts_with<ValueError>("CharVocab::index: expected one character"));
  BOOST_CHECK_EXCEPTION(vocab.index(""), ValueError,
                        starts_with<ValueError>("CharVocab::index: expected one character"));
  BOOST_CHECK_EXCEPTION(
      vocab.decode({0, 4, 1}), IndexError,
      starts_with<IndexError>("CharVocab::decode: id 4 at position 1 is outside [0, 4)"));
  BOOST_CHECK_EXCEPTION(vocab.decode({-1}), IndexError,
                        starts_with<IndexError>("CharVocab::decode: id -1 at position 0"));
  BOOST_CHECK_EXCEPTION(vocab.character(4), IndexError,
                        starts_with<IndexError>("CharVocab::character: id 4 is outside [0, 4)"));
  BOOST_CHECK_EXCEPTION(CharVocab("ok\xff"), ValueError,
                        starts_with<ValueError>("CharVocab: invalid UTF-8 at byte 2 (0xff)"));
}

// ---- streams and windows ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(text_streams_cut_the_ids_into_batch_rows) {
  Ids ids(23);
  for (std::int64_t i = 0; i < 23; ++i) ids[i] = 100 + i;
  const auto streams = data::text_streams(ids, 3);  // per = 23 // 3 = 7; 2 ids dropped
  BOOST_TEST(streams.batch() == 3);
  BOOST_TEST(streams.length() == 7);
  const Ids want(ids.begin(), ids.begin() + 21);
  BOOST_TEST(streams.ids() == want, boost::test_tools::per_element());
  BOOST_TEST(streams.at(0, 0) == 100);
  BOOST_TEST(streams.at(1, 0) == 107);  // stream 1 starts at id 1 * per
  BOOST_TEST(streams.at(2, 6) == 120);
  BOOST_CHECK_THROW(streams.at(3, 0), IndexError);
  BOOST_CHECK_THROW(streams.at(0, 7), IndexError);
  const auto one = data::text_streams(ids, 1);
  BOOST_TEST(one.length() == 23);
}

BOOST_AUTO_TEST_CASE(text_windows_give_inputs_and_targets_shifted_by_one) {
  Ids ids(23);
  for (std::int64_t i = 0; i < 23; ++i) ids[i] = i;
  const auto streams = data::text_streams(ids, 3);  // rows 0..6, 7..13, 14..20
  BOOST_TEST(streams.num_windows(3) == 2);          // k 3 + 3 + 1 <= 7
  BOOST_TEST(streams.num_windows(6) == 1);
  BOOST_TEST(streams.num_windows(7) == 0);  // the targets would run past the stream
  const auto [x0, y0] = streams.window(0, 3);
  BOOST_TEST((x0.shape() == Shape{3, 3}));
  BOOST_TEST((x0.dtype() == float64));
  BOOST_TEST(x0.to_vector() == (std::vector<double>{0, 1, 2, 7, 8, 9, 14, 15, 16}),
             boost::test_tools::per_element());
  BOOST_TEST(y0.to_vector() == (std::vector<double>{1, 2, 3, 8, 9, 10, 15, 16, 17}),
             boost::test_tools::per_element());
  const auto [x1, y1] = streams.window(1, 3);
  BOOST_TEST(x1.to_vector() == (std::vector<double>{3, 4, 5, 10, 11, 12, 17, 18, 19}),
             boost::test_tools::per_element());
  BOOST_TEST(y1.to_vector() == (std::vector<double>{4, 5, 6, 11, 12, 13, 18, 19, 20}),
             boost::test_tools::per_element());
  BOOST_CHECK_EXCEPTION(streams.window(2, 3), IndexError,
                        starts_with<IndexError>("TextStreams::window: window 2 is outside [0, 2)"));
  BOOST_CHECK_THROW(streams.window(-1, 3), IndexError);
  BOOST_CHECK_EXCEPTION(streams.window(0, 0), ValueError,
                        starts_with<ValueError>("TextStreams::window: seq must be >= 1, got 0"));
  BOOST_CHECK_EXCEPTION(
      streams.num_windows(0), ValueError,
      starts_with<ValueError>("TextStreams::num_windows: seq must be >= 1, got 0"));
}

BOOST_AUTO_TEST_CASE(text_streams_reject_batch_below_1_and_too_few_ids) {
  BOOST_CHECK_EXCEPTION(data::text_streams({1, 2, 3}, 0), ValueError,
                        starts_with<ValueError>("text_streams: batch must be >= 1, got 0"));
  BOOST_CHECK_EXCEPTION(data::text_streams({1, 2, 3}, -2), ValueError,
                        starts_with<ValueError>("text_streams: batch must be >= 1, got -2"));
  BOOST_CHECK_EXCEPTION(data::text_streams({1, 2}, 3), ValueError,
                        starts_with<ValueError>("text_streams: 2 ids cannot make 3 streams"));
  BOOST_CHECK_EXCEPTION(data::text_streams({}, 1), ValueError,
                        starts_with<ValueError>("text_streams: 0 ids cannot make 1 streams"));
}

// ---- sample_index ------------------------------------------------------------------------

namespace {

/// Counts of `draws` draws from probs at `temperature`.
std::vector<int> histogram(const Tensor& probs, double temperature, int draws, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<int> counts(static_cast<std::size_t>(probs.size(0)), 0);
  for (int i = 0; i < draws; ++i) ++counts.at(data::sample_index(probs, gen, temperature));
  return counts;
}

/// Every count within 3 sigma of its binomial mean n q_i.
void check_counts(const std::vector<int>& counts, const std::vector<double>& q, int n) {
  BOOST_TEST_REQUIRE(counts.size() == q.size());
  for (std::size_t i = 0; i < q.size(); ++i) {
    const double mean = n * q[i];
    const double sigma = std::sqrt(n * q[i] * (1 - q[i]));
    BOOST_TEST(
        std::abs(counts[i] - mean) <= 3 * sigma + 1e-9,
        "index " << i << ": " << counts[i] << " draws, expected " << mean << " +- " << 3 * sigma);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(sample_index_draws_each_index_with_its_probability) {
  const int n = 20000;
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4, 0.0};
  const auto counts = histogram(tensor(p, {5}, float64), 1.0, n, 1);
  check_counts(counts, p, n);
  BOOST_TEST(counts[4] == 0);  // probability 0: never drawn
  // A column (V, 1) in float32 that does not sum to 1 (it is normalized) draws alike.
  check_counts(histogram(tensor({0.2, 0.4, 0.6, 0.8, 0.0}, {5, 1}, float32), 1.0, n, 2), p, n);
  // A one-hot distribution always gives its index.
  Generator gen(3);
  for (int i = 0; i < 100; ++i)
    BOOST_TEST(data::sample_index(tensor({0, 0, 1}, {3}, float64), gen) == 2);
}

BOOST_AUTO_TEST_CASE(sample_index_temperature_sharpens_below_1_and_flattens_above) {
  const int n = 20000;
  const Tensor probs = tensor({0.1, 0.2, 0.3, 0.4}, {4}, float64);
  // softmax(log p / T) = p^(1/T) / sum: T = 0.5 squares p, T = 2 takes its square root.
  const auto sharp = histogram(probs, 0.5, n, 4);
  check_counts(sharp, {0.01 / 0.3, 0.04 / 0.3, 0.09 / 0.3, 0.16 / 0.3}, n);
  double root_sum = 0;
  for (double v : {0.1, 0.2, 0.3, 0.4}) root_sum += std::sqrt(v);
  const auto flat = histogram(probs, 2.0, n, 5);
  check_counts(flat,
               {std::sqrt(0.1) / root_sum, std::sqrt(0.2) / root_sum, std::sqrt(0.3) / root_sum,
                std::sqrt(0.4) / root_sum},
               n);
  const auto plain = histogram(probs, 1.0, n, 6);
  BOOST_TEST(sharp[3] > plain[3]);  // the likeliest index, more often
  BOOST_TEST(sharp[0] < plain[0]);
  BOOST_TEST(flat[3] < plain[3]);
  // A tiny temperature is the argmax (and does not overflow p^(1/T)).
  Generator gen(7);
  for (int i = 0; i < 50; ++i) BOOST_TEST(data::sample_index(probs, gen, 0.001) == 3);
}

BOOST_AUTO_TEST_CASE(sample_index_is_determined_by_the_generator_seed) {
  const Tensor probs = tensor({0.25, 0.25, 0.25, 0.25}, {4}, float64);
  const auto draws = [&](std::uint64_t seed) {
    Generator gen(seed);
    Ids out;
    for (int i = 0; i < 100; ++i) out.push_back(data::sample_index(probs, gen));
    return out;
  };
  BOOST_TEST(draws(11) == draws(11), boost::test_tools::per_element());
  BOOST_TEST((draws(11) != draws(12)));
  // One uniform per draw: scaling p does not change which index a given seed gives.
  Generator a(13), b(13);
  const Tensor scaled = tensor({2.5, 2.5, 2.5, 2.5}, {4}, float64);
  for (int i = 0; i < 100; ++i)
    BOOST_TEST(data::sample_index(probs, a) == data::sample_index(scaled, b));
}

BOOST_AUTO_TEST_CASE(sample_index_rejects_bad_probabilities_shapes_and_temperatures) {
  Generator gen(0);
  const auto bad_value = [&](std::vector<double> v, const std::string& prefix) {
    const auto size = static_cast<std::int64_t>(v.size());
    BOOST_CHECK_EXCEPTION(data::sample_index(tensor(v, {size}, float64), gen), ValueError,
                          starts_with<ValueError>(prefix));
  };
  bad_value({0.5, std::nan("")},
            "sample_index: probabilities must be finite and >= 0, got nan at index 1");
  bad_value({INFINITY, 0.5},
            "sample_index: probabilities must be finite and >= 0, got inf at index 0");
  bad_value({0.5, -0.1, 0.6},
            "sample_index: probabilities must be finite and >= 0, got -0.1 at index 1");
  bad_value({0.0, 0.0}, "sample_index: the probabilities sum to 0");
  const Tensor p = tensor({0.5, 0.5}, {2}, float64);
  for (const double t : {0.0, -1.0, std::nan(""), HUGE_VAL})
    BOOST_CHECK_EXCEPTION(
        data::sample_index(p, gen, t), ValueError,
        starts_with<ValueError>("sample_index: temperature must be a finite number > 0"));
  for (const Shape& shape : {Shape{2, 2}, Shape{1, 4}, Shape{}, Shape{4, 1, 1}, Shape{0}})
    BOOST_CHECK_EXCEPTION(data::sample_index(zeros(shape, float64), gen), ShapeError,
                          starts_with<ShapeError>("sample_index: probs must be (V) or (V, 1)"));
  BOOST_CHECK_EXCEPTION(data::sample_index(Tensor(), gen), ValueError,
                        starts_with<ValueError>("sample_index: probs is an undefined tensor"));
}
