// Logistic regression: the course's first model (week 2), one sigmoid unit on the raw
// pixels, w = 0 and b = 0, full-batch gradient descent. Here it tells sneakers
// (class 7, y = 0) from ankle boots (class 9, y = 1) in Fashion-MNIST.
//
//   build/examples/logistic_regression                       # 2000 iterations, lr 0.005
//   build/examples/logistic_regression --classes 0,6 --save out/logreg.tg
//   build/examples/logistic_regression --classes 0,6 --load out/logreg.tg
//
// The course writes the gradients by hand (dw = X (A - Y)^T / m, db = mean(A - Y));
// here backward() computes them from the forward pass.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

// A = sigmoid(w^T X + b): the probability that each column of X is class y = 1.
Tensor forward(const Tensor& w, const Tensor& b, const Tensor& X) {
  return sigmoid(matmul(transpose(w), X) + b);
}

int main(int argc, char** argv) {
  CLI::App app{"Logistic regression on two Fashion-MNIST classes (the course's week 2 model)"};
  int num_iterations = 2000;
  double learning_rate = 0.005;
  std::vector<int> classes = {7, 9};
  examples::RunOptions run;
  examples::DataOptions data_options;
  examples::ParameterFiles files;
  app.add_option("--iterations", num_iterations, "gradient descent steps")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_classes_option(app, classes);
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  examples::add_parameter_file_options(app, files);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_classes(classes);
    examples::check_paths(run, files);
    manual_seed(run.seed);  // nothing here is random (w = 0), but every example takes --seed
    progress::Stopwatch watch;

    // ---- data: X (n_x, m) with one image per column, Y (1, m) -------------------------
    const auto [train, test] =
        examples::load_pair(data_options.dir, classes[0], classes[1], data_options.limit);
    const Tensor& X_train = train.X;
    const Tensor& Y_train = train.Y;
    const std::int64_t n_x = X_train.size(0);
    fmt::print("y = 0: {}, y = 1: {}\n", examples::class_label(classes[0]),
               examples::class_label(classes[1]));
    fmt::print("train: {}\ntest:  {}\nn_x = {}\n", examples::describe(train),
               examples::describe(test), n_x);

    // ---- parameters: w = 0 (n_x, 1), b = 0 ---------------------------------------------
    Tensor w = zeros({n_x, 1}).requires_grad_();
    Tensor b = zeros({1, 1}).requires_grad_();

    std::vector<double> costs;  // every 100 iterations, for the plot
    double final_cost = std::nan("");
    progress::Stopwatch train_watch;
    if (!files.load.empty()) {
      load_parameters_into(files.load, {{"w", w}, {"b", b}});
      fmt::print("loaded w and b from {} (no training)\n", files.load.string());
    } else {
      // ---- gradient descent ------------------------------------------------------------
      progress::Bar bar(num_iterations, "gradient descent");
      for (int i = 0; i < num_iterations; ++i) {
        // Forward propagation: A = sigmoid(w^T X + b), J = -mean(Y log A + (1 - Y) log(1 - A)).
        Tensor A = forward(w, b, X_train);
        Tensor cost = binary_cross_entropy(A, Y_train);

        // Backward propagation: fills w.grad() = dJ/dw and b.grad() = dJ/db.
        cost.backward();

        // Update: w = w - learning_rate * dw, b = b - learning_rate * db.
        {
          NoGradGuard no_grad;
          w -= learning_rate * w.grad();
          b -= learning_rate * b.grad();
        }
        w.zero_grad();
        b.zero_grad();

        final_cost = cost.item();
        if (i % 100 == 0) {
          examples::check_cost(final_cost, "iteration", i);
          costs.push_back(final_cost);
          examples::log("Cost after iteration {}: {:.6f}\n", i, final_cost);
        }
        bar.update(i + 1, final_cost);
      }
      bar.finish();
      examples::check_cost(final_cost, "iteration", num_iterations - 1);
    }
    const double train_seconds = train_watch.seconds();
    if (!files.save.empty()) {
      save_parameters(files.save, {{"w", w}, {"b", b}});
      fmt::print("saved w and b to {}\n", files.save.string());
    }

    // ---- prediction: y = 1 where A > 0.5 -----------------------------------------------
    const double train_accuracy = examples::binary_accuracy(forward(w, b, X_train), Y_train);
    const double test_accuracy = examples::binary_accuracy(forward(w, b, test.X), test.Y);

    if (!costs.empty()) {
      const auto file = run.out / "logistic_regression_cost.svg";
      plot::cost_curve(file, costs,
                       fmt::format("Logistic regression, {} vs {}, learning rate = {}",
                                   examples::class_label(classes[0]),
                                   examples::class_label(classes[1]), learning_rate));
      examples::result("cost_curve", file.string());
      examples::result("final_cost", final_cost, 6);  // the last iteration's
    }
    examples::result("train_accuracy", train_accuracy);
    examples::result("test_accuracy", test_accuracy);
    examples::result("train_seconds", train_seconds, 2);  // the gradient descent loop only
    examples::result("seconds", watch.seconds(), 2);
  });
}
