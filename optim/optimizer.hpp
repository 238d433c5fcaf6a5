#pragma once
// Optimizers. Each holds the parameters it updates and, beside them, its state in
// vectors parallel to the parameters (as Flashlight does). A training step reads:
//
//   opt.zero_grad();  loss = ...;  loss.backward();  opt.step();
//
// Updates are in place, never recorded, on float32 and float64 parameters. A
// parameter whose grad is undefined (no backward reached it) is skipped.
// Weight decay is L2, coupled: g <- g + weight_decay * p, as PyTorch's weight_decay;
// AdamW's alone is decoupled (p <- p - lr * weight_decay * p).
#include <cstdint>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/named_tensors.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad::optim {

/// The base of every optimizer: the parameters (leaves, updated in place) and the
/// learning rate; a subclass adds step() and its state.
class TAPEGRAD_API Optimizer {
 public:
  /// Throws ValueError for an undefined, non-leaf or repeated parameter, or an lr that
  /// is not a finite number >= 0 (NaN, infinite or negative).
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  // A copy would share the state tensors (handles) with the original: move only.
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  Optimizer(Optimizer&&) = default;             ///< takes over the parameters and the state
  Optimizer& operator=(Optimizer&&) = default;  ///< takes over the parameters and the state

  /// Sets every parameter's gradient to zero (keeping its buffer).
  void zero_grad();
  /// One update of every parameter whose grad is defined.
  virtual void step() = 0;
  /// "SGD", "RMSprop", "Adam", "AdamW": used in messages.
  virtual std::string name() const = 0;

  /// The current learning rate: set_lr's (a schedule's), else the constructor's.
  double lr() const { return lr_; }
  /// Sets the learning rate (schedules call this); throws ValueError, naming the
  /// optimizer, unless lr is a finite number >= 0.
  void set_lr(double lr);
  /// The parameters in the order given: the i of the state names ("velocity.i").
  const std::vector<Tensor>& params() const { return params_; }

  /// The state as named tensors, sharing storage with the optimizer (not copies):
  /// "lr" ([] float64) and the optimizer's own, e.g. "exp_avg.0" (param 0's shape).
  virtual NamedTensors state() const;
  /// Replaces the state by `state` (as returned by state(), e.g. loaded from a file).
  /// All or nothing: names, shapes and count are checked before anything changes;
  /// throws ValueError (missing or unexpected name) or ShapeError (wrong shape).
  void load_state(const NamedTensors& given);

 protected:
  /// Appends the optimizer's own state tensors to `out` (the base adds "lr").
  virtual void append_state(NamedTensors& out) const;

  std::vector<Tensor> params_;  ///< the state vectors of a subclass are parallel to it
  double lr_;                   ///< finite, >= 0; change it through set_lr, which checks it
};

/// SGD's hyperparameters: SGD(params, {.lr = 0.1, .momentum = 0.9}).
struct SGDOptions {
  /// Learning rate (the course's alpha).
  double lr = 0.01;
  /// mu: 0 is plain gradient descent.
  double momentum = 0.0;
  /// v <- mu v + (1 - dampening) g. dampening = momentum gives the course's
  /// exponentially weighted average v <- beta v + (1 - beta) g.
  double dampening = 0.0;
  /// Nesterov momentum: step along g + mu v instead of v (needs momentum > 0, no dampening).
  bool nesterov = false;
  /// wd: L2 penalty, g <- g + wd p.
  double weight_decay = 0.0;
};

/// Gradient descent, with optional momentum (velocity v starts at 0):
///   g = grad + wd p;  v = mu v + (1 - dampening) g;  p -= lr (nesterov ? g + mu v : v).
/// Without momentum: p -= lr g. State: "velocity.i" when momentum > 0.
class TAPEGRAD_API SGD : public Optimizer {
 public:
  /// Throws ValueError (its message starts "SGD: ") for an lr, momentum or weight_decay
  /// that is not a finite number >= 0, dampening outside [0, 1), or nesterov without
  /// momentum > 0 and dampening 0.
  SGD(std::vector<Tensor> params, SGDOptions options);
  /// Plain gradient descent: p -= lr grad.
  SGD(std::vector<Tensor> params, double lr) : SGD(std::move(params), SGDOptions{.lr = lr}) {}
  void step() override;
  std::string name() const override { return "SGD"; }
  /// As given: options().lr is the initial learning rate, lr() the current one.
  const SGDOptions& options() const { return options_; }

 protected:
  void append_state(NamedTensors& out) const override;

 private:
  SGDOptions options_;
  std::vector<Tensor> velocity_;  ///< parallel to params_; empty without momentum
};

/// RMSprop's hyperparameters: RMSprop(params, {.lr = 1e-3, .alpha = 0.9}).
struct RMSpropOptions {
  /// Learning rate.
  double lr = 0.01;
  /// Decay of the squared-gradient average (the course's beta2).
  double alpha = 0.99;
  /// Added to sqrt(s): a finite step where s is 0.
  double eps = 1e-8;
  /// wd: L2 penalty, g <- g + wd p.
  double weight_decay = 0.0;
};

/// RMSprop: g = grad + wd p;  s = alpha s + (1 - alpha) g^2;  p -= lr g / (sqrt(s) + eps).
/// State: "square_avg.i" (s starts at 0).
class TAPEGRAD_API RMSprop : public Optimizer {
 public:
  /// Throws ValueError (its message starts "RMSprop: ") for alpha outside [0, 1), or an
  /// lr, eps or weight_decay that is not a finite number >= 0.
  RMSprop(std::vector<Tensor> params, RMSpropOptions options);
  /// The other options at their defaults.
  RMSprop(std::vector<Tensor> params, double lr)
      : RMSprop(std::move(params), RMSpropOptions{.lr = lr}) {}
  void step() override;
  std::string name() const override { return "RMSprop"; }
  /// As given: options().lr is the initial learning rate, lr() the current one.
  const RMSpropOptions& options() const { return options_; }

 protected:
  void append_state(NamedTensors& out) const override;

 private:
  RMSpropOptions options_;
  std::vector<Tensor> square_avg_;
};

/// Adam's hyperparameters (defaults of the Adam paper): Adam(params, {.lr = 1e-3}).
struct AdamOptions {
  /// Learning rate.
  double lr = 1e-3;
  /// b1: decay of the gradient's average m (the momentum term).
  double beta1 = 0.9;
  /// b2: decay of the squared gradient's average v (the RMSprop term).
  double beta2 = 0.999;
  /// Added to sqrt(v_hat): a finite step where v is 0.
  double eps = 1e-8;
  /// wd: L2 penalty, g <- g + wd p (coupled, not AdamW's decoupled decay).
  double weight_decay = 0.0;
};

/// Adam with bias correction; t counts step() calls (once per step, for all params):
///   g = grad + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
///   p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
/// State: "step" ([] float64), "exp_avg.i" (m), "exp_avg_sq.i" (v).
class TAPEGRAD_API Adam : public Optimizer {
 public:
  /// Throws ValueError (its message starts "Adam: ") for beta1 or beta2 outside [0, 1),
  /// or an lr, eps or weight_decay that is not a finite number >= 0.
  Adam(std::vector<Tensor> params, AdamOptions options);
  /// The other options at their defaults.
  Adam(std::vector<Tensor> params, double lr) : Adam(std::move(params), AdamOptions{.lr = lr}) {}
  void step() override;
  std::string name() const override { return "Adam"; }
  /// As given: options().lr is the initial learning rate, lr() the current one.
  const AdamOptions& options() const { return options_; }
  /// Number of step() calls so far: the t of the bias correction.
  std::int64_t step_count() const;

 protected:
  /// Adam whose messages name `who` ("AdamW"); with `decoupled_decay`, weight_decay
  /// shrinks p by lr wd p before the step instead of adding wd p to the gradient.
  Adam(std::vector<Tensor> params, AdamOptions options, const char* who, bool decoupled_decay);
  void append_state(NamedTensors& out) const override;

 private:
  AdamOptions options_;
  bool decoupled_decay_ = false;
  Tensor step_;  ///< [] float64, a tensor so that it is saved with the rest of the state
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
};

/// AdamW's hyperparameters (PyTorch's torch.optim.AdamW defaults): AdamW(params, {.lr = 1e-3}).
struct AdamWOptions {
  /// Learning rate.
  double lr = 1e-3;
  /// b1: decay of the gradient's average m.
  double beta1 = 0.9;
  /// b2: decay of the squared gradient's average v.
  double beta2 = 0.999;
  /// Added to sqrt(v_hat).
  double eps = 1e-8;
  /// wd: decoupled decay, p <- p - lr wd p, apart from the gradient's moments.
  double weight_decay = 1e-2;
};

/// Adam with decoupled weight decay (PyTorch's AdamW), for each parameter with a grad:
///   p -= lr wd p;  then Adam's step with the raw gradient (m, v and p as Adam's).
/// The decay never enters m and v, so it is not rescaled by 1 / sqrt(v) as Adam's
/// coupled L2 term is. State as Adam's: "step", "exp_avg.i", "exp_avg_sq.i".
class TAPEGRAD_API AdamW : public Adam {
 public:
  /// Throws ValueError (its message starts "AdamW: ") for beta1 or beta2 outside [0, 1),
  /// or an lr, eps or weight_decay that is not a finite number >= 0.
  AdamW(std::vector<Tensor> params, AdamWOptions options);
  /// The other options at their defaults (weight_decay 1e-2).
  AdamW(std::vector<Tensor> params, double lr) : AdamW(std::move(params), AdamWOptions{.lr = lr}) {}
  std::string name() const override { return "AdamW"; }
  /// As given: options().lr is the initial learning rate, lr() the current one.
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
};

/// Scales all gradients together so that their global L2 norm
/// sqrt(sum_i ||grad_i||^2) is at most max_norm (factor max_norm / (norm + 1e-6), as
/// PyTorch); undefined grads are skipped. Returns the norm before clipping.
TAPEGRAD_API double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

/// Clamps every gradient element to [-clip_value, clip_value], in place, as PyTorch's
/// clip_grad_value_ and the course's np.clip(gradient, -maxValue, maxValue, out=gradient);
/// undefined grads are skipped, a NaN element stays NaN. Returns the largest |g| before
/// clipping (0 without grads; NaN if an element is NaN), so a caller can tell how often
/// the clip bites. Throws ValueError unless clip_value is a finite number >= 0.
TAPEGRAD_API double clip_grad_value(const std::vector<Tensor>& params, double clip_value);

}  // namespace tapegrad::optim
