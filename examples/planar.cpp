// The course's planar data classification (week 3): a "flower" of petals of two classes
// in the plane, which logistic regression cannot separate, learnt by a network with one
// tanh hidden layer. As in the course, the hidden layer is tried at several sizes
// (1, 2, 3, 4, 5, 20, 50), with the decision boundary of each drawn and its accuracy
// printed. Gradient descent, learning rate 1.2, W = randn * 0.01, b = 0.
//
//   build/examples/planar                       # out/planar_n_h_<size>.svg
//   build/examples/planar --hidden-sizes 4 --iterations 10000
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

struct Planar {
  Tensor X;  // (2, m)
  Tensor Y;  // (1, m)
};

// The course's load_planar_dataset: m points, N = m / 2 per class, petals a = 4;
// t = linspace(j 3.12, (j + 1) 3.12, N) + randn 0.2, r = a sin(4 t) + randn 0.2,
// x = (r sin t, r cos t), y = j.
Planar load_planar_dataset(std::int64_t m, Generator& gen) {
  const std::int64_t N = m / 2;
  const double a = 4;  // maximum ray of the flower
  std::vector<double> X(static_cast<std::size_t>(4 * N)), Y(static_cast<std::size_t>(2 * N));
  for (int j = 0; j < 2; ++j) {
    std::vector<double> t(N), r(N);
    for (std::int64_t i = 0; i < N; ++i)  // theta
      t[i] = j * 3.12 + 3.12 * static_cast<double>(i) / static_cast<double>(N - 1) +
             gen.normal() * 0.2;
    for (std::int64_t i = 0; i < N; ++i)  // radius
      r[i] = a * std::sin(4 * t[i]) + gen.normal() * 0.2;
    for (std::int64_t i = 0; i < N; ++i) {
      const auto ix = static_cast<std::size_t>(N * j + i);
      X[ix] = r[i] * std::sin(t[i]);
      X[static_cast<std::size_t>(2 * N) + ix] = r[i] * std::cos(t[i]);
      Y[ix] = j;
    }
  }
  return {tensor(X, {2, 2 * N}), tensor(Y, {1, 2 * N})};
}

struct Parameters {
  Tensor W1, b1, W2, b2;
};

// W1 (n_h, n_x), W2 (n_y, n_h): randn * 0.01; b1, b2: zeros.
Parameters initialize_parameters(std::int64_t n_x, std::int64_t n_h, std::int64_t n_y) {
  return {init::small_random({n_h, n_x}).requires_grad_(), zeros({n_h, 1}).requires_grad_(),
          init::small_random({n_y, n_h}).requires_grad_(), zeros({n_y, 1}).requires_grad_()};
}

// A2 = sigmoid(W2 tanh(W1 X + b1) + b2): (1, m).
Tensor forward_propagation(const Tensor& X, const Parameters& p) {
  Tensor A1 = tanh(matmul(p.W1, X) + p.b1);
  return sigmoid(matmul(p.W2, A1) + p.b2);
}

// theta = theta - learning_rate * dtheta, for each parameter.
void update_parameters(Parameters& p, double learning_rate) {
  NoGradGuard no_grad;
  for (Tensor* theta : {&p.W1, &p.b1, &p.W2, &p.b2}) {
    *theta -= learning_rate * theta->grad();
    theta->zero_grad();
  }
}

// The course's nn_model: gradient descent on the cross-entropy cost.
Parameters nn_model(const Tensor& X, const Tensor& Y, std::int64_t n_h, int num_iterations,
                    double learning_rate, std::vector<double>& costs, progress::Bar& bar,
                    std::int64_t& done) {
  Parameters parameters = initialize_parameters(X.size(0), n_h, Y.size(0));
  for (int i = 0; i < num_iterations; ++i) {
    Tensor A2 = forward_propagation(X, parameters);
    Tensor cost = binary_cross_entropy(A2, Y);
    cost.backward();
    update_parameters(parameters, learning_rate);
    if (i % 100 == 0) {
      examples::check_cost(cost.item(), "iteration", i);
      costs.push_back(cost.item());
    }
    bar.update(++done, cost.item());
  }
  return parameters;
}

int main(int argc, char** argv) {
  CLI::App app{"The course's planar 'flower' data set, one tanh hidden layer of several sizes"};
  int num_iterations = 5000;
  double learning_rate = 1.2;
  std::int64_t m = 400;
  std::vector<std::int64_t> hidden_sizes = {1, 2, 3, 4, 5, 20, 50};
  std::int64_t main_n_h = 4;
  examples::RunOptions run;
  app.add_option("--iterations", num_iterations, "gradient descent steps for each size")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--m", m, "points in the training set (and in the test set)")
      ->check(examples::whole_number<std::int64_t>(4, 1000000))
      ->capture_default_str();
  examples::add_sizes_option(app, "--hidden-sizes", hidden_sizes, "hidden layer sizes to try");
  app.add_option("--n-h", main_n_h,
                 "the size whose accuracy the final train_accuracy / test_accuracy lines give")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    manual_seed(run.seed);
    if (std::find(hidden_sizes.begin(), hidden_sizes.end(), main_n_h) == hidden_sizes.end())
      hidden_sizes.push_back(main_n_h);
    progress::Stopwatch watch;

    // ---- data: the flower, and a second draw of it to test on -------------------------------
    const auto [X, Y] = load_planar_dataset(m, default_generator());
    const auto [X_test, Y_test] = load_planar_dataset(m, default_generator());
    fmt::print("X: (2, {}), Y: (1, {}); test set: another {} points of the same flower\n",
               X.size(1), Y.size(1), X_test.size(1));

    // ---- one model per hidden size ---------------------------------------------------------
    progress::Bar bar(static_cast<std::int64_t>(hidden_sizes.size()) * num_iterations, "planar");
    std::int64_t done = 0;
    double train_accuracy = 0, test_accuracy = 0;
    std::vector<std::string> lines;
    for (const std::int64_t n_h : hidden_sizes) {
      std::vector<double> costs;
      const Parameters parameters =
          nn_model(X, Y, n_h, num_iterations, learning_rate, costs, bar, done);
      const double accuracy = examples::binary_accuracy(forward_propagation(X, parameters), Y);
      const double accuracy_test =
          examples::binary_accuracy(forward_propagation(X_test, parameters), Y_test);
      examples::log("Accuracy for {:2d} hidden units: {:.2f} % (test {:.2f} %)\n", n_h,
                    100 * accuracy, 100 * accuracy_test);

      const auto file = run.out / fmt::format("planar_n_h_{}.svg", n_h);
      plot::decision_boundary(
          file, [&](const Tensor& grid) { return forward_propagation(grid, parameters) > 0.5; }, X,
          Y,
          {.title = fmt::format("Decision boundary for hidden layer size {} (accuracy {:.1f} %)",
                                n_h, 100 * accuracy),
           .x_label = "x1",
           .y_label = "x2",
           .class_names = {"y = 0", "y = 1"}});
      lines.push_back(fmt::format("accuracy_n_h_{}", n_h));
      lines.push_back(fmt::format("{:.4f}", accuracy));
      if (n_h == main_n_h) {
        train_accuracy = accuracy;
        test_accuracy = accuracy_test;
        if (!costs.empty())
          plot::cost_curve(
              run.out / "planar_cost.svg", costs,
              fmt::format("Planar data, {} hidden units, learning rate = {}", n_h, learning_rate));
      }
    }
    bar.finish();

    for (std::size_t k = 0; k + 1 < lines.size(); k += 2) examples::result(lines[k], lines[k + 1]);
    examples::result("boundaries", (run.out / "planar_n_h_<size>.svg").string());
    examples::result("n_h", fmt::format("{}", main_n_h));
    examples::result("train_accuracy", train_accuracy);
    examples::result("test_accuracy", test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
