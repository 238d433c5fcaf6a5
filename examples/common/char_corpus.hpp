#pragma once
// The character language models' data (charlm, transformer), as ../shared/peers/
// torch_charlm.py builds it: the words of a list, shuffled with the seed, 90 % for
// training and 10 % held out, each side one text "word\nword\n...", its characters the
// vocabulary, each text cut into `batch` parallel streams. Or any text file (--text):
// its first 90 % of characters for training, the rest held out.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "cli.hpp"

namespace tapegrad::examples {

// The flags of the text and of the samples drawn at the end.
struct TextOptions {
  std::filesystem::path words{std::string(data::kDictionaryWords)};
  std::filesystem::path text;  // empty: the word list
  int samples = 5;
  double temperature = 1.0;
};

inline void add_text_options(CLI::App& app, TextOptions& text, int min_samples) {
  app.add_option("--words", text.words, "the word list, one a line")->capture_default_str();
  app.add_option("--text", text.text, "any UTF-8 text file instead of the word list");
  app.add_option("--samples", text.samples, "words sampled from each model at the end")
      ->check(whole_number<int>(min_samples, 1000))
      ->capture_default_str();
  app.add_option("--temperature", text.temperature, "sampling temperature")
      ->check(finite_number(1e-6))
      ->capture_default_str();
}

struct CharCorpus {
  data::CharVocab vocab;
  data::TextStreams train{std::vector<std::int64_t>(1, 0), 1};
  data::TextStreams held{std::vector<std::int64_t>(1, 0), 1};
  std::int64_t words = 0;        // 0 for a --text file
  std::int64_t train_chars = 0;  // characters of the training text
  std::string source;            // the file read
};

// The text of a file, whole; IoError naming the file when it cannot be read.
inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw IoError(fmt::format("read_text: cannot open {}", file.string()));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("read_text: cannot read {}", file.string()));
  return s.str();
}

// `words_file` split by words, or (when `text_file` is not empty) a text split by
// characters. Throws when a held-out or training stream would be shorter than a window.
inline CharCorpus char_corpus(const std::filesystem::path& words_file,
                              const std::filesystem::path& text_file, std::uint64_t seed,
                              std::int64_t batch, std::int64_t seq) {
  CharCorpus c;
  std::string train_text, held_text;
  if (text_file.empty()) {
    const data::WordSplit split = data::split_words(data::load_words(words_file), seed, 0.1);
    train_text = data::join_words(split.train);
    held_text = data::join_words(split.held_out);
    c.words = static_cast<std::int64_t>(split.train.size() + split.held_out.size());
    c.source = words_file.string();
  } else {
    const std::string text = read_text(text_file);
    const data::CharVocab all(text);  // checks the UTF-8 before the text is cut
    const std::vector<std::int64_t> ids = all.encode(text);
    const auto cut = static_cast<std::ptrdiff_t>(ids.size() * 9 / 10);
    train_text = all.decode({ids.begin(), ids.begin() + cut});
    held_text = all.decode({ids.begin() + cut, ids.end()});
    c.source = text_file.string();
  }
  c.vocab = data::CharVocab(train_text + held_text);
  const std::vector<std::int64_t> train_ids = c.vocab.encode(train_text);
  const std::vector<std::int64_t> held_ids = c.vocab.encode(held_text);
  c.train_chars = static_cast<std::int64_t>(train_ids.size());
  const auto need = static_cast<std::size_t>(batch * (seq + 1));
  if (train_ids.size() < need || held_ids.size() < static_cast<std::size_t>(batch * 2))
    throw ValueError(fmt::format(
        "char_corpus: {} gives {} training and {} held-out characters: too few for {} streams of "
        "windows of {} (needs at least {} and {})",
        c.source, train_ids.size(), held_ids.size(), batch, seq, need, batch * 2));
  if (!c.vocab.contains(U'\n'))  // the models' samples start and end at '\n'
    throw ValueError(
        fmt::format("char_corpus: {} has no line break ('\\n'), which the samples "
                    "start from and end at",
                    c.source));
  c.train = data::TextStreams(train_ids, batch);
  c.held = data::TextStreams(held_ids, batch);
  return c;
}

// Columns [begin, end) of every stream as a (batch, end - begin) float32 tensor of ids.
inline Tensor stream_columns(const data::TextStreams& s, std::int64_t begin, std::int64_t end) {
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(s.batch() * (end - begin)));
  for (std::int64_t b = 0; b < s.batch(); ++b)
    for (std::int64_t t = begin; t < end; ++t)
      v.push_back(static_cast<double>(s.ids()[static_cast<std::size_t>(b * s.length() + t)]));
  return tensor(v, {s.batch(), end - begin}, float32);
}

}  // namespace tapegrad::examples
