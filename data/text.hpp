#pragma once
/// \file
/// Text for character-level language models: a word list as the course's names
/// (dinos.txt) or Debian's /usr/share/dict/words, its characters as ids, the id stream
/// cut into parallel streams and windows for truncated backprop through time, and a
/// draw from a model's output distribution.
///
///   auto words = data::load_words(data::kDictionaryWords);
///   auto split = data::split_words(words, 0, 0.1);          // shuffled, 90 % / 10 %
///   const std::string text = data::join_words(split.train);  // "word\nword\n..."
///   data::CharVocab vocab(text);
///   data::TextStreams streams(vocab.encode(text), 32);
///   auto [x, y] = streams.window(0, 64);                    // (32, 64) each
///
/// A character is one Unicode code point, held as its UTF-8 bytes in a std::string:
/// "é" is one character of two bytes. Text is UTF-8; invalid bytes are an error that
/// names where they are.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::data {

/// Where Debian's wamerican package installs its word list (one word a line, UTF-8).
inline constexpr std::string_view kDictionaryWords = "/usr/share/dict/words";

/// What load_words does to each line besides stripping it.
struct LoadWordsOptions {
  /// Lower-case each word (see to_lower for which letters).
  bool lower = true;
  /// Leave out every line with an ASCII apostrophe ("aaron's").
  bool drop_apostrophes = true;
};

/// The words of a file, one a line, as torch_charlm.py reads them: each line stripped of
/// ASCII white space (' ', '\\t', '\\r', '\\v', '\\f'), lines empty after that and lines
/// with an apostrophe left out, lower-cased, de-duplicated, sorted by code point (which is
/// the order of their UTF-8 bytes, and Python's order of str). Throws IoError naming
/// load_words and the file for a file that cannot be read, a file without any word left,
/// and invalid UTF-8 (with the line number and the byte offset in the file). Python's
/// strip() also removes non-ASCII white space (U+00A0, ...); here that stays in the word.
TAPEGRAD_API std::vector<std::string> load_words(const std::filesystem::path& file,
                                                 const LoadWordsOptions& options = {});

/// The lower case of one code point: ASCII A-Z, and the capitals of Latin-1 (À-Þ but ×),
/// Latin Extended-A (Ā-Ž, Ÿ -> ÿ), basic Greek (Α-Ω) and Cyrillic (Ѐ-Я); every other
/// code point as it is. That covers every letter of Debian's word lists (Å, É, Ö, ...).
/// Python's str.lower() knows all of Unicode and also maps one code point to several
/// (İ -> i + U+0307, kept as İ here), so for text beyond these blocks the two may differ.
TAPEGRAD_API char32_t to_lower(char32_t c);

/// The words kept for training and those held out, as split_words makes them.
struct WordSplit {
  std::vector<std::string> train;     ///< the first words after the shuffle
  std::vector<std::string> held_out;  ///< the last ceil(n * held_out_fraction)
};

/// torch_charlm.py's split, in its order: the words (as load_words returns them) are
/// shuffled with `seed`, then the last ceil(n * held_out_fraction) are held out, the rest
/// kept for training (0.1 gives its cut at len * 9 // 10). The shuffle is a Fisher-Yates
/// shuffle driven by tapegrad's Generator (randperm): the same seed gives the same split
/// on every run, but not Python's: random.Random(seed).shuffle cannot be reproduced bit
/// for bit outside CPython, so the two programs train on different 90 %. `fraction` 0
/// keeps every word for training. Throws ValueError for a fraction outside [0, 1).
TAPEGRAD_API WordSplit split_words(std::vector<std::string> words, std::uint64_t seed,
                                   double held_out_fraction = 0.1);

/// The words as one text: each followed by '\\n' ("\\n".join(words) + "\\n"), the
/// course's dinos.txt layout. '\\n' ends every word, so it is the model's "end" character.
TAPEGRAD_API std::string join_words(const std::vector<std::string>& words);

/// The characters of a text and their ids: every distinct code point of the text
/// ('\\n' and other control characters included), sorted by code point, id i for the
/// i-th. As the course's char_to_ix / ix_to_char and torch_charlm's `chars`.
class TAPEGRAD_API CharVocab {
 public:
  /// An empty vocabulary (size 0).
  CharVocab() = default;
  /// The distinct characters of `text` (UTF-8); throws ValueError naming CharVocab and
  /// the byte offset for invalid UTF-8.
  explicit CharVocab(std::string_view text);

  /// Number of characters: the model's n_x and n_y.
  std::int64_t size() const { return static_cast<std::int64_t>(characters_.size()); }
  /// The ids of the characters of `text`, in order. Throws ValueError naming the
  /// character, its position (in characters from 0) and byte offset for one not in the
  /// vocabulary, and for invalid UTF-8.
  std::vector<std::int64_t> encode(std::string_view text) const;
  /// The text of `ids`; throws IndexError naming the id and its position for one
  /// outside [0, size()).
  std::string decode(const std::vector<std::int64_t>& ids) const;
  /// The id of one character (its UTF-8 bytes, e.g. "\\n" or "é"); throws ValueError if
  /// `character` is not exactly one code point or is not in the vocabulary.
  std::int64_t index(std::string_view character) const;
  /// The id of one code point; throws ValueError if it is not in the vocabulary.
  std::int64_t index(char32_t code_point) const;
  /// True when the code point is one of the vocabulary's.
  bool contains(char32_t code_point) const;
  /// The character of id i (its UTF-8 bytes); throws IndexError outside [0, size()).
  const std::string& character(std::int64_t i) const;
  /// Every character, by id.
  const std::vector<std::string>& characters() const { return characters_; }

 private:
  std::vector<char32_t> code_points_;    // sorted: the id is the position
  std::vector<std::string> characters_;  // the same, as UTF-8
  std::vector<std::int64_t> ascii_{};    // id of each ASCII code point, or -1
};

/// A window of the streams: next-character targets for the inputs, both (batch, seq)
/// float64 tensors of whole numbers (ids), batch-first; targets(b, t) = inputs(b, t + 1)
/// within the window, and the last target is the character after the window.
struct TextWindow {
  Tensor inputs;   ///< (batch, seq) ids x_t
  Tensor targets;  ///< (batch, seq) ids x_{t+1}
};

/// A stream of ids cut into `batch` parallel streams, as torch_charlm.py's streams():
/// each stream is `length() = ids.size() / batch` consecutive ids (stream b starts at id
/// b * length()), the last ids.size() % batch ids dropped. The model reads the streams
/// side by side, `seq` characters a window, carrying its hidden state from one window
/// to the next (truncated backprop through time).
///
/// Ids are kept as std::int64_t; windows come as float64 tensors holding them (tapegrad
/// has no integer tensors yet; float64 holds every id below 2^53 exactly, and one_hot
/// and softmax_cross_entropy take such class indices).
class TAPEGRAD_API TextStreams {
 public:
  /// Throws ValueError for batch < 1 or fewer ids than streams (a stream of length 0).
  TextStreams(const std::vector<std::int64_t>& ids, std::int64_t batch);

  /// Number of streams.
  std::int64_t batch() const { return batch_; }
  /// Ids in each stream (torch_charlm's `per`).
  std::int64_t length() const { return length_; }
  /// All streams, row-major (batch, length): stream b, step t is ids()[b * length() + t].
  const std::vector<std::int64_t>& ids() const { return ids_; }
  /// Id t of stream b; throws IndexError outside (batch, length).
  std::int64_t at(std::int64_t b, std::int64_t t) const;
  /// Number of whole windows of `seq` inputs: the k with k * seq + seq + 1 <= length()
  /// (the targets reach one id further). Throws ValueError for seq < 1.
  std::int64_t num_windows(std::int64_t seq) const;
  /// Window k: inputs are columns [k seq, k seq + seq) of the streams, targets the
  /// columns one further. Throws ValueError for seq < 1 and IndexError for a k outside
  /// [0, num_windows(seq)).
  TextWindow window(std::int64_t k, std::int64_t seq) const;

 private:
  std::int64_t batch_ = 0;
  std::int64_t length_ = 0;
  std::vector<std::int64_t> ids_;
};

/// torch_charlm.py's streams(): TextStreams(ids, batch).
TAPEGRAD_API TextStreams text_streams(const std::vector<std::int64_t>& ids, std::int64_t batch);

/// One id drawn from a model's output distribution: index i with probability
/// softmax(log p / temperature)_i = p_i^(1/T) / sum_j p_j^(1/T). probs is (V) or (V, 1),
/// either dtype, need not sum to 1 (it is normalized), and may hold zeros (never drawn).
/// Temperature 1 draws from p itself; below 1 sharpens it towards the likeliest ids,
/// above 1 flattens it towards uniform. One gen.uniform() per draw. Throws ShapeError
/// for another shape, ValueError for a non-finite or negative probability, a zero sum,
/// or a temperature that is not a finite number > 0; the messages start "sample_index: ".
TAPEGRAD_API std::int64_t sample_index(const Tensor& probs, Generator& gen,
                                       double temperature = 1.0);

}  // namespace tapegrad::data
