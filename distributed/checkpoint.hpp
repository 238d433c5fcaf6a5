#pragma once
/// \file
/// Checkpoints of a data-parallel run (io/checkpoint.hpp's files): rank 0 writes, every
/// rank reads. The ranks hold the same parameters, so one file serves all of them, and
/// a run may resume on a different number of ranks.
#include <filesystem>
#include <tapegrad/distributed/process_group.hpp>
#include <tapegrad/io/checkpoint.hpp>

namespace tapegrad::distributed {

/// Rank 0 saves io's checkpoint of `model`, `optimizer` and `state` (atomically: a
/// crash leaves the previous file whole); every rank returns once the file is complete.
/// If rank 0 fails, every rank throws (rank 0 its own error, the others a
/// DistributedError saying so).
void save_checkpoint(ProcessGroup& group, const std::filesystem::path& path,
                     const nn::Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state = {});
/// Every rank loads the checkpoint (all or nothing) after all have arrived, so a save
/// just before is complete.
void load_checkpoint(ProcessGroup& group, const std::filesystem::path& path, nn::Module& model,
                     optim::Optimizer& optimizer, TrainingState& state);

}  // namespace tapegrad::distributed
