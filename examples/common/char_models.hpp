#pragma once
// The character language models of charlm and transformer, in torch's row layout
// (ids (N, T) -> logits (N, T, vocab)), their loss, their held-out bits per character,
// and words sampled from them.
//   CharLM:          torch_charlm.py's model: embedding | RNN, GRU or LSTM | linear.
//   CharTransformer: a small decoder-only transformer (GPT's layout): token embedding +
//                    learned positions | pre-norm causal TransformerBlocks (ALiBi
//                    slopes and squared ReLU when asked) | layer norm | linear.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "char_corpus.hpp"

namespace tapegrad::examples {

class CharLM : public nn::Module {
 public:
  CharLM(std::int64_t vocab, const std::string& cell, std::int64_t embed, std::int64_t hidden,
         Generator& gen)
      : Module("CharLM") {
    emb = register_module("emb", nn::Embedding(vocab, embed, float32, gen));
    const nn::RecurrentOptions options{.batch_first = true};
    if (cell == "lstm")
      rnn = register_module("rnn", nn::LSTM(embed, hidden, options, gen));
    else if (cell == "gru")
      rnn = register_module("rnn", nn::GRU(embed, hidden, options, gen));
    else
      rnn = register_module("rnn", nn::RNN(embed, hidden, options, gen));
    out = register_module("out", nn::RowLinear(hidden, vocab, true, float32, gen));
  }
  // ids (N, T) -> logits (N, T, vocab), from `state`, and the state after the window.
  std::pair<Tensor, nn::RecurrentState> step(const Tensor& ids, const nn::RecurrentState& state) {
    auto [y, next] = rnn->forward_with_state(emb->forward(ids), state);
    return {out->forward(y), next};
  }
  Tensor forward(const Tensor& ids) override { return step(ids, {}).first; }

  std::shared_ptr<nn::Embedding> emb;
  std::shared_ptr<nn::RecurrentLayer> rnn;
  std::shared_ptr<nn::RowLinear> out;
};

// The transformer's sizes and its two departures from GPT-2's block.
struct CharTransformerOptions {
  std::int64_t context = 32, width = 64, heads = 4, layers = 2, feedforward = 256;
  // ALiBi's slopes alibi_slopes(heads, alibi_exponent) in every block (0: none).
  double alibi_exponent = 0;
  nn::TransformerActivation activation = nn::TransformerActivation::relu;
  std::int64_t qkv_conv = 0;  // Primer's q, k, v convolutions of this many steps (0: none)
};

class CharTransformer : public nn::Module {
 public:
  CharTransformer(std::int64_t vocab, const CharTransformerOptions& o, Generator& gen)
      : Module("CharTransformer") {
    tokens = register_module("tokens", nn::Embedding(vocab, o.width, float32, gen));
    positions =
        register_module("positions", nn::PositionalEmbedding(o.context, o.width, float32, gen));
    const nn::TransformerBlockOptions block{.activation = o.activation,
                                            .alibi = o.alibi_exponent > 0
                                                         ? alibi_slopes(o.heads, o.alibi_exponent)
                                                         : std::vector<double>{},
                                            .qkv_conv = o.qkv_conv};
    for (std::int64_t l = 0; l < o.layers; ++l)
      blocks.push_back(
          register_module(fmt::format("block{}", l),
                          nn::TransformerBlock(o.width, o.heads, o.feedforward, block, gen)));
    norm = register_module("norm", nn::LayerNorm(o.width));
    out = register_module("out", nn::RowLinear(o.width, vocab, true, float32, gen));
    // GPT's small start for the token table: N(0, 0.02^2) rather than nn.Embedding's N(0, 1).
    NoGradGuard no_grad;
    tokens->weight.mul_(0.02);
  }
  // ids (N, T), T <= context -> logits (N, T, vocab); position t sees positions <= t.
  Tensor forward(const Tensor& ids) override {
    Tensor h = positions->forward(tokens->forward(ids));
    for (const auto& block : blocks) h = block->forward(h, /*causal=*/true);
    return out->forward(norm->forward(h));
  }
  // The first block's attention weights for ids (1, T), averaged over the heads: (T, T).
  Tensor first_attention(const Tensor& ids) {
    const Tensor h = positions->forward(tokens->forward(ids));
    const nn::TransformerBlock& b = *blocks.front();
    const Tensor x = b.norm_first() ? b.norm1->forward(h) : h;
    return b.self_attn->forward(x, x, x, /*causal=*/true).weights[0];
  }
  std::int64_t context() const { return positions->max_len(); }

  std::shared_ptr<nn::Embedding> tokens;
  std::shared_ptr<nn::PositionalEmbedding> positions;
  std::vector<std::shared_ptr<nn::TransformerBlock>> blocks;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::RowLinear> out;
};

// Mean cross-entropy (nats) of logits (N, T, V) against ids (N, T).
inline Tensor loss_of(const Tensor& logits, const Tensor& targets) {
  const std::int64_t V = logits.size(2);
  return softmax_cross_entropy(reshape(logits, {-1, V}), reshape(targets, {-1}), 1);
}

// The held-out text in bits per character, read as torch_charlm.py reads it: windows of
// `seq`, the last one as long as the text allows, the state carried from a zero state.
inline double heldout_bits(CharLM& model, const data::TextStreams& held, std::int64_t seq) {
  NoGradGuard no_grad;
  double total = 0;
  std::int64_t count = 0;
  nn::RecurrentState state;
  for (std::int64_t p = 0; p < held.length() - 1; p += seq) {
    const std::int64_t end = std::min(p + seq, held.length() - 1);
    auto [logits, next] = model.step(stream_columns(held, p, end), state);
    state = next;
    const Tensor y = stream_columns(held, p + 1, end + 1);
    total += loss_of(logits, y).item() * static_cast<double>(y.numel());
    count += y.numel();
  }
  return total / static_cast<double>(count) / std::log(2.0);
}

// The transformer reads windows of its whole context that overlap by half: each
// window scores only its second half, whose characters then see at least half a context
// before them (the standard "sliding window" reading; the recurrent model's state gives
// it the same). Every character is scored once.
inline double heldout_bits(CharTransformer& model, const data::TextStreams& held) {
  NoGradGuard no_grad;
  const std::int64_t ctx = model.context(), stride = std::max<std::int64_t>(1, ctx / 2);
  double total = 0;
  std::int64_t count = 0;
  for (std::int64_t p = 0; p < held.length() - 1; p += stride) {
    // Targets p + 1 .. e; inputs from at most ctx characters before them.
    const std::int64_t e = std::min(p + stride, held.length() - 1);
    const std::int64_t begin = std::max<std::int64_t>(0, e - ctx);
    const Tensor logits = model.forward(stream_columns(held, begin, e));
    const std::int64_t scored = e - p, T = e - begin;
    const Tensor y = stream_columns(held, p + 1, e + 1);
    total += loss_of(slice(logits, 1, T - scored, T), y).item() * static_cast<double>(y.numel());
    count += y.numel();
  }
  return total / static_cast<double>(count) / std::log(2.0);
}

// The id drawn after `ids` (1, T) from the model's last logits.
inline std::int64_t draw_next(const Tensor& logits, Generator& gen, double temperature) {
  const std::int64_t T = logits.size(1), V = logits.size(2);
  return data::sample_index(softmax(reshape(select(logits, 1, T - 1), {V}), 0), gen, temperature);
}

// Words drawn a character at a time after '\n', until '\n' or 30 characters.
inline std::vector<std::string> sample_words(CharLM& model, const data::CharVocab& vocab, int count,
                                             double temperature, std::uint64_t seed) {
  NoGradGuard no_grad;
  Generator gen(seed);
  const std::int64_t newline = vocab.index('\n');
  std::vector<std::string> words;
  for (int k = 0; k < count; ++k) {
    nn::RecurrentState state;
    std::int64_t c = newline;
    std::vector<std::int64_t> ids;
    while (ids.size() < 30) {
      auto [logits, next] =
          model.step(tensor(std::vector<double>{static_cast<double>(c)}, {1, 1}, float32), state);
      state = next;
      c = draw_next(logits, gen, temperature);
      if (c == newline) break;
      ids.push_back(c);
    }
    words.push_back(vocab.decode(ids));
  }
  return words;
}

inline std::vector<std::string> sample_words(CharTransformer& model, const data::CharVocab& vocab,
                                             int count, double temperature, std::uint64_t seed) {
  NoGradGuard no_grad;
  Generator gen(seed);
  const std::int64_t newline = vocab.index('\n');
  std::vector<std::string> words;
  for (int k = 0; k < count; ++k) {
    std::vector<double> context = {static_cast<double>(newline)};
    std::vector<std::int64_t> ids;
    while (ids.size() < 30) {
      // The last `context()` characters at most.
      const auto keep =
          std::min<std::size_t>(context.size(), static_cast<std::size_t>(model.context()));
      const std::vector<double> window(context.end() - static_cast<std::ptrdiff_t>(keep),
                                       context.end());
      const std::int64_t c =
          draw_next(model.forward(tensor(window, {1, static_cast<std::int64_t>(keep)}, float32)),
                    gen, temperature);
      if (c == newline) break;
      ids.push_back(c);
      context.push_back(static_cast<double>(c));
    }
    words.push_back(vocab.decode(ids));
  }
  return words;
}

}  // namespace tapegrad::examples
