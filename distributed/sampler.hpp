#pragma once
/// \file
/// DistributedSampler: which examples of a data set this rank trains on in an epoch.
#include <cstdint>
#include <vector>

namespace tapegrad::distributed {

/// DistributedSampler's settings.
struct SamplerOptions {
  bool shuffle = true;     ///< a new order each epoch, seeded by seed + epoch; false: stored order
  std::uint64_t seed = 0;  ///< the same on every rank, so that the ranks agree on the order
  /// true: drop the tail so that every rank gets floor(n / ranks) examples; false (the
  /// default, as torch's DistributedSampler): pad by repeating the head of the epoch's
  /// order, so that every rank gets ceil(n / ranks) and every example is seen.
  bool drop_last = false;
};

/// Shards `size` examples across `ranks`: in each epoch the examples are put in one
/// seeded order, shared by every rank, and rank r takes positions r, r + ranks,
/// r + 2 ranks, ... Together the ranks see every example once per epoch (plus the
/// padding, or minus the dropped tail), and every rank the same number.
class DistributedSampler {
 public:
  /// Throws ValueError unless size >= 0, ranks >= 1 and 0 <= rank < ranks.
  DistributedSampler(std::int64_t size, int rank, int ranks, SamplerOptions options = {});
  /// Selects the epoch whose order indices() returns (0 until called).
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  /// The epoch set by set_epoch.
  std::int64_t epoch() const { return epoch_; }
  /// This rank's example indices for the current epoch, num_samples() of them.
  std::vector<std::int64_t> indices() const;
  /// Examples per rank per epoch.
  std::int64_t num_samples() const { return per_rank_; }
  /// Examples per epoch over all ranks: num_samples() * ranks.
  std::int64_t total_size() const { return per_rank_ * ranks_; }

 private:
  std::int64_t size_;
  int rank_;
  int ranks_;
  SamplerOptions options_;
  std::int64_t per_rank_;
  std::int64_t epoch_ = 0;
};

}  // namespace tapegrad::distributed
