// The course's "Regularization" (Improving Deep Neural Networks, week 1): a network big
// enough to learn the noise of a small training set, LINEAR -> RELU -> LINEAR -> RELU ->
// LINEAR -> SIGMOID with layers_dims = [2, 20, 3, 1], full-batch gradient descent at
// learning rate 0.3, trained three ways:
//   plain    the cross-entropy cost alone: it fits the training set's flipped labels
//            and does worse on new points (a gap between train and test accuracy);
//   l2       cost + lambd / (2 m) * sum ||W[l]||^2 (nn::l2_penalty, lambd = 0.7): the
//            weights stay small and the boundary smooth;
//   dropout  each hidden unit kept with probability keep_prob = 0.86 at every iteration
//            (inverted dropout, the op dropout with p = 1 - keep_prob), none at test time.
// In place of the course's football data: two overlapping Gaussian blobs with 10 % of the
// labels flipped (data::make_blobs), 200 points to train on and 2000 to test on. Each
// seed draws new data and new initial weights (W = randn / sqrt(n[l-1]), b = 0, the
// same for the three settings of a seed), so that the lesson is not one lucky draw. The
// layer of 3 ReLU units now and then dies in the first few steps (every unit below 0 for
// every point: seed 3 does it to the plain and L2 models); the seed's line says so, and
// that model predicts one class everywhere, with no gap.
//
//   build/examples/regularization                   # 5 seeds; out/regularization_*.svg
//   build/examples/regularization --seeds 1 --iterations 5000 --lambd 0.3
//
// Prints, for each seed and setting, the train and test accuracy; then for each setting
// the mean over seeds of the train accuracy, the test accuracy and the gap between them,
// and the gap's standard deviation: plain_train_accuracy_mean, plain_test_accuracy_mean,
// plain_gap_mean, plain_gap_std, the same for l2_ and dropout_, and seconds. The pictures
// (decision boundaries side by side, cost curves) are the first seed's.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"
#include "common/course_net.hpp"

using namespace tapegrad;

using examples::Parameters;

// W[l] = randn(n[l], n[l-1]) / sqrt(n[l-1]), b[l] = 0 (the course's reg_utils).
Parameters initialize_parameters(const std::vector<std::int64_t>& layers_dims) {
  return examples::initialize_parameters(
      layers_dims, [](const Shape& s) { return randn(s) / std::sqrt(static_cast<double>(s[1])); });
}

// [LINEAR -> RELU] x (L - 1) -> LINEAR -> SIGMOID, with inverted dropout on every hidden
// layer's activations when keep_prob < 1 (at training time only: prediction passes 1).
Tensor forward_propagation(const Tensor& X, const Parameters& parameters, double keep_prob = 1) {
  return sigmoid(examples::linear_relu_forward(X, parameters, keep_prob));
}

// True when a hidden layer is 0 for every point of X: each of its ReLU units stuck below 0,
// so that no gradient reaches the layers before it and the output is the same everywhere.
bool has_dead_layer(const Tensor& X, const Parameters& parameters) {
  NoGradGuard no_grad;
  Tensor A = X;
  for (std::size_t l = 0; l + 1 < parameters.W.size(); ++l) {
    A = relu(matmul(parameters.W[l], A) + parameters.b[l]);
    if (A.max().item() == 0) return true;
  }
  return false;
}

struct Setting {
  std::string key, title;
  double lambd = 0;      // L2 strength: 0 for none
  double keep_prob = 1;  // dropout: 1 for none
};

struct Trained {
  Parameters parameters;
  std::vector<double> iterations, costs;  // the cost every 100 iterations, for the plot
};

// The course's model(): gradient descent on the cross-entropy cost, plus the L2 term
// (compute_cost_with_regularization) when lambd > 0; optim::SGD makes the update.
Trained model(const Tensor& X, const Tensor& Y, const Parameters& parameters,
              const Setting& setting, int num_iterations, double learning_rate, progress::Bar& bar,
              std::int64_t& done) {
  Trained trained{parameters, {}, {}};
  optim::SGD optimizer(parameters.all(), learning_rate);
  const std::int64_t m = X.size(1);
  for (int i = 0; i < num_iterations; ++i) {
    optimizer.zero_grad();
    Tensor a3 = forward_propagation(X, parameters, setting.keep_prob);
    Tensor cost = binary_cross_entropy(a3, Y);
    if (setting.lambd > 0) cost = cost + nn::l2_penalty(parameters.W, setting.lambd, m);
    cost.backward();
    optimizer.step();
    if (i % 100 == 0 || i + 1 == num_iterations) {
      examples::check_cost(cost.item(), "iteration", i);
      trained.iterations.push_back(i);
      trained.costs.push_back(cost.item());
    }
    bar.update(++done, cost.item());
  }
  return trained;
}

// Mean and (sample) standard deviation.
struct Spread {
  double mean = 0, std = 0;
};
Spread spread(const std::vector<double>& values) {
  Spread s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() < 2) return s;
  for (double v : values) s.std += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(values.size() - 1));
  return s;
}

int main(int argc, char** argv) {
  CLI::App app{"No regularization, L2 and dropout on a [2, 20, 3, 1] network that overfits"};
  std::vector<std::int64_t> layers_dims = {2, 20, 3, 1};
  int num_iterations = 30000;
  double learning_rate = 0.3;
  double lambd = 0.7, keep_prob = 0.86;
  std::int64_t m = 200, m_test = 2000;
  double blob_spread = 0.6, flip = 0.1;
  int num_seeds = 5;
  examples::RunOptions run;
  app.add_option("--iterations", num_iterations, "gradient descent steps for each model")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--lambd", lambd, "L2 regularization strength (the course's lambd)")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--keep-prob", keep_prob, "probability of keeping a hidden unit in dropout")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--m", m, "points in the training set")
      ->check(examples::whole_number<std::int64_t>(2, 1000000))
      ->capture_default_str();
  app.add_option("--m-test", m_test, "points in the test set")
      ->check(examples::whole_number<std::int64_t>(2, 1000000))
      ->capture_default_str();
  app.add_option("--spread", blob_spread, "standard deviation of each blob (centres at x1 = -1, 1)")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--flip", flip, "fraction of the labels flipped (noise to overfit)")
      ->check(examples::finite_number(0, 1))
      ->capture_default_str();
  app.add_option("--seeds", num_seeds, "seeds --seed, --seed + 1, ...: new data and weights each")
      ->check(examples::whole_number<int>(1, 1000))
      ->capture_default_str();
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    if (!(keep_prob > 0 && keep_prob <= 1))
      throw examples::UsageError(
          fmt::format("--keep-prob: must be a number in (0, 1], got {}", keep_prob));
    examples::check_paths(run);
    progress::Stopwatch watch;
    const std::vector<Setting> settings = {
        {"plain", "no regularization"},
        {"l2", fmt::format("L2, lambd = {}", lambd), lambd},
        {"dropout", fmt::format("dropout, keep_prob = {}", keep_prob), 0, keep_prob},
    };
    fmt::print("layers_dims = {}, {} iterations, learning rate {}, {} seeds\n", layers_dims,
               num_iterations, learning_rate, num_seeds);
    fmt::print("blobs of spread {}, {:.0f} % of labels flipped: {} points to train, {} to test\n",
               blob_spread, 100 * flip, m, m_test);

    progress::Bar bar(static_cast<std::int64_t>(num_seeds) *
                          static_cast<std::int64_t>(settings.size()) * num_iterations,
                      "regularization");
    std::int64_t done = 0;
    // Per setting, one value per seed.
    std::vector<std::vector<double>> train_accuracy(settings.size()),
        test_accuracy(settings.size()), gap(settings.size());
    std::vector<plot::BoundaryPanel> panels;
    std::vector<plot::Series> cost_series;
    Tensor first_X, first_Y;
    for (int s = 0; s < num_seeds; ++s) {
      const std::uint64_t seed = run.seed + static_cast<std::uint64_t>(s);
      manual_seed(seed);

      // ---- data: a small noisy training set, a large test set from the same blobs --------
      const auto [train_X, train_Y] = data::make_blobs(m, blob_spread, flip);
      const auto [test_X, test_Y] = data::make_blobs(m_test, blob_spread, flip);
      const Parameters initial = initialize_parameters(layers_dims);

      std::string line = fmt::format("seed {}:", seed);
      for (std::size_t k = 0; k < settings.size(); ++k) {
        const Trained trained = model(train_X, train_Y, initial.clone(), settings[k],
                                      num_iterations, learning_rate, bar, done);
        const Parameters& parameters = trained.parameters;
        const double train =
            examples::binary_accuracy(forward_propagation(train_X, parameters), train_Y);
        const double test =
            examples::binary_accuracy(forward_propagation(test_X, parameters), test_Y);
        train_accuracy[k].push_back(train);
        test_accuracy[k].push_back(test);
        gap[k].push_back(train - test);
        line += fmt::format("  {} train {:.3f} test {:.3f}", settings[k].key, train, test);
        if (has_dead_layer(train_X, parameters)) line += " (a hidden layer died)";
        if (s == 0) {
          panels.push_back({fmt::format("{}: train {:.1f} %, test {:.1f} %", settings[k].title,
                                        100 * train, 100 * test),
                            [parameters](const Tensor& grid) {
                              return forward_propagation(grid, parameters) > 0.5;
                            }});
          cost_series.push_back({settings[k].title, trained.costs, trained.iterations});
        }
      }
      examples::log("{}\n", line);
      if (s == 0) {
        first_X = train_X;
        first_Y = train_Y;
      }
    }
    bar.finish();

    // ---- pictures of the first seed --------------------------------------------------------
    const auto boundaries = run.out / "regularization_boundaries.svg";
    plot::decision_boundaries(
        boundaries, panels, first_X, first_Y,
        {.title = fmt::format("Decision boundaries on the training set (seed {})", run.seed),
         .x_label = "x1",
         .y_label = "x2",
         .width = 420,
         .height = 380,
         .class_names = {"y = 0", "y = 1"}});
    const auto costs = run.out / "regularization_cost.svg";
    plot::line_plot(
        costs, cost_series,
        {.title = fmt::format("Cost (with the L2 term for L2), learning rate = {}", learning_rate),
         .x_label = "iterations",
         .y_label = "cost"});

    examples::result("boundaries", boundaries.string());
    examples::result("cost_curves", costs.string());
    examples::result("seeds", fmt::format("{}", num_seeds));
    for (std::size_t k = 0; k < settings.size(); ++k) {
      const std::string& key = settings[k].key;
      const Spread g = spread(gap[k]);
      examples::result(key + "_train_accuracy_mean", spread(train_accuracy[k]).mean);
      examples::result(key + "_test_accuracy_mean", spread(test_accuracy[k]).mean);
      examples::result(key + "_gap_mean", g.mean);
      examples::result(key + "_gap_std", g.std);
    }
    examples::result("seconds", watch.seconds(), 2);
  });
}
