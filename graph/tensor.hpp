#pragma once
/// \file
/// Tensor: the one type users see, and the functions that create tensors.
/// A cheap handle (one shared pointer) to a dense, row-major buffer with a shape and a
/// dtype, and, when it takes part in autograd, to its gradient and the node of the
/// tape that produced it.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/shape.hpp>
#include <tapegrad/graph/storage.hpp>
#include <vector>

namespace tapegrad {

struct AutogradMeta;
class Tensor;

/// What a Tensor handle points at. Users never touch it directly.
struct TensorImpl {
  std::shared_ptr<Storage> storage;  ///< the elements (possibly shared with other tensors)
  Shape shape;                       ///< extents, row-major
  Dtype dtype = Dtype::float32;      ///< element type
  std::int64_t numel = 0;            ///< product of the extents
  /// Null for plain data; set once the tensor requires grad or was computed from one.
  std::shared_ptr<AutogradMeta> autograd;
};

/// A dense, row-major N-dimensional array of float32 or float64 that can take part in
/// autograd. Copying a Tensor copies the handle, not the data (as in PyTorch): two
/// copies see the same elements. Ops are free functions (tapegrad::matmul, tapegrad::add,
/// ...); in-place updates, which are never recorded, are the members ending in `_`.
/// The common ops also have method forms, as in PyTorch (x.sum(), x.reshape({2, -1}),
/// x.t(), A[0]): they are declared here but defined in ops/tensor_methods.cpp, which
/// calls the free functions, so that graph/ knows no op.
class TAPEGRAD_API Tensor {
 public:
  /// An undefined tensor (no storage), as returned by grad() before any backward.
  Tensor() = default;
  /// Wraps an existing implementation (for code that builds tensors by hand).
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// A new tensor of `shape` with unspecified contents.
  static Tensor empty(const Shape& shape, Dtype dtype = float32);

  /// False for a default-constructed (undefined) tensor, e.g. grad() before backward.
  bool defined() const { return impl_ != nullptr; }
  /// Extents of every axis, e.g. [n, m] for a matrix.
  const Shape& shape() const { return impl().shape; }
  /// Extent of one axis; negative axes count from the end.
  std::int64_t size(int axis) const;
  /// Number of axes: 0 for a scalar, 2 for a matrix.
  int dim() const { return static_cast<int>(impl().shape.size()); }
  /// Number of elements (1 for shape []).
  std::int64_t numel() const { return impl().numel; }
  /// float32 or float64.
  Dtype dtype() const { return impl().dtype; }

  /// Typed pointer to the elements; throws DtypeError if T is not the dtype.
  template <class T>
  T* data() const {
    if (dtype_of<T>() != dtype())
      throw DtypeError(fmt::format("data: tensor is {}, not {}", dtype_name(dtype()),
                                   dtype_name(dtype_of<T>())));
    return static_cast<T*>(impl().storage->data());
  }
  /// Untyped pointer to the elements (numel() * dtype_size(dtype()) bytes).
  void* raw_data() const { return impl().storage->data(); }

  /// The value of a one-element tensor.
  double item() const;
  /// All elements, converted to double, in row-major order.
  std::vector<double> to_vector() const;
  /// Element at a multi-index (one index per axis), as double.
  double at(std::initializer_list<std::int64_t> index) const;

  // ---- method forms of the ops (defined in ops/tensor_methods.cpp) -----------
  // Each is the free function of the same name in ops/ (same shapes, same gradient).

  /// Sum of all elements -> []. See tapegrad::sum.
  Tensor sum() const;
  /// Sum over `axis`: (n, m) with axis 1 -> (n), or (n, 1) with keepdims.
  Tensor sum(int axis, bool keepdims = false) const;
  /// Mean of all elements -> [].
  Tensor mean() const;
  /// Mean over `axis`, shaped as sum(axis, keepdims).
  Tensor mean(int axis, bool keepdims = false) const;
  /// Largest element -> []; the gradient goes to the first largest.
  Tensor max() const;
  /// Largest along `axis`, shaped as sum(axis, keepdims).
  Tensor max(int axis, bool keepdims = false) const;
  /// Smallest element -> []; the gradient goes to the first smallest.
  Tensor min() const;
  /// Smallest along `axis`, shaped as sum(axis, keepdims).
  Tensor min(int axis, bool keepdims = false) const;
  /// Flat index of the first largest element, [] (no gradient).
  Tensor argmax() const;
  /// Index of the first largest element along `axis` (no gradient).
  Tensor argmax(int axis, bool keepdims = false) const;
  /// Flat index of the first smallest element, [] (no gradient).
  Tensor argmin() const;
  /// Index of the first smallest element along `axis` (no gradient).
  Tensor argmin(int axis, bool keepdims = false) const;
  /// Unbiased (correction 1) variance of all elements -> [].
  Tensor var() const;
  /// Variance over `axis`, divided by n - correction; shaped as sum(axis, keepdims).
  Tensor var(int axis, bool keepdims = false, double correction = 1.0) const;
  /// sqrt(var()) -> [].
  Tensor std() const;
  /// sqrt(var(axis, keepdims, correction)).
  Tensor std(int axis, bool keepdims = false, double correction = 1.0) const;

  /// Same elements in `shape` (one extent may be -1), e.g. (2, 3) -> (3, 2) or (6).
  Tensor reshape(Shape shape) const;
  /// All elements as one axis: (numel).
  Tensor flatten() const;
  /// Transpose of a 2-D tensor: (n, m) -> (m, n).
  Tensor t() const;
  /// Swaps two axes: (a, b, c) with (0, 2) -> (c, b, a).
  Tensor transpose(int axis0, int axis1) const;
  /// Entry i along axis 0, which is removed: (n, m) -> (m); negative i counts from
  /// the end (PyTorch's A[i]; the gradient is select's).
  Tensor operator[](std::int64_t i) const;

  /// e^x, same shape.
  Tensor exp() const;
  /// Natural log, same shape.
  Tensor log() const;
  /// sqrt(x), same shape.
  Tensor sqrt() const;
  /// |x|, same shape.
  Tensor abs() const;
  /// x^p for a scalar p, same shape.
  Tensor pow(double p) const;
  /// max(x, 0), same shape.
  Tensor relu() const;
  /// 1 / (1 + e^-x), same shape.
  Tensor sigmoid() const;
  /// tanh(x), same shape.
  Tensor tanh() const;
  /// Matrix product with `other`: (n, k) x (k, m) -> (n, m), batched as tapegrad::matmul.
  Tensor matmul(const Tensor& other) const;

  // ---- autograd -------------------------------------------------------------
  /// True for a parameter (requires_grad_()) or a result computed from one while
  /// grad mode was on.
  bool requires_grad() const;
  /// Marks a leaf as a parameter whose gradient backward() fills.
  Tensor& requires_grad_(bool on = true);
  /// True for tensors not produced by a recorded op.
  bool is_leaf() const;
  /// The accumulated gradient (undefined until a backward reaches this tensor).
  Tensor grad() const;
  /// Replaces the accumulated gradient (e.g. by a loaded one).
  void set_grad(const Tensor& grad);
  /// Sets the accumulated gradient to zero, keeping its buffer.
  void zero_grad();
  /// Keeps the gradient of a non-leaf tensor after backward (leaves always keep theirs).
  void retain_grad();
  /// Backpropagates from a one-element tensor (seed gradient 1).
  void backward(bool retain_graph = false) const;
  /// Backpropagates `grad`, which has this tensor's shape and dtype.
  void backward(const Tensor& grad, bool retain_graph = false) const;
  /// Same data, cut from the tape: no grad, no history.
  Tensor detach() const;
  /// A deep copy of the data, without history.
  Tensor clone() const;
  /// This tensor's data converted to `target` (no history).
  Tensor to(Dtype target) const;

  // ---- in place, never recorded (optimizer updates, initialisation) ----------
  /// Sets every element to `value`; returns *this.
  Tensor& fill_(double value);
  /// Multiplies every element by `value`; returns *this.
  Tensor& mul_(double value);
  /// Adds `value` to every element; returns *this.
  Tensor& add_(double value);
  /// this += alpha * other, with `other` broadcast to this tensor's shape.
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  /// Copies `other`'s elements (same shape, converted to this dtype); returns *this.
  Tensor& copy_(const Tensor& other);

  /// Throws GraphError naming `op` if this tensor requires grad while grad mode is on:
  /// changing it in place would corrupt the tape.
  void check_mutable(const char* op) const;

  /// The shared implementation (for code that builds tensors by hand).
  std::shared_ptr<TensorImpl> const& impl_ptr() const { return impl_; }
  /// The implementation; throws Error for an undefined tensor.
  TensorImpl& impl() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- creation ------------------------------------------------------------
// None of these records anything: the results are leaves without grad until
// requires_grad_() is called on them.

/// All zeros, of `shape`.
TAPEGRAD_API Tensor zeros(const Shape& shape, Dtype dtype = float32);
/// All ones, of `shape`.
TAPEGRAD_API Tensor ones(const Shape& shape, Dtype dtype = float32);
/// Every element `value`, of `shape`.
TAPEGRAD_API Tensor full(const Shape& shape, double value, Dtype dtype = float32);
/// Zeros of t's shape and dtype.
TAPEGRAD_API Tensor zeros_like(const Tensor& t);
/// Ones of t's shape and dtype.
TAPEGRAD_API Tensor ones_like(const Tensor& t);
/// A tensor from row-major values; values.size() must equal numel(shape).
TAPEGRAD_API Tensor tensor(const std::vector<double>& values, const Shape& shape,
                           Dtype dtype = float32);
/// A 2-D tensor from rows: tensor({{1, 2}, {3, 4}}) has shape [2, 2], tensor({{1}, {2}})
/// [2, 1]; rows of different lengths are a ShapeError.
TAPEGRAD_API Tensor tensor(std::initializer_list<std::initializer_list<double>> rows,
                           Dtype dtype = float32);
/// A 1-D tensor of `values`: tensor({1, 2, 3}) has shape [3]. A template only to lose
/// the tie to the rows overload above: tensor({{1}, {2}}) fits both, and means rows.
template <class = void>
Tensor tensor(std::initializer_list<double> values, Dtype dtype = float32) {
  return tensor(std::vector<double>(values), Shape{static_cast<std::int64_t>(values.size())},
                dtype);
}
/// A float32 tensor copying `values` (row-major); values.size() must equal numel(shape).
TAPEGRAD_API Tensor from_data(std::span<const float> values, const Shape& shape);
/// A float64 tensor copying `values` (row-major); values.size() must equal numel(shape).
TAPEGRAD_API Tensor from_data(std::span<const double> values, const Shape& shape);
/// A one-element tensor of shape [].
TAPEGRAD_API Tensor scalar(double value, Dtype dtype = float32);
/// [start, start + step, ...) below `stop`, shape [n].
TAPEGRAD_API Tensor arange(double start, double stop, double step = 1.0, Dtype dtype = float32);
/// `steps` evenly spaced values from `start` to `end`, both included, shape [steps]
/// (as torch.linspace: steps 1 gives [start]).
TAPEGRAD_API Tensor linspace(double start, double end, std::int64_t steps, Dtype dtype = float32);
/// The n x n identity.
TAPEGRAD_API Tensor eye(std::int64_t n, Dtype dtype = float32);

}  // namespace tapegrad
