// The course's L-layer network, layers [12288, 20, 7, 5, 1] (ReLU x3, sigmoid), on
// 209 generated 64x64x3 "images", 2500 full-batch gradient-descent iterations at
// lr 0.0075, float32. Data and initial weights are bit-for-bit those of
// ../shared/peers/deepnet_torch.py (numpy RandomState(0) data, np.random.seed(1)
// weights), so its cost curve can be checked: 0.645359 at iteration 0, ~0.027 at 2499.
// Usage: deepnet [iterations=2500] [reps=1]
#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"
#include "numpy_random.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 2500;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 1;
  const std::vector<std::int64_t> layers{12288, 20, 7, 5, 1};
  const std::int64_t m = 209;
  const double lr = 0.0075;

  // make_data(): brightness u ~ U(0.2, 0.8) per image, pixel = clip(u + U(-0.2, 0.2)),
  // quantised to k/255; label = u > 0.5.
  bench::NumpyRandomState data_rng(0);
  std::vector<double> bright(m), x(layers[0] * m), y(m);
  for (auto& v : bright) v = data_rng.uniform(0.2, 0.8);
  for (std::int64_t i = 0; i < layers[0]; ++i)
    for (std::int64_t j = 0; j < m; ++j) {
      const double v = std::clamp(bright[j] + data_rng.uniform(-0.2, 0.2), 0.0, 1.0);
      x[i * m + j] = std::round(v * 255.0) / 255.0;
    }
  for (std::int64_t j = 0; j < m; ++j) y[j] = bright[j] > 0.5 ? 1.0 : 0.0;
  const tg::Tensor X = tg::tensor(x, {layers[0], m}), Y = tg::tensor(y, {1, m});

  fmt::print(
      "# deepnet: layers [12288, 20, 7, 5, 1], m {}, {} iterations, lr {}, float32, "
      "OpenBLAS threads {}\n",
      m, iterations, lr, tg::num_threads());
  std::vector<double> times;
  double cost0 = 0, cost_last = 0, accuracy = 0;
  for (int r = 0; r < reps; ++r) {
    // initialize_parameters_deep: W[l] = randn(n_l, n_{l-1}) / sqrt(n_{l-1}), b[l] = 0.
    bench::NumpyRandomState init_rng(1);
    std::vector<tg::Tensor> W, b;
    for (std::size_t l = 1; l < layers.size(); ++l) {
      std::vector<double> w(layers[l] * layers[l - 1]);
      for (auto& v : w)
        v = init_rng.standard_normal() / std::sqrt(static_cast<double>(layers[l - 1]));
      W.push_back(tg::tensor(w, {layers[l], layers[l - 1]}).requires_grad_());
      b.push_back(tg::zeros({layers[l], 1}).requires_grad_());
    }
    auto forward = [&]() {  // returns Z of the last layer; sigmoid is fused into the loss
      tg::Tensor A = X;
      for (std::size_t l = 0; l < W.size(); ++l) {
        tg::Tensor Z = tg::matmul(W[l], A) + b[l];
        A = l + 1 < W.size() ? tg::relu(Z) : Z;
      }
      return A;
    };
    const double t0 = bench::now();
    for (int i = 0; i < iterations; ++i) {
      tg::Tensor cost = tg::binary_cross_entropy_with_logits(forward(), Y);
      cost.backward();
      tg::NoGradGuard no_grad;
      for (auto* group : {&W, &b})
        for (tg::Tensor& p : *group) {
          p.add_(p.grad(), -lr);
          p.set_grad(tg::Tensor());
        }
      if (i == 0) cost0 = cost.item();
      if (i == iterations - 1) cost_last = cost.item();
    }
    times.push_back(bench::now() - t0);
    tg::NoGradGuard no_grad;
    accuracy = tg::mean(tg::equal(forward() > 0.0, Y)).item() * 100;
  }
  bench::line("tapegrad_deepnet_float32_time", bench::median(times), "s");
  bench::line("tapegrad_deepnet_float32_ms_per_iter", bench::median(times) / iterations * 1e3,
              "ms");
  fmt::print("tapegrad_deepnet_float32_cost_iter0: {:.6f}\n", cost0);
  fmt::print("tapegrad_deepnet_float32_cost_final: {:.6f} (iter {})\n", cost_last, iterations - 1);
  fmt::print("tapegrad_deepnet_float32_train_accuracy: {:.2f} %\n", accuracy);
}
