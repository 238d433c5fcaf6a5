// The method forms of the ops, declared in graph/tensor.hpp: each calls the free
// function (qualified, since inside Tensor the member of the same name would be found
// first). They live here, not in graph/, because graph/ knows no op.
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape_ops.hpp>

namespace tapegrad {

Tensor Tensor::sum() const { return tapegrad::sum(*this); }
Tensor Tensor::sum(int axis, bool keepdims) const { return tapegrad::sum(*this, axis, keepdims); }
Tensor Tensor::mean() const { return tapegrad::mean(*this); }
Tensor Tensor::mean(int axis, bool keepdims) const { return tapegrad::mean(*this, axis, keepdims); }
Tensor Tensor::max() const { return tapegrad::max(*this); }
Tensor Tensor::max(int axis, bool keepdims) const { return tapegrad::max(*this, axis, keepdims); }
Tensor Tensor::min() const { return tapegrad::min(*this); }
Tensor Tensor::min(int axis, bool keepdims) const { return tapegrad::min(*this, axis, keepdims); }
Tensor Tensor::argmax() const { return tapegrad::argmax(*this); }
Tensor Tensor::argmax(int axis, bool keepdims) const {
  return tapegrad::argmax(*this, axis, keepdims);
}
Tensor Tensor::argmin() const { return tapegrad::argmin(*this); }
Tensor Tensor::argmin(int axis, bool keepdims) const {
  return tapegrad::argmin(*this, axis, keepdims);
}
Tensor Tensor::var() const { return tapegrad::var(*this); }
Tensor Tensor::var(int axis, bool keepdims, double correction) const {
  return tapegrad::var(*this, axis, keepdims, correction);
}
Tensor Tensor::std() const { return tapegrad::std(*this); }
Tensor Tensor::std(int axis, bool keepdims, double correction) const {
  return tapegrad::std(*this, axis, keepdims, correction);
}

Tensor Tensor::reshape(Shape shape) const { return tapegrad::reshape(*this, std::move(shape)); }
Tensor Tensor::flatten() const { return tapegrad::flatten(*this); }
Tensor Tensor::t() const { return tapegrad::transpose(*this); }
Tensor Tensor::transpose(int axis0, int axis1) const {
  return tapegrad::transpose(*this, axis0, axis1);
}
Tensor Tensor::operator[](std::int64_t i) const { return tapegrad::select(*this, 0, i); }

Tensor Tensor::exp() const { return tapegrad::exp(*this); }
Tensor Tensor::log() const { return tapegrad::log(*this); }
Tensor Tensor::sqrt() const { return tapegrad::sqrt(*this); }
Tensor Tensor::abs() const { return tapegrad::abs(*this); }
Tensor Tensor::pow(double p) const { return tapegrad::pow(*this, p); }
Tensor Tensor::relu() const { return tapegrad::relu(*this); }
Tensor Tensor::sigmoid() const { return tapegrad::sigmoid(*this); }
Tensor Tensor::tanh() const { return tapegrad::tanh(*this); }
Tensor Tensor::matmul(const Tensor& other) const { return tapegrad::matmul(*this, other); }

}  // namespace tapegrad
