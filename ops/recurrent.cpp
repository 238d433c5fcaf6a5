#include <fmt/format.h>

#include <cmath>
#include <string>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/kernels.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/linalg.hpp>
#include <tapegrad/ops/recurrent.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <vector>

namespace tapegrad {

namespace {

// One operand of a cell: its name, the layout its doc comment gives, and the shape that
// layout means once n_x, m and H are read off x and the hidden state.
struct Operand {
  const char* name;
  const Tensor* t;
  const char* layout;
  bool optional = false;  // a bias: undefined means none
  Shape expected = {};
};

std::string shapes_of(const std::vector<Operand>& operands) {
  std::string s;
  for (const Operand& o : operands)
    s += fmt::format("{}{} {}", s.empty() ? "" : ", ", o.name,
                     o.t->defined() ? shape_str(o.t->shape()) : "undefined");
  return s;
}

// x and the hidden state (the first two operands) must be matrices before the others'
// expected shapes can be known.
void check_matrices(const char* op, const std::vector<Operand>& operands) {
  for (const Operand& o : operands)
    if (!o.optional && !o.t->defined())
      throw ValueError(fmt::format("{}: {} is undefined", op, o.name));
  for (std::size_t k = 0; k < 2; ++k)
    if (operands[k].t->dim() != 2)
      throw ShapeError(fmt::format("{}: {} must be 2-D {}, got {}; {}", op, operands[k].name,
                                   operands[k].layout, shape_str(operands[k].t->shape()),
                                   shapes_of(operands)));
}

void check_shapes(const char* op, const std::vector<Operand>& operands) {
  for (const Operand& o : operands) {
    if (o.optional && !o.t->defined()) continue;
    if (o.t->shape() != o.expected)
      throw ShapeError(fmt::format("{}: {} is {}, expected {} = {}; {}", op, o.name,
                                   shape_str(o.t->shape()), o.layout, shape_str(o.expected),
                                   shapes_of(operands)));
  }
}

// W_ih x + W_hh h (+ b): the pre-activations of every gate at once, (G H, m).
Tensor gates(const Tensor& W_ih, const Tensor& x, const Tensor& W_hh, const Tensor& h,
             const Tensor& b) {
  Tensor z = matmul(W_ih, x) + matmul(W_hh, h);
  return b.defined() ? z + b : z;
}

// Rows [k H, (k + 1) H) of a (G H, m) stack of gates: gate k.
Tensor gate(const Tensor& stacked, std::int64_t k, std::int64_t H) {
  return slice(stacked, 0, k * H, (k + 1) * H);
}

std::string position_str(const Shape& shape, std::int64_t flat) {
  if (shape.size() == 1) return fmt::format("{}", flat);
  return fmt::format("[{}, {}]", flat / shape[1], flat % shape[1]);
}

void check_weight(const Tensor& weight) {
  kernels::check_defined("embedding", weight);
  if (weight.dim() != 2)
    throw ShapeError(fmt::format("embedding: weight must be 2-D (num_embeddings, dim), got {}",
                                 shape_str(weight.shape())));
}

}  // namespace

std::vector<std::int64_t> detail::embedding_indices(const char* op, const Tensor& indices,
                                                    std::int64_t num_embeddings) {
  kernels::check_defined(op, indices);
  if (indices.dim() != 1 && indices.dim() != 2)
    throw ShapeError(fmt::format("{}: indices must be 1-D (n) or 2-D (a, b), got {}", op,
                                 shape_str(indices.shape())));
  const std::vector<double> values = indices.to_vector();
  std::vector<std::int64_t> out;
  out.reserve(values.size());
  for (std::size_t j = 0; j < values.size(); ++j) {
    const double v = values[j];
    const auto at = static_cast<std::int64_t>(j);
    if (!std::isfinite(v) || v != std::floor(v))
      throw ValueError(
          fmt::format("{}: index {} at position {} of indices {} is not a whole number", op, v,
                      position_str(indices.shape(), at), shape_str(indices.shape())));
    // Compared as doubles: a huge value must not be converted to int64 first.
    if (v < 0 || v >= static_cast<double>(num_embeddings))
      throw IndexError(fmt::format(
          "{}: index {} at position {} of indices {} is out of range for {} embeddings", op, v,
          position_str(indices.shape(), at), shape_str(indices.shape()), num_embeddings));
    out.push_back(static_cast<std::int64_t>(v));
  }
  return out;
}

Tensor embedding(const Tensor& weight, const std::vector<std::int64_t>& indices) {
  check_weight(weight);
  const std::int64_t num = weight.size(0);
  for (std::size_t j = 0; j < indices.size(); ++j)
    if (indices[j] < 0 || indices[j] >= num)
      throw IndexError(
          fmt::format("embedding: index {} at position {} is out of range for weight {} ({} "
                      "embeddings)",
                      indices[j], j, shape_str(weight.shape()), num));
  // index_select's rule adds the gradients of repeated rows (a scatter-add).
  return transpose(index_select(weight, 0, indices));
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  check_weight(weight);
  const std::vector<std::int64_t> rows =
      detail::embedding_indices("embedding", indices, weight.size(0));
  Tensor columns = transpose(index_select(weight, 0, rows));  // (dim, n)
  if (indices.dim() == 1) return columns;
  return reshape(columns, {weight.size(1), indices.size(0), indices.size(1)});
}

Tensor rnn_cell(const Tensor& x, const Tensor& a_prev, const Tensor& Wax, const Tensor& Waa,
                const Tensor& b) {
  std::vector<Operand> operands = {{"x", &x, "(n_x, m)"},
                                   {"a_prev", &a_prev, "(n_a, m)"},
                                   {"Wax", &Wax, "(n_a, n_x)"},
                                   {"Waa", &Waa, "(n_a, n_a)"},
                                   {"b", &b, "(n_a, 1)", true}};
  check_matrices("rnn_cell", operands);
  const std::int64_t n_x = x.size(0), m = x.size(1), n_a = a_prev.size(0);
  const std::vector<Shape> expected = {{n_x, m}, {n_a, m}, {n_a, n_x}, {n_a, n_a}, {n_a, 1}};
  for (std::size_t k = 0; k < operands.size(); ++k) operands[k].expected = expected[k];
  check_shapes("rnn_cell", operands);
  return tanh(gates(Wax, x, Waa, a_prev, b));
}

LstmState lstm_cell(const Tensor& x, const Tensor& h_prev, const Tensor& c_prev, const Tensor& W_ih,
                    const Tensor& W_hh, const Tensor& b) {
  std::vector<Operand> operands = {{"x", &x, "(n_x, m)"},         {"h_prev", &h_prev, "(H, m)"},
                                   {"c_prev", &c_prev, "(H, m)"}, {"W_ih", &W_ih, "(4H, n_x)"},
                                   {"W_hh", &W_hh, "(4H, H)"},    {"b", &b, "(4H, 1)", true}};
  check_matrices("lstm_cell", operands);
  const std::int64_t n_x = x.size(0), m = x.size(1), H = h_prev.size(0);
  const std::vector<Shape> expected = {{n_x, m},     {H, m},     {H, m},
                                       {4 * H, n_x}, {4 * H, H}, {4 * H, 1}};
  for (std::size_t k = 0; k < operands.size(); ++k) operands[k].expected = expected[k];
  check_shapes("lstm_cell", operands);
  // One matmul each for W_ih x and W_hh h; the four gates are row blocks of the sum.
  const Tensor z = gates(W_ih, x, W_hh, h_prev, b);
  const Tensor i = sigmoid(gate(z, 0, H)), f = sigmoid(gate(z, 1, H));
  const Tensor g = tanh(gate(z, 2, H)), o = sigmoid(gate(z, 3, H));
  const Tensor c = f * c_prev + i * g;
  return {o * tanh(c), c};
}

Tensor gru_cell(const Tensor& x, const Tensor& h_prev, const Tensor& W_ih, const Tensor& W_hh,
                const Tensor& b_ih, const Tensor& b_hh) {
  std::vector<Operand> operands = {{"x", &x, "(n_x, m)"},
                                   {"h_prev", &h_prev, "(H, m)"},
                                   {"W_ih", &W_ih, "(3H, n_x)"},
                                   {"W_hh", &W_hh, "(3H, H)"},
                                   {"b_ih", &b_ih, "(3H, 1)", true},
                                   {"b_hh", &b_hh, "(3H, 1)", true}};
  check_matrices("gru_cell", operands);
  const std::int64_t n_x = x.size(0), m = x.size(1), H = h_prev.size(0);
  const std::vector<Shape> expected = {{n_x, m},   {H, m},     {3 * H, n_x},
                                       {3 * H, H}, {3 * H, 1}, {3 * H, 1}};
  for (std::size_t k = 0; k < operands.size(); ++k) operands[k].expected = expected[k];
  check_shapes("gru_cell", operands);
  Tensor gi = matmul(W_ih, x), gh = matmul(W_hh, h_prev);  // (3H, m) each
  if (b_ih.defined()) gi = gi + b_ih;
  if (b_hh.defined()) gh = gh + b_hh;
  const Tensor r = sigmoid(gate(gi, 0, H) + gate(gh, 0, H));
  const Tensor z = sigmoid(gate(gi, 1, H) + gate(gh, 1, H));
  // r gates the hidden part of the new state, its bias b_hn included (torch's formula).
  const Tensor n = tanh(gate(gi, 2, H) + r * gate(gh, 2, H));
  return (1.0 - z) * n + z * h_prev;
}

}  // namespace tapegrad
