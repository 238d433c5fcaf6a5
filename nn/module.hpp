#pragma once
/// \file
/// Module: what a layer or a model is, as in PyTorch's nn.Module. A module owns
/// parameters (tensors that require grad), buffers (state that is saved but not
/// trained, such as batch norm's running mean) and child modules; named_parameters()
/// walks them all with dotted names ("0.weight", "block.conv1.bias"), the names
/// PyTorch's state_dict gives, which tapegrad's files store.
///
///   struct TwoLayer : nn::Module {
///     TwoLayer() : Module("TwoLayer") {
///       hidden = register_module("hidden", nn::Linear(784, 128));
///       out = register_module("out", nn::Linear(128, 10));
///     }
///     Tensor forward(const Tensor& x) override { return (*out)(relu((*hidden)(x))); }
///     std::shared_ptr<nn::Linear> hidden, out;
///   };
///
/// Modules are handles in the way tensors are: a copy of a module shares its
/// parameters and children with the original.
#include <concepts>
#include <memory>
#include <string>
#include <string_view>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/named_tensors.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <type_traits>
#include <utility>
#include <vector>

namespace tapegrad::nn {

class Module;

/// A module given by value (any cv-ref of a type derived from Module).
template <class M>
concept ModuleValue = std::derived_from<std::remove_cvref_t<M>, Module>;

/// A module's children, by name, in registration order.
using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;

/// The base of every layer and model: parameters, buffers, children, train/eval.
class TAPEGRAD_API Module {
 public:
  /// `type_name` names the module in messages and in to_string() ("Linear").
  explicit Module(std::string type_name);
  virtual ~Module() = default;
  Module(const Module&) = default;             ///< shares parameters and children
  Module& operator=(const Module&) = default;  ///< shares parameters and children
  Module(Module&&) = default;                  ///< moves the handles
  Module& operator=(Module&&) = default;       ///< moves the handles

  /// The module's computation; modules of one input and one output override it.
  virtual Tensor forward(const Tensor& x) = 0;
  /// forward(x).
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// "Linear", "Sequential", ...
  const std::string& type_name() const { return type_name_; }

  /// Every parameter of this module and its descendants, each once, in registration
  /// order (depth first): what an optimizer takes.
  std::vector<Tensor> parameters() const;
  /// The same with dotted names: ("0.weight", W), ("0.bias", b), ...
  NamedTensors named_parameters() const;
  /// Every buffer (saved, not trained), with dotted names.
  NamedTensors named_buffers() const;
  /// named_parameters() then named_buffers(): what a file stores for this module.
  NamedTensors state_dict() const;
  /// The direct children, by name.
  const NamedModules& named_children() const { return children_; }

  /// Training (true) or evaluation mode, for this module and every descendant (layers
  /// such as dropout and batch norm differ between the two).
  void train(bool on = true);
  /// train(false).
  void eval() { train(false); }
  /// True until eval() or train(false): a new module trains.
  bool training() const { return training_; }
  /// Drops the gradient of every parameter.
  void zero_grad();

  /// The module tree as PyTorch prints it: "Sequential(\n  (0): Linear(in=784, out=256)\n...)".
  std::string to_string() const;
  /// What to_string() shows inside the parentheses of a module without children.
  virtual std::string extra_repr() const { return {}; }

 protected:
  /// Adds a parameter (made to require grad) under `name`; returns the same handle.
  Tensor register_parameter(std::string name, Tensor parameter);
  /// Adds a buffer (no grad) under `name`; returns the same handle.
  Tensor register_buffer(std::string name, Tensor buffer);
  /// Adds a child under `name`; returns it.
  std::shared_ptr<Module> register_module(std::string name, std::shared_ptr<Module> child);
  /// Adds a child given by value (moved into a new shared module); returns it, typed.
  template <ModuleValue M>
  std::shared_ptr<std::remove_cvref_t<M>> register_module(std::string name, M&& child) {
    auto held = std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(child));
    register_module(std::move(name), std::shared_ptr<Module>(held));
    return held;
  }

 private:
  friend struct ModuleAccess;
  void check_new_name(const std::string& name, std::string_view what) const;
  std::string type_name_;
  NamedTensors parameters_;
  NamedTensors buffers_;
  NamedModules children_;
  bool training_ = true;
};

}  // namespace tapegrad::nn
