#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/loss.hpp>
#include <tapegrad/ops/reduction.hpp>

namespace tapegrad {
namespace {

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  kernels::check_defined(op, a);
  kernels::check_defined(op, b);
  kernels::check_same_dtype(op, a, b);
  if (a.shape() != b.shape())
    throw ShapeError(fmt::format("{}: prediction {} and target {} differ in shape", op,
                                 shape_str(a.shape()), shape_str(b.shape())));
  if (a.numel() == 0) throw ShapeError(fmt::format("{}: empty input {}", op, shape_str(a.shape())));
}

// A loss value of one [] tensor from a double.
Tensor loss_value(double v, Dtype dtype) { return scalar(v, dtype); }

}  // namespace

Tensor binary_cross_entropy(const Tensor& p, const Tensor& y) {
  check_same_shape("binary_cross_entropy", p, y);
  const double n = static_cast<double>(p.numel());
  const double total = dispatch(p.dtype(), [&]<class T>(T) {
    const T* pp = p.data<T>();
    const T* py = y.data<T>();
    return kernels::sum_terms(p.numel(), [=](std::int64_t i) {
      const double pi = pp[i], yi = py[i];
      const double log_p = std::max(std::log(pi), -100.0);  // log(0) -> -100, not -inf
      const double log_q = std::max(std::log1p(-pi), -100.0);
      return -(yi * log_p + (1 - yi) * log_q);
    });
  });
  Tensor out = loss_value(total / n, p.dtype());
  if (!should_record({&p, &y})) return out;
  return record("binary_cross_entropy", out, {&p, &y},
                [p = p.detach(), y = y.detach(), n](const Tensor& g, Needs needs) {
                  Grads grads(2);
                  const double scale = g.item() / n;
                  if (needs[0])  // (p - y) / (p (1 - p)), the denominator kept off 0
                    grads[0] = kernels::map_same_shape(p, y, [scale](auto pv, auto yv) {
                      using T = decltype(pv);
                      const T denom = std::max(pv * (1 - pv), T(1e-12));
                      return static_cast<T>(scale) * (pv - yv) / denom;
                    });
                  if (needs[1])  // d/dy = -(log p - log(1 - p))
                    grads[1] = kernels::map_unary(p, [scale](auto pv) {
                      using T = decltype(pv);
                      const T lp = std::max(std::log(pv), T(-100)),
                              lq = std::max(std::log1p(-pv), T(-100));
                      return static_cast<T>(-scale) * (lp - lq);
                    });
                  return grads;
                });
}

Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y) {
  check_same_shape("binary_cross_entropy_with_logits", z, y);
  const double n = static_cast<double>(z.numel());
  const double total = dispatch(z.dtype(), [&]<class T>(T) {
    const T* pz = z.data<T>();
    const T* py = y.data<T>();
    return kernels::sum_terms(z.numel(), [=](std::int64_t i) {
      const double zi = pz[i], yi = py[i];
      return std::max(zi, 0.0) - zi * yi + std::log1p(std::exp(-std::abs(zi)));
    });
  });
  Tensor out = loss_value(total / n, z.dtype());
  if (!should_record({&z, &y})) return out;
  return record("binary_cross_entropy_with_logits", out, {&z, &y},
                [z = z.detach(), y = y.detach(), n](const Tensor& g, Needs needs) {
                  Grads grads(2);
                  const double scale = g.item() / n;
                  if (needs[0])  // sigmoid(z) - y
                    grads[0] = kernels::map_same_shape(z, y, [scale](auto zv, auto yv) {
                      using T = decltype(zv);
                      const T s = zv >= 0 ? T(1) / (T(1) + std::exp(-zv))
                                          : std::exp(zv) / (T(1) + std::exp(zv));
                      return static_cast<T>(scale) * (s - yv);
                    });
                  if (needs[1]) grads[1] = z * (-scale);  // d/dy = -z
                  return grads;
                });
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& target, int axis) {
  const char* op = "softmax_cross_entropy";
  kernels::check_defined(op, logits);
  kernels::check_defined(op, target);
  axis = normalize_axis(op, axis, logits.shape());
  const Shape& shape = logits.shape();
  const std::int64_t classes = shape[axis];
  Shape without = shape, kept = shape;
  without.erase(without.begin() + axis);
  kept[axis] = 1;
  const bool soft = target.shape() == shape && !(classes == 1 && target.shape() == kept);
  if (!soft && target.shape() != without && target.shape() != kept)
    throw ShapeError(fmt::format(
        "{}: target of shape {} fits neither class indices ({} or {}) nor one-hot rows ({}) for "
        "logits {} with classes on axis {}",
        op, shape_str(target.shape()), shape_str(without), shape_str(kept), shape_str(shape),
        shape_str(shape), axis));
  if (soft) kernels::check_same_dtype(op, logits, target);
  if (classes == 0 || logits.numel() == 0)
    throw ShapeError(fmt::format("{}: empty logits {}", op, shape_str(shape)));

  const kernels::AxisSplit s = kernels::split_at(shape, axis);
  const double m = static_cast<double>(s.outer * s.inner);  // number of examples
  // One-hot targets as a tensor of the logits' shape, from indices when needed.
  Tensor onehot = soft ? target.detach() : zeros(shape, logits.dtype());
  if (!soft) {
    const std::vector<double> labels = target.to_vector();
    dispatch(logits.dtype(), [&]<class T>(T) {
      T* po = onehot.data<T>();
      for (std::int64_t o = 0; o < s.outer; ++o)
        for (std::int64_t i = 0; i < s.inner; ++i) {
          const std::int64_t pos = o * s.inner + i;
          const double label = labels[pos];
          if (label != std::floor(label))  // NaN too
            throw ValueError(
                fmt::format("{}: label {} at position {} is not an integer class index (logits {})",
                            op, label, pos, shape_str(shape)));
          if (!(label >= 0 && label < static_cast<double>(classes)))
            throw IndexError(fmt::format(
                "{}: label {} at position {} is not a class index in [0, {}) (logits {})", op,
                label, pos, classes, shape_str(shape)));
          po[(o * s.n + static_cast<std::int64_t>(label)) * s.inner + i] = 1;
        }
    });
  }
  const Tensor lsm = detail::log_softmax_values(logits, axis);
  const double total = dispatch(logits.dtype(), [&]<class T>(T) {
    const T* pl = lsm.data<T>();
    const T* pt = onehot.data<T>();
    return kernels::sum_terms(lsm.numel(), [=](std::int64_t i) {
      // 0 * -inf must not be NaN: a class the target does not name adds nothing.
      return pt[i] != 0 ? -static_cast<double>(pt[i]) * pl[i] : 0.0;
    });
  });
  Tensor out = scalar(total / m, logits.dtype());
  const bool target_grad = soft;
  const Tensor* ins[] = {&logits, &target};
  if (!should_record(std::span<const Tensor* const>(ins, target_grad ? 2 : 1))) return out;
  return record(
      op, out, std::span<const Tensor* const>(ins, target_grad ? 2 : 1),
      [lsm, onehot, m, axis](const Tensor& g, Needs needs) {
        Grads grads(2);
        const double scale = g.item() / m;
        if (needs[0]) {  // (softmax - onehot) / m, with sum(onehot) = 1 per example
          const Tensor sum_t = sum(onehot, axis, true);
          grads[0] =
              (kernels::map_unary(lsm, [](auto v) { return std::exp(v); }) * sum_t - onehot) *
              scale;
        }
        if (needs[1]) grads[1] = lsm * (-scale);  // d/dtarget = -log softmax / m
        return grads;
      });
}

Tensor mse_loss(const Tensor& a, const Tensor& b) {
  check_same_shape("mse_loss", a, b);
  const double n = static_cast<double>(a.numel());
  const Tensor diff = kernels::map_same_shape(a, b, [](auto x, auto y) { return x - y; });
  const double total = dispatch(a.dtype(), [&]<class T>(T) {
    const T* pd = diff.data<T>();
    return kernels::sum_terms(diff.numel(),
                              [=](std::int64_t i) { return static_cast<double>(pd[i]) * pd[i]; });
  });
  Tensor out = scalar(total / n, a.dtype());
  if (!should_record({&a, &b})) return out;
  return record("mse_loss", out, {&a, &b}, [diff, n](const Tensor& g, Needs needs) {
    const Tensor d = diff * (2.0 * g.item() / n);  // 2 (a - b) / n
    return Grads{needs[0] ? d : Tensor(), needs[1] ? neg(d) : Tensor()};
  });
}

Tensor one_hot(const Tensor& labels, std::int64_t num_classes, int axis) {
  kernels::check_defined("one_hot", labels);
  if (num_classes <= 0)
    throw ValueError(fmt::format("one_hot: num_classes must be positive, got {}", num_classes));
  // The new axis may go anywhere from before the first axis to after the last.
  axis = normalize_axis("one_hot", axis, labels.shape().size() + 1);
  Shape shape = labels.shape();
  shape.insert(shape.begin() + axis, num_classes);
  Tensor out = zeros(shape, labels.dtype());
  const kernels::AxisSplit s = kernels::split_at(shape, axis);
  const std::vector<double> values = labels.to_vector();
  dispatch(out.dtype(), [&]<class T>(T) {
    T* po = out.data<T>();
    for (std::int64_t o = 0; o < s.outer; ++o)
      for (std::int64_t i = 0; i < s.inner; ++i) {
        const std::int64_t pos = o * s.inner + i;
        const double label = values[pos];
        if (!(label >= 0 && label < static_cast<double>(num_classes)) ||
            label != std::floor(label))  // NaN too
          throw ValueError(fmt::format(
              "one_hot: label {} at position {} of labels {} is not a class index in [0, {})",
              label, pos, shape_str(labels.shape()), num_classes));
        po[(o * s.n + static_cast<std::int64_t>(label)) * s.inner + i] = 1;
      }
  });
  return out;
}

}  // namespace tapegrad
