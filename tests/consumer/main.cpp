// What a user's own project does with the installed library alone, and exits non-zero
// unless each step works:
//   1. logistic regression on two generated Gaussian blobs, in plain graph code;
//   2. Fashion-MNIST from the Debian package (data/), batched with a seeded shuffle
//      (DataLoader), a Sequential model trained with Adam under a progress bar (viz/),
//      a cost-curve SVG (viz/), a checkpoint saved and loaded into a fresh model and
//      optimizer (io/) that then continue exactly as the original.
// Built by tests/consumer/run.sh against an installed tapegrad (find_package) or its
// source tree (add_subdirectory). Argument: the Fashion-MNIST folder (default: the
// package's) and a folder for the files it writes (default: the current one).
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

int fail(std::string_view what) {
  fmt::print(stderr, "consumer: FAILED: {}\n", what);
  return 1;
}

// OpenBLAS's own view of its thread count, looked up at run time so that this
// program needs no BLAS of its own (a shared libtapegrad hides it).
int openblas_threads() {
  using Fn = int (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : -1;
}

}  // namespace

bool same(const tg::Tensor& a, const tg::Tensor& b) {
  return a.shape() == b.shape() && a.to_vector() == b.to_vector();
}

// One Adam step on a batch.
void step(tg::nn::Module& model, tg::optim::Optimizer& optimizer, const tg::data::Batch& batch) {
  optimizer.zero_grad();
  tg::softmax_cross_entropy(model(batch.X), batch.Y, 0).backward();
  optimizer.step();
}

// Returns an error message, or "" when every step of part 2 works.
std::string train_fashion_mnist(const std::filesystem::path& data_dir,
                                const std::filesystem::path& out) {
  namespace nn = tg::nn;
  const auto train = tg::data::load_fashion_mnist(data_dir, "train", 6000);
  const auto test = tg::data::load_fashion_mnist(data_dir, "t10k");
  if (train.X.shape() != tg::Shape({784, 6000}) || test.m() != 10000)
    return fmt::format("Fashion-MNIST shapes {} and {}", tg::shape_str(train.X.shape()),
                       tg::shape_str(test.X.shape()));

  tg::manual_seed(3);
  nn::Sequential model{nn::Linear(784, 64, tg::init::Init::he_normal), nn::ReLU(),
                       nn::Linear(64, 10)};
  tg::optim::Adam optimizer(model.parameters(), 0.002);
  tg::data::DataLoader loader(train.X, train.Y, {.batch_size = 64, .shuffle = true, .seed = 11});

  // The progress bar writes to a file here, so its lines can be checked.
  const auto bar_file = out / "consumer_progress.txt";
  std::vector<double> costs;
  {
    std::FILE* log = std::fopen(bar_file.c_str(), "w");
    if (log == nullptr) return "cannot open the progress file";
    tg::progress::Bar bar(2 * loader.batches_per_epoch(), "consumer", log,
                          tg::progress::Bar::Mode::lines);
    std::int64_t done = 0;
    for (int epoch = 0; epoch < 2; ++epoch) {
      for (auto [X, Y] : loader.epoch()) {
        optimizer.zero_grad();
        auto cost = tg::softmax_cross_entropy(model(X), Y, 0);
        cost.backward();
        optimizer.step();
        bar.update(++done, cost.item());
        if (done % 20 == 0) costs.push_back(cost.item());
      }
    }
    bar.finish();
    std::fclose(log);
  }
  std::ifstream bar_in(bar_file);
  const std::string bar_text((std::istreambuf_iterator<char>(bar_in)), {});
  if (bar_text.find("consumer") == std::string::npos || bar_text.find("100%") == std::string::npos)
    return fmt::format("progress bar wrote: '{}'", bar_text);

  const auto svg = out / "consumer_cost.svg";
  tg::plot::cost_curve(svg, costs, "consumer: cost per 20 steps", "steps (per twenties)");
  std::ifstream svg_in(svg);
  const std::string svg_text((std::istreambuf_iterator<char>(svg_in)), {});
  if (!svg_text.starts_with("<svg") || svg_text.find("<polyline") == std::string::npos)
    return "the cost curve is not an SVG with a curve";

  tg::NoGradGuard no_grad;  // evaluation, and the checks below, record nothing
  auto predicted = tg::argmax(model(test.X), 0, /*keepdims=*/true);
  const double accuracy = tg::mean(tg::equal(predicted, test.Y)).item();
  fmt::print("consumer: Fashion-MNIST, 2 epochs on 6000 images: test accuracy {:.4f}\n", accuracy);
  if (accuracy < 0.75)
    return fmt::format("Fashion-MNIST test accuracy {:.4f} below 0.75", accuracy);

  // Save, then load into a fresh model and optimizer: same logits, and one more step
  // of each on the same batch gives the same parameters.
  const auto checkpoint = out / "consumer_checkpoint.tg";
  tg::TrainingState state{.epoch = 2, .step = 0, .generators = {{"loader", &loader.generator()}}};
  tg::save_checkpoint(checkpoint, model, optimizer, state);
  nn::Sequential fresh{nn::Linear(784, 64), nn::ReLU(), nn::Linear(64, 10)};
  tg::optim::Adam fresh_optimizer(fresh.parameters(), 0.002);
  tg::data::DataLoader fresh_loader(train.X, train.Y, {.batch_size = 64, .seed = 999});
  tg::TrainingState loaded{.generators = {{"loader", &fresh_loader.generator()}}};
  tg::load_checkpoint(checkpoint, fresh, fresh_optimizer, loaded);
  if (loaded.epoch != 2) return "the checkpoint's epoch did not come back";
  const auto first = tg::slice(test.X, 1, 0, 100);
  if (!same(model(first), fresh(first))) return "the reloaded model gives other logits";
  tg::EnableGradGuard grad_on;  // training again
  const auto batch = *loader.epoch().begin();
  const auto fresh_batch = *fresh_loader.epoch().begin();
  if (!same(batch.X, fresh_batch.X)) return "the reloaded loader shuffles otherwise";
  step(model, optimizer, batch);
  step(fresh, fresh_optimizer, fresh_batch);
  const auto a = model.parameters(), b = fresh.parameters();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return "training from the checkpoint differs";
  return "";
}

int main(int argc, char** argv) {
  const std::filesystem::path data_dir =
      argc > 1 ? argv[1] : std::string(tg::data::kFashionMnistDir);
  const std::filesystem::path out = argc > 2 ? argv[2] : ".";
  if (tg::version() != TAPEGRAD_VERSION) return fail("version() differs from TAPEGRAD_VERSION");

  // TAPEGRAD_NUM_THREADS must have reached OpenBLAS before main, untouched by us.
  if (const char* env = std::getenv("TAPEGRAD_NUM_THREADS")) {
    if (openblas_threads() != std::atoi(env))
      return fail(fmt::format("TAPEGRAD_NUM_THREADS={} but OpenBLAS uses {} threads", env,
                              openblas_threads()));
  }

  // Data: m points in 2-D, one per column; class 1 centred at (+1.5, +1.5), class 0 at
  // (-1.5, -1.5).
  tg::manual_seed(7);
  const std::int64_t m = 400;
  auto Y = tg::randint(0, 2, {1, m});
  auto X = tg::randn({2, m}) + (Y * 3.0 - 1.5);

  // Parameters of sigmoid(W X + b).
  auto W = tg::zeros({1, 2}).requires_grad_();
  auto b = tg::zeros({1, 1}).requires_grad_();

  const double learning_rate = 0.5;
  double cost = 0;
  for (int step = 0; step < 200; ++step) {
    auto Z = tg::matmul(W, X) + b;  // (1, 2) x (2, m) + (1, 1) -> (1, m)
    auto loss = tg::binary_cross_entropy_with_logits(Z, Y);
    W.zero_grad();
    b.zero_grad();
    loss.backward();
    {
      tg::NoGradGuard no_grad;
      W -= learning_rate * W.grad();
      b -= learning_rate * b.grad();
    }
    cost = loss.item();
  }

  double accuracy = 0;
  {
    tg::NoGradGuard no_grad;
    auto predictions = tg::matmul(W, X) + b > 0.0;
    accuracy = tg::mean(tg::equal(predictions, Y)).item();
  }
  fmt::print("consumer: tapegrad {}, cost {:.4f}, accuracy {:.3f}, W {}\n", tg::version(), cost,
             accuracy, W);

  // Exceptions cross the library boundary as their own types.
  try {
    tg::matmul(tg::zeros({3, 4}), tg::zeros({5, 2}));
    return fail("matmul accepted mismatched shapes");
  } catch (const tg::ShapeError&) {
  }

  if (accuracy < 0.95) return fail(fmt::format("accuracy {:.3f} below 0.95", accuracy));

  try {
    if (const std::string error = train_fashion_mnist(data_dir, out); !error.empty())
      return fail(error);
  } catch (const tg::Error& e) {
    return fail(e.what());
  }
  fmt::print("consumer: all steps passed\n");
  return 0;
}
