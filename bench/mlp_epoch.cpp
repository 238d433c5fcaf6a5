// The mlp example's model, 784-256-128-10 (ReLU, softmax cross-entropy), trained with
// plain SGD (lr 0.1) on Fashion-MNIST in memory, as ../shared/peers/torch_mlp.py does:
// a seeded permutation per epoch, contiguous batches of it, the last partial batch
// kept. Seconds per epoch (median over epochs), test accuracy after the last epoch,
// peak RSS. The images stay in memory as bytes (bench_util.hpp's ByteImages).
// Usage: mlp_epoch [batch=128] [epochs=5]
#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const std::int64_t batch_size = argc > 1 ? std::atoll(argv[1]) : 128;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 5;
  const double lr = 0.1;
  const bench::ByteImages train = bench::load_fashion_mnist("train"),
                          test = bench::load_fashion_mnist("t10k");
  fmt::print(
      "# mlp_epoch: 784-256-128-10 relu, SGD lr {}, batch {}, {} epochs, float32, threads {}\n", lr,
      batch_size, epochs, tg::num_threads());

  // nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b.
  tg::manual_seed(0);
  const std::vector<std::int64_t> sizes{784, 256, 128, 10};
  std::vector<tg::Tensor> W, b;
  for (std::size_t l = 1; l < sizes.size(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(sizes[l - 1]));
    W.push_back((tg::rand({sizes[l], sizes[l - 1]}) * (2 * bound) - bound).requires_grad_());
    b.push_back((tg::rand({sizes[l], 1}) * (2 * bound) - bound).requires_grad_());
  }
  auto forward = [&](const tg::Tensor& X) {
    tg::Tensor A = X;
    for (std::size_t l = 0; l < W.size(); ++l) {
      A = tg::matmul(W[l], A) + b[l];
      if (l + 1 < W.size()) A = tg::relu(A);
    }
    return A;
  };

  const std::vector<double> times =
      bench::train_epochs(train, batch_size, epochs, [&](const tg::Tensor& X, const tg::Tensor& Y) {
        tg::Tensor loss = tg::softmax_cross_entropy(forward(X), Y, 0);
        loss.backward();
        tg::NoGradGuard no_grad;
        for (auto* group : {&W, &b})
          for (tg::Tensor& p : *group) {
            p.add_(p.grad(), -lr);
            p.set_grad(tg::Tensor());
          }
        return loss;
      });

  tg::NoGradGuard no_grad;
  auto [Xt, Yt] = bench::all(test);
  const double accuracy = tg::mean(tg::equal(tg::argmax(forward(Xt), 0), Yt)).item() * 100;
  const std::string tag = fmt::format("tapegrad_mlp_b{}", batch_size);
  bench::line(tag + "_epoch_time_median", bench::median(times), "s");
  fmt::print("{}_test_accuracy: {:.2f} %\n", tag, accuracy);
  bench::line(tag + "_peak_rss", bench::peak_rss_mib(), "MiB");
}
