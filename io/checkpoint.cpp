#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/checkpoint.hpp>
#include <tapegrad/io/tensor_file.hpp>
#include <unordered_map>
#include <unordered_set>

namespace tapegrad {

namespace {

constexpr std::string_view kModelPrefix = "model/";
constexpr std::string_view kOptimizerPrefix = "optimizer/";
constexpr std::string_view kGeneratorPrefix = "generator/";

TensorFile read_tensor_file(const std::filesystem::path& path, std::string_view who) {
  return decode_tensor_file(io::read_whole_file(path, who), path.string(), who);
}

}  // namespace

void save_optimizer(const std::filesystem::path& path, const optim::Optimizer& optimizer) {
  io::write_file_atomically(path, encode_tensor_file(optimizer.state(), "save_optimizer"),
                            "save_optimizer");
}

void load_optimizer(const std::filesystem::path& path, optim::Optimizer& optimizer) {
  optimizer.load_state(read_tensor_file(path, "load_optimizer").tensors);
}

namespace {

NamedTensors checkpoint_tensors(const NamedTensors& parameters, const optim::Optimizer& optimizer) {
  NamedTensors all = with_prefix(kModelPrefix, parameters);
  for (auto& entry : with_prefix(kOptimizerPrefix, optimizer.state()))
    all.push_back(std::move(entry));
  return all;
}

// Checks a checkpoint's tensors against the model and the optimizer, then restores
// both (the optimizer checks all of its state before it assigns any).
void restore_checkpoint(const NamedTensors& loaded, const NamedTensors& parameters,
                        optim::Optimizer& optimizer, const std::string& source,
                        std::string_view who) {
  for (const auto& entry : loaded)
    if (!entry.first.starts_with(kModelPrefix) && !entry.first.starts_with(kOptimizerPrefix))
      throw ValueError(fmt::format("{}: {}: unexpected tensor '{}' (neither model/ nor optimizer/)",
                                   who, source, printable(entry.first)));
  const NamedTensors model = strip_prefix(kModelPrefix, loaded);
  check_loadable(parameters, model, true, source, who);
  optimizer.load_state(strip_prefix(kOptimizerPrefix, loaded));  // checks all, then assigns
  copy_by_name(parameters, model);
}

std::int64_t parse_int(const FileInfo& info, std::string_view key, const std::string& source,
                       std::string_view who) {
  auto it = std::find_if(info.begin(), info.end(), [&](const auto& e) { return e.first == key; });
  if (it == info.end())
    throw ValueError(fmt::format("{}: {}: has no '{}' entry (saved without a TrainingState?)", who,
                                 source, key));
  std::int64_t value = 0;
  const char* first = it->second.data();
  const char* last = first + it->second.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last)
    throw ValueError(fmt::format("{}: {}: '{}' is not an integer: '{}'", who, source, key,
                                 printable(it->second)));
  return value;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const optim::Optimizer& optimizer) {
  const char* who = "save_checkpoint";
  io::write_file_atomically(
      path, encode_tensor_file(checkpoint_tensors(parameters, optimizer), who), who);
}

void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     optim::Optimizer& optimizer) {
  const char* who = "load_checkpoint";
  restore_checkpoint(read_tensor_file(path, who).tensors, parameters, optimizer, path.string(),
                     who);
}

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const optim::Optimizer& optimizer, const TrainingState& state) {
  const char* who = "save_checkpoint";
  FileInfo info{{"epoch", std::to_string(state.epoch)}, {"step", std::to_string(state.step)}};
  std::unordered_set<std::string> names;
  for (const auto& [name, gen] : state.generators) {
    if (!gen) throw ValueError(fmt::format("{}: generator '{}' is null", who, name));
    if (!names.insert(name).second)
      throw ValueError(fmt::format("{}: the generator name '{}' is given twice", who, name));
    info.emplace_back(fmt::format("{}{}", kGeneratorPrefix, name), gen->state());
  }
  io::write_file_atomically(
      path, encode_tensor_file(checkpoint_tensors(parameters, optimizer), who, info), who);
}

void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     optim::Optimizer& optimizer, TrainingState& state) {
  const char* who = "load_checkpoint";
  const std::string source = path.string();
  const TensorFile file = read_tensor_file(path, who);
  // Everything is read and checked before anything changes.
  const std::int64_t epoch = parse_int(file.info, "epoch", source, who);
  const std::int64_t step = parse_int(file.info, "step", source, who);
  std::unordered_map<std::string, const std::string*> saved;
  for (const auto& [key, value] : file.info)
    if (key.starts_with(kGeneratorPrefix))
      saved.emplace(key.substr(kGeneratorPrefix.size()), &value);
  std::vector<Generator> restored;
  restored.reserve(state.generators.size());
  for (const auto& [name, gen] : state.generators) {
    if (!gen) throw ValueError(fmt::format("{}: generator '{}' is null", who, name));
    auto it = saved.find(name);
    if (it == saved.end())
      throw ValueError(fmt::format("{}: {}: has no state for generator '{}'", who, source, name));
    restored.emplace_back();
    try {
      restored.back().set_state(*it->second);
    } catch (const ValueError&) {
      throw ValueError(fmt::format("{}: {}: the state of generator '{}' is not a generator state",
                                   who, source, name));
    }
  }
  if (saved.size() != state.generators.size())
    for (const auto& entry : saved) {
      // Not a structured binding: clang 14 cannot capture one in a lambda.
      const std::string& name = entry.first;
      if (std::none_of(state.generators.begin(), state.generators.end(),
                       [&](const auto& g) { return g.first == name; }))
        throw ValueError(
            fmt::format("{}: {}: unexpected state of generator '{}' (not in the TrainingState)",
                        who, source, printable(name)));
    }
  restore_checkpoint(file.tensors, parameters, optimizer, source, who);
  state.epoch = epoch;
  state.step = step;
  for (std::size_t i = 0; i < restored.size(); ++i) *state.generators[i].second = restored[i];
}

}  // namespace tapegrad

namespace tapegrad {

void save_checkpoint(const std::filesystem::path& path, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state) {
  save_checkpoint(path, model.state_dict(), optimizer, state);
}

void load_checkpoint(const std::filesystem::path& path, nn::Module& model,
                     optim::Optimizer& optimizer, TrainingState& state) {
  load_checkpoint(path, model.state_dict(), optimizer, state);
}

void load_checkpoint(const std::filesystem::path& path, nn::Module& model,
                     optim::Optimizer& optimizer) {
  load_checkpoint(path, model.state_dict(), optimizer);
}

void save_parameters(const std::filesystem::path& path, const nn::Module& model) {
  save_parameters(path, model.state_dict());
}

void load_parameters_into(const std::filesystem::path& path, nn::Module& model, bool strict) {
  load_parameters_into(path, model.state_dict(), strict);
}

}  // namespace tapegrad
