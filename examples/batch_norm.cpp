// Batch normalization (the second course, week 3): a deep network, 784-[100] x 8-10 with
// ReLU, trained on all ten Fashion-MNIST classes by mini-batch gradient descent with
// momentum, once plain and once with batch norm on every hidden layer's Z[l]:
//
//   Z[l] = W[l] A[l-1] + b[l]                  (n[l], m)
//   Z_norm = (Z[l] - mu) / sqrt(sigma^2 + eps)  mu, sigma^2 over the m columns of the batch
//   Z~[l] = gamma[l] * Z_norm + beta[l]         gamma, beta learned, (n[l])
//   A[l] = relu(Z~[l])
//
// (b[l] is redundant under the normalization, as the course says; nn::Linear keeps it.)
// Both nets start from the same He weights. The lesson, in two runs each:
//   1. at the usual learning rate, the normalized net is further along after one epoch;
//   2. at a learning rate 30 times higher, the plain net diverges (its cost becomes nan,
//      or it stays at a uniform guess, ln 10 = 2.30), and the normalized net still learns.
// A diverging run is not an error here: it is half of the lesson, and it is reported.
//
//   build/examples/batch_norm                     # lr 0.01 and 0.3, 3 epochs, 60000 images
//   build/examples/batch_norm --depth 12 --lr 0.02 --high-lr 0.5
//   build/examples/batch_norm --epochs 1 --limit 5000       # a quick check
//
// Prints each run's cost per epoch, then after_one_epoch_cost_plain / _bn (the cost on the
// training set after the first epoch), high_lr, high_lr_plain_cost (nan when it
// diverged), high_lr_plain_diverged (1 or 0), high_lr_bn_cost, high_lr_bn_diverged, the
// four test accuracies and seconds; draws the four cost curves in batch_norm_cost.svg.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

struct Settings {
  int depth;         // hidden layers
  std::int64_t n_h;  // units in each
  int num_epochs;
  std::int64_t batch_size;
  double beta;  // momentum
};

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One training run and what it leaves behind.
struct Run {
  std::string name = {};           // "plain, lr 0.01"
  std::vector<double> costs = {};  // the mean mini-batch cost of every `window` batches
  std::vector<double> x = {};      // where each window ends, in epochs
  double after_one_epoch_cost = kNaN;
  double final_cost = kNaN;
  double test_accuracy = kNaN;  // nan: not measured (the weights are not numbers)
  bool diverged = false;
  std::int64_t nan_at = 0;  // the mini-batch whose cost was nan first (0: none)
};

// A run that ends above this cost has learned next to nothing: a uniform guess over the
// 10 classes costs ln 10 = 2.303.
constexpr double kChanceCost = 2.0;

// [LINEAR -> (BATCHNORM) -> RELU] x depth -> LINEAR (logits). The same generator seed
// gives both nets the same W[l]: batch norm's gamma (ones) and beta (zeros) draw nothing.
nn::Sequential deep_net(const Settings& s, bool batch_norm, std::uint64_t seed) {
  Generator gen(seed);
  nn::Sequential model;
  std::int64_t n_prev = 784;
  for (int l = 0; l < s.depth; ++l) {
    model.push_back(nn::Linear(n_prev, s.n_h, init::Init::he_normal, float32, gen));
    if (batch_norm) model.push_back(nn::BatchNorm(s.n_h));  // axis 0: over the m columns
    model.push_back(nn::ReLU());
    n_prev = s.n_h;
  }
  model.push_back(nn::Linear(n_prev, 10, init::Init::he_normal, float32, gen));
  return model;
}

// The cost over a whole set, in evaluation mode (batch norm uses its running statistics).
double set_cost(nn::Sequential& model, const data::Dataset& set) {
  NoGradGuard no_grad;
  model.eval();
  const double cost = softmax_cross_entropy(model(set.X), set.Y, /*axis=*/0).item();
  model.train();
  return cost;
}

double test_accuracy(nn::Sequential& model, const data::Dataset& test) {
  model.eval();
  const double accuracy = examples::accuracy(model(test.X), test.Y);
  model.train();
  return accuracy;
}

// Mini-batch gradient descent with momentum. A run whose cost stops being a number ends
// there (nothing is learned from nan), and is marked diverged, as is one that ends no
// better than a guess.
Run train(const std::string& name, bool batch_norm, double learning_rate, const Settings& s,
          const data::Dataset& train_set, const data::Dataset& test, std::uint64_t seed) {
  Run run{.name = name};
  nn::Sequential model = deep_net(s, batch_norm, seed);
  optim::SGD optimizer(model.parameters(), {.lr = learning_rate, .momentum = s.beta});

  const std::int64_t batches_per_epoch = (train_set.m() + s.batch_size - 1) / s.batch_size;
  const std::int64_t window = std::max<std::int64_t>(1, batches_per_epoch / 20);
  progress::Bar bar(s.num_epochs * batches_per_epoch, name);
  double window_cost = 0;
  std::int64_t window_batches = 0, step = 0;
  for (int epoch = 1; epoch <= s.num_epochs && !run.diverged; ++epoch) {
    const data::MiniBatches batches(train_set.X, train_set.Y, s.batch_size, seed + epoch);
    for (const data::Batch& batch : batches) {
      if (batch.X.size(1) < 2) continue;  // batch norm needs two examples for a variance
      optimizer.zero_grad();
      Tensor cost = softmax_cross_entropy(model(batch.X), batch.Y, /*axis=*/0);
      cost.backward();
      optimizer.step();

      const double c = cost.item();
      bar.update(++step, c);
      const double at = static_cast<double>(step) / static_cast<double>(batches_per_epoch);
      if (step == 1) {  // the curve starts at the first mini-batch's cost
        run.x.push_back(0);
        run.costs.push_back(c);
      }
      if (!std::isfinite(c)) {  // the curve ends at the top of the picture, where nan began
        if (window_batches > 0) {
          run.x.push_back(at);
          run.costs.push_back(window_cost / static_cast<double>(window_batches));
        }
        run.x.push_back(at);
        run.costs.push_back(std::numeric_limits<double>::infinity());
        run.diverged = true;
        run.nan_at = step;
        break;
      }
      window_cost += c;
      if (++window_batches == window) {
        run.x.push_back(at);
        run.costs.push_back(window_cost / static_cast<double>(window_batches));
        window_cost = 0;
        window_batches = 0;
      }
    }
    run.final_cost = run.diverged ? kNaN : set_cost(model, train_set);
    if (epoch == 1) run.after_one_epoch_cost = run.final_cost;
    examples::log("{}: epoch {}/{}: cost {:.4f}{}\n", name, epoch, s.num_epochs, run.final_cost,
                  run.diverged ? " (diverged: training stops)" : "");
  }
  bar.finish();
  if (!std::isfinite(run.final_cost) || run.final_cost > kChanceCost) run.diverged = true;
  if (std::isfinite(run.final_cost)) run.test_accuracy = test_accuracy(model, test);
  return run;
}

// The four cost curves on one picture. A diverging cost climbs by orders of magnitude
// before it becomes nan: it is drawn clipped at `ceiling`, so the others stay readable,
// and its curve ends at the top where it became nan.
void plot_costs(const std::filesystem::path& file, const std::vector<Run>& runs,
                const Settings& s) {
  constexpr double ceiling = 3.0;
  std::vector<plot::Series> series;
  for (const Run& run : runs) {
    std::string name = run.name;
    if (run.nan_at > 0)
      name += fmt::format(" (nan at mini-batch {})", run.nan_at);
    else if (run.diverged)
      name += " (diverged)";
    plot::Series curve{.name = name, .x = run.x};
    for (double c : run.costs) curve.y.push_back(std::min(c, ceiling));
    series.push_back(std::move(curve));
  }
  plot::line_plot(file, series,
                  {.title = fmt::format("784-[{}] x {}-10 ReLU, momentum {}, batch {}", s.n_h,
                                        s.depth, s.beta, s.batch_size),
                   .x_label = "epochs",
                   .y_label = fmt::format("mini-batch cost (clipped at {})", ceiling)});
}

int main(int argc, char** argv) {
  CLI::App app{"A deep net on Fashion-MNIST with and without batch normalization"};
  Settings settings{.depth = 8, .n_h = 100, .num_epochs = 3, .batch_size = 64, .beta = 0.9};
  double learning_rate = 0.01;
  double high_learning_rate = 0.3;
  examples::RunOptions run_options;
  examples::DataOptions data_options;
  app.add_option("--depth", settings.depth, "hidden layers")
      ->check(examples::whole_number<int>(1, 100))
      ->capture_default_str();
  app.add_option("--hidden", settings.n_h, "units in each hidden layer")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--epochs", settings.num_epochs, "passes over the training set")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", settings.batch_size, "examples per mini-batch")
      ->check(examples::whole_number(2))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "the usual learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--high-lr", high_learning_rate, "a learning rate at which the plain net diverges")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--beta", settings.beta, "momentum (the course's beta)")
      ->check(examples::finite_number(0, 1))
      ->capture_default_str();
  examples::add_run_options(app, run_options);
  examples::add_data_options(app, data_options);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run_options);
    manual_seed(run_options.seed);
    progress::Stopwatch watch;

    // ---- data: X (784, m), Y (1, m) holding the class 0..9 of each column ----------------
    const data::Dataset train_set =
        data::load_fashion_mnist(data_options.dir, "train", data_options.limit);
    const data::Dataset test = data::load_fashion_mnist(data_options.dir, "t10k");
    fmt::print("train: {} examples, test: {} examples\n", train_set.m(), test.m());
    fmt::print("784-[{}] x {}-10 ReLU, SGD momentum {}, batch {}, {} epochs\n", settings.n_h,
               settings.depth, settings.beta, settings.batch_size, settings.num_epochs);

    // ---- the four runs: {plain, batch norm} x {usual, high learning rate} ---------------
    const std::uint64_t seed = run_options.seed;
    std::vector<Run> runs;
    for (double lr : {learning_rate, high_learning_rate})
      for (bool batch_norm : {false, true})
        runs.push_back(train(fmt::format("{}, lr {}", batch_norm ? "batch norm" : "plain", lr),
                             batch_norm, lr, settings, train_set, test, seed));
    const Run& plain = runs[0];
    const Run& bn = runs[1];
    const Run& high_plain = runs[2];
    const Run& high_bn = runs[3];
    for (const Run& run : runs)
      if (run.diverged)
        fmt::print("{}: DIVERGED (cost {:.4f}; a uniform guess costs ln 10 = {:.4f})\n", run.name,
                   run.final_cost, std::numbers::ln10);

    const auto file = run_options.out / "batch_norm_cost.svg";
    plot_costs(file, runs, settings);
    examples::result("cost_curves", file.string());
    examples::result("after_one_epoch_cost_plain", plain.after_one_epoch_cost);
    examples::result("after_one_epoch_cost_bn", bn.after_one_epoch_cost);
    examples::result("high_lr", fmt::format("{}", high_learning_rate));
    examples::result("high_lr_plain_cost", high_plain.final_cost);
    examples::result("high_lr_plain_diverged", high_plain.diverged ? 1.0 : 0.0, 0);
    examples::result("high_lr_bn_cost", high_bn.final_cost);
    examples::result("high_lr_bn_diverged", high_bn.diverged ? 1.0 : 0.0, 0);
    examples::result("plain_test_accuracy", plain.test_accuracy);
    examples::result("bn_test_accuracy", bn.test_accuracy);
    examples::result("high_lr_plain_test_accuracy", high_plain.test_accuracy);
    examples::result("high_lr_bn_test_accuracy", high_bn.test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
