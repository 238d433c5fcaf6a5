// LeNet-5 (LeCun et al., 1998; the fourth course, "Convolutional Neural Networks",
// week 2) on all ten Fashion-MNIST classes: two convolutions that learn local patterns,
// each followed by max pooling, then three fully connected layers.
//
// Shapes. The course writes a batch of images as (m, n_H, n_W, n_C): examples first,
// channels last. tapegrad, as PyTorch, writes (N, C, H, W): the same numbers with the
// channel axis second, so that weights exchange with torch.nn.Conv2d directly. A layer
// of f x f filters with stride s and padding p maps n_H to floor((n_H + 2p - f) / s) + 1:
//
//   X       (N, 1, 28, 28)   the images, pixel / 255
//   CONV1   (N, 6, 28, 28)   6 filters of 5 x 5 x 1, pad 2 ("same"), then RELU
//   POOL1   (N, 6, 14, 14)   max over 2 x 2 windows, stride 2
//   CONV2   (N, 16, 10, 10)  16 filters of 5 x 5 x 6, no padding ("valid"), then RELU
//   POOL2   (N, 16, 5, 5)
//   FLATTEN (400, N)         one column per image: the course's (n_x, m) from here on
//   FC3     (120, N), RELU;  FC4 (84, N), RELU;  FC5 (10, N) the logits
//
// softmax is inside the cost (softmax cross-entropy over axis 0). The layers are
// PyTorch's LeNet in the same order, so the parameter names ("0.weight", "3.bias", ...)
// are those of its nn.Sequential. Mini-batches of 64, Adam, 3 epochs, the learning rate
// decayed along a cosine from 0.006 to 0 over the run: large steps first, then small
// ones that settle the weights (Adam at a constant 0.002 ends 1.4 points lower, 88.2 %).
//
//   build/examples/lenet                                  # Adam, lr 0.006, 3 epochs
//   build/examples/lenet --optimizer momentum --lr 0.05   # the benchmark's SGD
//   build/examples/lenet --epochs 1 --limit 5000          # a quick check
//
// Draws the cost (lenet_cost.svg), the 6 learned 5 x 5 filters of CONV1
// (lenet_filters.svg) and CONV1's 6 feature maps of one test image beside the image
// (lenet_feature_maps.svg); ends with train_accuracy, test_accuracy and seconds.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"
#include "common/images.hpp"

using namespace tapegrad;

// CONV -> RELU -> POOL -> CONV -> RELU -> POOL -> FLATTEN -> FC -> RELU -> FC -> RELU -> FC.
// The weights start as PyTorch's do, U[-1/sqrt(fan_in), 1/sqrt(fan_in)) (the
// convolutions' biases too; nn::Linear's biases start at 0).
nn::Sequential lenet() {
  const init::Init torch = init::Init::pytorch_default;
  return nn::Sequential{nn::Conv2d(1, 6, 5, {.padding = 2}),  // (N, 6, 28, 28)
                        nn::ReLU(),
                        nn::MaxPool2d(2),      // (N, 6, 14, 14)
                        nn::Conv2d(6, 16, 5),  // (N, 16, 10, 10)
                        nn::ReLU(),
                        nn::MaxPool2d(2),  // (N, 16, 5, 5)
                        nn::Flatten(),     // (400, N)
                        nn::Linear(400, 120, torch),
                        nn::ReLU(),
                        nn::Linear(120, 84, torch),
                        nn::ReLU(),
                        nn::Linear(84, 10, torch)};  // (10, N)
}

int main(int argc, char** argv) {
  CLI::App app{"LeNet-5 on all ten Fashion-MNIST classes"};
  int num_epochs = 3;
  std::int64_t batch_size = 64;
  std::string optimizer_name = "adam";
  std::optional<double> learning_rate;
  double beta = 0.9;
  std::string decay = "cosine";
  std::vector<int> classes;  // empty: all ten
  examples::RunOptions run;
  examples::DataOptions data_options;
  std::optional<std::int64_t> test_limit;
  examples::ParameterFiles files;
  app.add_option("--epochs", num_epochs, "passes over the training set")
      ->check(examples::whole_number<int>(1))
      ->capture_default_str();
  app.add_option("--batch-size", batch_size, "images per mini-batch")
      ->check(examples::whole_number(1))
      ->capture_default_str();
  app.add_option("--optimizer", optimizer_name, "adam, momentum (SGD with momentum) or sgd")
      ->check(CLI::IsMember({"adam", "momentum", "sgd"}))
      ->capture_default_str();
  app.add_option("--lr,--learning-rate", learning_rate,
                 "learning rate (default: 0.006 for adam, 0.05 for momentum, 0.1 for sgd)")
      ->check(examples::finite_number(0));
  app.add_option("--beta", beta, "momentum (the course's beta) for --optimizer momentum")
      ->check(examples::finite_number(0, 1))
      ->capture_default_str();
  app.add_option("--decay", decay,
                 "learning-rate decay: cosine (from --lr down to 0 over the run, one step per "
                 "mini-batch) or none")
      ->check(CLI::IsMember({"cosine", "none"}))
      ->capture_default_str();
  app.add_option("--classes", classes,
                 "train and test on these classes only, e.g. 0,6 (T-shirt/top and shirt, "
                 "deep_net's pair); default: all ten")
      ->delimiter(',')
      ->check(examples::whole_number(0, 9));
  examples::add_run_options(app, run);
  examples::add_data_options(app, data_options);
  examples::add_test_limit_option(app, test_limit);
  examples::add_parameter_file_options(app, files);
  return examples::run_example(argc, argv, app, [&] {
    examples::check_paths(run, files);
    manual_seed(run.seed);
    progress::Stopwatch watch;

    // ---- data: bytes until a batch is made; a batch is X (N, 1, 28, 28), Y (N) ---------
    examples::ImageSets sets = examples::load_image_sets(data_options, test_limit);
    if (!classes.empty()) {
      sets.train = examples::keep_classes(sets.train, classes);
      sets.test = examples::keep_classes(sets.test, classes);
      fmt::print("classes {} only\n", classes);
    }
    const data::ImageBytes& train = sets.train;
    const data::ImageBytes& test = sets.test;
    fmt::print("train: {} images, test: {} images, each {} x {} x {} (C x H x W)\n", train.count,
               test.count, train.channels, train.height, train.width);

    // ---- model ------------------------------------------------------------------------
    nn::Sequential model = lenet();
    const auto first_test_image = data::image_batch(test, std::vector<std::int64_t>{0});
    fmt::print("LeNet-5, the shape after each step for one image:\n");
    examples::print_shapes(model, first_test_image.first);
    std::unique_ptr<optim::Optimizer> optimizer;
    if (optimizer_name == "adam")
      optimizer = std::make_unique<optim::Adam>(model.parameters(), learning_rate.value_or(6e-3));
    else if (optimizer_name == "momentum")
      optimizer = std::make_unique<optim::SGD>(
          model.parameters(),
          optim::SGDOptions{.lr = learning_rate.value_or(0.05), .momentum = beta});
    else
      optimizer = std::make_unique<optim::SGD>(model.parameters(), learning_rate.value_or(0.1));
    const double lr0 = optimizer->lr();
    fmt::print("{} (lr {}{}), batch {}, {} epochs\n", optimizer->name(), lr0,
               decay == "cosine" ? ", cosine decay to 0" : "", batch_size, num_epochs);

    // ---- training: forward, cost, backward, update, one mini-batch at a time -----------
    if (!files.load.empty()) {
      load_parameters_into(files.load, model);
      fmt::print("loaded {} (no training)\n", files.load.string());
      num_epochs = 0;
    }
    std::vector<double> costs;  // mean cost of every 100 mini-batches (and of the last few)
    double window_cost = 0;
    int window_batches = 0;
    const std::int64_t num_batches = examples::batch_count(train.count, batch_size);
    const optim::CosineDecay schedule{.lr0 = lr0,
                                      .T = std::max<std::int64_t>(1, num_epochs * num_batches)};
    std::int64_t step = 0;
    for (int epoch = 1; epoch <= num_epochs; ++epoch) {
      progress::Stopwatch epoch_watch;
      Generator shuffle(run.seed + static_cast<std::uint64_t>(epoch));
      const std::vector<std::int64_t> order = randperm(train.count, shuffle);
      progress::Bar bar(num_batches, fmt::format("epoch {}/{}", epoch, num_epochs));
      double epoch_cost = 0;
      for (std::int64_t b = 0; b < num_batches; ++b) {
        const auto [X, Y] = data::image_batch(train, examples::batch_indices(order, b, batch_size));
        if (decay == "cosine") optim::apply_schedule(schedule, *optimizer, step++);
        optimizer->zero_grad();
        Tensor logits = model(X);  // (10, N)
        Tensor cost = softmax_cross_entropy(logits, Y, /*axis=*/0);
        cost.backward();
        optimizer->step();

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
      const double train_cost = epoch_cost / static_cast<double>(train.count);
      examples::check_cost(train_cost, "epoch", epoch);
      const double test_accuracy = examples::evaluate(model, test).accuracy;
      examples::log("epoch {}/{}: cost {:.4f}  test_accuracy {:.4f}  ({:.1f} s)\n", epoch,
                    num_epochs, train_cost, test_accuracy, epoch_watch.seconds());
    }
    if (window_batches > 0) costs.push_back(window_cost / window_batches);
    if (!files.save.empty()) {
      save_parameters(files.save, model);
      fmt::print("saved {}\n", files.save.string());
    }

    // ---- evaluation ----------------------------------------------------------------------
    const double train_accuracy = examples::evaluate(model, train).accuracy;
    const double test_accuracy = examples::evaluate(model, test).accuracy;

    // ---- what CONV1 learned: its 6 filters (6, 1, 5, 5), and its 6 feature maps of one
    // test image (1, 6, 28, 28), each stretched to black..white on its own -------------------
    auto& conv1 = model.at<nn::Conv2d>(0);
    const auto filters_file = run.out / "lenet_filters.svg";
    std::vector<std::string> filter_captions;
    for (int k = 1; k <= 6; ++k) filter_captions.push_back(fmt::format("filter {}", k));
    plot::image_grid(filters_file, examples::stretch_each(reshape(conv1.weight, {6, 5, 5})),
                     filter_captions, /*columns=*/6, /*height=*/0,
                     {.title = "CONV1: the 6 learned 5 x 5 filters (dark: negative weights)"});

    const auto& [image, label] = first_test_image;
    Tensor maps;
    int predicted = 0;
    {
      NoGradGuard no_grad;
      model.eval();
      maps = relu(conv1(image));  // (1, 6, 28, 28): the activations CONV1 passes on
      predicted = static_cast<int>(argmax(model(image)).item());  // logits (10, 1)
      model.train();
    }
    const int truth = static_cast<int>(label.item());
    fmt::print("the first test image: {}, predicted {}\n", examples::class_label(truth),
               examples::class_label(predicted));
    std::vector<std::string> map_captions{
        std::string(data::kFashionMnistClasses.at(static_cast<std::size_t>(truth)))};
    for (int k = 1; k <= 6; ++k) map_captions.push_back(fmt::format("map {}", k));
    const Tensor panels =
        concat({reshape(image, {1, 28, 28}), examples::stretch_each(reshape(maps, {6, 28, 28}))},
               /*axis=*/0);
    const auto maps_file = run.out / "lenet_feature_maps.svg";
    plot::image_grid(maps_file, panels, map_captions, /*columns=*/7, /*height=*/0,
                     {.title = "a test image and CONV1's 6 feature maps of it (after RELU)"});

    if (!costs.empty()) {
      const auto file = run.out / "lenet_cost.svg";
      plot::cost_curve(file, costs,
                       fmt::format("LeNet-5, {} (lr {}{}), batch {}", optimizer->name(), lr0,
                                   decay == "cosine" ? ", cosine decay" : "", batch_size),
                       "mini-batches (per hundreds)");
      examples::result("cost_curve", file.string());
    }
    examples::result("filters", filters_file.string());
    examples::result("feature_maps", maps_file.string());
    examples::result("train_accuracy", train_accuracy);
    examples::result("test_accuracy", test_accuracy);
    examples::result("seconds", watch.seconds(), 2);
  });
}
