// Structuring a machine-learning project (the third course): what to do next is read from
// three errors, not guessed.
//
//   Bayes error (proxy)  the best error possible; the course takes human-level error as its
//                        proxy. On Fashion-MNIST the best published models err on about 4%
//                        of the test images, so --bayes-error is 0.04 (a crowd of people
//                        who are no fashion experts errs on 16.5%, by the dataset's
//                        benchmark: a model can beat them, not the Bayes error).
//   train error          avoidable bias = train error - Bayes error
//   dev error            variance       = dev error - train error
//
// The larger of the two says where to work: avoidable bias -> a bigger network, training
// longer, a better optimizer; variance -> more data, regularization (L2, dropout). The
// dev set is carved at random from the training images, so it comes from the test set's
// distribution; the test set is used once, at the end. Error analysis then looks at the
// dev set's mistakes: the confusion matrix, and the images of the pairs of classes most
// often confused, to see which confusions are worth fixing.
//
// An MLP (784-256-128-10, ReLU, softmax) trained by Adam on mini-batches.
//
//   build/examples/error_analysis                    # 15 epochs, 50000 train, 10000 dev
//   build/examples/error_analysis --limit 5000       # little data: the variance grows
//   build/examples/error_analysis --layers 784,32,10 --epochs 5   # a small net: bias
//
// Prints train and dev error per epoch (error_analysis_learning_curves.svg), the dev set's
// per-class accuracy (error_analysis_confusion.svg), its three most confused pairs
// (some of their images in error_analysis_confused.svg, captioned "true -> predicted"),
// the diagnosis, and the final lines train_error, dev_error, test_accuracy,
// avoidable_bias, variance, diagnosis (bias or variance), most_confused, seconds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <tuple>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

using namespace tapegrad;

constexpr int kClasses = 10;

// The class the model gives each column of X: argmax of the logits.
std::vector<int> predict(nn::MLP& model, const Tensor& X) {
  NoGradGuard no_grad;
  std::vector<int> classes;
  for (double c : argmax(model(X), 0).to_vector()) classes.push_back(static_cast<int>(c));
  return classes;
}

// The fraction of labels the predictions miss.
double error(const std::vector<int>& predicted, const std::vector<int>& labels) {
  std::int64_t wrong = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) wrong += predicted[i] != labels[i];
  return static_cast<double>(wrong) / static_cast<double>(labels.size());
}

// counts[t][p]: examples of true class t predicted as p.
using Confusion = std::vector<std::vector<std::int64_t>>;

Confusion confusion(const std::vector<int>& predicted, const std::vector<int>& labels) {
  Confusion counts(kClasses, std::vector<std::int64_t>(kClasses, 0));
  for (std::size_t i = 0; i < labels.size(); ++i)
    ++counts[static_cast<std::size_t>(labels[i])][static_cast<std::size_t>(predicted[i])];
  return counts;
}

// A mistake the model makes often: `count` examples of `truth` predicted as `predicted`.
struct Confused {
  int truth, predicted;
  std::int64_t count;
};

// The off-diagonal cells of the confusion matrix, largest first.
std::vector<Confused> most_confused(const Confusion& counts, std::size_t k) {
  std::vector<Confused> cells;
  for (int t = 0; t < kClasses; ++t)
    for (int p = 0; p < kClasses; ++p)
      if (t != p && counts[t][p] > 0) cells.push_back({t, p, counts[t][p]});
  std::stable_sort(cells.begin(), cells.end(),
                   [](const Confused& a, const Confused& b) { return a.count > b.count; });
  cells.resize(std::min(k, cells.size()));
  return cells;
}

std::string class_name(int c) {
  return std::string(data::kFashionMnistClasses.at(static_cast<std::size_t>(c)));
}

int main(int argc, char** argv) {
  CLI::App app{"Bias, variance and error analysis of an MLP on Fashion-MNIST"};
  std::vector<std::int64_t> layers_dims = {784, 256, 128, 10};
  int num_epochs = 15;
  std::int64_t batch_size = 128;
  double learning_rate = 1e-3;
  double bayes_error = 0.04;
  int images_per_pair = 8;
  std::optional<std::int64_t> dev_size;
  examples::RunOptions run;
  examples::DataOptions data_options;
  examples::add_sizes_option(app, "--layers", layers_dims, "layers_dims: 784, hidden sizes..., 10");
  app.add_option("--epochs", num_epochs, "passes over the training set")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "examples per mini-batch")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate, "Adam's learning rate")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_option("--bayes-error", bayes_error,
                 "the Bayes error's proxy (the course's human-level error)")
      ->check(examples::finite_number(0, 1))
      ->capture_default_str();
  app.add_option("--dev", dev_size,
                 "training images set aside as the dev set (default: a sixth of those read)")
      ->check(examples::whole_number(1));
  app.add_option("--images-per-pair", images_per_pair,
                 "images drawn of each of the three most confused pairs")
      ->check(examples::whole_number<int>(1, 64))
      ->capture_default_str();
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  return examples::run_example(argc, argv, app, [&] {
    if (layers_dims.size() < 2 || layers_dims.front() != 784 || layers_dims.back() != kClasses)
      throw examples::UsageError(
          fmt::format("--layers must start with the 784 pixels and end with the {} classes, got {}",
                      kClasses, layers_dims));
    examples::check_paths(run);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: train / dev from the training images, test kept for the end -------------
    const examples::TrainDevTest split =
        examples::load_train_dev_test(data_options, dev_size, run.seed);
    const data::Dataset& test = split.test;
    const data::Dataset& train = split.train;
    const data::Dataset& dev = split.dev;
    fmt::print("train: {} examples, dev: {} examples, test: {} examples\n", train.m(), dev.m(),
               test.m());

    // ---- model and training, with train and dev error after every epoch ------------------
    nn::MLP model(layers_dims, nn::ReLU());
    optim::Adam optimizer(model.parameters(), learning_rate);
    fmt::print("layers_dims = {}, Adam (lr {}), batch {}, {} epochs\n", layers_dims, learning_rate,
               batch_size, num_epochs);
    plot::Series train_curve{.name = "train error"}, dev_curve{.name = "dev error"};
    for (int epoch = 1; epoch <= num_epochs; ++epoch) {
      const data::MiniBatches batches(train.X, train.Y, batch_size, run.seed + epoch);
      progress::Bar bar(batches.size(), fmt::format("epoch {}/{}", epoch, num_epochs));
      std::int64_t i = 0;
      double epoch_cost = 0;
      for (const data::Batch& batch : batches) {
        optimizer.zero_grad();
        Tensor cost = softmax_cross_entropy(model(batch.X), batch.Y, /*axis=*/0);
        cost.backward();
        optimizer.step();
        epoch_cost += cost.item() * static_cast<double>(batch.X.size(1));
        bar.update(++i, cost.item());
      }
      bar.finish();
      examples::check_cost(epoch_cost, "epoch", epoch);
      train_curve.x.push_back(epoch);
      train_curve.y.push_back(error(predict(model, train.X), train.labels));
      dev_curve.x.push_back(epoch);
      dev_curve.y.push_back(error(predict(model, dev.X), dev.labels));
      examples::log("epoch {:2d}/{}: cost {:.4f}  train error {:.4f}  dev error {:.4f}\n", epoch,
                    num_epochs, epoch_cost / static_cast<double>(train.m()), train_curve.y.back(),
                    dev_curve.y.back());
    }
    const auto curves_file = run.out / "error_analysis_learning_curves.svg";
    const plot::Series bayes_line{.name = fmt::format("Bayes error proxy ({})", bayes_error),
                                  .y = std::vector<double>(train_curve.x.size(), bayes_error),
                                  .x = train_curve.x};
    plot::line_plot(curves_file, {train_curve, dev_curve, bayes_line},
                    {.title = fmt::format("MLP {}: learning curves", layers_dims),
                     .x_label = "epochs",
                     .y_label = "error (fraction misclassified)"});

    // ---- bias and variance -----------------------------------------------------------------
    const double train_error = train_curve.y.back();
    const double dev_error = dev_curve.y.back();
    const double avoidable_bias = train_error - bayes_error;
    const double variance = dev_error - train_error;
    const bool bias_first = avoidable_bias > variance;
    fmt::print("\nBayes error (proxy) {:.4f}, train error {:.4f}, dev error {:.4f}\n", bayes_error,
               train_error, dev_error);
    fmt::print("avoidable bias {:.4f} (train - Bayes), variance {:.4f} (dev - train)\n",
               avoidable_bias, variance);
    fmt::print("{}\n", bias_first ? "the avoidable bias is larger: try a bigger network, training "
                                    "longer or a better optimizer"
                                  : "the variance is larger: try more data or regularization "
                                    "(L2, dropout), then a bigger network again");

    // ---- error analysis on the dev set -------------------------------------------------------
    const std::vector<int> dev_predicted = predict(model, dev.X);
    const Confusion counts = confusion(dev_predicted, dev.labels);
    std::vector<std::string> names;
    names.reserve(kClasses);
    for (int c = 0; c < kClasses; ++c) names.push_back(class_name(c));
    const auto confusion_file = run.out / "error_analysis_confusion.svg";
    plot::confusion_matrix(confusion_file, counts, names,
                           {.title = fmt::format("dev set, {} examples: rows the true class, "
                                                 "columns the predicted one",
                                                 dev.m())});
    fmt::print("\ndev accuracy by class:\n");
    for (int c = 0; c < kClasses; ++c) {
      std::int64_t total = 0;
      for (std::int64_t n : counts[c]) total += n;
      fmt::print("  {:<16} {:.4f}  ({} of {})\n", examples::class_label(c),
                 total > 0 ? static_cast<double>(counts[c][c]) / static_cast<double>(total) : 0.0,
                 counts[c][c], total);
    }

    const std::vector<Confused> pairs = most_confused(counts, 3);
    std::vector<std::int64_t> shown;
    std::vector<std::string> captions;
    fmt::print("\nmost confused on the dev set (true -> predicted):\n");
    for (const Confused& pair : pairs) {
      fmt::print("  {} -> {}: {} images\n", examples::class_label(pair.truth),
                 examples::class_label(pair.predicted), pair.count);
      int taken = 0;
      for (std::size_t i = 0; i < dev.labels.size() && taken < images_per_pair; ++i)
        if (dev.labels[i] == pair.truth && dev_predicted[i] == pair.predicted) {
          shown.push_back(static_cast<std::int64_t>(i));
          captions.push_back(
              fmt::format("{} -> {}", class_name(pair.truth), class_name(pair.predicted)));
          ++taken;
        }
    }
    const auto images_file = run.out / "error_analysis_confused.svg";
    if (!shown.empty())
      plot::image_grid(
          images_file, transpose(data::gather_columns(dev.X, shown)), captions, images_per_pair,
          /*height=*/28,
          {.title = "dev images of the most confused pairs: true -> predicted",
           .width = std::max(720, 140 * images_per_pair)});  // room for "T-shirt/top -> Shirt"

    // ---- the test set, once ----------------------------------------------------------------
    const double test_accuracy = 1 - error(predict(model, test.X), test.labels);

    examples::result("learning_curves", curves_file.string());
    examples::result("confusion_matrix", confusion_file.string());
    if (!shown.empty()) examples::result("confused_images", images_file.string());
    examples::result("train_error", train_error);
    examples::result("dev_error", dev_error);
    examples::result("test_accuracy", test_accuracy);
    examples::result("avoidable_bias", avoidable_bias);
    examples::result("variance", variance);
    examples::result("diagnosis", bias_first ? "bias" : "variance");
    examples::result("most_confused",
                     pairs.empty() ? std::string("none")
                                   : fmt::format("{} -> {}", examples::class_label(pairs[0].truth),
                                                 examples::class_label(pairs[0].predicted)));
    examples::result("seconds", watch.seconds(), 2);
  });
}
