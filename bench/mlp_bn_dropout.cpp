// The mlp epoch with batch norm and dropout: 784-256-128-10 as
//   Linear(784, 256) -> BatchNorm(256) -> ReLU -> Dropout(0.2)
//   -> Linear(256, 128) -> BatchNorm(128) -> ReLU -> Dropout(0.2) -> Linear(128, 10),
// softmax cross-entropy, SGD with momentum, on Fashion-MNIST in memory, as
// bench/torch_mlp_bn_dropout.py does in PyTorch: a seeded permutation per epoch,
// contiguous batches of it, the last partial batch kept. The course's layout
// (features, m), batch norm over axis 0 (PyTorch's (m, features): the same math).
// Seconds per epoch (median over epochs), test accuracy after the last epoch in eval
// mode (running statistics, no dropout), peak RSS.
// Usage: mlp_bn_dropout [batch=128] [epochs=5]
#include <cmath>
#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const std::int64_t batch_size = argc > 1 ? std::atoll(argv[1]) : 128;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 5;
  const double lr = 0.1, momentum = 0.9, p = 0.2;
  const bench::ByteImages train = bench::load_fashion_mnist("train"),
                          test = bench::load_fashion_mnist("t10k");
  fmt::print(
      "# mlp_bn_dropout: 784-256-128-10 batch norm + relu + dropout {}, SGD lr {} momentum {}, "
      "batch {}, {} epochs, float32, threads {}\n",
      p, lr, momentum, batch_size, epochs, tg::num_threads());

  tg::manual_seed(0);
  tg::Generator dropout_gen(1);
  const tg::nn::BatchNormOptions bn{.axis = 0};
  tg::nn::Sequential model{tg::nn::Linear(784, 256), tg::nn::BatchNorm(256, bn),
                           tg::nn::ReLU(),           tg::nn::Dropout(p, dropout_gen),
                           tg::nn::Linear(256, 128), tg::nn::BatchNorm(128, bn),
                           tg::nn::ReLU(),           tg::nn::Dropout(p, dropout_gen),
                           tg::nn::Linear(128, 10)};
  // nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b.
  {
    tg::NoGradGuard no_grad;
    for (std::size_t i : {0, 4, 8}) {
      auto& layer = model.at<tg::nn::Linear>(i);
      const double bound = 1.0 / std::sqrt(static_cast<double>(layer.in_features()));
      layer.W.copy_(tg::rand(layer.W.shape()) * (2 * bound) - bound);
      layer.b.copy_(tg::rand(layer.b.shape()) * (2 * bound) - bound);
    }
  }
  tg::optim::SGD opt(model.parameters(), {.lr = lr, .momentum = momentum});

  const std::vector<double> times =
      bench::train_epochs(train, batch_size, epochs, [&](const tg::Tensor& X, const tg::Tensor& Y) {
        tg::Tensor loss = tg::softmax_cross_entropy(model(X), Y, 0);
        model.zero_grad();
        loss.backward();
        opt.step();
        return loss;
      });

  model.eval();
  tg::NoGradGuard no_grad;
  auto [Xt, Yt] = bench::all(test);
  const double accuracy = tg::mean(tg::equal(tg::argmax(model(Xt), 0), Yt)).item() * 100;
  const std::string tag = fmt::format("tapegrad_mlp_bn_dropout_b{}", batch_size);
  bench::line(tag + "_epoch_time_median", bench::median(times), "s");
  fmt::print("{}_test_accuracy: {:.2f} %\n", tag, accuracy);
  bench::line(tag + "_peak_rss", bench::peak_rss_mib(), "MiB");
}
