// The course's L-layer deep network (week 4, "Deep Neural Network - Application"):
// layers_dims = [n_x, 20, 7, 5, 1], [LINEAR -> RELU] x 3 -> LINEAR -> SIGMOID,
// cross-entropy cost, full-batch gradient descent, learning rate 0.0075, 2500 iterations.
// Here on T-shirt/top (class 0, y = 0) vs shirt (class 6, y = 1), a pair that a single
// sigmoid unit separates less well; the week-2 logistic regression is trained on the same
// pair for comparison.
//
// The same model is written twice, pick one with --style:
//   graph   plain graph code: W[l], b[l] as tensors, the forward pass as the course's
//           L_model_forward, the update as its update_parameters;
//   layers  the model helpers: nn::MLP and optim::SGD.
// Both start from the same He weights (W[l] = randn(n[l], n[l-1]) * sqrt(2 / n[l-1]),
// b[l] = 0), so they train the same network.
//
//   build/examples/deep_net                       # graph style, classes 0,6
//   build/examples/deep_net --style layers --layers 784,64,16,1
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

struct Settings {
  std::vector<std::int64_t> layers_dims;
  int num_iterations;
  double learning_rate;
};

// The cost every 100 iterations (for the plot) and the last iteration's.
struct Costs {
  std::vector<double> every_100;
  double final = std::nan("");
};

// What training leaves behind: the model as a prediction function, its parameters by
// name (for --save and --load), and its costs.
struct Trained {
  std::function<Tensor(const Tensor&)> forward;  // X (n_x, m) -> AL (1, m)
  NamedTensors parameters;
  Costs costs;
};

// Prints the cost every 100 iterations, as the course does, and keeps it for the plot;
// stops the run if it is no longer a number.
void record_cost(Costs& costs, int i, const Tensor& cost) {
  costs.final = cost.item();
  if (i % 100 != 0) return;
  examples::check_cost(costs.final, "iteration", i);
  costs.every_100.push_back(costs.final);
  examples::log("Cost after iteration {}: {:.6f}\n", i, costs.final);
}

// ---- style "graph": the course's functions, with backward() instead of the caches ------

struct Parameters {
  std::vector<Tensor> W;  // W[l - 1] is the course's W[l]: (n[l], n[l-1])
  std::vector<Tensor> b;  // b[l - 1] is the course's b[l]: (n[l], 1)
};

Parameters initialize_parameters_deep(const std::vector<std::int64_t>& layers_dims) {
  Parameters parameters;
  for (std::size_t l = 1; l < layers_dims.size(); ++l) {
    // He initialization: randn(n[l], n[l-1]) * sqrt(2 / n[l-1]).
    parameters.W.push_back(init::he_normal({layers_dims[l], layers_dims[l - 1]}).requires_grad_());
    parameters.b.push_back(zeros({layers_dims[l], 1}).requires_grad_());
  }
  return parameters;
}

// [LINEAR -> RELU] x (L - 1) -> LINEAR -> SIGMOID.
Tensor L_model_forward(const Tensor& X, const Parameters& parameters) {
  const std::size_t L = parameters.W.size();
  Tensor A = X;
  for (std::size_t l = 0; l + 1 < L; ++l) A = relu(matmul(parameters.W[l], A) + parameters.b[l]);
  return sigmoid(matmul(parameters.W[L - 1], A) + parameters.b[L - 1]);
}

// W[l] = W[l] - learning_rate * dW[l], b[l] = b[l] - learning_rate * db[l].
void update_parameters(Parameters& parameters, double learning_rate) {
  NoGradGuard no_grad;
  for (std::size_t l = 0; l < parameters.W.size(); ++l) {
    parameters.W[l] -= learning_rate * parameters.W[l].grad();
    parameters.b[l] -= learning_rate * parameters.b[l].grad();
    parameters.W[l].zero_grad();
    parameters.b[l].zero_grad();
  }
}

// The names nn::MLP (like PyTorch's Sequential) gives the same network, so that either
// style loads the other's file: an activation sits between two layers, so the course's
// W[l] and b[l] are step 2(l - 1)'s "weight" and "bias".
NamedTensors named(const Parameters& parameters) {
  NamedTensors out;
  for (std::size_t l = 0; l < parameters.W.size(); ++l) {
    out.emplace_back(fmt::format("{}.weight", 2 * l), parameters.W[l]);
    out.emplace_back(fmt::format("{}.bias", 2 * l), parameters.b[l]);
  }
  return out;
}

Trained L_layer_model(const Tensor& X, const Tensor& Y, const Settings& s, bool train) {
  Parameters parameters = initialize_parameters_deep(s.layers_dims);
  Costs costs;
  if (train) {
    progress::Bar bar(s.num_iterations, "deep net (graph)");
    for (int i = 0; i < s.num_iterations; ++i) {
      Tensor AL = L_model_forward(X, parameters);      // forward propagation
      Tensor cost = binary_cross_entropy(AL, Y);       // compute cost
      cost.backward();                                 // backward propagation
      update_parameters(parameters, s.learning_rate);  // update parameters
      record_cost(costs, i, cost);
      bar.update(i + 1, cost.item());
    }
    examples::check_cost(costs.final, "iteration", s.num_iterations - 1);
  }
  return {[parameters](const Tensor& X) { return L_model_forward(X, parameters); },
          named(parameters), costs};
}

// ---- style "layers": the same network from nn::MLP, updated by optim::SGD ---------------

Trained L_layer_model_with_layers(const Tensor& X, const Tensor& Y, const Settings& s, bool train) {
  // ReLU on the hidden layers, sigmoid on the output; He weights on every layer.
  std::vector<nn::AnyModule> activations(s.layers_dims.size() - 2, nn::ReLU());
  activations.emplace_back(nn::Sigmoid());
  nn::MLP model(s.layers_dims, activations, {.weight_init = init::Init::he_normal});
  optim::SGD optimizer(model.parameters(), s.learning_rate);

  Costs costs;
  if (train) {
    progress::Bar bar(s.num_iterations, "deep net (layers)");
    for (int i = 0; i < s.num_iterations; ++i) {
      optimizer.zero_grad();
      Tensor cost = binary_cross_entropy(model(X), Y);
      cost.backward();
      optimizer.step();
      record_cost(costs, i, cost);
      bar.update(i + 1, cost.item());
    }
    examples::check_cost(costs.final, "iteration", s.num_iterations - 1);
  }
  return {[model](const Tensor& X) mutable { return model(X); }, model.named_parameters(), costs};
}

// ---- the week-2 model on the same pair, for comparison -----------------------------------
// (examples/logistic_regression.cpp walks through it.) Returns its test accuracy.
double logistic_regression_test_accuracy(const examples::Pair& pair, int num_iterations,
                                         double learning_rate) {
  const std::int64_t n_x = pair.train.X.size(0);
  Tensor w = zeros({n_x, 1}).requires_grad_();
  Tensor b = zeros({1, 1}).requires_grad_();
  progress::Bar bar(num_iterations, "logistic regression");
  for (int i = 0; i < num_iterations; ++i) {
    Tensor cost =
        binary_cross_entropy(sigmoid(matmul(transpose(w), pair.train.X) + b), pair.train.Y);
    if (i % 100 == 0) examples::check_cost(cost.item(), "logistic regression iteration", i);
    cost.backward();
    {
      NoGradGuard no_grad;
      w -= learning_rate * w.grad();
      b -= learning_rate * b.grad();
    }
    w.zero_grad();
    b.zero_grad();
    bar.update(i + 1, cost.item());
  }
  bar.finish();
  return examples::binary_accuracy(sigmoid(matmul(transpose(w), pair.test.X) + b), pair.test.Y);
}

int main(int argc, char** argv) {
  CLI::App app{"The course's L-layer deep network on two Fashion-MNIST classes"};
  Settings settings{{784, 20, 7, 5, 1}, 2500, 0.0075};
  std::string style = "graph";
  std::vector<int> classes = {0, 6};
  int logreg_iterations = 2000;
  double logreg_learning_rate = 0.005;
  examples::RunOptions run;
  examples::DataOptions data_options;
  examples::ParameterFiles files;
  app.add_option("--style", style, "graph: plain graph code; layers: nn::MLP and optim::SGD")
      ->check(CLI::IsMember({"graph", "layers"}))
      ->capture_default_str();
  examples::add_sizes_option(app, "--layers", settings.layers_dims,
                             "layers_dims: n_x, hidden sizes..., 1");
  app.add_option("--iterations", settings.num_iterations, "gradient descent steps")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", settings.learning_rate, "learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--logreg-iterations", logreg_iterations,
                 "iterations of the logistic regression trained for comparison (0: skip it)")
      ->check(examples::whole_number<int>(0))
      ->capture_default_str();
  app.add_option("--logreg-lr", logreg_learning_rate, "its learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_classes_option(app, classes);
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  examples::add_parameter_file_options(app, files);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_classes(classes);
    examples::check_paths(run, files);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data -------------------------------------------------------------------------
    const examples::Pair pair =
        examples::load_pair(data_options.dir, classes[0], classes[1], data_options.limit);
    const Tensor& X_train = pair.train.X;
    const Tensor& Y_train = pair.train.Y;
    if (settings.layers_dims.size() < 2 || settings.layers_dims.front() != X_train.size(0) ||
        settings.layers_dims.back() != 1)
      throw examples::UsageError(
          fmt::format("--layers must start with n_x = {} and end with 1, got {}", X_train.size(0),
                      settings.layers_dims));
    fmt::print("y = 0: {}, y = 1: {}\n", examples::class_label(classes[0]),
               examples::class_label(classes[1]));
    fmt::print("train: {}\ntest:  {}\n", examples::describe(pair.train),
               examples::describe(pair.test));
    fmt::print("layers_dims = {}, style = {}\n", settings.layers_dims, style);

    // ---- the deep network ----------------------------------------------------------------
    const bool train = files.load.empty();
    Trained model = style == "graph" ? L_layer_model(X_train, Y_train, settings, train)
                                     : L_layer_model_with_layers(X_train, Y_train, settings, train);
    if (!train) {
      load_parameters_into(files.load, model.parameters);
      fmt::print("loaded {} tensors from {} (no training)\n", model.parameters.size(),
                 files.load.string());
    }
    if (!files.save.empty()) {
      save_parameters(files.save, model.parameters);
      fmt::print("saved {} tensors to {}\n", model.parameters.size(), files.save.string());
    }
    const double train_accuracy = examples::binary_accuracy(model.forward(X_train), Y_train);
    const double test_accuracy = examples::binary_accuracy(model.forward(pair.test.X), pair.test.Y);

    // ---- the same pair with no hidden layer -----------------------------------------------
    double logreg_test_accuracy = std::nan("");
    if (logreg_iterations > 0)
      logreg_test_accuracy =
          logistic_regression_test_accuracy(pair, logreg_iterations, logreg_learning_rate);

    if (!model.costs.every_100.empty()) {
      const auto file = run.out / "deep_net_cost.svg";
      plot::cost_curve(
          file, model.costs.every_100,
          fmt::format("{}-layer network {}, learning rate = {}", settings.layers_dims.size() - 1,
                      settings.layers_dims, settings.learning_rate));
      examples::result("cost_curve", file.string());
      examples::result("final_cost", model.costs.final, 6);  // the last iteration's
    }
    examples::result("train_accuracy", train_accuracy);
    examples::result("test_accuracy", test_accuracy);
    if (logreg_iterations > 0) examples::result("logreg_test_accuracy", logreg_test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
