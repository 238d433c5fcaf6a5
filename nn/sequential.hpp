#pragma once
/// \file
/// Sequential: modules applied one after the other, as PyTorch's nn.Sequential.
///
///   nn::Sequential model{nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10)};
///   Tensor logits = model(X);                 // (784, m) -> (10, m)
///   model.named_parameters();                 // "0.weight", "0.bias", "2.weight", "2.bias"
///
/// A step may also be a shared module (the same one twice shares its parameters) or
/// any function of a tensor: `[](const Tensor& z) { return z * sigmoid(z); }`.
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/nn/activation.hpp>
#include <tapegrad/nn/module.hpp>
#include <type_traits>
#include <utility>

namespace tapegrad::nn {

/// A function of a tensor that is not a module: a lambda, a free function.
template <class F>
concept TensorFunction = !ModuleValue<F> && std::is_invocable_r_v<Tensor, F, const Tensor&>;

/// One step of a Sequential: a module value (moved into a new shared module), a shared
/// module, or a function of a tensor (wrapped in Functional). Implicit, so that
/// `Sequential{Linear(2, 4), ReLU()}` reads as PyTorch; each constructor is constrained,
/// so none hides AnyModule's own copy or move.
class AnyModule {
 public:
  /// A module value, moved into a shared module of its own type.
  template <ModuleValue M>
  AnyModule(M&& module)  // NOLINT(bugprone-forwarding-reference-overload)
      : ptr_(std::make_shared<std::remove_cvref_t<M>>(std::forward<M>(module))) {}
  /// A module shared with its other users.
  template <std::derived_from<Module> M>
  AnyModule(std::shared_ptr<M> module) : ptr_(std::move(module)) {}
  /// A function of a tensor, as Functional(f).
  template <TensorFunction F>
  AnyModule(F&& f)  // NOLINT(bugprone-forwarding-reference-overload)
      : ptr_(std::make_shared<Functional>(Functional::Function(std::forward<F>(f)))) {}

  /// The module (never null).
  const std::shared_ptr<Module>& ptr() const { return ptr_; }

 private:
  std::shared_ptr<Module> ptr_;
};

/// Applies its steps in order: forward(x) = step_n(...step_1(x)).
class TAPEGRAD_API Sequential : public Module {
 public:
  /// No steps yet: forward is the identity until push_back.
  Sequential() : Module("Sequential") {}
  /// The steps, named "0", "1", ... in order.
  Sequential(std::initializer_list<AnyModule> steps);

  /// Appends a step named by its index.
  void push_back(const AnyModule& step);
  /// Appends a step under `name` (ValueError if taken or containing '.').
  void push_back(std::string name, const AnyModule& step);

  /// Each step's output feeds the next.
  Tensor forward(const Tensor& x) override;

  /// Number of steps.
  std::size_t size() const { return named_children().size(); }
  /// Step i (0-based); IndexError past the end.
  Module& operator[](std::size_t i) const;
  /// Step i as a shared module; IndexError past the end.
  std::shared_ptr<Module> ptr(std::size_t i) const;
  /// Step i as an M (`model.at<nn::Linear>(0).W`); ValueError if it is another type.
  template <class M>
  M& at(std::size_t i) const {
    auto* m = dynamic_cast<M*>(&(*this)[i]);
    if (m == nullptr) wrong_type(i);
    return *m;
  }

 protected:
  /// As Sequential(), under another type name (for models built on it, such as MLP).
  explicit Sequential(std::string type_name) : Module(std::move(type_name)) {}

 private:
  [[noreturn]] void wrong_type(std::size_t i) const;
};

}  // namespace tapegrad::nn
