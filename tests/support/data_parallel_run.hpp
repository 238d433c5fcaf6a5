#pragma once
// A small data-parallel training run shared by test_distributed (threads) and the MPI
// test program: an MLP trained with DataParallel on each rank's shard of every global
// batch, and the same model trained by one process on the whole global batches.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <tapegrad/distributed.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tapegrad::test {

struct DataParallelProblem {
  std::vector<std::int64_t> dims{6, 16, 8, 3};
  std::int64_t examples = 48;       // the data set
  std::int64_t batch_per_rank = 4;  // global batch: batch_per_rank * ranks
  int steps = 8;                    // optimizer steps (they run over several epochs)
  Dtype dtype = float64;
  std::uint64_t sampler_seed = 5;
};

inline Tensor problem_inputs(const DataParallelProblem& p) {
  Generator gen(77);
  return randn({p.dims.front(), p.examples}, p.dtype, gen);
}
inline Tensor problem_labels(const DataParallelProblem& p) {
  Generator gen(78);
  return randint(0, p.dims.back(), {p.examples}, p.dtype, gen);
}
inline nn::MLP problem_model(const DataParallelProblem& p, std::uint64_t seed) {
  Generator init(seed);
  return nn::MLP(p.dims, nn::ReLU(), {.dtype = p.dtype, .gen = &init});
}

// Rank `rank`'s examples of global step `step`: its sampler's epoch order, cut into
// batches of batch_per_rank (the last partial batch of an epoch is dropped).
inline std::vector<std::int64_t> shard_of_step(const DataParallelProblem& p, int rank, int ranks,
                                               int step) {
  distributed::DistributedSampler sampler(p.examples, rank, ranks,
                                          {.seed = p.sampler_seed, .drop_last = true});
  const std::int64_t per_epoch = sampler.num_samples() / p.batch_per_rank;
  sampler.set_epoch(step / per_epoch);
  const auto mine = sampler.indices();
  const auto start = (step % per_epoch) * p.batch_per_rank;
  return {mine.begin() + start, mine.begin() + start + p.batch_per_rank};
}

inline std::vector<Tensor> copies(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const auto& t : params) out.push_back(t.detach().clone());
  return out;
}

// DataParallel training on `group`; each rank starts from its own random model (seed
// 100 + rank), which the broadcast replaces by rank 0's. Returns the final parameters.
inline std::vector<Tensor> train_data_parallel(distributed::ProcessGroup& group,
                                               const DataParallelProblem& p,
                                               distributed::DataParallelOptions options = {}) {
  const Tensor X = problem_inputs(p);
  const Tensor labels = problem_labels(p);
  nn::MLP model = problem_model(p, 100 + static_cast<std::uint64_t>(group.rank()));
  distributed::DataParallel ddp(group, model, options);
  optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  for (int s = 0; s < p.steps; ++s) {
    const auto idx = shard_of_step(p, group.rank(), group.size(), s);
    opt.zero_grad();
    softmax_cross_entropy(model(index_select(X, 1, idx)), index_select(labels, 0, idx), 0)
        .backward();
    ddp.finish();
    opt.step();
  }
  return copies(model.parameters());
}

// One process, the same global batches (the ranks' shards side by side).
inline std::vector<Tensor> train_single_process(const DataParallelProblem& p, int ranks) {
  const Tensor X = problem_inputs(p);
  const Tensor labels = problem_labels(p);
  nn::MLP model = problem_model(p, 100);
  optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  for (int s = 0; s < p.steps; ++s) {
    std::vector<std::int64_t> idx;
    for (int r = 0; r < ranks; ++r) {
      const auto shard = shard_of_step(p, r, ranks, s);
      idx.insert(idx.end(), shard.begin(), shard.end());
    }
    opt.zero_grad();
    softmax_cross_entropy(model(index_select(X, 1, idx)), index_select(labels, 0, idx), 0)
        .backward();
    opt.step();
  }
  return copies(model.parameters());
}

inline bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || a[i].dtype() != b[i].dtype() ||
        std::memcmp(a[i].raw_data(), b[i].raw_data(),
                    static_cast<std::size_t>(a[i].numel()) * dtype_size(a[i].dtype())) != 0)
      return false;
  return true;
}

// Largest |a - b| over largest |b|, over every parameter.
inline double max_relative_difference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = a[i].to_vector();
    const auto y = b[i].to_vector();
    double diff = 0.0, scale = 0.0;
    for (std::size_t k = 0; k < x.size(); ++k) {
      diff = std::max(diff, std::abs(x[k] - y[k]));
      scale = std::max(scale, std::abs(y[k]));
    }
    worst = std::max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

}  // namespace tapegrad::test
