// The seed model: logistic regression on Fashion-MNIST sneaker (7) vs ankle boot (9),
// X (784, 12000) float32, w = 0, b = 0, 2000 full-batch gradient-descent iterations
// at lr 0.005, the cost computed every iteration. The same work as
// ../shared/peers/logreg_numpy.py and logreg_torch.py; the timed region is the loop.
// Usage: logreg [iterations=2000] [reps=1]
#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 1;
  const double lr = 0.005;
  const auto train = tg::data::binary_subset(
      tg::data::load_fashion_mnist(tg::data::kFashionMnistDir, "train"), 7, 9);
  const auto test = tg::data::binary_subset(
      tg::data::load_fashion_mnist(tg::data::kFashionMnistDir, "t10k"), 7, 9);
  const tg::Tensor& X = train.X;
  const tg::Tensor& Y = train.Y;
  fmt::print(
      "# logreg: X {} float32, classes 7 (y=0) vs 9 (y=1), {} iterations, lr {}, threads {}\n",
      tg::shape_str(X.shape()), iterations, lr, tg::num_threads());

  std::vector<double> times;
  double cost_first = 0, cost_last = 0, train_acc = 0, test_acc = 0;
  for (int r = 0; r < reps; ++r) {
    tg::Tensor w = tg::zeros({X.size(0), 1}).requires_grad_();
    tg::Tensor b = tg::zeros({1, 1}).requires_grad_();
    const double t0 = bench::now();
    for (int i = 0; i < iterations; ++i) {
      // Z = w^T X + b, cost = BCE(sigmoid(Z), Y), fused as BCE-with-logits.
      tg::Tensor Z = tg::matmul(tg::transpose(w), X) + b;
      tg::Tensor cost = tg::binary_cross_entropy_with_logits(Z, Y);
      cost.backward();
      tg::NoGradGuard no_grad;
      w.add_(w.grad(), -lr);
      b.add_(b.grad(), -lr);
      w.set_grad(tg::Tensor());
      b.set_grad(tg::Tensor());
      if (i == 0) cost_first = cost.item();
      if (i % 100 == 0) cost_last = cost.item();
    }
    times.push_back(bench::now() - t0);
    tg::NoGradGuard no_grad;
    auto accuracy = [&](const tg::data::Dataset& d) {
      const tg::Tensor predicted = tg::matmul(tg::transpose(w), d.X) + b > 0.0;
      return tg::mean(tg::equal(predicted, d.Y)).item() * 100;
    };
    train_acc = accuracy(train);
    test_acc = accuracy(test);
  }
  bench::line("tapegrad_logreg_float32_time", bench::median(times), "s");
  bench::line("tapegrad_logreg_float32_ms_per_iter", bench::median(times) / iterations * 1e3, "ms");
  fmt::print("tapegrad_logreg_float32_cost_first: {:.6f}\n", cost_first);
  fmt::print("tapegrad_logreg_float32_cost_last_logged: {:.6f}\n", cost_last);
  fmt::print("tapegrad_logreg_float32_train_accuracy: {:.2f} %\n", train_acc);
  fmt::print("tapegrad_logreg_float32_test_accuracy: {:.2f} %\n", test_acc);
}
