#include <algorithm>
#include <atomic>
#include <queue>
#include <tapegrad/graph/anomaly.hpp>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/object_pool.hpp>
#include <unordered_map>
#include <unordered_set>

namespace tapegrad {
namespace {

thread_local bool grad_mode = true;
std::atomic<std::uint64_t> next_seq{1};
std::atomic<std::int64_t> node_count{0};
// Hooks registered on any leaf: while none is, backward skips the counting pass below.
std::atomic<std::int64_t> hook_count{0};
std::atomic<std::uint64_t> next_hook_id{1};

// Freeing a long chain would recurse node -> input -> node ... and overflow the
// stack. Instead each dying node hands its inputs to this list and the outermost
// destructor drains it in a loop.
thread_local std::vector<std::shared_ptr<AutogradMeta>>* graveyard = nullptr;

AutogradMeta& meta_of(const Tensor& t) {
  auto& impl = t.impl();
  if (!impl.autograd) {
    impl.autograd = detail::make_pooled<AutogradMeta>();
    impl.autograd->shape = impl.shape;
    impl.autograd->dtype = impl.dtype;
  }
  return *impl.autograd;
}

// True when nothing but `t` refers to its buffer: it may be adopted or changed.
bool sole_owner(const Tensor& t) {
  return t.impl_ptr().use_count() == 1 && t.impl().storage.use_count() == 1;
}

// Adds `g` into a leaf's (or retained) gradient, which this engine owns.
void accumulate_into(Tensor& slot, Tensor&& g) {
  if (!slot.defined()) {
    // A fresh buffer nobody else holds (matmul's dW, say) is adopted as it is;
    // one that is shared with other consumers is copied, never aliased.
    slot = sole_owner(g) ? std::move(g) : g.clone();
  } else {
    NoGradGuard no_grad;
    slot.add_(g);
  }
}

// A leaf's gradient is final once every node of this pass that reads the leaf has run.
// Counts those edges for each hooked leaf reachable from `root`, by an iterative walk
// (no recursion). Only runs while some hook is registered.
std::unordered_map<AutogradMeta*, std::int64_t> count_hooked_uses(AutogradMeta& root) {
  std::unordered_map<AutogradMeta*, std::int64_t> uses;
  std::unordered_set<const AutogradMeta*> seen{&root};
  std::vector<AutogradMeta*> stack{&root};
  while (!stack.empty()) {
    AutogradMeta* m = stack.back();
    stack.pop_back();
    for (const auto& in : m->grad_fn->inputs) {
      if (!in) continue;
      if (!in->grad_fn) {
        if (!in->grad_hooks.empty()) ++uses[in.get()];
      } else if (seen.insert(in.get()).second) {
        stack.push_back(in.get());
      }
    }
  }
  return uses;
}

void run_grad_hooks(AutogradMeta& leaf) {
  // A copy: a hook may remove itself (or another) while they run.
  auto hooks = leaf.grad_hooks;
  for (auto& [id, hook] : hooks) hook(leaf.grad);
}

}  // namespace

std::uint64_t register_post_accumulate_grad_hook(const Tensor& leaf, PostAccumulateGradHook hook) {
  if (!leaf.requires_grad() || !leaf.is_leaf())
    throw GraphError(fmt::format(
        "register_post_accumulate_grad_hook: tensor of shape {} is {}: hooks go on leaves that "
        "require grad (parameters)",
        shape_str(leaf.shape()), leaf.requires_grad() ? "not a leaf" : "not requiring grad"));
  if (!hook) throw ValueError("register_post_accumulate_grad_hook: the hook is empty");
  const std::uint64_t id = next_hook_id.fetch_add(1, std::memory_order_relaxed);
  leaf.impl().autograd->grad_hooks.emplace_back(id, std::move(hook));
  hook_count.fetch_add(1, std::memory_order_relaxed);
  return id;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, std::uint64_t id) {
  const auto& a = leaf.impl().autograd;
  if (!a) return;
  auto& hooks = a->grad_hooks;
  const auto n = std::erase_if(hooks, [id](const auto& h) { return h.first == id; });
  hook_count.fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
}

AutogradMeta::~AutogradMeta() {
  if (!grad_hooks.empty())
    hook_count.fetch_sub(static_cast<std::int64_t>(grad_hooks.size()), std::memory_order_relaxed);
}

Node::~Node() {
  node_count.fetch_sub(1, std::memory_order_relaxed);
  if (graveyard) {
    for (auto& in : inputs)
      if (in) graveyard->push_back(std::move(in));
    return;
  }
  std::vector<std::shared_ptr<AutogradMeta>> pending;
  for (auto& in : inputs)
    if (in) pending.push_back(std::move(in));
  graveyard = &pending;
  while (!pending.empty()) {
    auto meta = std::move(pending.back());
    pending.pop_back();
    meta.reset();  // may destroy a Node, which appends to `pending` instead of recursing
  }
  graveyard = nullptr;
}

bool grad_enabled() { return grad_mode; }
void set_grad_enabled(bool enabled) { grad_mode = enabled; }

std::int64_t live_nodes() { return node_count.load(); }

bool should_record(std::span<const Tensor* const> inputs) {
  if (!grad_mode) return false;
  return std::any_of(inputs.begin(), inputs.end(),
                     [](const Tensor* t) { return t->defined() && t->requires_grad(); });
}

Tensor record(const char* name, Tensor result, std::span<const Tensor* const> inputs,
              BackwardFn backward) {
  if (detect_anomaly()) detail::check_forward(name, result, inputs);
  if (!should_record(inputs)) return result;
  if (inputs.size() > 32)
    throw ValueError(
        fmt::format("{}: an op records at most 32 inputs, got {}", name, inputs.size()));
  auto node = detail::make_pooled<Node>();
  node_count.fetch_add(1, std::memory_order_relaxed);
  node->name = name;
  node->seq = next_seq.fetch_add(1, std::memory_order_relaxed);
  node->inputs.reserve(inputs.size());
  for (const Tensor* in : inputs)
    node->inputs.push_back(in->defined() && in->requires_grad() ? in->impl().autograd : nullptr);
  node->backward = std::move(backward);
  AutogradMeta& m = meta_of(result);
  m.requires_grad = true;
  m.grad_fn = std::move(node);
  return result;
}

Tensor sum_to(const Tensor& grad, const Shape& shape, const char* op) {
  const Shape& from = grad.shape();
  if (from == shape) return grad;
  if (shape.size() > from.size() || broadcast_shapes(op, shape, from) != from)
    throw ShapeError(fmt::format("{}: gradient of shape {} cannot be reduced to shape {}", op,
                                 shape_str(from), shape_str(shape)));
  const std::size_t lead = from.size() - shape.size();
  Tensor g = grad;
  for (std::size_t axis = 0; axis < from.size(); ++axis) {
    const std::int64_t target = axis < lead ? 1 : shape[axis - lead];
    if (target == 1 && from[axis] != 1) g = kernels::sum_axis_keepdim(g, static_cast<int>(axis));
  }
  // Drop the leading axes the input never had: same data, new shape.
  Tensor out = g.detach();
  out.impl().shape = shape;
  return out;
}

// ---- Tensor's autograd members ------------------------------------------------

bool Tensor::requires_grad() const {
  const auto& a = impl().autograd;
  return a && a->requires_grad;
}

Tensor& Tensor::requires_grad_(bool on) {
  if (!is_leaf())
    throw GraphError(fmt::format(
        "requires_grad_: tensor of shape {} was computed by '{}': only leaves can be marked "
        "(use detach() to make a new leaf)",
        shape_str(shape()), impl().autograd->grad_fn->name));
  if (on || impl().autograd) meta_of(*this).requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const {
  const auto& a = impl().autograd;
  return !a || !a->grad_fn;
}

Tensor Tensor::grad() const {
  const auto& a = impl().autograd;
  return a ? a->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype()))
    throw ShapeError(fmt::format("set_grad: gradient {} {} does not match tensor {} {}",
                                 dtype_name(grad.dtype()), shape_str(grad.shape()),
                                 dtype_name(dtype()), shape_str(shape())));
  meta_of(*this).grad = grad;
}

void Tensor::zero_grad() {
  const auto& a = impl().autograd;
  if (a && a->grad.defined()) {
    NoGradGuard no_grad;
    a->grad.fill_(0.0);
  }
}

void Tensor::retain_grad() {
  if (!requires_grad())
    throw GraphError(
        fmt::format("retain_grad: tensor of shape {} does not require grad", shape_str(shape())));
  meta_of(*this).retains_grad = true;
}

void Tensor::backward(bool retain_graph) const { backward(Tensor(), retain_graph); }

void Tensor::backward(const Tensor& grad_in, bool retain_graph) const {
  if (!requires_grad())
    throw GraphError(fmt::format(
        "backward: tensor of shape {} does not require grad (no input of the ops that made "
        "it requires grad, or it was computed under NoGradGuard)",
        shape_str(shape())));
  Tensor seed = grad_in;
  if (!seed.defined()) {
    if (numel() != 1)
      throw GraphError(
          fmt::format("backward: output of shape {} is not a scalar; pass a gradient of that shape",
                      shape_str(shape())));
    seed = ones(shape(), dtype());
  } else {
    kernels::check_same_dtype("backward", *this, seed);
    if (seed.shape() != shape())
      throw ShapeError(fmt::format("backward: gradient of shape {} for an output of shape {}",
                                   shape_str(seed.shape()), shape_str(shape())));
  }

  NoGradGuard no_grad;  // backward rules use ordinary ops; nothing they do is recorded
  AutogradMeta& root = *impl().autograd;
  if (!root.grad_fn) {
    accumulate_into(root.grad, std::move(seed));
    if (!root.grad_hooks.empty()) run_grad_hooks(root);
    return;
  }
  // Remaining uses of each hooked leaf in this pass; empty (and never looked up) when
  // no hook is registered, which keeps the hookless pass as it was.
  std::unordered_map<AutogradMeta*, std::int64_t> hooked_uses;
  if (hook_count.load(std::memory_order_relaxed) > 0) hooked_uses = count_hooked_uses(root);

  auto later_first = [](const AutogradMeta* a, const AutogradMeta* b) {
    return a->grad_fn->seq < b->grad_fn->seq;
  };
  std::priority_queue<AutogradMeta*, std::vector<AutogradMeta*>, decltype(later_first)> ready(
      later_first);
  // Keeps every visited meta alive for the pass, even if a released node was its
  // last owner, and lets an exception clear the half-summed gradients.
  std::vector<std::shared_ptr<AutogradMeta>> visited{impl().autograd};
  struct ClearPending {
    std::vector<std::shared_ptr<AutogradMeta>>& metas;
    ~ClearPending() {
      for (auto& m : metas) m->pending = Tensor();
    }
  } clear_on_exit{visited};

  root.pending = seed;
  ready.push(&root);
  while (!ready.empty()) {
    AutogradMeta& m = *ready.top();
    ready.pop();
    Node& node = *m.grad_fn;
    Tensor g = std::move(m.pending);
    m.pending = Tensor();
    if (node.released)
      throw GraphError(fmt::format(
          "backward: the graph through '{}' (output of shape {}) was already freed by an earlier "
          "backward; call backward(retain_graph=true) the first time to go through it twice",
          node.name, shape_str(m.shape)));
    if (m.retains_grad) accumulate_into(m.grad, Tensor(g));
    Needs needs;
    for (std::size_t i = 0; i < node.inputs.size(); ++i)
      if (node.inputs[i]) needs.bits |= 1u << i;
    Grads grads = node.backward(g, needs);
    if (detect_anomaly()) detail::check_backward(node, grads);
    if (!retain_graph) {
      node.backward = nullptr;  // frees what the rule saved
      node.released = true;
    }
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      const auto& in = node.inputs[i];
      if (!in) continue;
      if (i >= grads.size() || !grads[i].defined())
        throw GraphError(
            fmt::format("backward: '{}' gave no gradient for its input {}", node.name, i));
      Tensor gi = std::move(grads[i]);
      if (gi.shape() != in->shape) gi = sum_to(gi, in->shape, node.name);
      if (gi.dtype() != in->dtype)
        throw DtypeError(fmt::format("backward: '{}' gave a {} gradient for a {} input", node.name,
                                     dtype_name(gi.dtype()), dtype_name(in->dtype)));
      if (!in->grad_fn) {
        accumulate_into(in->grad, std::move(gi));
        if (!hooked_uses.empty()) {
          auto it = hooked_uses.find(in.get());
          if (it != hooked_uses.end() && --it->second == 0) run_grad_hooks(*in);
        }
      } else if (!in->pending.defined()) {
        in->pending = std::move(gi);
        visited.push_back(in);
        ready.push(in.get());
      } else {
        // A second consumer: sum in place only into a buffer nobody else holds.
        if (sole_owner(in->pending))
          in->pending.add_(gi);
        else
          in->pending =
              kernels::map_same_shape(in->pending, gi, [](auto a, auto b) { return a + b; });
      }
    }
  }
}

}  // namespace tapegrad
