#include <cmath>
#include <string>
#include <tapegrad/graph/anomaly.hpp>
#include <tapegrad/graph/autograd.hpp>

namespace tapegrad {
namespace {

thread_local bool anomaly_mode = false;

// "NaN" or "Inf" for the first non-finite element of `t`, or null if all are finite.
const char* non_finite(const Tensor& t) {
  if (!t.defined()) return nullptr;
  return dispatch(t.dtype(), [&]<class T>(T) -> const char* {
    const T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i)
      if (!std::isfinite(p[i])) return std::isnan(p[i]) ? "NaN" : "Inf";
    return nullptr;
  });
}

}  // namespace

bool detect_anomaly() { return anomaly_mode; }
void set_detect_anomaly(bool enabled) { anomaly_mode = enabled; }

namespace detail {

void check_forward(const char* name, const Tensor& result, std::span<const Tensor* const> inputs) {
  const char* what = non_finite(result);
  if (!what) return;
  std::string shapes, already;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = *inputs[i];
    if (i) shapes += ", ";
    shapes += in.defined() ? shape_str(in.shape()) : "undefined";
    if (const char* bad = non_finite(in); bad && already.empty())
      already = fmt::format(" (input {} already holds {})", i, bad);
  }
  throw AnomalyError(
      fmt::format("anomaly: '{}' produced {} in its forward result (shape {}) from "
                  "inputs {}{}",
                  name, what, shape_str(result.shape()), shapes, already));
}

void check_backward(const Node& node, std::span<const Tensor> grads) {
  for (std::size_t i = 0; i < grads.size(); ++i) {
    const char* what = non_finite(grads[i]);
    if (!what) continue;
    std::string input_shape;
    if (i < node.inputs.size() && node.inputs[i] && node.inputs[i]->shape != grads[i].shape())
      input_shape =
          fmt::format(", to be summed to the input's {}", shape_str(node.inputs[i]->shape));
    throw AnomalyError(
        fmt::format("anomaly: backward of '{}' produced {} in the gradient for input {} (shape "
                    "{}{})",
                    node.name, what, i, shape_str(grads[i].shape()), input_shape));
  }
}

}  // namespace detail
}  // namespace tapegrad
