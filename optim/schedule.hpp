#pragma once
// Learning-rate schedules: pure functions of the epoch, and small classes holding
// their constants with lr(epoch), which apply_schedule() hands to an optimizer:
//
//   optim::InverseTimeDecay schedule{.lr0 = 0.1, .decay_rate = 1.0};
//   for (int epoch = 0; epoch < n; ++epoch) { optim::apply_schedule(schedule, opt, epoch); ... }
#include <concepts>
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/optim/optimizer.hpp>

namespace tapegrad::optim {

/// lr0 * gamma^floor(epoch / step_size): multiplied by gamma every step_size epochs.
TAPEGRAD_API double step_decay(double lr0, std::int64_t epoch, std::int64_t step_size,
                               double gamma);
/// lr0 * gamma^epoch.
TAPEGRAD_API double exponential_decay(double lr0, std::int64_t epoch, double gamma);
/// The course's decay: lr0 / (1 + decay_rate * epoch).
TAPEGRAD_API double inverse_time_decay(double lr0, std::int64_t epoch, double decay_rate);
/// The course's scheduled decay: lr0 / (1 + decay_rate * floor(epoch / time_interval)).
TAPEGRAD_API double scheduled_inverse_time_decay(double lr0, std::int64_t epoch, double decay_rate,
                                                 std::int64_t time_interval);
/// Cosine from lr0 down to lr_min over T epochs, then lr_min:
/// lr_min + (lr0 - lr_min) (1 + cos(pi min(epoch, T) / T)) / 2.
TAPEGRAD_API double cosine_decay(double lr0, std::int64_t epoch, std::int64_t T,
                                 double lr_min = 0.0);

/// step_decay with its constants.
struct StepDecay {
  double lr0;              ///< learning rate of the first step_size epochs
  std::int64_t step_size;  ///< epochs between two multiplications by gamma (> 0)
  double gamma = 0.1;      ///< factor of each decrease
  /// The learning rate at `epoch`; throws ValueError for epoch < 0.
  double lr(std::int64_t epoch) const { return step_decay(lr0, epoch, step_size, gamma); }
};

/// exponential_decay with its constants.
struct ExponentialDecay {
  double lr0;    ///< learning rate at epoch 0
  double gamma;  ///< factor per epoch
  /// The learning rate at `epoch`; throws ValueError for epoch < 0.
  double lr(std::int64_t epoch) const { return exponential_decay(lr0, epoch, gamma); }
};

/// inverse_time_decay with its constants (the course's update_lr).
struct InverseTimeDecay {
  double lr0;         ///< learning rate at epoch 0
  double decay_rate;  ///< the learning rate halves at epoch 1 / decay_rate
  /// The learning rate at `epoch`; throws ValueError for epoch < 0.
  double lr(std::int64_t epoch) const { return inverse_time_decay(lr0, epoch, decay_rate); }
};

/// scheduled_inverse_time_decay with its constants (the course's schedule_lr_decay).
struct ScheduledInverseTimeDecay {
  double lr0;                         ///< learning rate of the first time_interval epochs
  double decay_rate;                  ///< added to the divisor every time_interval epochs
  std::int64_t time_interval = 1000;  ///< epochs at one learning rate (> 0)
  /// The learning rate at `epoch`; throws ValueError for epoch < 0.
  double lr(std::int64_t epoch) const {
    return scheduled_inverse_time_decay(lr0, epoch, decay_rate, time_interval);
  }
};

/// cosine_decay with its constants.
struct CosineDecay {
  double lr0;           ///< learning rate at epoch 0
  std::int64_t T;       ///< epochs from lr0 down to lr_min (> 0)
  double lr_min = 0.0;  ///< learning rate from epoch T on
  /// The learning rate at `epoch`; throws ValueError for epoch < 0.
  double lr(std::int64_t epoch) const { return cosine_decay(lr0, epoch, T, lr_min); }
};

/// Anything with `double lr(epoch) const`.
template <class S>
concept Schedule = requires(const S& s, std::int64_t epoch) {
  { s.lr(epoch) } -> std::convertible_to<double>;
};

/// Sets the optimizer's learning rate to schedule.lr(epoch) and returns it.
template <Schedule S>
double apply_schedule(const S& schedule, Optimizer& optimizer, std::int64_t epoch) {
  const double lr = schedule.lr(epoch);
  optimizer.set_lr(lr);
  return lr;
}

}  // namespace tapegrad::optim
