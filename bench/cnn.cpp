// Conv nets on Fashion-MNIST, the same work as ../shared/peers/torch_cnn.py does in
// PyTorch:
//   lenet  conv 5x5 1->6 pad 2, ReLU, max-pool 2 | conv 5x5 6->16, ReLU, max-pool 2 |
//          flatten 400 | linear 120, ReLU | linear 84, ReLU | linear 10
//   small  conv 3x3 1->32 pad 1, ReLU | conv 3x3 32->64 pad 1, ReLU, max-pool 2 |
//          conv 3x3 64->64 pad 1, ReLU, max-pool 2 | flatten 3136 | linear 128, ReLU |
//          linear 10
// softmax cross-entropy, SGD lr 0.05 momentum 0.9, batch 64, PyTorch's default init, a
// seeded permutation per epoch with the last partial batch kept; images kept as bytes
// until a batch is made. Also one conv layer's forward + backward (64 images, 32 -> 64
// channels, 3x3, 28x28, padding 1) in GFLOP/s (2 N C_out H W C_in k k per product, three
// products), and this process's sgemm on the same layer's forward GEMM, image by image
// (64 x 784 x 288 each), for how far the layer is from the BLAS.
// Usage: cnn [lenet|small|layer|kernels] [epochs=3] [batch=64]
// ("kernels" prints the OpenBLAS kernels in use and stops: bench/compare gives the
// references the same.)
#include <cblas.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "bench_util.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

namespace {

nn::Sequential lenet() {
  return nn::Sequential{nn::Conv2d(1, 6, 5, {.padding = 2}),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Conv2d(6, 16, 5),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Flatten(),
                        nn::Linear(400, 120),
                        nn::ReLU(),
                        nn::Linear(120, 84),
                        nn::ReLU(),
                        nn::Linear(84, 10)};
}

nn::Sequential small() {
  return nn::Sequential{nn::Conv2d(1, 32, 3, {.padding = 1}),
                        nn::ReLU(),
                        nn::Conv2d(32, 64, 3, {.padding = 1}),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Conv2d(64, 64, 3, {.padding = 1}),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Flatten(),
                        nn::Linear(3136, 128),
                        nn::ReLU(),
                        nn::Linear(128, 10)};
}

// nn.Linear's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b (Conv2d's
// default is PyTorch's already).
void pytorch_linear_init(nn::Module& model) {
  tg::NoGradGuard no_grad;
  for (const auto& [name, child] : model.named_children()) {
    auto* linear = dynamic_cast<nn::Linear*>(child.get());
    if (!linear) continue;
    const double bound = 1.0 / std::sqrt(static_cast<double>(linear->in_features()));
    linear->W.copy_(tg::rand(linear->W.shape()) * (2 * bound) - bound);
    linear->b.copy_(tg::rand(linear->b.shape()) * (2 * bound) - bound);
  }
}

// One conv layer's forward + backward, median seconds over `reps` after two warm-ups.
double conv_layer_gflops(int reps = 20) {
  tg::Tensor x = tg::randn({64, 32, 28, 28});
  x.requires_grad_();
  nn::Conv2d conv(32, 64, 3, {.padding = 1});
  const double flop = 2.0 * 64 * 64 * 28 * 28 * 32 * 9 * 3;
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const double t0 = bench::now();
    tg::sum(conv(x)).backward();
    times.push_back(bench::now() - t0);
  }
  times.erase(times.begin(), times.begin() + 2);
  return flop / bench::median(times) / 1e9;
}

// This process's sgemm on the layer's forward product, image by image as conv2d does it
// (64 x 784 x 288 each, one single-threaded sgemm per image, the 64 images split over
// the pool): the ceiling the layer would reach if im2col, col2im and the copies were free.
double sgemm_gflops(int reps = 10) {
  const tg::Tensor a = tg::randn({64, 288}), b = tg::randn({64, 288, 784});
  tg::Tensor c = tg::Tensor::empty({64, 64, 784});
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = c.data<float>();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const double t0 = bench::now();
    tg::parallel_for(64, 1, [&](std::int64_t n0, std::int64_t n1) {
      for (std::int64_t n = n0; n < n1; ++n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 64, 784, 288, 1.0f, pa, 288,
                    pb + n * 288 * 784, 784, 0.0f, pc + n * 64 * 784, 784);
    });
    times.push_back(bench::now() - t0);
  }
  times.erase(times.begin(), times.begin() + 2);
  return 2.0 * 64 * 288 * 64 * 784 / bench::median(times) / 1e9;
}

double accuracy(nn::Module& model, const tg::data::ImageBytes& test) {
  model.eval();
  tg::NoGradGuard no_grad;
  std::int64_t correct = 0;
  // torch_cnn.py evaluates 2000 images at a time; 500 here: the small net's second conv
  // alone gives 2000 images 400 MB of activations, more than its training needs.
  constexpr std::int64_t kChunk = 500;
  std::vector<std::int64_t> index;
  for (std::int64_t i0 = 0; i0 < test.count; i0 += kChunk) {
    index.clear();
    for (std::int64_t i = i0; i < std::min(test.count, i0 + kChunk); ++i) index.push_back(i);
    auto [X, Y] = tg::data::image_batch(test, index);
    const tg::Tensor hits = tg::equal(tg::argmax(model(X), 0), Y);
    correct += static_cast<std::int64_t>(std::lround(tg::sum(hits).item()));
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(test.count);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string which = argc > 1 ? argv[1] : "lenet";
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::int64_t batch_size = argc > 3 ? std::atoll(argv[3]) : 64;
  const double lr = 0.05, momentum = 0.9;
  fmt::print("# blas_kernels: {}\n", tg::blas_kernels());
  if (which == "kernels") return 0;
  if (which != "lenet" && which != "small" && which != "layer") {
    fmt::print(stderr, "error: model must be lenet, small, layer or kernels, got {}\n", which);
    return 2;
  }
  tg::manual_seed(0);
  fmt::print("# cnn: {} batch {} epochs {} lr {} momentum {} float32 threads {}\n", which,
             batch_size, epochs, lr, momentum, tg::num_threads());
  if (which == "layer") {
    bench::line("conv32x64_fwd_bwd_gflops", conv_layer_gflops(), "GFLOP/s");
    bench::line("sgemm_64x784x288_per_image_gflops", sgemm_gflops(), "GFLOP/s");
    return 0;
  }

  const std::string dir(tg::data::kFashionMnistDir);
  const tg::data::ImageBytes train = tg::data::load_fashion_mnist_images(dir, "train");
  const tg::data::ImageBytes test = tg::data::load_fashion_mnist_images(dir, "t10k");
  nn::Sequential model = which == "lenet" ? lenet() : small();
  pytorch_linear_init(model);
  tg::optim::SGD opt(model.parameters(), {.lr = lr, .momentum = momentum});

  tg::Generator shuffle(0);
  std::vector<double> times;
  std::vector<std::int64_t> index;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const double t0 = bench::now();
    const std::vector<std::int64_t> order = tg::randperm(train.count, shuffle);
    for (std::int64_t i = 0; i < train.count; i += batch_size) {
      index.assign(order.begin() + i, order.begin() + std::min(train.count, i + batch_size));
      auto [X, Y] = tg::data::image_batch(train, index);
      tg::Tensor loss = tg::softmax_cross_entropy(model(X), Y, 0);
      model.zero_grad();
      loss.backward();
      opt.step();
    }
    times.push_back(bench::now() - t0);
    if (epoch == 0) bench::line("peak_rss_training", bench::peak_rss_mib(), "MiB");
    fmt::print("epoch{}_time: {:.3f} s (test_accuracy {:.2f} %)\n", epoch + 1, times.back(),
               accuracy(model, test) * 100);
  }
  bench::line(which + "_epoch_time_median", bench::median(times), "s");
  fmt::print("{}_test_accuracy: {:.2f} %\n", which, accuracy(model, test) * 100);
  bench::line("peak_rss", bench::peak_rss_mib(), "MiB");
}
