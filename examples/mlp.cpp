// A multilayer perceptron over all ten Fashion-MNIST classes: 784-256-128-10, ReLU
// hidden layers, softmax cross-entropy on the logits, mini-batches, Adam (or gradient
// descent with momentum: the course's second course, weeks 1-2). `make demo` runs it.
//
//   build/examples/mlp                                   # Adam, lr 1e-3, batch 128, 10 epochs
//   build/examples/mlp --optimizer momentum --lr 0.05
//   build/examples/mlp --epochs 1 --limit 5000           # a quick check
//   mpirun -np 2 build/examples/mlp --distributed        # data-parallel over 2 processes
//
// With --distributed every rank trains on its shard of each epoch and the gradients are
// averaged during backward: the same model as one process training on mini-batches of
// N x --batch-size (examples/common/distributed.hpp). Rank 0 prints and saves.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"
#include "common/distributed.hpp"

using namespace tapegrad;

int main(int argc, char** argv) {
  CLI::App app{"A 784-256-128-10 network on all ten Fashion-MNIST classes"};
  std::vector<std::int64_t> layers_dims = {784, 256, 128, 10};
  int num_epochs = 10;
  std::int64_t batch_size = 128;
  std::string optimizer_name = "adam";
  std::optional<double> learning_rate;
  double beta = 0.9;
  examples::RunOptions run;
  examples::DataOptions data_options;
  examples::ParameterFiles files;
  bool distributed = false;
  examples::add_sizes_option(app, "--layers", layers_dims, "layers_dims: 784, hidden sizes..., 10");
  app.add_option("--epochs", num_epochs, "passes over the training set")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "examples per mini-batch")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--optimizer", optimizer_name, "adam, momentum (SGD with momentum) or sgd")
      ->check(CLI::IsMember({"adam", "momentum", "sgd"}))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate,
                 "learning rate (default: 0.001 for adam, 0.05 for momentum, 0.1 for sgd)")
      ->check(examples::finite_number(0));
  app.add_option("--beta", beta, "momentum (the course's beta) for --optimizer momentum")
      ->check(examples::finite_number(0, 1))
      ->capture_default_str();
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  examples::add_parameter_file_options(app, files);
  examples::add_distributed_option(app, distributed);
  return examples::run_example(argc, argv, app, [&] {
    const auto n_classes = static_cast<std::int64_t>(data::kFashionMnistClasses.size());
    if (layers_dims.size() < 2 || layers_dims.back() != n_classes)
      throw examples::UsageError(
          fmt::format("--layers must end with the {} classes, got {}", n_classes, layers_dims));
    examples::check_paths(run, files);
    examples::DataParallelRun ranks(distributed);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: X (784, m), Y (1, m) holding the class 0..9 of each column --------------
    const data::Dataset train =
        data::load_fashion_mnist(data_options.dir, "train", data_options.limit);
    const data::Dataset test = data::load_fashion_mnist(data_options.dir, "t10k");
    if (layers_dims.front() != train.X.size(0))
      throw examples::UsageError(fmt::format("--layers must start with the {} pixels, got {}",
                                             train.X.size(0), layers_dims));
    fmt::print("train: {} examples, test: {} examples, {} classes\n", train.m(), test.m(),
               n_classes);
    if (distributed)
      fmt::print("data-parallel: {} ranks, {} examples per rank per mini-batch\n", ranks.size(),
                 batch_size);

    // ---- model: [LINEAR -> RELU] x 2 -> LINEAR (logits); softmax is inside the loss -----
    nn::MLP model(layers_dims, nn::ReLU());
    ranks.wrap(model);  // --distributed: rank 0's initial weights everywhere
    std::unique_ptr<optim::Optimizer> optimizer;
    if (optimizer_name == "adam")
      optimizer = std::make_unique<optim::Adam>(model.parameters(), learning_rate.value_or(1e-3));
    else if (optimizer_name == "momentum")
      optimizer = std::make_unique<optim::SGD>(
          model.parameters(),
          optim::SGDOptions{.lr = learning_rate.value_or(0.05), .momentum = beta});
    else
      optimizer = std::make_unique<optim::SGD>(model.parameters(), learning_rate.value_or(0.1));
    fmt::print("layers_dims = {}, {} (lr {}), batch {}, {} epochs\n", layers_dims,
               optimizer->name(), optimizer->lr(), batch_size, num_epochs);

    // ---- training: one update per mini-batch -------------------------------------------
    std::vector<double> costs;  // mean loss of every 100 mini-batches (and of the last few)
    if (!files.load.empty()) {
      load_parameters_into(files.load, model.named_parameters());
      fmt::print("loaded {} (no training)\n", files.load.string());
      num_epochs = 0;
    }
    double window_loss = 0;
    int window_batches = 0;
    for (int epoch = 0; epoch < num_epochs; ++epoch) {
      progress::Stopwatch epoch_watch;
      const data::Dataset shard = ranks.shard(train, run.seed, epoch);
      const data::MiniBatches batches(shard.X, shard.Y, batch_size, run.seed + epoch);
      progress::Bar bar(batches.size(), fmt::format("epoch {}/{}", epoch + 1, num_epochs),
                        ranks.progress_out());
      double epoch_loss = 0;
      std::int64_t i = 0;
      for (const data::Batch& batch : batches) {
        optimizer->zero_grad();
        Tensor logits = model(batch.X);  // (10, batch)
        Tensor cost = softmax_cross_entropy(logits, batch.Y, /*axis=*/0);
        cost.backward();
        ranks.finish();  // --distributed: every rank now holds the mean gradient
        optimizer->step();

        const double c = cost.item();
        epoch_loss += c * static_cast<double>(batch.X.size(1));
        window_loss += c;
        if (++window_batches == 100) {
          costs.push_back(window_loss / window_batches);
          window_loss = 0;
          window_batches = 0;
        }
        bar.update(++i, c);
      }
      bar.finish();
      const double train_loss =
          ranks.sum(epoch_loss) / (static_cast<double>(shard.m()) * ranks.size());
      examples::check_cost(train_loss, "epoch", epoch + 1);
      const double test_accuracy = examples::accuracy(model(test.X), test.Y);
      examples::log("epoch {:2d}/{}: train_loss {:.4f}  test_accuracy {:.4f}  ({:.1f} s)\n",
                    epoch + 1, num_epochs, train_loss, test_accuracy, epoch_watch.seconds());
    }
    if (window_batches > 0)
      costs.push_back(window_loss / window_batches);  // the last, partial window
    if (!files.save.empty() && ranks.root()) {
      save_parameters(files.save, model.named_parameters());
      fmt::print("saved {}\n", files.save.string());
    }

    // ---- evaluation ----------------------------------------------------------------------
    const double train_accuracy = examples::accuracy(model(train.X), train.Y);
    const double test_accuracy = examples::accuracy(model(test.X), test.Y);
    if (!costs.empty() && ranks.root()) {
      const auto file = run.out / "mlp_cost.svg";
      plot::cost_curve(file, costs,
                       fmt::format("MLP {}, {} (lr {}), batch {}", layers_dims, optimizer->name(),
                                   optimizer->lr(), batch_size),
                       "mini-batches (per hundreds)");
      examples::result("cost_curve", file.string());
    }
    examples::result("train_accuracy", train_accuracy);
    examples::result("test_accuracy", test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
