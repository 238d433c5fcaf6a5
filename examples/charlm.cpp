// A character-level language model (course 5, weeks 1-2, at a larger scale): an embedding,
// one LSTM (or --cell gru, --cell rnn) and a linear read-out predict each next
// character of Debian's word list, trained with truncated backpropagation through time.
//
//   build/examples/charlm                        # LSTM, 300 windows, as torch_charlm.py
//   build/examples/charlm --cell gru --steps 2000
//   build/examples/charlm --text book.txt        # any UTF-8 text instead of the words
//
// The setup is ../shared/peers/torch_charlm.py's, so the two compare directly: the words
// of /usr/share/dict/words (lower-cased, no "'s" forms, de-duplicated), shuffled with the
// seed, 90 % for training and 10 % held out, each side one text of the words joined by
// '\n'. The text is cut into --batch 32 parallel streams, read --seq 64 characters a
// window; the hidden state goes on from one window to the next with its graph cut
// (RecurrentState::detach). Embedding 32, hidden 128, Adam 3e-3, the gradient's norm
// clipped at 5. The held-out loss is in bits per character (log2 e nats); a model that
// knew nothing would score log2(vocab), 5.4 bits.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/char_corpus.hpp"
#include "common/char_models.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
  CLI::App app{
      "A character-level language model (embedding, LSTM/GRU/RNN, linear) on Debian's "
      "word list, as ../shared/peers/torch_charlm.py"};
  std::string cell = "lstm";
  examples::TextOptions text;
  std::int64_t steps = 300, batch = 32, seq = 64, embed = 32, hidden = 128;
  double lr = 3e-3, clip = 5.0;
  examples::RunOptions run;
  app.add_option("--cell", cell, "the recurrent layer")
      ->check(CLI::IsMember({"lstm", "gru", "rnn"}))
      ->capture_default_str();
  app.add_option("--steps", steps, "training windows (Adam steps)")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--batch", batch, "parallel streams")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--seq", seq, "characters a window (truncated backprop through time)")
      ->check(examples::whole_number(1, 100000))
      ->capture_default_str();
  app.add_option("--embed", embed, "embedding size")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--hidden", hidden, "hidden units")
      ->check(examples::whole_number(1, 4096))
      ->capture_default_str();
  app.add_option("--lr", lr, "Adam's learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--clip", clip, "the gradient's norm is clipped to this")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_text_options(app, text, 0);
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    progress::Stopwatch watch;
    Generator gen(run.seed);
    const examples::CharCorpus corpus =
        examples::char_corpus(text.words, text.text, run.seed, batch, seq);
    const std::int64_t V = corpus.vocab.size();
    fmt::print(
        "{}: {} words, {} training characters, vocabulary {}; {} cell, batch {}, "
        "windows of {}\n",
        corpus.source, corpus.words, corpus.train_chars, V, cell, batch, seq);

    examples::CharLM model(V, cell, embed, hidden, gen);
    const std::vector<Tensor> params = model.parameters();
    optim::Adam optimizer(params, lr);

    std::vector<double> losses;
    nn::RecurrentState state;
    std::int64_t pos = 0;
    double loss_value = 0;
    progress::Stopwatch train_watch;
    progress::Bar bar(steps, "windows");
    for (std::int64_t step = 0; step < steps; ++step) {
      if (pos + seq + 1 > corpus.train.length()) {  // the end of the text: start again
        state = {};
        pos = 0;
      }
      const Tensor x = examples::stream_columns(corpus.train, pos, pos + seq);
      const Tensor y = examples::stream_columns(corpus.train, pos + 1, pos + seq + 1);
      auto [logits, next] = model.step(x, state);
      state = next.detach();
      Tensor loss = examples::loss_of(logits, y);
      optimizer.zero_grad();
      loss.backward();
      optim::clip_grad_norm(params, clip);
      optimizer.step();
      pos += seq;
      loss_value = loss.item();
      examples::check_cost(loss_value, "step", step);
      losses.push_back(loss_value / std::log(2.0));
      if (step % 100 == 0) examples::log("step {} loss {:.4f}\n", step, loss_value);
      bar.update(step + 1, loss_value);
    }
    bar.finish();
    const double train_seconds = train_watch.seconds();
    const double chars_per_second =
        static_cast<double>(steps * batch * seq) / std::max(train_seconds, 1e-9);

    const double bits = examples::heldout_bits(model, corpus.held, seq);
    const std::vector<std::string> samples =
        examples::sample_words(model, corpus.vocab, text.samples, text.temperature, run.seed);
    const auto file = run.out / fmt::format("charlm_{}_loss.svg", cell);
    plot::cost_curve(file, losses,
                     fmt::format("{} character model: training loss (bits per character)", cell));
    examples::result("cost_curve", file.string());
    examples::result("cell", cell);
    examples::result("samples", fmt::format("{}", fmt::join(samples, " ")));
    examples::result("final_loss_bits", loss_value / std::log(2.0));
    examples::result("uniform_bits_per_char", std::log2(static_cast<double>(V)));
    examples::result("heldout_bits_per_char", bits);
    examples::result("train_seconds", train_seconds, 3);
    examples::result("chars_per_second", chars_per_second, 0);
    examples::result("seconds", watch.seconds(), 2);
  });
}
