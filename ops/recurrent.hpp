#pragma once
/// \file
/// The course's sequence-model cells, in the course's layout: one example per column,
/// x is (n_x, m), a hidden state is (n_a, m), a bias is (n_a, 1) and broadcasts across
/// the columns. Every cell is built from recorded ops (matmul, add, slice, sigmoid, tanh,
/// mul), so its backward comes from theirs (and its double backward will, with issue 10). The gates
/// of the LSTM and the GRU are in PyTorch's order, so their weights exchange with torch.nn.LSTM and
/// torch.nn.GRU; the layers that unroll them over a sequence are in nn/recurrent.hpp.
///
///   Tensor a = zeros({n_a, m}, float64);
///   for (std::int64_t t = 0; t < T_x; ++t) a = rnn_cell(x[t], a, Wax, Waa, ba);
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad {

/// Columns of an embedding table: weight (num_embeddings, dim), as torch's nn.Embedding
/// stores it, -> (dim, n), column j = row indices[j] of weight. d/dweight scatters the
/// columns of g back to their rows and adds them, so a repeated index gets the sum.
/// Throws ShapeError for a weight that is not 2-D and IndexError for an index outside
/// [0, num_embeddings), naming the index and its position ("embedding: index 7 at
/// position 2 is out of range ...").
TAPEGRAD_API Tensor embedding(const Tensor& weight, const std::vector<std::int64_t>& indices);

/// The same with the indices in a float tensor of whole numbers (until integer tensors
/// land): (n) -> (dim, n); (a, b) -> (dim, a, b) with out[:, i, j] = row indices[i, j] of
/// weight, so (m, T_x) indices give the course's (n_x, m, T_x) input of rnn_forward.
/// Throws ShapeError for indices that are not 1-D or 2-D, ValueError for a value that is
/// not a whole number, IndexError for one out of range; the position is a multi-index.
TAPEGRAD_API Tensor embedding(const Tensor& weight, const Tensor& indices);

/// One step of the course's basic RNN (rnn_cell_forward):
/// a_next = tanh(Wax x + Waa a_prev + b); x (n_x, m), a_prev (n_a, m), Wax (n_a, n_x),
/// Waa (n_a, n_a), b (n_a, 1) or undefined (no bias) -> (n_a, m). The course's prediction
/// softmax(Wya a_next + by) is a separate nn::Linear and softmax. Throws ShapeError naming
/// every shape when one does not fit.
TAPEGRAD_API Tensor rnn_cell(const Tensor& x, const Tensor& a_prev, const Tensor& Wax,
                             const Tensor& Waa, const Tensor& b);

/// The state an LSTM carries from one step to the next.
struct LstmState {
  Tensor h;  ///< hidden state (H, m): the course's a
  Tensor c;  ///< cell state (H, m): the course's c
};

/// One LSTM step, gates in PyTorch's order (input i, forget f, cell g, output o):
///   [i; f; g; o] = W_ih x + W_hh h_prev + b       (4H, m), one matmul each
///   i, f, o = sigmoid(.), g = tanh(.),  c = f * c_prev + i * g,  h = o * tanh(c)
/// x (n_x, m), h_prev and c_prev (H, m), W_ih (4H, n_x), W_hh (4H, H), b (4H, 1) or
/// undefined -> {h, c}. torch.nn.LSTM's weight_ih_l0 and weight_hh_l0 are W_ih and W_hh
/// as they are, b = bias_ih_l0 + bias_hh_l0 as a column. The course's lstm_cell_forward
/// multiplies [a_prev; x] by Wf, Wi, Wc, Wo (each (H, H + n_x)): W_ih = [Wi; Wf; Wc; Wo]
/// restricted to their last n_x columns, W_hh = the same restricted to their first H
/// columns, b = [bi; bf; bc; bo]. Throws ShapeError naming every shape.
TAPEGRAD_API LstmState lstm_cell(const Tensor& x, const Tensor& h_prev, const Tensor& c_prev,
                                 const Tensor& W_ih, const Tensor& W_hh, const Tensor& b);

/// One GRU step, as torch.nn.GRU (gates reset r, update z, new n):
///   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h
/// x (n_x, m), h_prev (H, m), W_ih (3H, n_x) = [W_ir; W_iz; W_in], W_hh (3H, H),
/// b_ih and b_hh (3H, 1) or undefined -> (H, m). The two biases stay apart because r
/// multiplies b_hn but not b_in. Throws ShapeError naming every shape.
TAPEGRAD_API Tensor gru_cell(const Tensor& x, const Tensor& h_prev, const Tensor& W_ih,
                             const Tensor& W_hh, const Tensor& b_ih, const Tensor& b_hh);

/// Which cell recurrent_sequence runs.
enum class RecurrentKind {
  rnn_tanh,  ///< h = tanh(W_ih x + b_ih + W_hh h + b_hh), as torch.nn.RNN
  gru,       ///< gru_cell's formula, as torch.nn.GRU
  lstm,      ///< lstm_cell's formula, as torch.nn.LSTM
};

/// recurrent_sequence's result, in torch's row layout.
struct SequenceOutput {
  Tensor output;  ///< (T, N, H), or (N, T, H) with batch_first: h_t of every step
  Tensor h;       ///< (N, H): h after the last step
  Tensor c;       ///< (N, H): the LSTM's c after the last step; undefined otherwise
};

/// A whole one-layer RNN, GRU or LSTM over a sequence, as one recorded op (what nn::RNN,
/// nn::GRU and nn::LSTM run): x (T, N, in), or (N, T, in) with batch_first; h0 and c0 (N, H) or
/// undefined (zeros; c0 only for the LSTM); w_ih (G H, in), w_hh (G H, H), b_ih and b_hh (G H) or
/// both undefined, G = 1, 3, 4 and the gates in torch's order. The formulas are those of
/// rnn_cell, gru_cell and lstm_cell in row layout (h_t = f(x_t W_ih^T + h_{t-1} W_hh^T
/// + b)), computed as cuDNN does: one product for the input projections of all steps,
/// one product a step for h_{t-1} W_hh^T, and in backward one product a step for
/// dh_{t-1} plus one product over all steps for each weight's gradient. Batch rows run
/// in fixed chunks on the pool (the same bits at any thread count). float32 evaluates
/// sigmoid and tanh with a vectorized exp (exp within 2 ulp; tanh within about 20 ulp near
/// |x| = 0.06, a few ulp elsewhere); float64 with libm's. Its backward rule is a raw kernel:
/// a gradient of its gradient waits on the engine's double backward (issue 10). Throws
/// ShapeError naming every shape for one that does not fit, ValueError for T, N, in or H of 0
/// or an undefined x or weight, DtypeError for mixed dtypes.
TAPEGRAD_API SequenceOutput recurrent_sequence(RecurrentKind kind, const Tensor& x,
                                               const Tensor& h0, const Tensor& c0,
                                               const Tensor& w_ih, const Tensor& w_hh,
                                               const Tensor& b_ih, const Tensor& b_hh,
                                               bool batch_first = false);

namespace detail {
/// The whole numbers of a 1-D or 2-D float tensor as indices into `num_embeddings` rows,
/// row-major; the errors of embedding(weight, indices), their messages starting "<op>: ".
TAPEGRAD_API std::vector<std::int64_t> embedding_indices(const char* op, const Tensor& indices,
                                                         std::int64_t num_embeddings);
}  // namespace detail

}  // namespace tapegrad
