// The mlp epoch of mlp_epoch.cpp (784-256-128-10 relu, SGD lr 0.1, Fashion-MNIST)
// trained data-parallel: run it with mpirun -np N; each rank takes `batch` examples of
// every global batch of N * batch (DistributedSampler, the tail dropped), and
// DataParallel averages the gradients in buckets during backward. Prints, on rank 0:
// seconds per epoch (median), the all-reduce time of one step done on its own (every
// bucket, blocking) and the time finish() waited. bucket_kib 0 trains without any
// all-reduce (each rank on its own shard): the epoch's pure compute; with mode `sync`
// the ranks still meet at a barrier each step. bench/compare measures the share of the
// communication hidden behind backward as
//   (epoch in mode blocking - epoch in mode overlap) / (blocking - sync);
// the finish() wait alone would overstate it (MPI moves data inside the hooks' tests).
// Usage: mpirun -np N distributed_mlp [batch=128] [epochs=3] [bucket_kib=64] [mode=overlap]
// (TAPEGRAD_NUM_THREADS=1 for one thread a rank.)
#include <cstdlib>
#include <optional>
#include <string_view>
#include <tapegrad/distributed.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;

int main(int argc, char** argv) {
  dist::MpiEnvironment env(&argc, &argv);
  dist::MpiProcessGroup group;
  const std::int64_t batch_size = argc > 1 ? std::atoll(argv[1]) : 128;
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
  const std::size_t bucket_kib = argc > 3 ? static_cast<std::size_t>(std::atoll(argv[3])) : 64;
  // mode (4th argument): "overlap" (DataParallel's default), "blocking" (the same
  // buckets all-reduced in finish(), after backward: no overlap), or, with bucket_kib 0,
  // "sync" (a barrier each step: the ranks wait for each other, nothing is sent).
  const std::string_view mode = argc > 4 ? argv[4] : "overlap";
  if (mode != "overlap" && mode != "blocking" && mode != "sync") {
    fmt::print(stderr, "error: mode must be overlap, blocking or sync, not '{}'\n", mode);
    return 2;
  }
  const bool sync_only = bucket_kib == 0 && mode == "sync";
  const bool root = group.rank() == 0;
  const bench::ByteImages train = bench::load_fashion_mnist("train");
  if (root)
    fmt::print(
        "# distributed_mlp: 784-256-128-10 relu, SGD lr 0.1, batch {} per rank, {} ranks x "
        "{} threads, buckets of {} KiB, float32\n",
        batch_size, group.size(), tg::num_threads(), bucket_kib);

  tg::Generator init(0);
  tg::nn::MLP model({784, 256, 128, 10}, tg::nn::ReLU(), {.gen = &init});
  const bool communicate = bucket_kib > 0;
  std::optional<dist::DataParallel> ddp;
  if (communicate)
    ddp.emplace(
        group, model,
        dist::DataParallelOptions{.bucket_bytes = bucket_kib << 10, .overlap = mode != "blocking"});
  tg::optim::SGD opt(model.parameters(), 0.1);
  dist::DistributedSampler sampler(train.m, group.rank(), group.size(),
                                   {.seed = 0, .drop_last = true});

  std::vector<double> times, waits;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    sampler.set_epoch(epoch);
    const auto mine = sampler.indices();
    const auto steps = static_cast<std::int64_t>(mine.size()) / batch_size;
    group.barrier();
    const double t0 = bench::now();
    for (std::int64_t s = 0; s < steps; ++s) {
      auto [X, Y] = bench::batch(train, mine, s * batch_size, (s + 1) * batch_size);
      opt.zero_grad();
      tg::softmax_cross_entropy(model(X), Y, 0).backward();
      if (ddp) ddp->finish();
      if (sync_only) group.barrier();
      opt.step();
      if (ddp) waits.push_back(ddp->last_wait_seconds());
    }
    group.barrier();
    times.push_back(bench::now() - t0);
    if (root) fmt::print("epoch{}_time: {:.3f} s ({} steps)\n", epoch + 1, times.back(), steps);
  }

  // The same buckets all-reduced on their own, blocking: what a step would wait for
  // with no overlap at all.
  std::vector<tg::Tensor> flats;
  for (const auto& bucket : ddp ? ddp->buckets() : std::vector<std::vector<std::size_t>>{}) {
    std::int64_t n = 0;
    for (std::size_t k : bucket) n += model.parameters()[k].numel();
    flats.push_back(tg::zeros({n}));
  }
  std::vector<double> alone;
  for (int rep = 0; rep < (ddp ? 200 : 1); ++rep) {
    group.barrier();
    const double t0 = bench::now();
    std::vector<std::unique_ptr<dist::Work>> work;
    work.reserve(flats.size());
    for (auto& f : flats) work.push_back(group.all_reduce_async(f, dist::ReduceOp::mean));
    for (auto& w : work) w->wait();
    alone.push_back(bench::now() - t0);
  }
  if (root) {
    const std::string tag = fmt::format("distributed_mlp_np{}_b{}", group.size(), batch_size);
    const double comm = bench::median(alone), wait = communicate ? bench::median(waits) : 0.0;
    bench::line(tag + "_epoch_time_median", bench::median(times), "s");
    bench::line(tag + "_buckets", static_cast<double>(flats.size()), "count");
    bench::line(tag + "_allreduce_alone_per_step", comm * 1e3, "ms");
    bench::line(tag + "_finish_wait_per_step", wait * 1e3, "ms");
    if (!communicate)
      bench::line(tag + (sync_only ? "_barrier_only" : "_no_allreduce") + "_epoch_time_median",
                  bench::median(times), "s");
    else if (mode == "blocking")
      bench::line(tag + "_blocking_epoch_time_median", bench::median(times), "s");
  }
}
