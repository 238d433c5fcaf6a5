// The mlp example's model, 784-256-128-10 (ReLU, softmax cross-entropy), trained with
// plain SGD (lr 0.1) on Fashion-MNIST in memory, as ../shared/peers/torch_mlp.py does:
// a seeded permutation per epoch, contiguous batches of it, the last partial batch
// kept. Seconds per epoch (median over epochs), test accuracy after the last epoch,
// peak RSS. The images stay in memory as bytes; each batch is converted to float32
// as it is gathered, so the data costs 55 MiB, not 220.
// Usage: mlp_epoch [batch=128] [epochs=5]
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;

namespace {

double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib;
      status >> kib;
      return kib / 1024.0;
    }
    std::getline(status, key);
  }
  return 0;
}

struct ByteImages {
  std::int64_t n_x, m;
  std::vector<std::uint8_t> bytes;  // image i at [i * n_x, (i + 1) * n_x)
  std::vector<int> labels;
};

ByteImages load(const std::string& split) {
  const std::string dir(tg::data::kFashionMnistDir);
  auto images = tg::data::read_idx_bytes(dir + "/" + split + "-images-idx3-ubyte.gz", 3);
  return {images.dims[1] * images.dims[2], images.dims[0], std::move(images.bytes),
          tg::data::read_idx_labels(dir + "/" + split + "-labels-idx1-ubyte.gz")};
}

// Columns `index[begin, end)` of the data set: X (n_x, k) in [0, 1], Y (k) labels.
std::pair<tg::Tensor, tg::Tensor> batch(const ByteImages& d, const std::vector<std::int64_t>& index,
                                        std::int64_t begin, std::int64_t end) {
  const std::int64_t k = end - begin;
  tg::Tensor X = tg::Tensor::empty({d.n_x, k}), Y = tg::Tensor::empty({k});
  float* x = X.data<float>();
  float* y = Y.data<float>();
  // A gather and a transpose, split over the threads: blocks of 16 images keep the
  // writes in whole cache lines.
  constexpr std::int64_t kBlock = 16;
  tg::parallel_for((k + kBlock - 1) / kBlock, 1, [&](std::int64_t b0, std::int64_t b1) {
    for (std::int64_t j0 = b0 * kBlock; j0 < std::min(k, b1 * kBlock); j0 += kBlock) {
      const std::int64_t j1 = std::min(k, j0 + kBlock);
      const std::uint8_t* images[kBlock];
      for (std::int64_t j = j0; j < j1; ++j) {
        images[j - j0] = d.bytes.data() + index[begin + j] * d.n_x;
        y[j] = static_cast<float>(d.labels[index[begin + j]]);
      }
      // The images are scattered over 47 MB: ask for the next block's while this one
      // is converted, so the cache misses overlap instead of queueing.
      for (std::int64_t j = j1; j < std::min(k, j1 + kBlock); ++j)
        for (std::int64_t p = 0; p < d.n_x; p += 64)
          __builtin_prefetch(d.bytes.data() + index[begin + j] * d.n_x + p);
      for (std::int64_t p = 0; p < d.n_x; ++p)
        for (std::int64_t j = j0; j < j1; ++j) x[p * k + j] = images[j - j0][p] * (1.0f / 255.0f);
    }
  });
  return {X, Y};
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t batch_size = argc > 1 ? std::atoll(argv[1]) : 128;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 5;
  const double lr = 0.1;
  const ByteImages train = load("train"), test = load("t10k");
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

  tg::Generator shuffle(0);
  std::vector<double> times;
  double last_loss = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const double t0 = bench::now();
    const auto order = tg::randperm(train.m, shuffle);
    for (std::int64_t i = 0; i < train.m; i += batch_size) {
      auto [X, Y] = batch(train, order, i, std::min(train.m, i + batch_size));
      tg::Tensor loss = tg::softmax_cross_entropy(forward(X), Y, 0);
      loss.backward();
      tg::NoGradGuard no_grad;
      for (auto* group : {&W, &b})
        for (tg::Tensor& p : *group) {
          p.add_(p.grad(), -lr);
          p.set_grad(tg::Tensor());
        }
      if (i + batch_size >= train.m) last_loss = loss.item();
    }
    times.push_back(bench::now() - t0);
    fmt::print("epoch{}_time: {:.3f} s (last_batch_loss {:.4f})\n", epoch + 1, times.back(),
               last_loss);
  }

  tg::NoGradGuard no_grad;
  std::vector<std::int64_t> all(test.m);
  std::iota(all.begin(), all.end(), 0);
  auto [Xt, Yt] = batch(test, all, 0, test.m);
  const double accuracy = tg::mean(tg::equal(tg::argmax(forward(Xt), 0), Yt)).item() * 100;
  const std::string tag = fmt::format("tapegrad_mlp_b{}", batch_size);
  bench::line(tag + "_epoch_time_median", bench::median(times), "s");
  fmt::print("{}_test_accuracy: {:.2f} %\n", tag, accuracy);
  bench::line(tag + "_peak_rss", peak_rss_mib(), "MiB");
}
