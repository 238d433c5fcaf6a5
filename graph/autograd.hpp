#pragma once
/// \file
/// The tape, grad mode, and the interface for writing new differentiable ops.
/// An op whose inputs need grad records one Node: which inputs it read and how its
/// gradient flows back to them. backward() visits the nodes reachable from the loss
/// newest-first (by sequence number), so every node has all of its gradient before it
/// runs. Nothing here recurses: not the traversal, not the freeing.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/inline_function.hpp>
#include <tapegrad/graph/object_pool.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <utility>
#include <vector>

namespace tapegrad {

struct Node;

/// Autograd state of one tensor.
struct AutogradMeta {
  bool requires_grad = false;     ///< a parameter, or computed from one
  bool retains_grad = false;      ///< keep `grad` of a non-leaf (Tensor::retain_grad)
  Shape shape;                    ///< the tensor's shape: gradients are reduced to it (sum_to)
  Dtype dtype = Dtype::float32;   ///< the tensor's dtype: gradients have it too
  std::shared_ptr<Node> grad_fn;  ///< null for a leaf
  Tensor grad;                    ///< accumulated gradient of a leaf (or retained)
  Tensor pending;                 ///< gradient being summed during one backward pass
  /// Post-accumulate-grad hooks of a leaf, by id (see register_post_accumulate_grad_hook).
  std::vector<std::pair<std::uint64_t, std::function<void(const Tensor& grad)>>> grad_hooks;
  /// Unregisters the hooks still held (backward counts the registered ones).
  TAPEGRAD_API ~AutogradMeta();
};

/// Which inputs of a node need a gradient: needs[i].
struct Needs {
  std::uint32_t bits = 0;  ///< bit i set: input i needs a gradient
  /// True when input i needs a gradient (the rule may skip computing it otherwise).
  bool operator[](std::size_t i) const { return (bits >> i) & 1u; }
};

/// One gradient per input of the op, in input order; an undefined Tensor where the
/// input needs none. Each may have the op's broadcast shape: the engine reduces it.
/// (Pooled: a backward pass makes one per node.)
using Grads = std::vector<Tensor, detail::PoolAllocator<Tensor>>;
/// An op's backward rule: upstream gradient (the output's shape) -> input gradients.
/// Any callable converts to it; one that captures up to 96 bytes (a few saved tensors
/// and shapes) is kept inline, with no allocation.
using BackwardFn = detail::InlineFunction<Grads(const Tensor& grad, Needs needs)>;

/// One record on the tape: the op that produced a tensor and how to send its
/// gradient back to the op's inputs. Made by record(); users only see it through
/// the engine.
struct TAPEGRAD_API Node {
  const char* name = "";  ///< the op's name, as error messages print it
  std::uint64_t seq = 0;  ///< place on the tape; inputs always have smaller ones
  /// Autograd state of each input, null where the input needs no grad.
  std::vector<std::shared_ptr<AutogradMeta>, detail::PoolAllocator<std::shared_ptr<AutogradMeta>>>
      inputs;
  BackwardFn backward;    ///< empty once released
  bool released = false;  ///< true once backward ran without retain_graph
  ~Node();                ///< frees the subgraph iteratively (no recursion, any depth)
};

/// True when ops record (thread-local; on by default).
TAPEGRAD_API bool grad_enabled();
/// Turns recording on or off for the calling thread (prefer NoGradGuard).
TAPEGRAD_API void set_grad_enabled(bool enabled);

/// Turns recording off for its scope, on this thread.
class NoGradGuard {
 public:
  NoGradGuard() : previous_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Turns recording on for its scope (inside a NoGradGuard, say).
class EnableGradGuard {
 public:
  EnableGradGuard() : previous_(grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(previous_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool previous_;
};

/// True when an op on these inputs would be recorded.
TAPEGRAD_API bool should_record(std::span<const Tensor* const> inputs);
/// should_record() for a braced list of inputs: should_record({&a, &b}).
inline bool should_record(std::initializer_list<const Tensor*> inputs) {
  return should_record(std::span<const Tensor* const>(inputs.begin(), inputs.size()));
}

/// Records `result` as the output of op `name` on `inputs`, with its backward rule.
/// Does nothing (and returns `result` as it is) unless should_record(inputs).
/// The rule must capture only what it needs, and tensors it saves as detach()ed data.
TAPEGRAD_API Tensor record(const char* name, Tensor result, std::span<const Tensor* const> inputs,
                           BackwardFn backward);
/// record() for a braced list of inputs: record("mul", out, {&a, &b}, rule).
inline Tensor record(const char* name, Tensor result, std::initializer_list<const Tensor*> inputs,
                     BackwardFn backward) {
  return record(name, std::move(result),
                std::span<const Tensor* const>(inputs.begin(), inputs.size()), std::move(backward));
}

/// Reduces a gradient of a broadcast result back to an input's shape by summing the
/// broadcast axes: the single place where broadcasting is undone. Throws ShapeError
/// naming `op` if `shape` does not broadcast to grad's shape.
TAPEGRAD_API Tensor sum_to(const Tensor& grad, const Shape& shape, const char* op = "sum_to");

/// Called with a leaf's accumulated gradient once a backward pass has added its last
/// contribution to it (its `.grad()`, which the hook may read or change in place).
using PostAccumulateGradHook = std::function<void(const Tensor& grad)>;

/// Registers `hook` on a leaf that requires grad (PyTorch's
/// register_post_accumulate_grad_hook): every backward pass that reaches `leaf` calls it
/// once, right after the pass's last contribution to leaf's gradient, while the rest of
/// the pass still runs (data-parallel training starts communicating there). Hooks of one
/// leaf run in the order registered; a pass that does not reach the leaf does not call
/// them. Returns an id for remove_post_accumulate_grad_hook. Throws GraphError for a
/// non-leaf or a tensor that does not require grad. With no hook registered anywhere,
/// backward does no extra work.
TAPEGRAD_API std::uint64_t register_post_accumulate_grad_hook(const Tensor& leaf,
                                                              PostAccumulateGradHook hook);
/// Removes a hook registered on `leaf`; an unknown id is ignored.
TAPEGRAD_API void remove_post_accumulate_grad_hook(const Tensor& leaf, std::uint64_t id);

/// Number of nodes alive on this process (for leak tests).
TAPEGRAD_API std::int64_t live_nodes();

}  // namespace tapegrad
