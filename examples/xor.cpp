// Why depth matters: XOR. y = 1 when exactly one of x1, x2 is 1. No straight line
// separates those points, so a model with no hidden layer (logistic regression) cannot
// fit them however long it trains; one small tanh hidden layer fits them exactly.
//
// The data are the four corners of the truth table, each repeated --copies times with a
// little Gaussian jitter (--noise), so that the decision boundary pictures show clouds.
//
//   build/examples/xor                     # out/xor_linear.svg, out/xor_hidden.svg
//   build/examples/xor --hidden 2 --noise 0 --copies 1
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

// Full-batch gradient descent on the cross-entropy of the model's sigmoid output.
void train(nn::Module& model, const Tensor& X, const Tensor& Y, int num_iterations,
           double learning_rate) {
  optim::SGD optimizer(model.parameters(), learning_rate);
  for (int i = 0; i < num_iterations; ++i) {
    optimizer.zero_grad();
    Tensor cost = binary_cross_entropy(model(X), Y);
    if (i % 100 == 0) examples::check_cost(cost.item(), "iteration", i);
    cost.backward();
    optimizer.step();
  }
}

int main(int argc, char** argv) {
  CLI::App app{"XOR: no hidden layer cannot fit it, one small hidden layer can"};
  int num_iterations = 5000;
  double learning_rate = 1.0;
  std::int64_t n_h = 4;
  std::int64_t copies = 50;
  double noise = 0.1;
  examples::RunOptions run;
  app.add_option("--iterations", num_iterations, "gradient descent steps for each model")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--hidden", n_h, "units of the hidden layer")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--copies", copies, "points around each corner")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--noise", noise, "standard deviation of the jitter")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: the truth table, X (2, 4) and Y (1, 4), then jittered copies (2, 4 copies) --
    const Tensor corners = tensor({0, 0, 1, 1,   // x1
                                   0, 1, 0, 1},  // x2
                                  {2, 4});
    const Tensor labels = tensor({0, 1, 1, 0}, {1, 4});  // x1 XOR x2
    std::vector<std::int64_t> repeat;
    for (std::int64_t c = 0; c < copies; ++c)
      for (std::int64_t k = 0; k < 4; ++k) repeat.push_back(k);
    const Tensor X = index_select(corners, 1, repeat) + noise * randn({2, 4 * copies});
    const Tensor Y = index_select(labels, 1, repeat);

    // ---- two models: sigmoid(W x + b), and tanh hidden layer -> sigmoid ------------------
    nn::Sequential linear{nn::Linear(2, 1, init::Init::xavier_normal), nn::Sigmoid()};
    nn::MLP hidden({2, n_h, 1}, {nn::Tanh(), nn::Sigmoid()});
    train(linear, X, Y, num_iterations, learning_rate);
    train(hidden, X, Y, num_iterations, learning_rate);

    // ---- what each predicts on the truth table -------------------------------------------
    Tensor linear_A, hidden_A;
    {
      NoGradGuard no_grad;
      linear_A = linear(corners);
      hidden_A = hidden(corners);
    }
    fmt::print(" x1 x2 | y | no hidden layer | {} hidden units\n", n_h);
    for (std::int64_t k = 0; k < 4; ++k)
      fmt::print("  {:.0f}  {:.0f} | {:.0f} |   {:.3f} -> {:d}    |   {:.3f} -> {:d}\n",
                 corners.at({0, k}), corners.at({1, k}), labels.at({0, k}), linear_A.at({0, k}),
                 linear_A.at({0, k}) > 0.5, hidden_A.at({0, k}), hidden_A.at({0, k}) > 0.5);

    // ---- decision boundaries --------------------------------------------------------------
    auto boundary = [&](nn::Module& model, const std::string& name, const std::string& title) {
      const plot::Options o{
          .title = title, .x_label = "x1", .y_label = "x2", .class_names = {"y = 0", "y = 1"}};
      const auto file = run.out / fmt::format("xor_{}.svg", name);
      plot::decision_boundary(
          file, [&](const Tensor& grid) { return model(grid) > 0.5; }, X, Y, o);
      return file.string();
    };
    examples::result("linear_boundary",
                     boundary(linear, "linear", "XOR, no hidden layer: sigmoid(W x + b)"));
    examples::result(
        "hidden_boundary",
        boundary(hidden, "hidden", fmt::format("XOR, one tanh hidden layer of {}", n_h)));
    examples::result("linear_accuracy", examples::binary_accuracy(linear(X), Y), 2);
    examples::result("hidden_accuracy", examples::binary_accuracy(hidden(X), Y), 2);
    examples::result("seconds", watch.seconds(), 2);
  });
}
