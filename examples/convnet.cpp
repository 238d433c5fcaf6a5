// A small convolutional network on all ten Fashion-MNIST classes, as the fourth course
// builds one (week 1, "Convolution model - Application") with what the second course
// added: batch norm after each convolution, dropout before the classifier.
//
// Shapes. The course writes a batch of images as (m, n_H, n_W, n_C); tapegrad, as
// PyTorch, writes (N, C, H, W), the same numbers with the channels second. A 3 x 3
// convolution with padding 1 keeps n_H and n_W ("same": floor((n_H + 2 - 3) / 1) + 1);
// each 2 x 2 max pool halves them. With the default --channels 32,64:
//
//   X        (N, 1, 28, 28)
//   CONV1    (N, 32, 28, 28)  32 filters of 3 x 3 x 1, pad 1, then BATCHNORM, RELU
//   POOL1    (N, 32, 14, 14)
//   CONV2    (N, 64, 14, 14)  64 filters of 3 x 3 x 32, then BATCHNORM, RELU
//   POOL2    (N, 64, 7, 7)
//   FLATTEN  (3136, N)        one column per image: the course's (n_x, m)
//   FC       (128, N), RELU, DROPOUT (p 0.3: the course's keep_prob 0.7)
//   FC       (10, N)          the logits
//
// The convolutions have no bias: the batch norm after each subtracts the mean over
// (N, H, W) and adds its own beta (the course's remark on b[l] under batch norm).
// BatchNorm2d normalizes each channel over the batch and the image's positions.
// Adam with the learning rate decayed along a cosine to 0; --augment trains on random
// crops (pad 2, crop back to 28 x 28) and left-right flips of the images instead.
//
//   build/examples/convnet                               # 6 epochs, Adam lr 0.002
//   build/examples/convnet --augment --epochs 12         # random crops and flips
//   build/examples/convnet --channels 16,32 --epochs 2   # smaller and quicker
//   mpirun -np 2 build/examples/convnet --distributed    # data-parallel over 2 processes
//
// With --distributed each rank trains on its shard of every epoch with the gradients
// averaged during backward (examples/common/distributed.hpp); batch norm's running
// statistics are averaged over the ranks after each epoch. Rank 0 prints and saves.
//
// Draws the cost (convnet_cost.svg) and the test accuracy by epoch
// (convnet_accuracy.svg); ends with train_accuracy, test_accuracy, parameters and
// seconds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/cli.hpp"
#include "common/distributed.hpp"
#include "common/images.hpp"

using namespace tapegrad;

// [CONV 3x3 -> BATCHNORM -> RELU -> MAXPOOL 2] per entry of `channels`, then FLATTEN ->
// FC -> RELU -> DROPOUT -> FC (logits). He initialization, for the relus.
nn::Sequential convnet(const std::vector<std::int64_t>& channels, std::int64_t n_hidden,
                       double dropout) {
  nn::Sequential model;
  std::int64_t c_prev = 1, n_H = 28;
  for (std::int64_t c : channels) {
    model.push_back(nn::Conv2d(
        c_prev, c, 3, {.padding = 1, .bias = false, .weight_init = init::Init::he_normal}));
    model.push_back(nn::BatchNorm2d(c));
    model.push_back(nn::ReLU());
    model.push_back(nn::MaxPool2d(2));
    c_prev = c;
    n_H /= 2;  // floor((n_H - 2) / 2) + 1
  }
  model.push_back(nn::Flatten());  // (c n_H n_H, N)
  model.push_back(nn::Linear(c_prev * n_H * n_H, n_hidden, init::Init::he_normal));
  model.push_back(nn::ReLU());
  model.push_back(nn::Dropout(dropout));
  model.push_back(nn::Linear(n_hidden, 10, init::Init::he_normal));
  return model;
}

int main(int argc, char** argv) {
  CLI::App app{"A small conv net with batch norm and dropout on Fashion-MNIST"};
  std::vector<std::int64_t> channels = {32, 64};
  std::int64_t n_hidden = 128;
  double dropout = 0.3;
  int num_epochs = 6;
  std::int64_t batch_size = 64;
  double learning_rate = 2e-3;
  bool augment = false;
  examples::RunOptions run;
  examples::DataOptions data_options;
  std::optional<std::int64_t> test_limit;
  examples::ParameterFiles files;
  examples::add_sizes_option(app, "--channels", channels,
                             "filters of each CONV -> BATCHNORM -> RELU -> POOL block (1 to 4)");
  app.add_option("--hidden", n_hidden, "units of the hidden fully connected layer")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--dropout", dropout,
                 "probability of dropping a unit (the course's 1 - keep_prob)")
      ->check(examples::finite_number(0, 1))
      ->capture_default_str();
  app.add_option("--epochs", num_epochs, "passes over the training set")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "images per mini-batch")
      ->check(examples::whole_number(2))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate,
                 "Adam's learning rate at the start (cosine decay to 0 over the run)")
      ->check(examples::finite_number(0))
      ->capture_default_str();
  app.add_flag("--augment", augment,
               "train on random crops (pad 2) and left-right flips of the images");
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  examples::add_test_limit_option(app, test_limit);
  examples::add_parameter_file_options(app, files);
  bool distributed = false;
  examples::add_distributed_option(app, distributed);
  return examples::run_example(argc, argv, app, [&] {
    if (channels.empty() || channels.size() > 4)
      throw examples::UsageError(
          fmt::format("--channels must give 1 to 4 blocks (28 x 28 halves 4 times to 1 x 1), "
                      "got {}",
                      channels.size()));
    examples::check_paths(run, files);
    examples::DataParallelRun ranks(distributed);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: bytes until a batch is made; a batch is X (N, 1, 28, 28), Y (N) ---------
    const examples::ImageSets sets = examples::load_image_sets(data_options, test_limit);
    const data::ImageBytes& train = sets.train;
    const data::ImageBytes& test = sets.test;
    const data::Augment augmentation =
        augment ? data::Augment{.crop_padding = 2, .horizontal_flip = true} : data::Augment{};
    fmt::print("train: {} images{}, test: {} images, each {} x {} x {} (C x H x W)\n", train.count,
               augment ? " (random crops and flips)" : "", test.count, train.channels, train.height,
               train.width);

    // ---- model ------------------------------------------------------------------------
    nn::Sequential model = convnet(channels, n_hidden, dropout);
    ranks.wrap(model);  // --distributed: rank 0's initial weights everywhere
    fmt::print("the shape after each step for one image:\n");
    examples::print_shapes(model, data::image_batch(test, std::vector<std::int64_t>{0}).first);
    std::int64_t parameters = 0;
    for (const Tensor& p : model.parameters()) parameters += p.numel();
    optim::Adam optimizer(model.parameters(), learning_rate);
    fmt::print("Adam (lr {}, cosine decay to 0), batch {}, {} epochs\n", learning_rate, batch_size,
               num_epochs);

    // ---- training: forward, cost, backward, update, one mini-batch at a time -----------
    if (!files.load.empty()) {
      load_parameters_into(files.load, model);
      fmt::print("loaded {} (no training)\n", files.load.string());
      num_epochs = 0;
    }
    const std::int64_t num_batches =
        examples::batch_count(ranks.shard_size(train.count), batch_size);
    const optim::CosineDecay schedule{.lr0 = learning_rate,
                                      .T = std::max<std::int64_t>(1, num_epochs * num_batches)};
    std::vector<double> costs;  // mean cost of every 100 mini-batches (and of the last few)
    plot::Series test_curve{.name = "test accuracy"};
    double window_cost = 0;
    int window_batches = 0;
    std::int64_t step = 0;
    for (int epoch = 1; epoch <= num_epochs; ++epoch) {
      progress::Stopwatch epoch_watch;
      // Each rank's own draws for the augmentation; rank 0's (and a single process's) are
      // the order's.
      Generator shuffle(run.seed + static_cast<std::uint64_t>(epoch) +
                        1000003u * static_cast<std::uint64_t>(ranks.rank()));
      const std::vector<std::int64_t> order =
          distributed ? ranks.shard_indices(train.count, run.seed, epoch)
                      : randperm(train.count, shuffle);
      progress::Bar bar(num_batches, fmt::format("epoch {}/{}", epoch, num_epochs),
                        ranks.progress_out());
      double epoch_cost = 0;
      for (std::int64_t b = 0; b < num_batches; ++b) {
        const auto index = examples::batch_indices(order, b, batch_size);
        if (index.size() < 2) continue;  // batch norm needs two images for a variance
        const auto [X, Y] = data::image_batch(train, index, augmentation, &shuffle);
        optim::apply_schedule(schedule, optimizer, step++);
        optimizer.zero_grad();
        Tensor cost = softmax_cross_entropy(model(X), Y, /*axis=*/0);  // logits (10, N)
        cost.backward();
        ranks.finish();  // --distributed: every rank now holds the mean gradient
        optimizer.step();

        const double c = cost.item();
        epoch_cost += c * static_cast<double>(X.size(0));
        window_cost += c;
        if (++window_batches == 100) {
          costs.push_back(window_cost / window_batches);
          window_cost = 0;
          window_batches = 0;
        }
        bar.update(b + 1, c);
      }
      bar.finish();
      const double train_cost =
          ranks.sum(epoch_cost) /
          static_cast<double>(static_cast<std::int64_t>(order.size()) * ranks.size());
      examples::check_cost(train_cost, "epoch", epoch);
      ranks.average_buffers(model);
      test_curve.x.push_back(epoch);
      test_curve.y.push_back(examples::evaluate(model, test).accuracy);
      examples::log("epoch {}/{}: cost {:.4f}  test_accuracy {:.4f}  ({:.1f} s)\n", epoch,
                    num_epochs, train_cost, test_curve.y.back(), epoch_watch.seconds());
    }
    if (window_batches > 0) costs.push_back(window_cost / window_batches);
    if (!files.save.empty() && ranks.root()) {
      save_parameters(files.save, model);  // with batch norm's running statistics
      fmt::print("saved {}\n", files.save.string());
    }

    // ---- evaluation: batch norm by its running statistics, no dropout -------------------
    const double train_accuracy = examples::evaluate(model, train).accuracy;
    const double test_accuracy = examples::evaluate(model, test).accuracy;

    const std::string title = fmt::format("conv net {}{}, Adam (lr {}, cosine), batch {}", channels,
                                          augment ? ", augmented" : "", learning_rate, batch_size);
    if (!costs.empty() && ranks.root()) {
      const auto file = run.out / "convnet_cost.svg";
      plot::cost_curve(file, costs, title, "mini-batches (per hundreds)");
      examples::result("cost_curve", file.string());
    }
    if (!test_curve.y.empty() && ranks.root()) {
      const auto file = run.out / "convnet_accuracy.svg";
      plot::line_plot(file, {test_curve},
                      {.title = title, .x_label = "epochs", .y_label = "test accuracy"});
      examples::result("accuracy_curve", file.string());
    }
    examples::result("parameters", static_cast<double>(parameters), 0);
    examples::result("train_accuracy", train_accuracy);
    examples::result("test_accuracy", test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
