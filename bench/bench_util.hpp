#pragma once
// What every benchmark shares: a clock, medians, the `name: value unit` lines, the
// peak RSS, and Fashion-MNIST kept in memory as bytes with batches gathered from it.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

namespace bench {

inline double now() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

inline void line(std::string_view name, double value, std::string_view unit) {
  fmt::print("{}: {:.4g} {}\n", name, value, unit);
  std::fflush(stdout);
}

// The process's peak resident set (VmHWM), MiB.
inline double peak_rss_mib() {
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

// An image set kept as bytes: each batch is converted to float32 as it is gathered, so
// Fashion-MNIST costs 55 MiB, not 220.
struct ByteImages {
  std::int64_t n_x, m;
  std::vector<std::uint8_t> bytes;  // image i at [i * n_x, (i + 1) * n_x)
  std::vector<int> labels;
};

// Fashion-MNIST's "train" or "t10k" split.
inline ByteImages load_fashion_mnist(const std::string& split) {
  namespace tg = tapegrad;
  const std::string dir(tg::data::kFashionMnistDir);
  auto images = tg::data::read_idx_bytes(dir + "/" + split + "-images-idx3-ubyte.gz", 3);
  return {images.dims[1] * images.dims[2], images.dims[0], std::move(images.bytes),
          tg::data::read_idx_labels(dir + "/" + split + "-labels-idx1-ubyte.gz")};
}

// Columns `index[begin, end)` of the data set, in the course's layout: X (n_x, k) in
// [0, 1], Y (k) labels.
inline std::pair<tapegrad::Tensor, tapegrad::Tensor> batch(const ByteImages& d,
                                                           const std::vector<std::int64_t>& index,
                                                           std::int64_t begin, std::int64_t end) {
  namespace tg = tapegrad;
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

// Every column of the data set, in order: the test set in one batch.
inline std::pair<tapegrad::Tensor, tapegrad::Tensor> all(const ByteImages& d) {
  std::vector<std::int64_t> index(static_cast<std::size_t>(d.m));
  for (std::int64_t i = 0; i < d.m; ++i) index[static_cast<std::size_t>(i)] = i;
  return batch(d, index, 0, d.m);
}

/// Trains `epochs` epochs over `train` as torch_mlp.py does: a permutation per epoch from
/// one generator seeded 0, contiguous batches of it, the last partial batch kept.
/// step(X, Y) makes one update and returns the batch's loss. Prints each epoch's time
/// and last batch loss; returns the seconds of every epoch.
template <class Step>
std::vector<double> train_epochs(const ByteImages& train, std::int64_t batch_size, int epochs,
                                 Step step) {
  tapegrad::Generator shuffle(0);
  std::vector<double> times;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const double t0 = now();
    const auto order = tapegrad::randperm(train.m, shuffle);
    double last_loss = 0;
    for (std::int64_t i = 0; i < train.m; i += batch_size) {
      auto [X, Y] = batch(train, order, i, std::min(train.m, i + batch_size));
      const tapegrad::Tensor loss = step(X, Y);
      if (i + batch_size >= train.m) last_loss = loss.item();
    }
    times.push_back(now() - t0);
    fmt::print("epoch{}_time: {:.3f} s (last_batch_loss {:.4f})\n", epoch + 1, times.back(),
               last_loss);
  }
  return times;
}

}  // namespace bench
