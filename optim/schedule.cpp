#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <tapegrad/optim/schedule.hpp>

namespace tapegrad::optim {

namespace {
void check_epoch(const char* who, std::int64_t epoch) {
  if (epoch < 0) throw ValueError(fmt::format("{}: epoch must be >= 0, got {}", who, epoch));
}
void check_positive(const char* who, const char* what, std::int64_t value) {
  if (value <= 0) throw ValueError(fmt::format("{}: {} must be > 0, got {}", who, what, value));
}
}  // namespace

double step_decay(double lr0, std::int64_t epoch, std::int64_t step_size, double gamma) {
  check_epoch("step_decay", epoch);
  check_positive("step_decay", "step_size", step_size);
  // Whole steps: the learning rate drops every step_size epochs.
  return lr0 * std::pow(gamma, static_cast<double>(
                                   epoch / step_size));  // NOLINT(bugprone-integer-division)
}

double exponential_decay(double lr0, std::int64_t epoch, double gamma) {
  check_epoch("exponential_decay", epoch);
  return lr0 * std::pow(gamma, static_cast<double>(epoch));
}

double inverse_time_decay(double lr0, std::int64_t epoch, double decay_rate) {
  check_epoch("inverse_time_decay", epoch);
  return lr0 / (1.0 + decay_rate * static_cast<double>(epoch));
}

double scheduled_inverse_time_decay(double lr0, std::int64_t epoch, double decay_rate,
                                    std::int64_t time_interval) {
  check_epoch("scheduled_inverse_time_decay", epoch);
  check_positive("scheduled_inverse_time_decay", "time_interval", time_interval);
  // Whole intervals: the course's floor(epoch / time_interval).
  return lr0 /
         (1.0 + decay_rate * static_cast<double>(
                                 epoch / time_interval));  // NOLINT(bugprone-integer-division)
}

double cosine_decay(double lr0, std::int64_t epoch, std::int64_t T, double lr_min) {
  check_epoch("cosine_decay", epoch);
  check_positive("cosine_decay", "T", T);
  const double progress = static_cast<double>(std::min(epoch, T)) / static_cast<double>(T);
  return lr_min + (lr0 - lr_min) * (1.0 + std::cos(std::numbers::pi * progress)) / 2.0;
}

}  // namespace tapegrad::optim
