// Hyperparameter tuning (the second course, week 3): random search, not a grid, and each
// hyperparameter sampled on the scale it acts on. A 784-h-10 network (ReLU, dropout p on
// the hidden layer, softmax) is trained by gradient descent with momentum for a few
// epochs per trial, and judged on a dev set carved from the training images:
//
//   learning rate  alpha = 10^r, r uniform in [-4, 0]     (log scale: as many trials in
//                                                          [0.0001, 0.001] as in [0.1, 1])
//   momentum       beta = 1 - 10^r, r uniform in [-3, -1] (0.9 .. 0.999: beta acts through
//                                                          1 / (1 - beta), the average's span)
//   hidden units   h = 2^r rounded, r uniform in [5, 8]   (32 .. 256)
//   dropout        p uniform in [0, 0.5]
//
// Momentum is the course's exponentially weighted average, v = beta v + (1 - beta) dW,
// W -= alpha v (optim::SGD with dampening = momentum). A trial whose cost becomes nan is
// kept in the table as diverged. The best trial's setting is then trained again on
// train + dev and tested once on the test set.
//
//   build/examples/tuning                            # 20 trials of 2 epochs, 60000 images
//   build/examples/tuning --trials 40 --epochs 3 --seed 7
//   build/examples/tuning --trials 4 --epochs 1 --limit 5000   # a quick check
//
// Prints the table of trials as they finish (saved as trials.csv in --out), draws dev
// accuracy against the learning rate (tuning_lr.svg, log x), then one line per trial,
// trial_<i>_dev_accuracy, and best_lr, best_beta, best_hidden, best_dropout,
// best_dev_accuracy, test_accuracy and seconds.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One point of the search.
struct Hyperparameters {
  double learning_rate;
  double beta;
  std::int64_t n_h;
  double dropout;
};

// What a trial found.
struct Trial {
  int number = 0;
  Hyperparameters h = {};
  double train_cost = kNaN;    // the last epoch's mean mini-batch cost
  double dev_accuracy = kNaN;  // nan: diverged
  double seconds = 0;
  bool diverged() const { return std::isnan(dev_accuracy); }
};

// r uniform in [low, high).
double uniform(Generator& gen, double low, double high) {
  return low + (high - low) * gen.uniform();
}

Hyperparameters sample(Generator& gen) {
  Hyperparameters h{};
  h.learning_rate = std::pow(10.0, uniform(gen, -4, 0));
  h.beta = 1 - std::pow(10.0, uniform(gen, -3, -1));
  h.n_h = std::lround(std::pow(2.0, uniform(gen, 5, 8)));
  h.dropout = uniform(gen, 0, 0.5);
  return h;
}

// [LINEAR -> RELU -> DROPOUT] -> LINEAR (logits), trained by momentum for `num_epochs`.
// Returns the model (in eval mode) and the last epoch's mean cost, nan if it diverged.
// `gen` draws the weights and the dropout masks: the model keeps a reference to it.
struct Trained {
  nn::Sequential model;
  double cost;
};

Trained train(const Hyperparameters& h, const data::Dataset& set, int num_epochs,
              std::int64_t batch_size, Generator& gen, std::uint64_t seed, progress::Bar& bar,
              std::int64_t& step) {
  nn::Sequential model{nn::Linear(784, h.n_h, init::Init::he_normal, float32, gen), nn::ReLU(),
                       nn::Dropout(h.dropout, gen),
                       nn::Linear(h.n_h, 10, init::Init::he_normal, float32, gen)};
  optim::SGD optimizer(model.parameters(),
                       {.lr = h.learning_rate, .momentum = h.beta, .dampening = h.beta});
  double epoch_cost = kNaN;
  for (int epoch = 0; epoch < num_epochs; ++epoch) {
    const data::MiniBatches batches(set.X, set.Y, batch_size, seed + epoch);
    double total = 0;
    for (const data::Batch& batch : batches) {
      optimizer.zero_grad();
      Tensor cost = softmax_cross_entropy(model(batch.X), batch.Y, /*axis=*/0);
      cost.backward();
      optimizer.step();
      const double c = cost.item();
      bar.update(++step, c);
      if (!std::isfinite(c)) {  // diverged: nothing more to learn from this trial
        model.eval();
        return {model, kNaN};
      }
      total += c * static_cast<double>(batch.X.size(1));
    }
    epoch_cost = total / static_cast<double>(set.m());
  }
  model.eval();  // dropout off
  return {model, epoch_cost};
}

std::string csv_of(const std::vector<Trial>& trials) {
  std::string text = "trial,learning_rate,beta,hidden,dropout,train_cost,dev_accuracy,seconds\n";
  for (const Trial& t : trials)
    text += fmt::format("{},{:.6g},{:.6g},{},{:.4f},{:.4f},{:.4f},{:.2f}\n", t.number,
                        t.h.learning_rate, t.h.beta, t.h.n_h, t.h.dropout, t.train_cost,
                        t.dev_accuracy, t.seconds);
  return text;
}

// "trial 3: lr 0.019, beta 0.981, 39 hidden, dropout 0.28: dev accuracy 0.7743".
std::string describe(const Trial& t) {
  return fmt::format(
      "trial {}: lr {:.3g}, beta {:.4g}, {} hidden, dropout {:.2f}: {}", t.number,
      t.h.learning_rate, t.h.beta, t.h.n_h, t.h.dropout,
      t.diverged() ? "diverged" : fmt::format("dev accuracy {:.4f}", t.dev_accuracy));
}

// Dev accuracy against the learning rate, log x; each point names its trial on hover, and
// diverged trials are drawn at 0.
void plot_search(const std::filesystem::path& file, const std::vector<Trial>& trials,
                 const Trial& best, int num_epochs) {
  plot::Scatter learned{.name = "trials"}, diverged{.name = "diverged (drawn at 0)"},
      chosen{.name = fmt::format("best (trial {})", best.number)};
  for (const Trial& t : trials) {
    plot::Scatter& set = t.diverged() ? diverged : learned;
    set.x.push_back(t.h.learning_rate);
    set.y.push_back(t.diverged() ? 0.0 : t.dev_accuracy);
    set.labels.push_back(describe(t));
  }
  chosen.x.push_back(best.h.learning_rate);
  chosen.y.push_back(best.dev_accuracy);
  chosen.labels.push_back(describe(best));
  std::vector<plot::Scatter> sets{learned};
  if (!diverged.x.empty()) sets.push_back(diverged);
  sets.push_back(chosen);
  plot::scatter_plot(
      file, sets,
      {.title = fmt::format("random search: {} trials of {} epochs", trials.size(), num_epochs),
       .x_label = "learning rate (log scale)",
       .y_label = "dev accuracy"},
      /*log_x=*/true);
}

int main(int argc, char** argv) {
  CLI::App app{"Random search over learning rate, momentum, hidden units and dropout"};
  int num_trials = 20;
  int num_epochs = 2;
  std::int64_t batch_size = 128;
  std::optional<std::int64_t> dev_size;
  examples::RunOptions run;
  examples::DataOptions data_options;
  app.add_option("--trials", num_trials, "random settings to try")
      ->check(examples::whole_number<int>(1, 10000))
      ->capture_default_str();
  app.add_option("--epochs", num_epochs, "passes over the training images per trial")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "examples per mini-batch")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--dev", dev_size,
                 "training images set aside as the dev set (default: a sixth of those read)")
      ->check(examples::whole_number(1));
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: train / dev from the training images, the test set kept for the end ------
    const examples::TrainDevTest split =
        examples::load_train_dev_test(data_options, dev_size, run.seed);
    const data::Dataset& all = split.all;
    const data::Dataset& test = split.test;
    fmt::print("train: {} examples, dev: {} examples, test: {} examples\n", split.train.m(),
               split.dev.m(), test.m());

    // ---- the search ----------------------------------------------------------------------
    Generator search(run.seed);
    const std::int64_t batches_per_epoch = (split.train.m() + batch_size - 1) / batch_size;
    progress::Bar bar(static_cast<std::int64_t>(num_trials) * num_epochs * batches_per_epoch,
                      "random search");
    std::int64_t step = 0;
    std::vector<Trial> trials;
    fmt::print("{:>5}  {:>10}  {:>8}  {:>6}  {:>7}  {:>10}  {:>12}  {:>7}\n", "trial", "lr", "beta",
               "hidden", "dropout", "train_cost", "dev_accuracy", "seconds");
    for (int i = 1; i <= num_trials; ++i) {
      progress::Stopwatch trial_watch;
      Trial trial{.number = i, .h = sample(search)};
      Generator gen(run.seed + i);
      Trained trained =
          train(trial.h, split.train, num_epochs, batch_size, gen, run.seed + i, bar, step);
      step = static_cast<std::int64_t>(i) * num_epochs *
             batches_per_epoch;  // a diverged trial ends early
      trial.train_cost = trained.cost;
      if (std::isfinite(trained.cost))
        trial.dev_accuracy = examples::accuracy(trained.model(split.dev.X), split.dev.Y);
      trial.seconds = trial_watch.seconds();
      examples::log("{:5d}  {:10.6f}  {:8.5f}  {:6d}  {:7.3f}  {:>10}  {:>12}  {:7.2f}\n", i,
                    trial.h.learning_rate, trial.h.beta, trial.h.n_h, trial.h.dropout,
                    trial.diverged() ? "nan" : fmt::format("{:.4f}", trial.train_cost),
                    trial.diverged() ? "diverged" : fmt::format("{:.4f}", trial.dev_accuracy),
                    trial.seconds);
      trials.push_back(trial);
    }
    bar.finish();

    const Trial* best = nullptr;
    for (const Trial& t : trials)
      if (!t.diverged() && (best == nullptr || t.dev_accuracy > best->dev_accuracy)) best = &t;
    if (best == nullptr)
      throw std::runtime_error(
          fmt::format("every one of the {} trials diverged (the cost became nan): try more trials",
                      num_trials));
    const auto csv = run.out / "trials.csv";
    io::write_file_atomically(csv, csv_of(trials), "tuning");
    const auto picture = run.out / "tuning_lr.svg";
    plot_search(picture, trials, *best, num_epochs);
    fmt::print("best: trial {} (dev accuracy {:.4f})\n", best->number, best->dev_accuracy);

    // ---- the best setting, trained on train + dev, tested once ------------------------------
    const std::int64_t final_batches = (all.m() + batch_size - 1) / batch_size;
    progress::Bar final_bar(num_epochs * final_batches, "best setting, train + dev");
    std::int64_t final_step = 0;
    Generator gen(run.seed + best->number);  // the best trial's initial weights
    Trained final = train(best->h, all, num_epochs, batch_size, gen, run.seed + best->number,
                          final_bar, final_step);
    final_bar.finish();
    examples::check_cost(final.cost, "epoch", num_epochs);
    const double test_accuracy = examples::accuracy(final.model(test.X), test.Y);

    examples::result("trials_csv", csv.string());
    examples::result("dev_accuracy_plot", picture.string());
    for (const Trial& t : trials)
      examples::result(fmt::format("trial_{}_dev_accuracy", t.number), t.dev_accuracy);
    examples::result("best_lr", fmt::format("{:.6g}", best->h.learning_rate));
    examples::result("best_beta", fmt::format("{:.6g}", best->h.beta));
    examples::result("best_hidden", fmt::format("{}", best->h.n_h));
    examples::result("best_dropout", best->h.dropout);
    examples::result("best_dev_accuracy", best->dev_accuracy);
    examples::result("test_accuracy", test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
