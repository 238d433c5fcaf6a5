#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/optim/optimizer.hpp>
#include <unordered_map>
#include <unordered_set>

namespace tapegrad::optim {

namespace {

void check_nonnegative(std::string_view who, const char* what, double value) {
  if (!(value >= 0.0))
    throw ValueError(fmt::format("{}: {} must be >= 0, got {}", who, what, value));
}

// For a hyperparameter, infinity is as wrong as NaN: the first step turns every weight
// into NaN (or freezes it, for eps), and the run goes on silently.
void check_finite_nonnegative(std::string_view who, const char* what, double value) {
  if (!(std::isfinite(value) && value >= 0.0))
    throw ValueError(fmt::format("{}: {} must be a finite number >= 0, got {}", who, what, value));
}

void check_unit_interval(std::string_view who, const char* what, double value) {
  if (!(value >= 0.0 && value < 1.0))
    throw ValueError(fmt::format("{}: {} must be in [0, 1), got {}", who, what, value));
}

// The base constructor cannot call name(): each optimizer checks its lr before it, so
// that the message names it.
double checked_lr(std::string_view who, double lr) {
  check_finite_nonnegative(who, "lr", lr);
  return lr;
}

std::vector<Tensor> zeros_like_each(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  out.reserve(params.size());
  for (const Tensor& p : params) out.push_back(zeros_like(p));
  return out;
}

void append_indexed(NamedTensors& out, const char* prefix, const std::vector<Tensor>& ts) {
  for (std::size_t i = 0; i < ts.size(); ++i)
    out.emplace_back(fmt::format("{}.{}", prefix, i), ts[i]);
}

}  // namespace

// ---- Optimizer ------------------------------------------------------------------

Optimizer::Optimizer(std::vector<Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
  check_finite_nonnegative("Optimizer", "lr", lr);
  std::unordered_set<const TensorImpl*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined()) throw ValueError(fmt::format("Optimizer: parameter {} is undefined", i));
    if (!p.is_leaf())
      throw ValueError(fmt::format(
          "Optimizer: parameter {} (shape {}) was computed by an op: only leaves can be optimized",
          i, shape_str(p.shape())));
    if (!seen.insert(p.impl_ptr().get()).second)
      throw ValueError(fmt::format("Optimizer: parameter {} (shape {}) is given twice", i,
                                   shape_str(p.shape())));
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  check_finite_nonnegative(fmt::format("{}::set_lr", name()), "lr", lr);
  lr_ = lr;
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  append_state(out);
  return out;
}

void Optimizer::append_state(NamedTensors& out) const {
  out.emplace_back("lr", scalar(lr_, float64));
}

void Optimizer::load_state(const NamedTensors& given) {
  const NamedTensors mine = state();
  std::unordered_map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : given) {
    if (!t.defined())
      throw ValueError(
          fmt::format("{}::load_state: state tensor '{}' is undefined", this->name(), name));
    if (!by_name.emplace(name, &t).second)
      throw ValueError(
          fmt::format("{}::load_state: state tensor '{}' appears twice", this->name(), name));
  }
  // Check everything first: a failed load changes nothing.
  for (const auto& [name, t] : mine) {
    auto it = by_name.find(name);
    if (it == by_name.end())
      throw ValueError(
          fmt::format("{}::load_state: state tensor '{}' is missing", this->name(), name));
    if (it->second->shape() != t.shape())
      throw ShapeError(fmt::format("{}::load_state: state tensor '{}' has shape {}, expected {}",
                                   this->name(), name, shape_str(it->second->shape()),
                                   shape_str(t.shape())));
    // A step count read from a file becomes an integer (Adam::step_count): a whole
    // number in [0, 2^53], not NaN or 1e300.
    if (name == "step") {
      const double step = it->second->item();
      if (!(step >= 0.0 && step <= 9007199254740992.0 && step == std::floor(step)))
        throw ValueError(
            fmt::format("{}::load_state: state tensor 'step' must be a whole number >= 0, got {}",
                        this->name(), step));
    }
  }
  if (given.size() != mine.size()) {
    std::unordered_set<std::string> known;
    for (const auto& entry : mine) known.insert(entry.first);
    for (const auto& entry : given)
      if (!known.contains(entry.first))
        throw ValueError(
            fmt::format("{}::load_state: unexpected state tensor '{}'", this->name(), entry.first));
  }
  NoGradGuard no_grad;
  for (const auto& [name, t] : mine) {
    const Tensor& src = *by_name.at(name);
    if (name == "lr") {
      set_lr(src.item());
      continue;
    }
    Tensor dst = t;
    dst.copy_(src.dtype() == dst.dtype() ? src : src.to(dst.dtype()));
  }
}

// Calls update(i, w, dw, k0, k1) for each parameter i that has a gradient: w and dw
// its data and gradient, typed, and [k0, k1) a range of its elements. Ranges are split
// over the pool; each element is updated by one thread, so results do not depend on it.
template <class F>
void for_each_update(const std::vector<Tensor>& params, F update) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    dispatch(p.dtype(), [&]<class T>(T) {
      T* w = p.data<T>();
      const T* dw = g.data<T>();
      parallel_for(p.numel(), kernels::kGrain,
                   [&](std::int64_t k0, std::int64_t k1) { update(i, w, dw, k0, k1); });
    });
  }
}

// ---- SGD ------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : Optimizer(std::move(params), checked_lr("SGD", options.lr)), options_(options) {
  check_finite_nonnegative("SGD", "momentum", options.momentum);
  check_finite_nonnegative("SGD", "weight_decay", options.weight_decay);
  check_unit_interval("SGD", "dampening", options.dampening);
  if (options.nesterov && (options.momentum <= 0.0 || options.dampening != 0.0))
    throw ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
  if (options.momentum > 0.0) velocity_ = zeros_like_each(params_);
}

void SGD::step() {
  const SGDOptions& o = options_;
  for_each_update(
      params_, [&]<class T>(std::size_t i, T* w, const T* dw, std::int64_t k0, std::int64_t k1) {
        const T lr = static_cast<T>(lr_), wd = static_cast<T>(o.weight_decay);
        if (o.momentum == 0.0) {
          for (std::int64_t k = k0; k < k1; ++k) w[k] -= lr * (dw[k] + wd * w[k]);
          return;
        }
        T* v = velocity_[i].data<T>();
        const T mu = static_cast<T>(o.momentum), keep = static_cast<T>(1.0 - o.dampening);
        if (o.nesterov) {
          for (std::int64_t k = k0; k < k1; ++k) {
            const T gk = dw[k] + wd * w[k];
            v[k] = mu * v[k] + keep * gk;
            w[k] -= lr * (gk + mu * v[k]);
          }
        } else {
          for (std::int64_t k = k0; k < k1; ++k) {
            v[k] = mu * v[k] + keep * (dw[k] + wd * w[k]);
            w[k] -= lr * v[k];
          }
        }
      });
}

void SGD::append_state(NamedTensors& out) const {
  Optimizer::append_state(out);
  append_indexed(out, "velocity", velocity_);
}

// ---- RMSprop --------------------------------------------------------------------

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : Optimizer(std::move(params), checked_lr("RMSprop", options.lr)), options_(options) {
  check_unit_interval("RMSprop", "alpha", options.alpha);
  check_finite_nonnegative("RMSprop", "eps", options.eps);
  check_finite_nonnegative("RMSprop", "weight_decay", options.weight_decay);
  square_avg_ = zeros_like_each(params_);
}

void RMSprop::step() {
  const RMSpropOptions& o = options_;
  for_each_update(params_,
                  [&]<class T>(std::size_t i, T* w, const T* dw, std::int64_t k0, std::int64_t k1) {
                    T* s = square_avg_[i].data<T>();
                    const T lr = static_cast<T>(lr_), wd = static_cast<T>(o.weight_decay);
                    const T alpha = static_cast<T>(o.alpha), rest = static_cast<T>(1.0 - o.alpha);
                    const T eps = static_cast<T>(o.eps);
                    for (std::int64_t k = k0; k < k1; ++k) {
                      const T gk = dw[k] + wd * w[k];
                      s[k] = alpha * s[k] + rest * gk * gk;
                      w[k] -= lr * gk / (std::sqrt(s[k]) + eps);
                    }
                  });
}

void RMSprop::append_state(NamedTensors& out) const {
  Optimizer::append_state(out);
  append_indexed(out, "square_avg", square_avg_);
}

// ---- Adam -----------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::move(params), options, "Adam", false) {}

Adam::Adam(std::vector<Tensor> params, AdamOptions options, const char* who, bool decoupled_decay)
    : Optimizer(std::move(params), checked_lr(who, options.lr)),
      options_(options),
      decoupled_decay_(decoupled_decay),
      step_(scalar(0.0, float64)) {
  check_unit_interval(who, "beta1", options.beta1);
  check_unit_interval(who, "beta2", options.beta2);
  check_finite_nonnegative(who, "eps", options.eps);
  check_finite_nonnegative(who, "weight_decay", options.weight_decay);
  exp_avg_ = zeros_like_each(params_);
  exp_avg_sq_ = zeros_like_each(params_);
}

std::int64_t Adam::step_count() const { return static_cast<std::int64_t>(step_.item()); }

void Adam::step() {
  const AdamOptions& o = options_;
  const double t = ++*step_.data<double>();  // once per step, whatever the parameter count
  const double bc1 = 1.0 - std::pow(o.beta1, t), bc2 = 1.0 - std::pow(o.beta2, t);
  for_each_update(
      params_, [&]<class T>(std::size_t i, T* w, const T* dw, std::int64_t k0, std::int64_t k1) {
        T* m = exp_avg_[i].data<T>();
        T* v = exp_avg_sq_[i].data<T>();
        const T lr = static_cast<T>(lr_), wd = static_cast<T>(o.weight_decay);
        const T b1 = static_cast<T>(o.beta1), r1 = static_cast<T>(1.0 - o.beta1);
        const T b2 = static_cast<T>(o.beta2), r2 = static_cast<T>(1.0 - o.beta2);
        const T inv_bc1 = static_cast<T>(1.0 / bc1), inv_bc2 = static_cast<T>(1.0 / bc2);
        const T eps = static_cast<T>(o.eps);
        if (decoupled_decay_) {  // AdamW: p *= 1 - lr wd, then the step on the raw gradient
          const T keep = static_cast<T>(1.0 - lr_ * o.weight_decay);
          for (std::int64_t k = k0; k < k1; ++k) {
            const T gk = dw[k];
            w[k] *= keep;
            m[k] = b1 * m[k] + r1 * gk;
            v[k] = b2 * v[k] + r2 * gk * gk;
            w[k] -= lr * (m[k] * inv_bc1) / (std::sqrt(v[k] * inv_bc2) + eps);
          }
          return;
        }
        for (std::int64_t k = k0; k < k1; ++k) {
          const T gk = dw[k] + wd * w[k];
          m[k] = b1 * m[k] + r1 * gk;
          v[k] = b2 * v[k] + r2 * gk * gk;
          w[k] -= lr * (m[k] * inv_bc1) / (std::sqrt(v[k] * inv_bc2) + eps);
        }
      });
}

// ---- AdamW ----------------------------------------------------------------------

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Adam(std::move(params),
           AdamOptions{.lr = options.lr,
                       .beta1 = options.beta1,
                       .beta2 = options.beta2,
                       .eps = options.eps,
                       .weight_decay = options.weight_decay},
           "AdamW", true),
      options_(options) {}

void Adam::append_state(NamedTensors& out) const {
  Optimizer::append_state(out);
  out.emplace_back("step", step_);
  append_indexed(out, "exp_avg", exp_avg_);
  append_indexed(out, "exp_avg_sq", exp_avg_sq_);
}

// ---- gradient clipping ------------------------------------------------------------

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  check_nonnegative("clip_grad_norm", "max_norm", max_norm);
  double sum_sq = 0.0;  // in double even for float32 grads
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    dispatch(g.dtype(), [&]<class T>(T) {
      const T* dw = g.data<T>();
      for (std::int64_t k = 0; k < g.numel(); ++k) sum_sq += static_cast<double>(dw[k]) * dw[k];
    });
  }
  const double norm = std::sqrt(sum_sq);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    for (const Tensor& p : params) {
      const Tensor g = p.grad();
      if (!g.defined()) continue;
      dispatch(g.dtype(), [&]<class T>(T) {
        T* dw = g.data<T>();
        const T c = static_cast<T>(coef);
        for (std::int64_t k = 0; k < g.numel(); ++k) dw[k] *= c;
      });
    }
  }
  return norm;
}

double clip_grad_value(const std::vector<Tensor>& params, double clip_value) {
  check_finite_nonnegative("clip_grad_value", "clip_value", clip_value);
  double largest = 0.0;
  bool nan = false;
  for (const Tensor& p : params) {
    const Tensor g = p.grad();
    if (!g.defined()) continue;
    dispatch(g.dtype(), [&]<class T>(T) {
      T* dw = g.data<T>();
      const T hi = static_cast<T>(clip_value);
      for (std::int64_t k = 0; k < g.numel(); ++k) {
        const T v = dw[k];
        nan = nan || std::isnan(v);
        largest = std::max(largest, static_cast<double>(std::abs(v)));
        // Comparisons written so that NaN fails both and passes through, as torch.clamp.
        if (v > hi) dw[k] = hi;
        if (v < -hi) dw[k] = -hi;
      }
    });
  }
  return nan ? std::nan("") : largest;
}

}  // namespace tapegrad::optim
