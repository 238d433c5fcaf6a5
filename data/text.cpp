#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <tapegrad/data/text.hpp>
#include <tapegrad/graph/error.hpp>
#include <utility>

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

// ---- UTF-8 ---------------------------------------------------------------------------

/// One decoded code point and the number of bytes it took.
struct Decoded {
  char32_t code_point = 0;
  std::size_t length = 0;
};

/// The code point starting at text[at], or nothing for bytes that are not UTF-8: a
/// stray continuation byte, a truncated sequence, an overlong form, a surrogate or a
/// value above U+10FFFF (RFC 3629).
std::optional<Decoded> decode_utf8(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return Decoded{lead, 1};
  std::size_t length = 0;
  char32_t c = 0;
  char32_t min = 0;  // the smallest code point of that length: anything below is overlong
  if ((lead & 0xE0) == 0xC0) {
    length = 2, c = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, c = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, c = lead & 0x07, min = 0x10000;
  } else {
    return std::nullopt;
  }
  if (at + length > text.size()) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return std::nullopt;
    c = (c << 6) | (byte(at + i) & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return std::nullopt;
  return Decoded{c, length};
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

std::string utf8(char32_t c) {
  std::string out;
  append_utf8(out, c);
  return out;
}

/// How a message shows a character: 'a' (U+0061); control characters by name only.
std::string describe(char32_t c) {
  if (c == '\n') return "'\\n' (U+000A)";
  if (c < 0x20 || c == 0x7F) return fmt::format("U+{:04X}", static_cast<std::uint32_t>(c));
  return fmt::format("'{}' (U+{:04X})", utf8(c), static_cast<std::uint32_t>(c));
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view strip(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

// ---- words ---------------------------------------------------------------------------

char32_t to_lower(char32_t c) {
  if (c >= U'A' && c <= U'Z') return c + 0x20;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 0x20;  // À-Þ, but × (U+00D7)
  if (c >= 0x100 && c <= 0x17F) {
    // Latin Extended-A pairs capital, small: even-odd from Ā to ķ and from Ŋ to ŷ,
    // odd-even from Ĺ to ň and from Ź to ž. İ, ı, ĸ, ŉ and ſ have no one-code-point pair.
    if ((c <= 0x12F || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && c % 2 == 0)
      return c + 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && c % 2 == 1) return c + 1;
    if (c == 0x178) return 0xFF;  // Ÿ -> ÿ
    return c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 0x20;  // Α-Ω (no capital final sigma)
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;                // Ѐ-Џ
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;                // А-Я
  return c;
}

std::vector<std::string> load_words(const fs::path& file, const LoadWordsOptions& options) {
  const std::string name = file.string();
  std::error_code ec;
  if (fs::is_directory(file, ec))
    throw IoError(fmt::format("load_words: {}: is a folder, not a file", name));
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw IoError(fmt::format("load_words: {}: cannot open: {}", name, std::strerror(errno)));
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw IoError(fmt::format("load_words: {}: read error", name));

  // torch_charlm.py: sorted({w.strip().lower() for w in f if w.strip() and "'" not in w}).
  std::vector<std::string> words;
  std::size_t line_start = 0;
  std::int64_t line_number = 1;
  while (line_start < bytes.size()) {
    std::size_t line_end = bytes.find('\n', line_start);
    if (line_end == std::string::npos) line_end = bytes.size();
    const std::string_view line(bytes.data() + line_start, line_end - line_start);
    // Every line is checked, also the ones left out: a file with bad bytes is a bad file.
    std::string word;
    for (std::size_t at = 0; at < line.size();) {
      const auto decoded = decode_utf8(line, at);
      if (!decoded)
        throw IoError(fmt::format("load_words: {}: invalid UTF-8 on line {} at byte {} (0x{:02x})",
                                  name, line_number, line_start + at,
                                  static_cast<unsigned char>(line[at])));
      at += decoded->length;
    }
    const std::string_view stripped = strip(line);
    const bool keep = !stripped.empty() &&
                      !(options.drop_apostrophes && stripped.find('\'') != std::string_view::npos);
    if (keep) {
      if (options.lower) {
        for (std::size_t at = 0; at < stripped.size();) {
          const Decoded d = *decode_utf8(stripped, at);
          append_utf8(word, to_lower(d.code_point));
          at += d.length;
        }
      } else {
        word = stripped;
      }
      words.push_back(std::move(word));
    }
    line_start = line_end + 1;
    ++line_number;
  }
  // std::string compares as unsigned bytes, and UTF-8's byte order is code point order.
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  if (words.empty())
    throw IoError(fmt::format("load_words: {}: no words (every line is empty{})", name,
                              options.drop_apostrophes ? " or has an apostrophe" : ""));
  return words;
}

WordSplit split_words(std::vector<std::string> words, std::uint64_t seed,
                      double held_out_fraction) {
  if (!(held_out_fraction >= 0.0 && held_out_fraction < 1.0))
    throw ValueError(
        fmt::format("split_words: held_out_fraction must be in [0, 1), got {}", held_out_fraction));
  // random.Random(seed).shuffle(words): the same Fisher-Yates walk from the end (swap
  // element i with one drawn from [0, i]), with tapegrad's generator instead of CPython's.
  Generator gen(seed);
  for (std::size_t i = words.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(gen.integer(0, static_cast<std::int64_t>(i)));
    std::swap(words[i - 1], words[j]);
  }
  // ceil(n f), the 1e-12 keeping an n f that is a whole number up to rounding (n * 0.1
  // for n = 30 is 3.0000000000000004) from taking one word more: 0.1 gives n - n * 9 // 10.
  const auto n = static_cast<double>(words.size());
  const auto held = std::min(
      words.size(), static_cast<std::size_t>(std::ceil(n * held_out_fraction * (1.0 - 1e-12))));
  const auto cut = static_cast<std::ptrdiff_t>(words.size() - held);
  WordSplit split;
  split.train.assign(std::make_move_iterator(words.begin()),
                     std::make_move_iterator(words.begin() + cut));
  split.held_out.assign(std::make_move_iterator(words.begin() + cut),
                        std::make_move_iterator(words.end()));
  return split;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string text;
  std::size_t bytes = 0;
  for (const std::string& w : words) bytes += w.size() + 1;
  text.reserve(bytes);
  for (const std::string& w : words) {
    text += w;
    text += '\n';
  }
  return text;
}

// ---- the vocabulary ------------------------------------------------------------------

CharVocab::CharVocab(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const auto d = decode_utf8(text, at);
    if (!d)
      throw ValueError(fmt::format("CharVocab: invalid UTF-8 at byte {} (0x{:02x})", at,
                                   static_cast<unsigned char>(text[at])));
    code_points_.push_back(d->code_point);
    at += d->length;
  }
  std::sort(code_points_.begin(), code_points_.end());
  code_points_.erase(std::unique(code_points_.begin(), code_points_.end()), code_points_.end());
  ascii_.assign(128, -1);
  characters_.reserve(code_points_.size());
  for (std::size_t i = 0; i < code_points_.size(); ++i) {
    characters_.push_back(utf8(code_points_[i]));
    if (code_points_[i] < 128) ascii_[code_points_[i]] = static_cast<std::int64_t>(i);
  }
}

bool CharVocab::contains(char32_t code_point) const {
  return std::binary_search(code_points_.begin(), code_points_.end(), code_point);
}

std::int64_t CharVocab::index(char32_t code_point) const {
  if (code_point < 128 && !ascii_.empty()) {
    const std::int64_t id = ascii_[code_point];
    if (id >= 0) return id;
  } else {
    const auto it = std::lower_bound(code_points_.begin(), code_points_.end(), code_point);
    if (it != code_points_.end() && *it == code_point) return it - code_points_.begin();
  }
  throw ValueError(
      fmt::format("CharVocab::index: {} is not in the vocabulary", describe(code_point)));
}

std::int64_t CharVocab::index(std::string_view character) const {
  const auto d = character.empty() ? std::nullopt : decode_utf8(character, 0);
  if (!d || d->length != character.size())
    throw ValueError(fmt::format(
        "CharVocab::index: expected one character (one UTF-8 code point), got {} bytes \"{}\"",
        character.size(), character));
  return index(d->code_point);
}

std::vector<std::int64_t> CharVocab::encode(std::string_view text) const {
  std::vector<std::int64_t> ids;
  ids.reserve(text.size());
  for (std::size_t at = 0; at < text.size();) {
    const auto d = decode_utf8(text, at);
    if (!d)
      throw ValueError(fmt::format("CharVocab::encode: invalid UTF-8 at byte {} (0x{:02x})", at,
                                   static_cast<unsigned char>(text[at])));
    std::int64_t id = -1;
    if (d->code_point < 128 && !ascii_.empty()) {
      id = ascii_[d->code_point];
    } else {
      const auto it = std::lower_bound(code_points_.begin(), code_points_.end(), d->code_point);
      if (it != code_points_.end() && *it == d->code_point) id = it - code_points_.begin();
    }
    if (id < 0)
      throw ValueError(fmt::format(
          "CharVocab::encode: {} at character {} (byte {}) is not in the vocabulary of {} "
          "characters",
          describe(d->code_point), ids.size(), at, size()));
    ids.push_back(id);
    at += d->length;
  }
  return ids;
}

std::string CharVocab::decode(const std::vector<std::int64_t>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < 0 || ids[k] >= size())
      throw IndexError(fmt::format("CharVocab::decode: id {} at position {} is outside [0, {})",
                                   ids[k], k, size()));
    text += characters_[static_cast<std::size_t>(ids[k])];
  }
  return text;
}

const std::string& CharVocab::character(std::int64_t i) const {
  if (i < 0 || i >= size())
    throw IndexError(fmt::format("CharVocab::character: id {} is outside [0, {})", i, size()));
  return characters_[static_cast<std::size_t>(i)];
}

// ---- streams and windows -------------------------------------------------------------

TextStreams::TextStreams(const std::vector<std::int64_t>& ids, std::int64_t batch) : batch_(batch) {
  if (batch < 1) throw ValueError(fmt::format("text_streams: batch must be >= 1, got {}", batch));
  const auto n = static_cast<std::int64_t>(ids.size());
  if (n < batch)
    throw ValueError(
        fmt::format("text_streams: {} ids cannot make {} streams (each would be empty)", n, batch));
  // torch_charlm: ids[: per * batch].view(batch, per): stream b is ids [b per, (b + 1) per).
  length_ = n / batch;
  ids_.assign(ids.begin(), ids.begin() + length_ * batch);
}

TextStreams text_streams(const std::vector<std::int64_t>& ids, std::int64_t batch) {
  return TextStreams(ids, batch);
}

std::int64_t TextStreams::at(std::int64_t b, std::int64_t t) const {
  if (b < 0 || b >= batch_ || t < 0 || t >= length_)
    throw IndexError(fmt::format("TextStreams::at: ({}, {}) is outside the streams ({}, {})", b, t,
                                 batch_, length_));
  return ids_[static_cast<std::size_t>(b * length_ + t)];
}

std::int64_t TextStreams::num_windows(std::int64_t seq) const {
  if (seq < 1)
    throw ValueError(fmt::format("TextStreams::num_windows: seq must be >= 1, got {}", seq));
  return (length_ - 1) / seq;  // k seq + seq + 1 <= length
}

TextWindow TextStreams::window(std::int64_t k, std::int64_t seq) const {
  if (seq < 1) throw ValueError(fmt::format("TextStreams::window: seq must be >= 1, got {}", seq));
  const std::int64_t count = num_windows(seq);
  if (k < 0 || k >= count)
    throw IndexError(fmt::format(
        "TextStreams::window: window {} is outside [0, {}): streams of {} ids give {} windows "
        "of {} inputs and their targets",
        k, count, length_, count, seq));
  std::vector<double> x(static_cast<std::size_t>(batch_ * seq));
  std::vector<double> y(x.size());
  for (std::int64_t b = 0; b < batch_; ++b) {
    const std::int64_t* stream = ids_.data() + b * length_ + k * seq;
    for (std::int64_t t = 0; t < seq; ++t) {
      x[static_cast<std::size_t>(b * seq + t)] = static_cast<double>(stream[t]);
      y[static_cast<std::size_t>(b * seq + t)] = static_cast<double>(stream[t + 1]);
    }
  }
  return {tensor(x, {batch_, seq}, float64), tensor(y, {batch_, seq}, float64)};
}

// ---- sampling ------------------------------------------------------------------------

std::int64_t sample_index(const Tensor& probs, Generator& gen, double temperature) {
  if (!probs.defined()) throw ValueError("sample_index: probs is an undefined tensor");
  const Shape& shape = probs.shape();
  const bool column = shape.size() == 2 && shape[1] == 1;
  if (!(shape.size() == 1 || column) || shape[0] < 1)
    throw ShapeError(fmt::format("sample_index: probs must be (V) or (V, 1) with V >= 1, got {}",
                                 shape_str(shape)));
  if (!(std::isfinite(temperature) && temperature > 0.0))
    throw ValueError(
        fmt::format("sample_index: temperature must be a finite number > 0, got {}", temperature));
  std::vector<double> q = probs.to_vector();
  double sum = 0.0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (!(std::isfinite(q[i]) && q[i] >= 0.0))
      throw ValueError(fmt::format(
          "sample_index: probabilities must be finite and >= 0, got {} at index {}", q[i], i));
    sum += q[i];
  }
  if (!(sum > 0.0)) throw ValueError("sample_index: the probabilities sum to 0");
  if (temperature != 1.0) {
    // softmax(log p / T), shifted by the largest log p / T so that exp cannot overflow
    // (p^(1/T) for T = 0.01 would); log 0 = -inf gives exp(-inf) = 0: never drawn.
    double top = -INFINITY;
    for (double& v : q) {
      v = std::log(v) / temperature;
      top = std::max(top, v);
    }
    sum = 0.0;
    for (double& v : q) {
      v = std::exp(v - top);
      sum += v;
    }
  }
  // Inverse CDF: the first i whose cumulative mass exceeds u sum.
  const double u = gen.uniform() * sum;
  double cumulative = 0.0;
  std::size_t last = 0;  // the last index of mass > 0: where rounding may leave u
  for (std::size_t i = 0; i < q.size(); ++i) {
    if (q[i] <= 0.0) continue;
    cumulative += q[i];
    last = i;
    if (u < cumulative) return static_cast<std::int64_t>(i);
  }
  return static_cast<std::int64_t>(last);
}

}  // namespace tapegrad::data
