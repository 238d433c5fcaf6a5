#include <exception>
#include <tapegrad/distributed/checkpoint.hpp>

namespace tapegrad::distributed {

void save_checkpoint(ProcessGroup& group, const std::filesystem::path& path,
                     const nn::Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state) {
  std::exception_ptr error;
  if (group.rank() == 0) {
    try {
      tapegrad::save_checkpoint(path, model, optimizer, state);
    } catch (...) {
      error = std::current_exception();
    }
  }
  // Rank 0 tells the others whether the file is there: none of them waits for a file
  // that will never come, and none goes on believing it was saved.
  Tensor ok = scalar(error ? 0.0 : 1.0, float64);
  group.broadcast(ok, 0);
  if (error) std::rethrow_exception(error);
  if (ok.item() != 1.0)
    throw DistributedError(
        fmt::format("save_checkpoint: rank 0 failed to write '{}' (rank {} of {})", path.string(),
                    group.rank(), group.size()));
}

void load_checkpoint(ProcessGroup& group, const std::filesystem::path& path, nn::Module& model,
                     optim::Optimizer& optimizer, TrainingState& state) {
  group.barrier();
  tapegrad::load_checkpoint(path, model, optimizer, state);
}

}  // namespace tapegrad::distributed
