// The course's "Initialization" (Improving Deep Neural Networks, week 1): the same
// 3-layer network, LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID with
// layers_dims = [2, 10, 5, 1], trained by full-batch gradient descent (learning rate
// 0.01, 15000 iterations) on two concentric circles, from three starting points:
//   zeros  W = 0: every unit of a layer computes the same value and receives the same
//          gradient, so the units stay copies of each other (the symmetry never breaks)
//          and the network does no better than a coin;
//   large  W = randn * 10: the output sigmoid saturates, the first costs are huge (the
//          predictions are confidently wrong) and training crawls out of a bad start;
//   he     W = randn * sqrt(2 / n[l-1]) (He et al. 2015, for ReLU): learns the circles.
// b = 0 in all three.
//
//   build/examples/initialization                   # out/initialization_*.svg
//   build/examples/initialization --iterations 3000 --factor 0.5
//
// Prints the cost every 1000 iterations, then for each initialization its train and test
// accuracy and how many distinct units (rows of W1) its first layer ended with. Ends with
// zeros_/large_/he_train_accuracy, ..._test_accuracy, ..._distinct_hidden_units,
// zeros_max_unit_difference (the largest difference between two rows of W1), seconds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"
#include "common/course_net.hpp"

using namespace tapegrad;

using examples::Parameters;

// W[l] = 0, b[l] = 0.
Parameters initialize_parameters_zeros(const std::vector<std::int64_t>& layers_dims) {
  return examples::initialize_parameters(layers_dims, [](const Shape& s) { return zeros(s); });
}

// W[l] = randn(n[l], n[l-1]) * scale (the course's 10), b[l] = 0.
Parameters initialize_parameters_random(const std::vector<std::int64_t>& layers_dims,
                                        double scale) {
  return examples::initialize_parameters(layers_dims,
                                         [scale](const Shape& s) { return randn(s) * scale; });
}

// W[l] = randn(n[l], n[l-1]) * sqrt(2 / n[l-1]), b[l] = 0.
Parameters initialize_parameters_he(const std::vector<std::int64_t>& layers_dims) {
  return examples::initialize_parameters(layers_dims,
                                         [](const Shape& s) { return init::he_normal(s); });
}

// [LINEAR -> RELU] x (L - 1) -> LINEAR: (2, m) -> z3 (1, m). The SIGMOID is inside the
// cost, binary_cross_entropy_with_logits, whose gradient is the course's dZ3 = A3 - Y even
// where a3 rounds to exactly 0 or 1: after W = randn * 10 most points do, and through a
// separate sigmoid their gradient would be 0 and the network would never move.
Tensor forward_propagation(const Tensor& X, const Parameters& parameters) {
  return examples::linear_relu_forward(X, parameters);
}

// a3 = sigmoid(z3) > 0.5, i.e. z3 > 0: the predicted class.
Tensor predict(const Tensor& X, const Parameters& parameters) {
  return forward_propagation(X, parameters) > 0.0;
}

// How many of the rows of W (units of its layer) differ from each other.
std::int64_t distinct_rows(const Tensor& W) {
  const std::vector<double> values = W.to_vector();
  const auto columns = static_cast<std::size_t>(W.size(1));
  std::set<std::vector<double>> rows;
  for (std::size_t i = 0; i < values.size(); i += columns)
    rows.emplace(values.begin() + static_cast<std::ptrdiff_t>(i),
                 values.begin() + static_cast<std::ptrdiff_t>(i + columns));
  return static_cast<std::int64_t>(rows.size());
}

// The largest |W[i][k] - W[j][k]| over two units i, j: the spread of each column.
double max_row_difference(const Tensor& W) {
  NoGradGuard no_grad;
  return (W.max(0) - W.min(0)).max().item();
}

struct Trained {
  Parameters parameters;
  std::vector<double> iterations, costs;  // the cost every 100 iterations, for the plot
};

// The course's model(): gradient descent on the cross-entropy cost, as its
// update_parameters (W = W - learning_rate * dW) by optim::SGD.
Trained model(const Tensor& X, const Tensor& Y, const Parameters& parameters, int num_iterations,
              double learning_rate, progress::Bar& bar, std::int64_t& done) {
  Trained trained{parameters, {}, {}};
  optim::SGD optimizer(parameters.all(), learning_rate);
  for (int i = 0; i < num_iterations; ++i) {
    optimizer.zero_grad();
    Tensor z3 = forward_propagation(X, parameters);
    Tensor cost = binary_cross_entropy_with_logits(z3, Y);
    cost.backward();
    optimizer.step();
    if (i % 100 == 0 || i + 1 == num_iterations) {
      examples::check_cost(cost.item(), "iteration", i);
      trained.iterations.push_back(i);
      trained.costs.push_back(cost.item());
    }
    if (i % 1000 == 0) examples::log("  Cost after iteration {}: {:.6f}\n", i, cost.item());
    bar.update(++done, cost.item());
  }
  return trained;
}

int main(int argc, char** argv) {
  CLI::App app{"Zeros, large random and He initialization of a [2, 10, 5, 1] ReLU network"};
  std::vector<std::int64_t> layers_dims = {2, 10, 5, 1};
  int num_iterations = 15000;
  double learning_rate = 0.01;
  std::int64_t m = 300, m_test = 100;
  double noise = 0.05, factor = 0.8;  // sklearn's make_circles, as the course calls it
  double large_scale = 10;
  examples::RunOptions run;
  app.add_option("--iterations", num_iterations, "gradient descent steps for each initialization")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--m", m, "points in the training set")
      ->check(examples::whole_number<std::int64_t>(2, 1000000))
      ->capture_default_str();
  app.add_option("--m-test", m_test, "points in the test set")
      ->check(examples::whole_number<std::int64_t>(2, 1000000))
      ->capture_default_str();
  app.add_option("--noise", noise, "standard deviation of the noise added to the points")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--factor", factor, "radius of the inner circle over the outer one's")
      ->check(examples::finite_number(0.01, 1))
      ->capture_default_str();
  app.add_option("--large-scale", large_scale, "the large initialization's W = randn * this")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: two circles, and a second draw of them to test on ---------------------------
    const auto [train_X, train_Y] = data::make_circles(m, noise, factor);
    const auto [test_X, test_Y] = data::make_circles(m_test, noise, factor);
    fmt::print("train_X: (2, {}), test_X: (2, {}); circles of radius 1 and {}, noise {}\n",
               train_X.size(1), test_X.size(1), factor, noise);
    fmt::print("layers_dims = {}, {} iterations, learning rate {}\n", layers_dims, num_iterations,
               learning_rate);

    // ---- one model per initialization ---------------------------------------------------
    struct Initialization {
      std::string key, title;
      Parameters parameters;
    };
    std::vector<Initialization> initializations;
    initializations.push_back({"zeros", "zeros", initialize_parameters_zeros(layers_dims)});
    initializations.push_back({"large", fmt::format("randn * {}", large_scale),
                               initialize_parameters_random(layers_dims, large_scale)});
    initializations.push_back({"he", "He", initialize_parameters_he(layers_dims)});

    progress::Bar bar(static_cast<std::int64_t>(initializations.size()) * num_iterations,
                      "initialization");
    std::int64_t done = 0;
    std::vector<plot::BoundaryPanel> panels;
    std::vector<plot::Series> cost_series;
    std::vector<std::pair<std::string, std::string>> lines;  // the final key: value lines
    for (const Initialization& initialization : initializations) {
      examples::log("{} initialization:\n", initialization.title);
      const Trained trained = model(train_X, train_Y, initialization.parameters, num_iterations,
                                    learning_rate, bar, done);
      const Parameters& parameters = trained.parameters;
      const double train_accuracy =
          examples::binary_accuracy(predict(train_X, parameters), train_Y);
      const double test_accuracy = examples::binary_accuracy(predict(test_X, parameters), test_Y);
      const std::int64_t units = distinct_rows(parameters.W[0]);
      const double difference = max_row_difference(parameters.W[0]);
      examples::log(
          "  train accuracy {:.4f}, test accuracy {:.4f}; W1: {} distinct units of {} (largest "
          "difference between two: {:.4g})\n",
          train_accuracy, test_accuracy, units, parameters.W[0].size(0), difference);

      panels.push_back(
          {fmt::format("{} (test accuracy {:.1f} %)", initialization.title, 100 * test_accuracy),
           [parameters](const Tensor& grid) { return predict(grid, parameters); }});
      // log10: the large initialization starts hundreds of times above the others.
      std::vector<double> log_costs;
      for (double cost : trained.costs) log_costs.push_back(std::log10(cost));
      cost_series.push_back({initialization.title, log_costs, trained.iterations});
      const std::string& key = initialization.key;
      lines.emplace_back(key + "_train_accuracy", fmt::format("{:.4f}", train_accuracy));
      lines.emplace_back(key + "_test_accuracy", fmt::format("{:.4f}", test_accuracy));
      lines.emplace_back(key + "_distinct_hidden_units", fmt::format("{}", units));
      if (key == "zeros")
        lines.emplace_back("zeros_max_unit_difference", fmt::format("{:.4g}", difference));
    }
    bar.finish();

    // ---- pictures: the three decision boundaries, the three cost curves --------------------
    const auto boundaries = run.out / "initialization_boundaries.svg";
    plot::decision_boundaries(boundaries, panels, train_X, train_Y,
                              {.title = "Decision boundaries after each initialization",
                               .x_label = "x1",
                               .y_label = "x2",
                               .width = 420,
                               .height = 380,
                               .class_names = {"y = 0 (outer)", "y = 1 (inner)"}});
    const auto costs = run.out / "initialization_cost.svg";
    plot::line_plot(
        costs, cost_series,
        {.title = fmt::format("Cost by initialization, learning rate = {}", learning_rate),
         .x_label = "iterations",
         .y_label = "log10(cost)"});

    examples::result("boundaries", boundaries.string());
    examples::result("cost_curves", costs.string());
    for (const auto& [key, value] : lines) examples::result(key, value);
    examples::result("seconds", watch.seconds(), 2);
  });
}
