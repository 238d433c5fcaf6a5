#pragma once
// --distributed for the examples that train on mini-batches: the program runs as one
// rank of an `mpirun -np N` job. Each rank trains on its shard of every epoch
// (distributed::DistributedSampler), the gradients are averaged during backward
// (distributed::DataParallel), and only rank 0 prints, draws progress bars and writes
// files. Nothing else in the example changes.
//
// Built without MPI (tapegrad::distributed not found at configure time), the flag is
// still there and says so instead of training alone.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "common/classify.hpp"
#include "common/cli.hpp"

#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
#include <tapegrad/distributed.hpp>
#endif

namespace tapegrad::examples {

/// Adds --distributed to `app`.
inline void add_distributed_option(CLI::App& app, bool& distributed) {
  app.add_flag("--distributed", distributed,
               "train as one rank of an mpirun job (mpirun -np N <example> --distributed): "
               "each rank trains on its shard, gradients averaged every step");
}

/// One process's part in a data-parallel run, or a run on its own (`on` false): then
/// every call is what training alone would do.
class DataParallelRun {
 public:
  /// With `on`, starts MPI; throws UsageError when the build has no tapegrad::distributed.
  /// On ranks other than 0 the standard output goes to /dev/null (errors stay on stderr).
  explicit DataParallelRun(bool on) {
    if (!on) return;
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    env_.emplace();
    group_.emplace();
    if (!root()) {
      std::fflush(stdout);
      if (std::freopen("/dev/null", "w", stdout) == nullptr)
        throw IoError(
            fmt::format("--distributed: rank {} cannot send its output to /dev/null", rank()));
      null_ = std::fopen("/dev/null", "w");
    }
#else
    throw UsageError(
        "--distributed: this build has no tapegrad::distributed (CMake found no MPI; install "
        "libopenmpi-dev and openmpi-bin, or run make setup, and build again)");
#endif
  }
  DataParallelRun(const DataParallelRun&) = delete;
  DataParallelRun& operator=(const DataParallelRun&) = delete;
  ~DataParallelRun() {
    if (null_ != nullptr) std::fclose(null_);
  }

  /// This process's rank (0 alone).
  int rank() const {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (group_) return group_->rank();
#endif
    return 0;
  }
  /// The number of ranks (1 alone).
  int size() const {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (group_) return group_->size();
#endif
    return 1;
  }
  /// Rank 0 prints and writes files.
  bool root() const { return rank() == 0; }
  /// Where progress bars go: stderr on rank 0, nowhere on the others.
  std::FILE* progress_out() const { return null_ != nullptr ? null_ : stderr; }

  /// Averages `model`'s gradients over the ranks from now on (and gives every rank rank
  /// 0's parameters now). Alone, nothing.
  void wrap([[maybe_unused]] const nn::Module& model) {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (group_) ddp_ = std::make_unique<distributed::DataParallel>(*group_, model);
#endif
  }
  /// After backward(), before the optimizer's step(): waits until every rank has the
  /// mean gradient. Alone, nothing.
  void finish() {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (ddp_) ddp_->finish();
#endif
  }

  /// This rank's examples of `train` for `epoch`: all of them alone; with N ranks its
  /// shard of a shuffle seeded by seed + epoch (ceil(m / N) examples, the epoch's head
  /// repeated to fill the last, as torch's DistributedSampler).
  data::Dataset shard(const data::Dataset& train, [[maybe_unused]] std::uint64_t seed,
                      [[maybe_unused]] std::int64_t epoch) const {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (group_) {
      distributed::DistributedSampler sampler(train.m(), rank(), size(), {.seed = seed});
      sampler.set_epoch(epoch);
      return subset(train, sampler.indices());
    }
#endif
    return train;
  }

  /// How many of `count` examples each rank takes in an epoch: ceil(count / N).
  std::int64_t shard_size(std::int64_t count) const { return (count + size() - 1) / size(); }

  /// This rank's positions 0..count-1 for `epoch`: a shuffle seeded by seed + epoch,
  /// all of it alone, its shard of it with N ranks (ceil(count / N) positions).
  std::vector<std::int64_t> shard_indices(std::int64_t count, std::uint64_t seed,
                                          std::int64_t epoch) const {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (group_) {
      distributed::DistributedSampler sampler(count, rank(), size(), {.seed = seed});
      sampler.set_epoch(epoch);
      return sampler.indices();
    }
#endif
    Generator shuffle(seed + static_cast<std::uint64_t>(epoch));
    return randperm(count, shuffle);
  }

  /// Gives every rank the mean of the ranks' buffers (batch norm's running statistics,
  /// each gathered on one rank's shard), so that every rank evaluates and saves the same
  /// model. Alone, nothing.
  void average_buffers([[maybe_unused]] nn::Module& model) const {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (!group_) return;
    for (auto& [name, buffer] : model.named_buffers())
      if (buffer.dtype() == Dtype::float32 || buffer.dtype() == Dtype::float64)
        group_->all_reduce(buffer, distributed::ReduceOp::mean);
#endif
  }

  /// The sum of `value` over the ranks (a loss summed over each rank's examples, say).
  double sum(double value) const {
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
    if (group_) {
      Tensor t = full({1}, value, Dtype::float64);
      group_->all_reduce(t, distributed::ReduceOp::sum);
      return t.item();
    }
#endif
    return value;
  }

 private:
#ifdef TAPEGRAD_EXAMPLES_HAVE_DISTRIBUTED
  std::optional<distributed::MpiEnvironment> env_;
  mutable std::optional<distributed::MpiProcessGroup> group_;
  std::unique_ptr<distributed::DataParallel> ddp_;
#endif
  std::FILE* null_ = nullptr;
};

}  // namespace tapegrad::examples
