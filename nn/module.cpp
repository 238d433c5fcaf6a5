#include <fmt/format.h>

#include <functional>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/module.hpp>
#include <unordered_set>

namespace tapegrad::nn {

namespace {

// Visits `root` and its descendants depth first, each module once even where a module
// is a child in two places (a shared activation), with its dotted prefix ("" for root).
void visit(const Module& root, const std::function<void(const Module&, const std::string&)>& f) {
  std::unordered_set<const Module*> seen;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m,
                                                                    const std::string& prefix) {
    if (!seen.insert(&m).second) return;
    f(m, prefix);
    for (const auto& [name, child] : m.named_children()) walk(*child, prefix + name + ".");
  };
  walk(root, "");
}

// Each tensor once: the same tensor registered in two modules (tied weights) is one parameter.
NamedTensors collect(const Module& root, const NamedTensors& (*own)(const Module&)) {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;
  visit(root, [&](const Module& m, const std::string& prefix) {
    for (const auto& [name, t] : own(m))
      if (seen.insert(t.impl_ptr().get()).second) out.emplace_back(prefix + name, t);
  });
  return out;
}

}  // namespace

// Reaches the private lists for collect() without widening the public interface.
struct ModuleAccess {
  static const NamedTensors& parameters(const Module& m) { return m.parameters_; }
  static const NamedTensors& buffers(const Module& m) { return m.buffers_; }
};

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

NamedTensors Module::named_parameters() const { return collect(*this, ModuleAccess::parameters); }

NamedTensors Module::named_buffers() const { return collect(*this, ModuleAccess::buffers); }

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(std::move(entry));
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

std::string Module::to_string() const {
  if (children_.empty()) return fmt::format("{}({})", type_name_, extra_repr());
  std::string out = type_name_ + "(\n";
  for (const auto& [name, child] : children_) {
    std::string inner = child->to_string();
    // Indent the child's own lines below its first.
    for (std::size_t at = inner.find('\n'); at != std::string::npos; at = inner.find('\n', at + 3))
      inner.insert(at + 1, "  ");
    out += fmt::format("  ({}): {}\n", name, inner);
  }
  return out + ")";
}

void Module::check_new_name(const std::string& name, std::string_view what) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError(
        fmt::format("{}: {} name '{}' must be non-empty and without '.'", type_name_, what, name));
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  if (taken(parameters_) || taken(buffers_) || taken(children_))
    throw ValueError(fmt::format("{}: the name '{}' is already taken", type_name_, name));
}

Tensor Module::register_parameter(std::string name, Tensor parameter) {
  check_new_name(name, "parameter");
  if (!parameter.defined())
    throw ValueError(fmt::format("{}: parameter '{}' is undefined", type_name_, name));
  if (!parameter.is_leaf())
    throw ValueError(fmt::format("{}: parameter '{}' must be a leaf tensor (detach() it first)",
                                 type_name_, name));
  parameter.requires_grad_();
  parameters_.emplace_back(std::move(name), parameter);
  return parameter;
}

Tensor Module::register_buffer(std::string name, Tensor buffer) {
  check_new_name(name, "buffer");
  if (!buffer.defined())
    throw ValueError(fmt::format("{}: buffer '{}' is undefined", type_name_, name));
  buffers_.emplace_back(std::move(name), buffer);
  return buffer;
}

std::shared_ptr<Module> Module::register_module(std::string name, std::shared_ptr<Module> child) {
  check_new_name(name, "module");
  if (!child) throw ValueError(fmt::format("{}: module '{}' is null", type_name_, name));
  if (child.get() == this)
    throw ValueError(fmt::format("{}: a module cannot be its own child", type_name_));
  children_.emplace_back(std::move(name), child);
  return child;
}

}  // namespace tapegrad::nn
