#pragma once
/// \file
/// Anomaly detection, as PyTorch's detect_anomaly: while it is on, the first op whose
/// forward result or backward gradient holds a NaN or an Inf throws AnomalyError
/// naming the op and the shapes. Off by default; thread-local like grad mode. Costs
/// one flag test per op when off, one scan of each result and gradient when on.
/// Forward results are checked for the ops that are recorded (an input requires grad).
#include <span>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad {

struct Node;

/// True when anomaly detection is on for the calling thread (off by default).
TAPEGRAD_API bool detect_anomaly();
/// Turns anomaly detection on or off for the calling thread (prefer DetectAnomalyGuard).
TAPEGRAD_API void set_detect_anomaly(bool enabled);

/// Turns anomaly detection on (or off) for its scope, on this thread.
class DetectAnomalyGuard {
 public:
  /// Sets the mode to `enabled` until the guard leaves scope, then restores it.
  explicit DetectAnomalyGuard(bool enabled = true) : previous_(detect_anomaly()) {
    set_detect_anomaly(enabled);
  }
  ~DetectAnomalyGuard() { set_detect_anomaly(previous_); }  ///< restores the previous mode
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

namespace detail {
/// Throws AnomalyError if op `name`'s forward `result` holds a NaN or an Inf.
TAPEGRAD_API void check_forward(const char* name, const Tensor& result,
                                std::span<const Tensor* const> inputs);
/// Throws AnomalyError if a gradient `node`'s backward gave holds a NaN or an Inf.
TAPEGRAD_API void check_backward(const Node& node, std::span<const Tensor> grads);
}  // namespace detail

}  // namespace tapegrad
