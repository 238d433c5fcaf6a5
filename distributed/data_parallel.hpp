#pragma once
/// \file
/// Data-parallel training: every rank holds the whole model, trains on its own shard of
/// each global batch, and the ranks average their gradients before each step.
///
///   distributed::DataParallel ddp(group, model);  // broadcasts rank 0's parameters
///   for (...) {
///     optimizer.zero_grad();
///     loss(model(x_shard), y_shard).backward();  // buckets all-reduce during backward
///     ddp.finish();                              // waits: every rank has the mean grad
///     optimizer.step();
///   }
#include <cstddef>
#include <cstdint>
#include <memory>
#include <tapegrad/distributed/process_group.hpp>
#include <tapegrad/nn/module.hpp>
#include <vector>

namespace tapegrad::distributed {

/// DataParallel's settings.
struct DataParallelOptions {
  /// Gradients are packed into buckets of about this many bytes, each all-reduced as
  /// soon as its last gradient is final. 64 KiB: on bench/distributed_mlp's epoch
  /// (784-256-128-10, 2 ranks) it waited least in finish() of 16, 64, 256 and 4096 KiB
  /// (0.36 ms a step against 1.2 to 1.7 ms): the last three layers go in one bucket
  /// that travels while backward computes the first layer's gradient.
  std::size_t bucket_bytes = std::size_t{64} << 10;
  /// Start each bucket during backward, as soon as its last gradient is final. False
  /// starts them all in finish(), after backward: the same bits, no overlap (what
  /// bench/distributed_mlp compares against to measure how much the overlap hides).
  bool overlap = true;
};

/// Averages the gradients of `parameters` across the ranks of a group, overlapping the
/// communication with backward. The constructor broadcasts rank 0's parameters (every
/// rank starts from the same model), then registers a post-accumulate-grad hook on each
/// parameter (graph/autograd.hpp). Buckets hold parameters in reverse order (the order
/// backward finishes them) and start strictly in bucket order on every rank, so the
/// ranks' collectives always match. One backward per finish().
class DataParallel {
 public:
  /// Wraps `parameters` (leaves that require grad, float32 or float64).
  DataParallel(ProcessGroup& group, std::vector<Tensor> parameters,
               DataParallelOptions options = {});
  /// Wraps model.parameters().
  DataParallel(ProcessGroup& group, const nn::Module& model, DataParallelOptions options = {});
  ~DataParallel();                                        ///< removes the hooks
  DataParallel(const DataParallel&) = delete;             ///< the hooks point at this object
  DataParallel& operator=(const DataParallel&) = delete;  ///< the hooks point at this object

  /// Starts the buckets backward did not complete (a parameter that did not take part
  /// counts as a zero gradient), waits for all, and leaves the mean gradient in each
  /// parameter's grad(). Call it after backward() and before the optimizer's step().
  /// From then on each grad() is a view of its slice of a bucket (as PyTorch's
  /// gradient_as_bucket_view): the next backward accumulates into the bucket itself, so
  /// no gradient is copied; a grad() the user replaces or resets is copied in.
  void finish();

  /// The group it reduces over.
  ProcessGroup& group() const { return *group_; }
  /// Indices into the parameters, bucket by bucket, in the order they start.
  const std::vector<std::vector<std::size_t>>& buckets() const { return buckets_; }
  /// Seconds the last finish() spent waiting for communication (the part backward did
  /// not hide).
  double last_wait_seconds() const { return last_wait_seconds_; }

 private:
  void on_grad_ready(std::size_t param);
  void start_ready_buckets();
  void start_bucket(std::size_t bucket);

  ProcessGroup* group_;
  std::vector<Tensor> params_;
  std::vector<std::uint64_t> hook_ids_;
  std::vector<std::vector<std::size_t>> buckets_;
  std::vector<std::size_t> bucket_of_;       // parameter -> bucket
  std::vector<bool> ready_;                  // parameter's grad final in this pass
  std::vector<std::size_t> ready_count_;     // per bucket
  std::vector<Tensor> flat_;                 // per bucket: the packed gradients
  std::vector<Tensor> grad_views_;           // per parameter: its slice of its bucket
  std::vector<std::unique_ptr<Work>> work_;  // per bucket, once started
  std::size_t next_bucket_ = 0;              // buckets start in order: the next to start
  double last_wait_seconds_ = 0.0;
};

}  // namespace tapegrad::distributed
