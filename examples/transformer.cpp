// A small decoder-only transformer character model (course 5, week 4: attention, multi-head
// attention, positional encodings, the transformer block) against the LSTM of charlm, on
// the same data and the same time budget.
//
//   build/examples/transformer                   # 30 s each, Debian's word list
//   build/examples/transformer --seconds 120 --layers 3
//
// Data as charlm's (../shared/peers/torch_charlm.py's): the word list shuffled with the
// seed, 90 % for training and 10 % held out, each side the words joined by '\n'. The LSTM
// is charlm's, trained as torch_charlm.py does it: --batch 32 parallel streams read --seq
// 64 characters a window, the state carried from window to window, embedding 32, hidden
// 128, Adam 3e-3, norm clipped at 5. The transformer sees one window at a time, --tf-batch
// 32 streams of --context 32 characters (half the LSTM's characters a step, in twice the
// steps: smaller steps did better in the same time, as did up to 4x larger ones): token
// embedding + learned positions, --layers pre-norm blocks of --heads causal
// self-attention heads and a 4x feed-forward, a final layer norm and a linear read-out
// (GPT-2's layout), trained by Adam (betas 0.8, 0.95) at --lr 7e-3 with a warm-up and a
// cosine decay over its time, the norm clipped at 1. Three changes to GPT-2's block, each
// a flag, make it learn faster in a small budget (held-out bits per character at 30 s,
// 2.7827 with all three, and with each one turned off):
//   --alibi 2         ALiBi slopes 2^(-2 (h + 1) / heads): each head prefers the nearby
//                     characters from the first step (2.8417 without);
//   --qkv-conv 3      Primer's causal convolution of q, k and v over 3 steps: each query,
//                     key and value mixes in the two characters before it (2.8239 without);
//   --activation relu_squared
//                     Primer's squared ReLU in the feed-forward (2.7854 with relu: a small
//                     gain once the convolutions are there, 0.007 at 20 s; before them,
//                     0.03).
// Each model trains for --seconds of wall time; both are then scored on the held-out text
// in bits per character, the transformer by windows that overlap by half, so that each
// scored character sees at least half a context (as the LSTM's carried state sees all of
// it).
//
// Measured here (2 cores), held-out bits per character, LSTM against transformer, the
// same wall time each: 3.1854 and 3.1182 at 3 s, 3.0017 and 2.9626 at 8 s, 2.8677 and
// 2.8361 at 20 s, 2.8155 and 2.7820 at 30 s, 2.7480 and 2.7256 at 60 s. GPT-2's plain
// block (--alibi 0 --qkv-conv 0 --activation relu) stays behind the LSTM at every one
// of those budgets (2.91 against 2.84 at 20 s).
//
// The picture: the first block's attention weights (averaged over its heads) while the
// transformer reads a sampled word, as a heat map: row i is the character at position i,
// its cells how much it attends to each earlier position.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <numbers>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/char_corpus.hpp"
#include "common/char_models.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

namespace {

struct Trained {
  std::int64_t steps = 0;
  double seconds = 0;
  double final_loss = 0;  // nats, the last window
  std::vector<double> losses;
};

// The transformer's learning rate at `fraction` of its time: a linear warm-up over the
// first 5 %, then a cosine decay to a tenth (GPT's recipe, by time rather than by step).
double warmup_cosine(double lr, double fraction) {
  constexpr double warmup = 0.05, floor = 0.1;
  if (fraction < warmup) return lr * (0.1 + 0.9 * fraction / warmup);
  const double progress = std::min(1.0, (fraction - warmup) / (1 - warmup));
  return lr * (floor + (1 - floor) * 0.5 * (1 + std::cos(std::numbers::pi * progress)));
}

// Trains for `budget` seconds of wall time (at least one window): one Adam step a window
// of the streams, in order, starting again at the end of the text. `forward` maps the
// window's inputs (and whether the text starts again) to logits; `schedule`, when given,
// the fraction of the budget spent to the learning rate.
template <class Forward>
Trained train_for(double budget, const data::TextStreams& train, std::int64_t seq,
                  const std::vector<Tensor>& params, optim::Adam& optimizer, double clip,
                  const char* label, Forward&& forward,
                  const std::function<double(double)>& schedule = {}) {
  Trained t;
  progress::Stopwatch watch;
  const auto tenths = std::max<std::int64_t>(1, static_cast<std::int64_t>(budget * 10));
  progress::Bar bar(tenths, label);
  std::int64_t pos = 0;
  while (t.steps == 0 || watch.seconds() < budget) {
    const bool restart = pos + seq + 1 > train.length();
    if (restart) pos = 0;
    const Tensor x = examples::stream_columns(train, pos, pos + seq);
    const Tensor y = examples::stream_columns(train, pos + 1, pos + seq + 1);
    if (schedule) optimizer.set_lr(schedule(std::min(1.0, watch.seconds() / budget)));
    Tensor loss = examples::loss_of(forward(x, restart), y);
    optimizer.zero_grad();
    loss.backward();
    optim::clip_grad_norm(params, clip);
    optimizer.step();
    pos += seq;
    t.final_loss = loss.item();
    examples::check_cost(t.final_loss, "step", t.steps);
    t.losses.push_back(t.final_loss / std::log(2.0));
    ++t.steps;
    bar.update(std::min(tenths, static_cast<std::int64_t>(watch.seconds() * 10)), t.final_loss);
  }
  bar.finish();
  t.seconds = watch.seconds();
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "A decoder-only transformer character model against charlm's LSTM, on the same "
      "data and the same time budget (course 5, week 4)"};
  examples::TextOptions text;
  double seconds = 30;
  std::int64_t batch = 32, seq = 64, tf_batch = 32, context = 32, width = 64, heads = 4, layers = 2,
               feedforward = 256, qkv_conv = 3;
  double lr = 7e-3, clip = 1.0, alibi = 2;
  std::string activation = "relu_squared";
  bool no_lstm = false;
  examples::RunOptions run;
  app.add_option("--seconds", seconds, "wall time each model trains")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--batch", batch, "the LSTM's parallel streams (torch_charlm.py's)")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--seq", seq, "the LSTM's characters a window (torch_charlm.py's)")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--tf-batch", tf_batch, "the transformer's parallel streams")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--context", context, "the transformer's characters a window: its context")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--width", width, "the transformer's width (d_model)")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--heads", heads, "attention heads (must divide --width)")
      ->check(examples::whole_number(1, 256))
      ->capture_default_str();
  app.add_option("--feedforward", feedforward, "the width of the blocks' feed-forward layers")
      ->check(examples::whole_number(1, 65536))
      ->capture_default_str();
  app.add_option("--layers", layers, "transformer blocks")
      ->check(examples::whole_number(1, 64))
      ->capture_default_str();
  app.add_option("--alibi", alibi,
                 "ALiBi slopes 2^(-x (h + 1) / heads) in the attention (0: none, learned "
                 "positions only)")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--qkv-conv", qkv_conv,
                 "Primer's causal convolution of q, k and v over this many steps (0: none)")
      ->check(examples::whole_number(0, 64))
      ->capture_default_str();
  app.add_option("--activation", activation, "the feed-forward's activation")
      ->check(CLI::IsMember({"relu", "relu_squared"}))
      ->capture_default_str();
  app.add_option("--lr", lr, "the transformer's Adam learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--clip", clip, "the transformer's gradient norm is clipped to this")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_text_options(app, text, 1);
  app.add_flag("--no-lstm", no_lstm, "train the transformer only (no LSTM to compare with)");
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    if (width % heads != 0)
      throw examples::UsageError(
          fmt::format("--heads {} does not divide --width {}", heads, width));
    progress::Stopwatch watch;
    // One generator a model, so that --no-lstm leaves the transformer's draws as they are.
    Generator lstm_gen(run.seed), gen(run.seed + 1);
    const examples::CharCorpus corpus =
        examples::char_corpus(text.words, text.text, run.seed, batch, seq);
    const std::int64_t V = corpus.vocab.size();
    fmt::print(
        "{}: {} words, {} training characters, vocabulary {}; batch {}, windows of {}, "
        "{:.0f} s a model\n",
        corpus.source, corpus.words, corpus.train_chars, V, batch, seq, seconds);

    // ---- the LSTM: charlm's model and training ------------------------------------------
    struct LstmResult {
      Trained run;
      double bits = 0;
      std::vector<std::string> samples;
    };
    std::optional<LstmResult> baseline;
    if (!no_lstm) {
      examples::CharLM lstm(V, "lstm", 32, 128, lstm_gen);
      const std::vector<Tensor> lstm_params = lstm.parameters();
      optim::Adam lstm_optimizer(lstm_params, 3e-3);
      nn::RecurrentState state;
      LstmResult r;
      r.run = train_for(seconds, corpus.train, seq, lstm_params, lstm_optimizer, 5.0, "lstm",
                        [&](const Tensor& x, bool restart) {
                          if (restart) state = {};
                          auto [logits, next] = lstm.step(x, state);
                          state = next.detach();
                          return logits;
                        });
      r.bits = examples::heldout_bits(lstm, corpus.held, seq);
      r.samples =
          examples::sample_words(lstm, corpus.vocab, text.samples, text.temperature, run.seed);
      examples::log("lstm: {} windows in {:.1f} s, held-out {:.4f} bits per character\n",
                    r.run.steps, r.run.seconds, r.bits);
      baseline = std::move(r);
    }

    // ---- the transformer ---------------------------------------------------------------
    // The same text, cut into the transformer's streams and windows.
    const examples::CharCorpus tf_corpus =
        examples::char_corpus(text.words, text.text, run.seed, tf_batch, context);
    examples::CharTransformer model(
        V,
        {.context = context,
         .width = width,
         .heads = heads,
         .layers = layers,
         .feedforward = feedforward,
         .alibi_exponent = alibi,
         .activation = activation == "relu" ? nn::TransformerActivation::relu
                                            : nn::TransformerActivation::relu_squared,
         .qkv_conv = qkv_conv},
        gen);
    const std::vector<Tensor> params = model.parameters();
    optim::Adam optimizer(params, {.lr = lr, .beta1 = 0.8, .beta2 = 0.95});
    const Trained tf_run = train_for(
        seconds, tf_corpus.train, context, params, optimizer, clip, "transformer",
        [&](const Tensor& x, bool) { return model.forward(x); },
        [&](double f) { return warmup_cosine(lr, f); });
    const double tf_bits = examples::heldout_bits(model, tf_corpus.held);
    examples::log("transformer: {} windows in {:.1f} s, held-out {:.4f} bits per character\n",
                  tf_run.steps, tf_run.seconds, tf_bits);

    // ---- samples, and the attention of one of them -------------------------------------
    const std::vector<std::string> samples =
        examples::sample_words(model, corpus.vocab, text.samples, text.temperature, run.seed);
    // The longest sample (within the context), read from '\n' to its closing '\n'.
    std::string word = *std::max_element(
        samples.begin(), samples.end(),
        [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
    std::vector<std::int64_t> ids = {corpus.vocab.index('\n')};
    for (std::int64_t id : corpus.vocab.encode(word)) ids.push_back(id);
    ids.push_back(corpus.vocab.index('\n'));
    if (static_cast<std::int64_t>(ids.size()) > context)
      ids.resize(static_cast<std::size_t>(context));
    std::vector<std::string> labels;
    std::vector<double> id_values;
    for (std::int64_t id : ids) {
      labels.push_back(corpus.vocab.character(id));  // heat_map shows '\n' as ⏎
      id_values.push_back(static_cast<double>(id));
    }
    Tensor weights;
    {
      NoGradGuard no_grad;
      weights = model.first_attention(
          tensor(id_values, {1, static_cast<std::int64_t>(ids.size())}, float32));
    }
    const auto heat = run.out / "transformer_attention.svg";
    plot::heat_map(
        heat, weights, labels, labels,
        {.title = fmt::format("Block 1's attention (mean of {} heads) reading \"{}\"", heads, word),
         .x_label = "attends to (key position)",
         .y_label = "reading (query position)"});
    const auto curve = run.out / "transformer_loss.svg";
    std::vector<plot::Series> series = {{"transformer", tf_run.losses}};
    if (baseline) series.insert(series.begin(), {"lstm", baseline->run.losses});
    plot::line_plot(
        curve, series,
        {.title = fmt::format("Training loss, bits per character ({:.0f} s each)", seconds),
         .x_label = "window",
         .y_label = "bits per character"});
    std::int64_t parameters = 0;
    for (const Tensor& p : params) parameters += p.numel();

    examples::result("attention_map", heat.string());
    examples::result("cost_curve", curve.string());
    if (baseline)
      examples::result("lstm_samples", fmt::format("{}", fmt::join(baseline->samples, " ")));
    examples::result("transformer_samples", fmt::format("{}", fmt::join(samples, " ")));
    if (baseline) examples::result("lstm_steps", static_cast<double>(baseline->run.steps), 0);
    examples::result("transformer_steps", static_cast<double>(tf_run.steps), 0);
    examples::result("transformer_parameters", static_cast<double>(parameters), 0);
    examples::result("uniform_bits_per_char", std::log2(static_cast<double>(V)));
    if (baseline) examples::result("lstm_heldout_bits_per_char", baseline->bits);
    examples::result("transformer_heldout_bits_per_char", tf_bits);
    examples::result("seconds", watch.seconds(), 2);
  });
}
