#pragma once
/// \file
/// Checkpoints: a model's parameters ("model/<name>"), its optimizer's state
/// ("optimizer/<name>") and where training stands (epoch, step, generators), in one
/// tensor file (io/tensor_file.hpp), written atomically and loaded all or nothing.
///
///   save_checkpoint("run.tg", model, optimizer, {.epoch = e, .generators = {...}});
#include <cstdint>
#include <filesystem>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/named_tensors.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <utility>
#include <vector>

namespace tapegrad {

/// Saves an optimizer's state (lr, step count, moment estimates...).
TAPEGRAD_API void save_optimizer(const std::filesystem::path& path,
                                 const optim::Optimizer& optimizer);
/// Restores an optimizer's state saved by save_optimizer, all or nothing.
TAPEGRAD_API void load_optimizer(const std::filesystem::path& path, optim::Optimizer& optimizer);

/// One file with a model's parameters ("model/<name>") and its optimizer's state
/// ("optimizer/<name>"): resuming training restores both.
TAPEGRAD_API void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  const optim::Optimizer& optimizer);
/// Restores parameters and optimizer state from save_checkpoint's file, all or nothing.
TAPEGRAD_API void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  optim::Optimizer& optimizer);

/// Where training stands besides its tensors. A checkpoint saved with one and loaded
/// into one resumes training exactly: same parameters, optimizer state, epoch, step and
/// random sequences (mini-batch shuffling, dropout masks).
struct TrainingState {
  std::int64_t epoch = 0;  ///< e.g. epochs completed
  std::int64_t step = 0;   ///< e.g. optimizer steps taken
  /// Generators saved by name and restored in place, e.g.
  /// {{"shuffle", &loader.generator()}, {"default", &default_generator()}}.
  std::vector<std::pair<std::string, Generator*>> generators;
};

/// save_checkpoint plus `state`: epoch, step and each generator's state.
TAPEGRAD_API void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  const optim::Optimizer& optimizer, const TrainingState& state);
/// Restores parameters, optimizer state, state.epoch, state.step and every generator
/// of state.generators (each must be in the file, and the file may hold no others;
/// ValueError otherwise, as for a file saved without a TrainingState). All or nothing.
TAPEGRAD_API void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                                  optim::Optimizer& optimizer, TrainingState& state);

/// save_checkpoint of model.state_dict() (parameters and buffers, dotted names).
TAPEGRAD_API void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                                  const optim::Optimizer& optimizer,
                                  const TrainingState& state = {});
/// load_checkpoint into model.state_dict(), all or nothing.
TAPEGRAD_API void load_checkpoint(const std::filesystem::path& path, nn::Module& model,
                                  optim::Optimizer& optimizer, TrainingState& state);
/// load_checkpoint into model.state_dict() without a TrainingState, all or nothing.
TAPEGRAD_API void load_checkpoint(const std::filesystem::path& path, nn::Module& model,
                                  optim::Optimizer& optimizer);

/// Saves model.state_dict() (parameters and buffers, dotted names) to `path`, atomically.
TAPEGRAD_API void save_parameters(const std::filesystem::path& path, const nn::Module& model);
/// Loads a file into model.state_dict(), matched by name, all or nothing (see
/// load_parameters_into for NamedTensors).
TAPEGRAD_API void load_parameters_into(const std::filesystem::path& path, nn::Module& model,
                                       bool strict = true);

}  // namespace tapegrad
