// A small residual network on all ten Fashion-MNIST classes (the fourth course, week 2,
// "Residual Networks"), trained beside the same network without its skip connections,
// to show the course's point: a deep "plain" network is harder to train, and the
// shortcut a[l+2] = g(z[l+2] + a[l]) makes the identity easy for a block to learn, so
// that depth stops hurting.
//
// Shapes. The course writes a batch of images as (m, n_H, n_W, n_C); tapegrad, as
// PyTorch, writes (N, C, H, W), the same numbers with the channels second. With the
// defaults (--widths 16,32,64, --blocks 2):
//
//   X        (N, 1, 28, 28)
//   STEM     (N, 16, 14, 14)  CONV 3x3 pad 1 -> BATCHNORM -> RELU -> MAXPOOL 2 (ResNet's
//                             stem halves the image too, with a stride and a max pool)
//   STAGE 1  (N, 16, 14, 14)  2 residual blocks of 16 channels
//   STAGE 2  (N, 32, 7, 7)    2 blocks, the first with stride 2: n_H = floor((n_H - 1) / 2) + 1
//   STAGE 3  (N, 64, 4, 4)    2 blocks, the first with stride 2
//   POOL     (N, 64, 1, 1)    global average pooling: the mean of each channel
//   FLATTEN  (64, N)          one column per image: the course's (n_x, m)
//   FC       (10, N)          the logits
//
// A residual block (nn::ResidualBlock, torchvision's BasicBlock) is
//   CONV 3x3 (stride) -> BATCHNORM -> RELU -> CONV 3x3 -> BATCHNORM -> (+ shortcut) -> RELU
// where the shortcut is the block's input itself (the course's identity block), or a 1x1
// convolution with the stride and a batch norm when the shape changes (its convolutional
// block). The plain network has the same layers, shortcut = false: nothing is added.
// 2 + 3 stages x 2 blocks x 2 = 14 layers with weights. Both train alike, on the same
// mini-batches: SGD with Nesterov momentum 0.9 from lr 0.1, decayed along a cosine to 0,
// weight decay 5e-4 (ResNet's recipe), on randomly flipped images (left-right: a
// mirrored shirt is a shirt). Adam fits the training set as fast but generalizes worse
// here: 92.3 % against 92.7 % at 6 epochs.
//
//   build/examples/resnet                          # both nets, 6 epochs each
//   build/examples/resnet --no-plain               # the residual net only
//   build/examples/resnet --blocks 3 --augment     # 20 layers, random crops and flips
//
// Draws both cost curves on one picture (resnet_cost.svg); ends with
// resnet_test_accuracy, resnet_final_cost (the mean mini-batch cost of the last epoch),
// resnet_seconds, the same for plain, and seconds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/cli.hpp"
#include "common/images.hpp"

using namespace tapegrad;

struct Settings {
  std::vector<std::int64_t> widths;  // channels of each stage
  int blocks;                        // residual blocks per stage
  int num_epochs;
  std::int64_t batch_size;
  double learning_rate;
  double weight_decay;    // momentum: L2 in the gradient; adamw: decoupled
  std::string optimizer;  // "momentum" or "adamw"
  data::Augment augment;
};

// STEM -> stages of residual blocks -> global average pool -> FLATTEN -> FC. The first
// block of every stage after the first halves n_H and n_W (stride 2) and widens.
nn::Sequential resnet(const Settings& s, bool shortcut, Generator& gen) {
  nn::Sequential model;
  model.push_back(nn::Conv2d(1, s.widths.front(), 3,
                             {.padding = 1, .bias = false, .weight_init = init::Init::he_normal},
                             gen));
  model.push_back(nn::BatchNorm2d(s.widths.front()));
  model.push_back(nn::ReLU());
  model.push_back(nn::MaxPool2d(2));  // (N, C, 14, 14), as ResNet's stem halves twice
  std::int64_t c_prev = s.widths.front();
  for (std::size_t stage = 0; stage < s.widths.size(); ++stage)
    for (int b = 0; b < s.blocks; ++b) {
      const std::int64_t stride = stage > 0 && b == 0 ? 2 : 1;
      model.push_back(nn::ResidualBlock(c_prev, s.widths[stage], stride, shortcut, float32, gen));
      c_prev = s.widths[stage];
    }
  model.push_back(nn::AdaptiveAvgPool2d(1));  // (N, C, 1, 1)
  model.push_back(nn::Flatten());             // (C, N)
  model.push_back(nn::Linear(c_prev, 10, init::Init::pytorch_default, float32, gen));
  return model;
}

// One training run and what it leaves behind.
struct Run {
  std::string name;
  plot::Series curve;  // mean mini-batch cost of every `window` batches, x in epochs
  double final_cost = std::numeric_limits<double>::quiet_NaN();  // mean of the last epoch
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;
};

Run train(const std::string& name, bool shortcut, const Settings& s,
          const data::ImageBytes& train_set, const data::ImageBytes& test, std::uint64_t seed) {
  progress::Stopwatch watch;
  Run run{.name = name, .curve = {.name = name}};
  Generator gen(seed);
  nn::Sequential model = resnet(s, shortcut, gen);
  std::unique_ptr<optim::Optimizer> optimizer;
  if (s.optimizer == "adamw")
    optimizer = std::make_unique<optim::AdamW>(
        model.parameters(),
        optim::AdamWOptions{.lr = s.learning_rate, .weight_decay = s.weight_decay});
  else
    optimizer = std::make_unique<optim::SGD>(model.parameters(),
                                             optim::SGDOptions{.lr = s.learning_rate,
                                                               .momentum = 0.9,
                                                               .nesterov = true,
                                                               .weight_decay = s.weight_decay});
  std::int64_t parameters = 0;
  for (const Tensor& p : model.parameters()) parameters += p.numel();
  fmt::print("{}: {} layers with weights, {} parameters\n", name,
             2 + 2 * s.blocks * static_cast<int>(s.widths.size()), parameters);

  const std::int64_t num_batches = examples::batch_count(train_set.count, s.batch_size);
  const optim::CosineDecay schedule{.lr0 = s.learning_rate,
                                    .T = std::max<std::int64_t>(1, s.num_epochs * num_batches)};
  const std::int64_t window = std::max<std::int64_t>(1, num_batches / 10);
  double window_cost = 0;
  std::int64_t window_batches = 0, step = 0;
  for (int epoch = 1; epoch <= s.num_epochs; ++epoch) {
    progress::Stopwatch epoch_watch;
    Generator shuffle(seed + static_cast<std::uint64_t>(epoch));  // the same for both nets
    const std::vector<std::int64_t> order = randperm(train_set.count, shuffle);
    progress::Bar bar(num_batches, fmt::format("{}: epoch {}/{}", name, epoch, s.num_epochs));
    double epoch_cost = 0;
    for (std::int64_t b = 0; b < num_batches; ++b) {
      const auto index = examples::batch_indices(order, b, s.batch_size);
      if (index.size() < 2) continue;  // batch norm needs two images for a variance
      const auto [X, Y] = data::image_batch(train_set, index, s.augment, &shuffle);
      optim::apply_schedule(schedule, *optimizer, step++);
      optimizer->zero_grad();
      Tensor cost = softmax_cross_entropy(model(X), Y, /*axis=*/0);  // logits (10, N)
      cost.backward();
      optimizer->step();

      const double c = cost.item();
      if (step == 1) {  // the curve starts at the first mini-batch's cost
        run.curve.x.push_back(0);
        run.curve.y.push_back(c);
      }
      epoch_cost += c * static_cast<double>(X.size(0));
      window_cost += c;
      if (++window_batches == window || b + 1 == num_batches) {
        run.curve.x.push_back(epoch - 1 + static_cast<double>(b + 1) / num_batches);
        run.curve.y.push_back(window_cost / static_cast<double>(window_batches));
        window_cost = 0;
        window_batches = 0;
      }
      bar.update(b + 1, c);
    }
    bar.finish();
    run.final_cost = epoch_cost / static_cast<double>(train_set.count);
    examples::check_cost(run.final_cost, "epoch", epoch);
    run.test_accuracy = examples::evaluate(model, test).accuracy;
    examples::log("{}: epoch {}/{}: cost {:.4f}  test_accuracy {:.4f}  ({:.1f} s)\n", name, epoch,
                  s.num_epochs, run.final_cost, run.test_accuracy, epoch_watch.seconds());
  }
  run.seconds = watch.seconds();
  return run;
}

int main(int argc, char** argv) {
  CLI::App app{"A small residual net on Fashion-MNIST, and the same net without shortcuts"};
  Settings settings{.widths = {16, 32, 64},
                    .blocks = 2,
                    .num_epochs = 6,
                    .batch_size = 64,
                    .learning_rate = 0,
                    .weight_decay = 0,
                    .optimizer = "momentum",
                    .augment = {}};
  std::optional<double> learning_rate, weight_decay;
  bool plain_too = true;
  bool flip = true;
  bool augment = false;
  examples::RunOptions run_options;
  examples::DataOptions data_options;
  std::optional<std::int64_t> test_limit;
  examples::add_sizes_option(app, "--widths", settings.widths,
                             "channels of each stage (each after the first halves H and W)");
  app.add_option("--blocks", settings.blocks, "residual blocks per stage")
      ->check(examples::whole_number<int>(1, 20))
      ->capture_default_str();
  app.add_option("--epochs", settings.num_epochs, "passes over the training set")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", settings.batch_size, "images per mini-batch")
      ->check(examples::whole_number(2))
      ->capture_default_str();
  app.add_option("--optimizer", settings.optimizer,
                 "momentum (SGD, Nesterov momentum 0.9) or adamw")
      ->check(CLI::IsMember({"momentum", "adamw"}))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate,
                 "learning rate at the start, decayed along a cosine to 0 (default: 0.1 for "
                 "momentum, 0.002 for adamw)")
      ->check(examples::finite_number(0));
  app.add_option("--weight-decay", weight_decay,
                 "weight decay (default: 5e-4 for momentum, an L2 term in the gradient; 0.05 "
                 "for adamw, decoupled)")
      ->check(examples::finite_number(0));
  app.add_flag("--plain-too,!--no-plain", plain_too,
               "also train the same net without shortcuts, and compare")
      ->capture_default_str();
  app.add_flag("--flip,!--no-flip", flip, "train on random left-right flips of the images")
      ->capture_default_str();
  app.add_flag("--augment", augment,
               "train on random crops (pad 2) as well as flips of the images");
  examples::add_run_options(app, run_options);
  examples::add_data_options(app, data_options);
  examples::add_test_limit_option(app, test_limit);
  return examples::run_example(argc, argv, app, [&] {
    if (settings.widths.empty() || settings.widths.size() > 4)
      throw examples::UsageError(fmt::format(
          "--widths must give 1 to 4 stages (the stem's 14 x 14 halves 3 times to 2 x 2), got {}",
          settings.widths.size()));
    examples::check_paths(run_options);
    manual_seed(run_options.seed);
    progress::Stopwatch watch;
    const bool sgd = settings.optimizer == "momentum";
    settings.learning_rate = learning_rate.value_or(sgd ? 0.1 : 2e-3);
    settings.weight_decay = weight_decay.value_or(sgd ? 5e-4 : 0.05);
    settings.augment = {.crop_padding = augment ? 2 : 0, .horizontal_flip = flip || augment};

    // ---- data: bytes until a batch is made; a batch is X (N, 1, 28, 28), Y (N) ---------
    const examples::ImageSets sets = examples::load_image_sets(data_options, test_limit);
    fmt::print("train: {} images{}, test: {} images\n", sets.train.count,
               augment ? " (random crops and flips)" : (flip ? " (random flips)" : ""),
               sets.test.count);
    fmt::print(
        "widths {}, {} blocks a stage, {} (lr {}, cosine decay to 0, weight decay {}), "
        "batch {}, {} epochs\n",
        settings.widths, settings.blocks, sgd ? "SGD Nesterov momentum 0.9" : "AdamW",
        settings.learning_rate, settings.weight_decay, settings.batch_size, settings.num_epochs);

    // ---- the two runs: with shortcuts, and (--plain-too) the same layers without --------
    std::vector<Run> runs;
    runs.push_back(train("resnet", true, settings, sets.train, sets.test, run_options.seed));
    if (plain_too)
      runs.push_back(train("plain", false, settings, sets.train, sets.test, run_options.seed));

    std::vector<plot::Series> curves;
    curves.reserve(runs.size());
    for (const Run& run : runs) curves.push_back(run.curve);
    const auto file = run_options.out / "resnet_cost.svg";
    plot::line_plot(
        file, curves,
        {.title = fmt::format("{} layers, widths {}: with and without shortcuts",
                              2 + 2 * settings.blocks * static_cast<int>(settings.widths.size()),
                              settings.widths),
         .x_label = "epochs",
         .y_label = "mini-batch cost (training mode)"});
    examples::result("cost_curves", file.string());
    for (const Run& run : runs) {
      examples::result(run.name + "_test_accuracy", run.test_accuracy);
      examples::result(run.name + "_final_cost", run.final_cost);
      examples::result(run.name + "_seconds", run.seconds, 2);
    }
    examples::result("seconds", watch.seconds(), 2);
  });
}
