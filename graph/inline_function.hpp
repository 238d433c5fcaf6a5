#pragma once
/// \file
/// A move-only function wrapper that keeps small callables inside itself.
///
/// Every recorded op stores one backward rule. std::function keeps only 16 bytes
/// inline, so a rule that saves two tensors would cost a heap allocation per op;
/// this keeps up to `Size` bytes inline and falls back to the heap above that.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace tapegrad::detail {

template <class Signature, std::size_t Size = 96>
class InlineFunction;

/// A callable R(Args...) stored inline when it fits in Size bytes.
template <class R, class... Args, std::size_t Size>
class InlineFunction<R(Args...), Size> {
 public:
  InlineFunction() noexcept = default;
  InlineFunction(std::nullptr_t) noexcept {}  // NOLINT: implicit, as std::function's

  /// Wraps any callable invocable as R(Args...).
  template <class F>
  requires(!std::is_same_v<std::decay_t<F>, InlineFunction> &&
           std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
      InlineFunction(F&& f) {  // NOLINT: implicit, so lambdas convert as to std::function
    using D = std::decay_t<F>;
    if constexpr (fits<D>()) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
      ops_ = &inline_ops<D>;
    } else {
      ::new (static_cast<void*>(storage_)) D*(new D(std::forward<F>(f)));
      ops_ = &heap_ops<D>;
    }
  }

  InlineFunction(InlineFunction&& other) noexcept { take(other); }
  InlineFunction& operator=(InlineFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  InlineFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  InlineFunction(const InlineFunction&) = delete;
  InlineFunction& operator=(const InlineFunction&) = delete;
  ~InlineFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  R operator()(Args... args) { return ops_->invoke(storage_, std::forward<Args>(args)...); }

 private:
  struct Ops {
    R (*invoke)(void*, Args&&...);
    void (*move)(void* from, void* to) noexcept;  // move-constructs at `to`, destroys `from`
    void (*destroy)(void*) noexcept;
  };

  template <class D>
  static constexpr bool fits() {
    return sizeof(D) <= Size && alignof(D) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<D>;
  }

  template <class D>
  static constexpr Ops inline_ops{
      [](void* p, Args&&... a) -> R { return (*static_cast<D*>(p))(std::forward<Args>(a)...); },
      [](void* from, void* to) noexcept {
        ::new (to) D(std::move(*static_cast<D*>(from)));
        static_cast<D*>(from)->~D();
      },
      [](void* p) noexcept { static_cast<D*>(p)->~D(); }};

  template <class D>
  static constexpr Ops heap_ops{
      [](void* p, Args&&... a) -> R { return (**static_cast<D**>(p))(std::forward<Args>(a)...); },
      [](void* from, void* to) noexcept { ::new (to) D*(*static_cast<D**>(from)); },
      [](void* p) noexcept { delete *static_cast<D**>(p); }};

  void take(InlineFunction& other) noexcept {
    if (other.ops_) {
      other.ops_->move(other.storage_, storage_);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }
  void reset() noexcept {
    if (ops_) {
      const Ops* ops = ops_;
      ops_ = nullptr;  // first: destroying the callable may free more of the graph
      ops->destroy(storage_);
    }
  }

  alignas(std::max_align_t) unsigned char storage_[Size];
  const Ops* ops_ = nullptr;
};

}  // namespace tapegrad::detail
