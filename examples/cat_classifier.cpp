// The course's cat pictures (course 1): week 2's "Logistic Regression with a Neural
// Network mindset" and week 4's "Deep Neural Network - Application", one after the other
// on the same files, train_catvnoncat.h5 and test_catvnoncat.h5: 209 training and 50 test
// images of 64 x 64 x 3 bytes, y = 1 for "cat", y = 0 for "non-cat".
//
//   build/examples/cat_classifier      # datasets/train_catvnoncat.h5, datasets/test_...
//   build/examples/cat_classifier --train course/train_catvnoncat.h5 --test
//   course/test_catvnoncat.h5
//
// The two files are the course's (the datasets/ folder of its notebooks); Debian does not
// ship them. examples/tests/make_cat_files.py writes a synthetic pair in their layout.
//
// Both models as the course writes them: logistic regression from w = 0, b = 0 with
// learning rate 0.005 for 2000 iterations; then the L-layer network layers_dims =
// [12288, 20, 7, 5, 1], [LINEAR -> RELU] x 3 -> LINEAR -> SIGMOID, from the weights of the
// assignment's initialize_parameters_deep (randn(n[l], n[l-1]) / sqrt(n[l-1]), b = 0)
// with learning rate 0.0075 for 2500 iterations. Full-batch gradient descent, the
// cross-entropy cost printed every 100 iterations, backward() in place of the course's
// hand-written gradients. At the end, the test images the deep network gets wrong, in
// colour, as the course's print_mislabeled_images shows them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"
#include "common/course_net.hpp"

using namespace tapegrad;
namespace fs = std::filesystem;

// The cost every 100 iterations (for the plot) and the last iteration's.
struct Costs {
  std::vector<double> every_100;
  double final = std::nan("");
};

// A trained model: X (n_x, m) -> A (1, m), the probability of "cat"; and its costs.
struct Model {
  std::function<Tensor(const Tensor&)> forward;
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

// ---- the data: the course's load_dataset(), flattened and standardized ------------------

// The course's file, or one error line that says where the files come from.
void check_course_file(const fs::path& file, std::string_view flag) {
  std::error_code ec;
  if (fs::exists(file, ec)) return;
  throw IoError(fmt::format(
      "{} {}: no such file. train_catvnoncat.h5 and test_catvnoncat.h5 are the course's "
      "datasets/ files (the folder of its notebooks), not shipped with Debian: pass them with "
      "--train PATH --test PATH",
      flag, file.string()));
}

// "209 examples (137 of y = 0, 72 of y = 1), 64 x 64 x 3 images".
std::string describe(const data::Hdf5ImageSet& set) {
  return fmt::format("{}, {} x {} x {} images", examples::describe(set), set.height, set.width,
                     set.channels);
}

// ---- week 2: logistic regression -----------------------------------------------------------

// A = sigmoid(w^T X + b).
Tensor logistic_forward(const Tensor& w, const Tensor& b, const Tensor& X) {
  return sigmoid(matmul(transpose(w), X) + b);
}

// The course's model(): w = 0 (n_x, 1), b = 0, then gradient descent.
Model logistic_regression(const Tensor& X, const Tensor& Y, int num_iterations,
                          double learning_rate) {
  Tensor w = zeros({X.size(0), 1}).requires_grad_();
  Tensor b = zeros({1, 1}).requires_grad_();
  Costs costs;
  progress::Bar bar(num_iterations, "logistic regression");
  for (int i = 0; i < num_iterations; ++i) {
    // Forward: A = sigmoid(w^T X + b), J = -mean(Y log A + (1 - Y) log(1 - A)).
    Tensor cost = binary_cross_entropy(logistic_forward(w, b, X), Y);
    cost.backward();  // w.grad() = dJ/dw = X (A - Y)^T / m, b.grad() = mean(A - Y)
    {
      NoGradGuard no_grad;
      w -= learning_rate * w.grad();
      b -= learning_rate * b.grad();
    }
    w.zero_grad();
    b.zero_grad();
    record_cost(costs, i, cost);
    bar.update(i + 1, costs.final);
  }
  bar.finish();
  examples::check_cost(costs.final, "iteration", num_iterations - 1);
  return {[w, b](const Tensor& X) { return logistic_forward(w, b, X); }, costs};
}

// ---- week 4: the L-layer deep network --------------------------------------------------------

using examples::Parameters;

// The application's initialize_parameters_deep: randn(n[l], n[l-1]) / sqrt(n[l-1]), b = 0.
// (The step-by-step notebook of week 4 scales by 0.01; deep_net.cpp's He weights by
// sqrt(2 / n[l-1]).)
Parameters initialize_parameters_deep(const std::vector<std::int64_t>& layers_dims) {
  return examples::initialize_parameters(layers_dims, [](const Shape& shape) {
    return randn(shape) / std::sqrt(static_cast<double>(shape[1]));
  });
}

// [LINEAR -> RELU] x (L - 1) -> LINEAR -> SIGMOID.
Tensor L_model_forward(const Tensor& X, const Parameters& parameters) {
  return sigmoid(examples::linear_relu_forward(X, parameters));
}

Model L_layer_model(const Tensor& X, const Tensor& Y, const std::vector<std::int64_t>& layers_dims,
                    int num_iterations, double learning_rate) {
  Parameters parameters = initialize_parameters_deep(layers_dims);
  Costs costs;
  progress::Bar bar(num_iterations, "deep network");
  for (int i = 0; i < num_iterations; ++i) {
    Tensor AL = L_model_forward(X, parameters);              // forward propagation
    Tensor cost = binary_cross_entropy(AL, Y);               // compute cost
    cost.backward();                                         // backward propagation
    examples::update_parameters(parameters, learning_rate);  // update parameters
    record_cost(costs, i, cost);
    bar.update(i + 1, costs.final);
  }
  bar.finish();
  examples::check_cost(costs.final, "iteration", num_iterations - 1);
  return {[parameters](const Tensor& X) { return L_model_forward(X, parameters); }, costs};
}

// ---- the images a model gets wrong -----------------------------------------------------------

// The columns i where the prediction (A > 0.5) is not the label.
std::vector<std::int64_t> mislabelled(const Tensor& A, const std::vector<int>& labels) {
  const std::vector<double> a = A.to_vector();
  std::vector<std::int64_t> wrong;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if ((a[i] > 0.5) != (labels[i] == 1)) wrong.push_back(static_cast<std::int64_t>(i));
  return wrong;
}

// The images `index` of a set as plot::image_grid draws them in colour: (k, h, w, c),
// the course's and h5py's layout, from the columns of X (h w c, k) transposed; with
// neither 1 nor 3 channels, each pixel's grey as the mean of its channels, (k, h, w).
Tensor pictures(const data::Hdf5ImageSet& set, const std::vector<std::int64_t>& index) {
  const Tensor columns = data::gather_columns(set.X, index);  // (h w c, k)
  const Tensor images = columns.t().reshape({columns.size(1), set.height, set.width, set.channels});
  return set.channels == 1 || set.channels == 3 ? images : images.mean(3);
}

// "cat" for label 1 of the course's file (or "y = 1" when it names no classes).
std::string class_name(const data::Hdf5ImageSet& set, int label) {
  if (label >= 0 && static_cast<std::size_t>(label) < set.classes.size())
    return set.classes[static_cast<std::size_t>(label)];
  return fmt::format("y = {}", label);
}

int main(int argc, char** argv) {
  CLI::App app{"The course's cat pictures: logistic regression, then the L-layer deep network"};
  app.footer(
      "The two files are the course's (the datasets/ folder of its week 2 and week 4\n"
      "notebooks); Debian does not ship them. The tests run this program on a generated\n"
      "pair of the same layout: python3 examples/tests/make_cat_files.py DIR writes\n"
      "DIR/train_catvnoncat.h5 and DIR/test_catvnoncat.h5 (needs python3-h5py).");
  fs::path train_file = "datasets/train_catvnoncat.h5";
  fs::path test_file = "datasets/test_catvnoncat.h5";
  int num_iterations = 2000;
  double learning_rate = 0.005;
  int deep_iterations = 2500;
  double deep_learning_rate = 0.0075;
  std::vector<std::int64_t> layers_dims = {12288, 20, 7, 5, 1};
  examples::RunOptions run;
  run.out = "out/cat_classifier";
  app.add_option("--train", train_file, "the course's train_catvnoncat.h5")->capture_default_str();
  app.add_option("--test", test_file, "the course's test_catvnoncat.h5")->capture_default_str();
  app.add_option("--iterations", num_iterations, "logistic regression: gradient descent steps")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "logistic regression: learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--deep-iterations", deep_iterations, "deep network: gradient descent steps")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--deep-lr", deep_learning_rate, "deep network: learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  examples::add_sizes_option(app, "--layers", layers_dims,
                             "deep network: layers_dims, n_x (12288), hidden sizes..., 1");
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    check_course_file(train_file, "--train");
    check_course_file(test_file, "--test");
    examples::check_paths(run);
    manual_seed(run.seed);  // the deep network's weights (the course: np.random.seed(1))
    progress::Stopwatch watch;

    // ---- data: X (n_x, m) = the images flattened, one per column, / 255; Y (1, m) -------
    const data::Hdf5ImageSet train = data::load_hdf5_image_set(train_file);
    const data::Hdf5ImageSet test =
        data::load_hdf5_image_set(test_file, data::Hdf5ImageNames::course("test"));
    const std::int64_t n_x = train.X.size(0);
    if (test.X.size(0) != n_x)
      throw IoError(fmt::format("{}: its images are {} x {} x {}, the training images {} x {} x {}",
                                test_file.string(), test.height, test.width, test.channels,
                                train.height, train.width, train.channels));
    if (layers_dims.size() < 2 || layers_dims.front() != n_x || layers_dims.back() != 1)
      throw examples::UsageError(fmt::format(
          "--layers must start with n_x = {} and end with 1, got {}", n_x, layers_dims));
    fmt::print("train: {}\ntest:  {}\nn_x = {}, classes {}\n", describe(train), describe(test), n_x,
               train.classes);

    // ---- week 2: logistic regression ------------------------------------------------------
    fmt::print("\nlogistic regression, learning rate {}\n", learning_rate);
    const Model logreg = logistic_regression(train.X, train.Y, num_iterations, learning_rate);
    const double logreg_train_accuracy =
        examples::binary_accuracy(logreg.forward(train.X), train.Y);
    const double logreg_test_accuracy = examples::binary_accuracy(logreg.forward(test.X), test.Y);
    fmt::print("train accuracy: {:.4f}\ntest accuracy: {:.4f}\n", logreg_train_accuracy,
               logreg_test_accuracy);

    // ---- week 4: the deep network ---------------------------------------------------------
    fmt::print("\n{}-layer network {}, learning rate {}\n", layers_dims.size() - 1, layers_dims,
               deep_learning_rate);
    const Model deep =
        L_layer_model(train.X, train.Y, layers_dims, deep_iterations, deep_learning_rate);
    const double deep_train_accuracy = examples::binary_accuracy(deep.forward(train.X), train.Y);
    const Tensor test_A = deep.forward(test.X);
    const double deep_test_accuracy = examples::binary_accuracy(test_A, test.Y);
    fmt::print("train accuracy: {:.4f}\ntest accuracy: {:.4f}\n", deep_train_accuracy,
               deep_test_accuracy);

    // ---- the pictures ---------------------------------------------------------------------
    const auto logreg_file = run.out / "cat_classifier_logreg_cost.svg";
    plot::cost_curve(logreg_file, logreg.costs.every_100,
                     fmt::format("Logistic regression, learning rate = {}", learning_rate));
    const auto deep_file = run.out / "cat_classifier_deep_cost.svg";
    plot::cost_curve(deep_file, deep.costs.every_100,
                     fmt::format("{}-layer network {}, learning rate = {}", layers_dims.size() - 1,
                                 layers_dims, deep_learning_rate));
    const std::vector<std::int64_t> wrong = mislabelled(test_A, test.labels);
    const auto wrong_file = run.out / "cat_classifier_mislabelled.svg";
    if (!wrong.empty()) {
      std::vector<std::string> captions;
      for (std::int64_t i : wrong) {
        const int label = test.labels[static_cast<std::size_t>(i)];
        captions.push_back(fmt::format("#{}: predicted {}, is {}", i, class_name(test, 1 - label),
                                       class_name(test, label)));
      }
      const int columns = static_cast<int>(std::min<std::size_t>(5, wrong.size()));
      plot::image_grid(wrong_file, pictures(test, wrong), captions, columns, test.height,
                       {.title = "test images the deep network gets wrong",
                        .width = std::max(360, 190 * columns)});  // room for the captions
    }

    examples::result("logreg_cost_curve", logreg_file.string());
    examples::result("logreg_final_cost", logreg.costs.final, 6);  // the last iteration's
    examples::result("logreg_train_accuracy", logreg_train_accuracy);
    examples::result("logreg_test_accuracy", logreg_test_accuracy);
    examples::result("deep_cost_curve", deep_file.string());
    examples::result("deep_final_cost", deep.costs.final, 6);
    examples::result("deep_train_accuracy", deep_train_accuracy);
    examples::result("deep_test_accuracy", deep_test_accuracy);
    examples::result("mislabelled", static_cast<double>(wrong.size()), 0);
    if (!wrong.empty()) examples::result("mislabelled_images", wrong_file.string());
    examples::result("seconds", watch.seconds(), 2);
  });
}
