// Dinosaur Island -- Character level language model (course 5, week 1): a character RNN
// learns names one at a time and then invents new ones, sampled a character at a time.
//
//   build/examples/dinosaurs                         # Debian's /usr/share/dict/words
//   build/examples/dinosaurs --words dinos.txt --iterations 35000
//
// The course trains on dinos.txt, 1536 dinosaur names, which Debian does not ship. Here the
// names are the words of Debian's wamerican list (/usr/share/dict/words): 73604 of them,
// lower-cased and without the "'s" forms (data::load_words, as torch_charlm.py reads
// them), of 42 characters ('\n', a-z and accented letters). --words points it at dinos.txt
// or any other list, one name a line.
//
// The model is the course's: n_a = 50 hidden units, one name a training example,
//   a<t> = tanh(Waa a<t-1> + Wax x<t> + b),   y_hat<t> = softmax(Wya a<t> + by),
// x<1> = 0 and x<t+1> = y<t>, the one-hot of the name's t-th character; y at the end is
// '\n'. The loss is the course's: the sum over the name's characters of the
// cross-entropy -log y_hat<t>[y<t>]. loss.backward() gives the gradients where the course
// writes rnn_backward; they are clipped to [-5, 5] element by element (the course's clip,
// np.clip(gradient, -maxValue, maxValue)) and applied by SGD with learning rate 0.01. The
// hidden state carries over from one name to the next, without its gradient (the
// course's a_prev). Every 2000 iterations the course prints the smoothed loss, loss =
// 0.999 loss + 0.001 current_loss starting from -log(1/vocab) 7 (its smooth() and
// get_initial_loss()), and samples 7 names: from x = 0 and a = 0, draw a character from
// y_hat, feed it back as x, stop at '\n' or 50 characters.
//
// The course runs 35000 iterations (7 to 10 s here); the default is 100000, 20 to 26 s on
// one core of the build machine: 1.4 passes over the 73604 words, where the smoothed loss
// levels off near 21 (2.3 nats a character), below the course's initial 26.2 (uniform
// guessing over 7 characters) and far below 34.0, uniform guessing over these words'
// own 9.1 characters ('\n' included).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/cli.hpp"

using namespace tapegrad;

// The course's parameters (initialize_parameters): W = randn * 0.01, b = 0.
struct Parameters {
  Tensor Wax, Waa, Wya, b, by;
  std::vector<Tensor> all() const { return {Wax, Waa, Wya, b, by}; }
};

Parameters initialize_parameters(std::int64_t n_a, std::int64_t n_x, std::int64_t n_y,
                                 Generator& gen) {
  const auto small = [&](std::int64_t rows, std::int64_t cols) {
    return (randn({rows, cols}, float64, gen) * 0.01).requires_grad_();
  };
  Tensor Wax = small(n_a, n_x);
  Tensor Waa = small(n_a, n_a);
  Tensor Wya = small(n_y, n_a);
  return {Wax, Waa, Wya, zeros({n_a, 1}, float64).requires_grad_(),
          zeros({n_y, 1}, float64).requires_grad_()};
}

// One time step (the course's rnn_step_forward): a_next (n_a, 1) and y_hat (n_y, 1).
struct Step {
  Tensor a_next, y_hat;
};
Step rnn_step_forward(const Parameters& p, const Tensor& a_prev, const Tensor& x) {
  Tensor a_next = tanh(matmul(p.Waa, a_prev) + matmul(p.Wax, x) + p.b);
  Tensor y_hat = softmax(matmul(p.Wya, a_next) + p.by, 0);
  return {a_next, y_hat};
}

// The course's rnn_forward on one name: X = [None] + ids (None: x = 0), Y = ids + ['\n'].
// Returns the loss, sum over t of -log y_hat<t>[Y<t>], and the last hidden state.
struct Forward {
  Tensor loss, a_last;
};
Forward rnn_forward(const Parameters& p, const std::vector<std::int64_t>& ids, std::int64_t newline,
                    const Tensor& a0) {
  const std::int64_t vocab = p.by.size(0);
  const auto T = static_cast<std::int64_t>(ids.size()) + 1;
  std::vector<double> x_ids(ids.begin(), ids.end());
  std::vector<double> y_ids(ids.begin(), ids.end());
  y_ids.push_back(static_cast<double>(newline));
  // One-hot columns: x<t> is column t of X (vocab, T), its first column zeros.
  const Tensor X =
      concat({zeros({vocab, 1}, float64), one_hot(tensor(x_ids, {T - 1}, float64), vocab, 0)}, 1);
  const Tensor Y = one_hot(tensor(y_ids, {T}, float64), vocab, 0);
  Tensor a = a0;
  std::vector<Tensor> y_hat;
  y_hat.reserve(static_cast<std::size_t>(T));
  for (std::int64_t t = 0; t < T; ++t) {
    Step step = rnn_step_forward(p, a, col(X, t));
    a = step.a_next;
    y_hat.push_back(step.y_hat);
  }
  // loss -= log(y_hat[t][Y[t]]) for every t: the one-hot Y picks each step's entry.
  Tensor loss = -(Y * log(concat(y_hat, 1))).sum();
  return {loss, a};
}

// The course's sample(): from x = 0 and a = 0, draw a character from y_hat and feed it
// back, until '\n' or 50 characters (then '\n' is appended). Returns the ids.
std::vector<std::int64_t> sample(const Parameters& p, std::int64_t newline, Generator& gen) {
  NoGradGuard no_grad;
  const std::int64_t vocab = p.by.size(0);
  const std::int64_t n_a = p.Waa.size(0);
  Tensor x = zeros({vocab, 1}, float64);
  Tensor a_prev = zeros({n_a, 1}, float64);
  std::vector<std::int64_t> indices;
  std::int64_t idx = -1;
  while (idx != newline && indices.size() != 50) {
    const Step step = rnn_step_forward(p, a_prev, x);
    idx = data::sample_index(step.y_hat, gen);
    indices.push_back(idx);
    x = zeros({vocab, 1}, float64);
    x.data<double>()[idx] = 1.0;
    a_prev = step.a_next;
  }
  if (indices.size() == 50) indices.push_back(newline);
  return indices;
}

// The course's get_sample: the characters, the first one capitalized (ASCII), no '\n'.
std::string name_of(const std::vector<std::int64_t>& indices, const data::CharVocab& vocab) {
  std::string name = vocab.decode(indices);
  while (!name.empty() && name.back() == '\n') name.pop_back();
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = static_cast<char>(name[0] - 32);
  return name;
}

// `count` names, from a generator seeded with `seed` (the course reseeds each round, so
// the rounds differ by what the model learned, not by the draws).
std::vector<std::string> sample_names(const Parameters& p, const data::CharVocab& vocab, int count,
                                      std::uint64_t seed) {
  Generator gen(seed);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(count));
  const std::int64_t newline = vocab.index('\n');
  for (int i = 0; i < count; ++i) names.push_back(name_of(sample(p, newline, gen), vocab));
  return names;
}

int main(int argc, char** argv) {
  CLI::App app{
      "Dinosaur Island: a character-level RNN that learns names and invents new ones (the "
      "course's week 1 of sequence models)"};
  std::filesystem::path words_file{std::string(data::kDictionaryWords)};
  int num_iterations = 100000;
  std::int64_t n_a = 50;
  double learning_rate = 0.01;
  double clip_value = 5.0;
  int sample_every = 2000;
  int num_names = 7;
  examples::RunOptions run;
  app.add_option("--words", words_file,
                 "the names to learn, one a line (the course's dinos.txt; default Debian's "
                 "word list)")
      ->capture_default_str();
  app.add_option("--iterations", num_iterations,
                 "names trained on, one SGD step each (the course: 35000)")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--hidden", n_a, "n_a, the hidden units")
      ->check(examples::whole_number<std::int64_t>(1, 4096))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--clip", clip_value, "gradients clipped to [-clip, clip] element by element")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--sample-every", sample_every, "print sampled names every N iterations")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--names", num_names, "names sampled each time")
      ->check(examples::whole_number<int>(1, 1000))
      ->capture_default_str();
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    progress::Stopwatch watch;
    Generator gen(run.seed);

    // ---- data: the names, their characters, shuffled (the course's np.random.shuffle) --
    const std::vector<std::string> words = data::load_words(words_file);
    const data::CharVocab vocab(data::join_words(words));
    const std::int64_t vocab_size = vocab.size();
    const std::int64_t newline = vocab.index('\n');
    const std::vector<std::string> training_names = data::split_words(words, run.seed, 0.0).train;
    std::vector<std::vector<std::int64_t>> example_ids;
    example_ids.reserve(training_names.size());
    std::int64_t characters = 0;
    for (const std::string& w : training_names) {
      example_ids.push_back(vocab.encode(w));
      characters += static_cast<std::int64_t>(example_ids.back().size()) + 1;  // and '\n'
    }
    std::string shown;
    for (const std::string& c : vocab.characters()) shown += c == "\n" ? "\\n" : c;
    fmt::print("{} names of {} characters in {}: {}\n", training_names.size(), vocab_size,
               words_file.string(), shown);

    // ---- parameters -------------------------------------------------------------------
    const Parameters parameters = initialize_parameters(n_a, vocab_size, vocab_size, gen);
    const std::vector<Tensor> params = parameters.all();
    optim::SGD optimizer(params, learning_rate);

    // The course's get_initial_loss(vocab_size, 7): guessing uniformly over 7 characters.
    // The loss of guessing uniformly over these names' own characters (and '\n') is also
    // printed: the course's 7 is about a name's length, but the names are longer.
    const double uniform_loss = -std::log(1.0 / static_cast<double>(vocab_size)) * 7;
    const double uniform_name_loss = std::log(static_cast<double>(vocab_size)) *
                                     static_cast<double>(characters) /
                                     static_cast<double>(training_names.size());
    double loss = uniform_loss;
    std::vector<double> smooth_losses;  // every 100 iterations, for the plot
    Tensor a_prev = zeros({n_a, 1}, float64);

    // ---- optimization: one name an iteration ------------------------------------------
    progress::Stopwatch train_watch;
    progress::Bar bar(num_iterations, "names");
    for (int j = 0; j < num_iterations; ++j) {
      const auto& ids = example_ids[static_cast<std::size_t>(j) % example_ids.size()];
      // Forward propagate through time, then backpropagate through time.
      Forward forward = rnn_forward(parameters, ids, newline, a_prev);
      optimizer.zero_grad();
      forward.loss.backward();
      // Clip the gradients to [-clip, clip] (the course's clip), then update.
      optim::clip_grad_value(params, clip_value);
      optimizer.step();
      a_prev = forward.a_last.detach();  // carried to the next name, without its gradient

      // The course's smooth(): loss * 0.999 + current_loss * 0.001.
      const double current_loss = forward.loss.item();
      loss = loss * 0.999 + current_loss * 0.001;
      if (j % 100 == 0) {
        examples::check_cost(current_loss, "iteration", j);
        smooth_losses.push_back(loss);
      }
      if (j % 2000 == 0) examples::log("Iteration: {}, Loss: {:.6f}\n", j, loss);
      if (j % sample_every == 0) {
        for (const std::string& name : sample_names(parameters, vocab, num_names, run.seed))
          examples::log("{}\n", name);
        examples::log("\n");
      }
      bar.update(j + 1, loss);
    }
    bar.finish();
    examples::check_cost(loss, "iteration", num_iterations - 1);
    const double train_seconds = train_watch.seconds();

    // ---- what the model learned: names it invents -------------------------------------
    const std::vector<std::string> names = sample_names(parameters, vocab, num_names, run.seed);
    const auto file = run.out / "dinosaurs_loss.svg";
    plot::cost_curve(file, smooth_losses,
                     fmt::format("Character-level RNN on {}, n_a = {}, learning rate = {}",
                                 words_file.filename().string(), n_a, learning_rate));
    examples::result("cost_curve", file.string());
    examples::result("final_smooth_loss", loss);
    examples::result("uniform_loss", uniform_loss);            // the course's initial loss
    examples::result("uniform_name_loss", uniform_name_loss);  // per name, these names
    examples::result("samples", fmt::format("{}", fmt::join(names, "|")));
    examples::result("words", static_cast<double>(training_names.size()), 0);
    examples::result("vocab", static_cast<double>(vocab_size), 0);
    examples::result("train_seconds", train_seconds, 2);
    examples::result("seconds", watch.seconds(), 2);
  });
}
