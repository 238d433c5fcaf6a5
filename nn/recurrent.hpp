#pragma once
/// \file
/// Embedding and the recurrent layers (RNN, GRU, LSTM; one layer each), with PyTorch's
/// parameter names, shapes, initialization and layout, so a state dict exchanges with
/// torch's nn.Embedding, nn.RNN, nn.GRU and nn.LSTM directly. Unlike nn::Linear, these
/// layers take and give torch's layout: a sequence is (T, N, in), or (N, T, in) with
/// batch_first; an embedding's rows are (..., dim). A layer runs its whole sequence as one
/// recorded op, recurrent_sequence (ops/recurrent.hpp), with the cells' formulas.
///
///   nn::Embedding embed(vocab, 16);
///   nn::LSTM lstm(16, 32, {.batch_first = true});
///   auto [output, state] = lstm.forward_with_state(embed(tokens));  // tokens (N, T)
///   // output (N, T, 32); state.h and state.c (1, N, 32)
///
/// Truncated backpropagation through time carries the state from one window to the next
/// with its graph cut, so that backward stops at the window's start:
///
///   nn::RecurrentState state;                  // undefined: zeros at the first window
///   for (const Tensor& window : windows) {
///     auto [out, next] = lstm.forward_with_state(window, state);
///     Tensor loss = ...;  loss.backward();  optimizer.step();
///     state = next.detach();                   // the values go on, the graph does not
///   }
#include <cstdint>
#include <string>
#include <tapegrad/graph/dtype.hpp>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/recurrent.hpp>
#include <utility>

namespace tapegrad::nn {

/// A table of num_embeddings vectors of `dim`, as torch's nn.Embedding: parameter
/// "weight" (num_embeddings, dim), N(0, 1) at the start.
class TAPEGRAD_API Embedding : public Module {
 public:
  /// A table drawn from N(0, 1) with `gen`. Throws ValueError for a size < 1.
  Embedding(std::int64_t num_embeddings, std::int64_t dim, Dtype dtype = float32,
            Generator& gen = default_generator());
  /// A layer around an existing (num_embeddings, dim) leaf tensor `table`, shared, not copied,
  /// and trained (as torch's from_pretrained with freeze=False). Throws ShapeError for a
  /// weight that is not 2-D.
  explicit Embedding(Tensor table);

  /// Indices (n) -> (n, dim), or (a, b) -> (a, b, dim), as torch: out[i, j] = row
  /// indices[i, j] of weight. The indices are a float tensor of whole numbers. Throws
  /// ShapeError for another rank, ValueError for a value that is not whole, IndexError
  /// for one out of range (messages start "Embedding: "). For the course's columns
  /// (dim, n), call tapegrad::embedding(weight, indices).
  Tensor forward(const Tensor& indices) override;
  /// "num_embeddings=27, dim=16".
  std::string extra_repr() const override;

  /// The number of rows of the table.
  std::int64_t num_embeddings() const { return weight.size(0); }
  /// The length of each vector.
  std::int64_t dim() const { return weight.size(1); }

  /// (num_embeddings, dim), the registered "weight": change it in place, do not rebind it.
  Tensor weight;
};

/// Settings of RNN, GRU and LSTM: `nn::LSTM lstm(16, 32, {.batch_first = true})`.
struct RecurrentOptions {
  bool batch_first = false;  ///< input and output (N, T, ...) instead of (T, N, ...)
  bool bias = true;          ///< learn "bias_ih_l0" and "bias_hh_l0"
  Dtype dtype = float32;     ///< of the parameters, and of the inputs the layer takes
};

/// What a recurrent layer carries from one call to the next, as torch's h_n (and c_n).
/// An undefined h means zeros; so does an undefined c for an LSTM whose h is undefined.
struct TAPEGRAD_API RecurrentState {
  /// Both undefined: zeros.
  RecurrentState() = default;
  /// `{h0}` for an RNN or a GRU, `{h0, c0}` for an LSTM.
  RecurrentState(Tensor h_, Tensor c_ = {}) : h(std::move(h_)), c(std::move(c_)) {}

  Tensor h;  ///< (1, N, H): the hidden state after the last step
  Tensor c;  ///< (1, N, H): the LSTM's cell state; undefined for RNN and GRU

  /// The same values cut from the tape (Tensor::detach): what truncated backpropagation
  /// through time carries into the next window, so backward stops at the window's start.
  RecurrentState detach() const;
};

/// forward_with_state's result, as torch's (output, h_n) or (output, (h_n, c_n)).
struct RecurrentOutput {
  Tensor output;         ///< (T, N, H), or (N, T, H) with batch_first: h at every step
  RecurrentState state;  ///< after the last step
};

/// What RNN, GRU and LSTM share: the parameters "weight_ih_l0" (G H, in), "weight_hh_l0"
/// (G H, H), "bias_ih_l0" (G H) and "bias_hh_l0" (G H), G = the number of gates (1, 3,
/// 4), all U(-1/sqrt(H), 1/sqrt(H)) at the start as in torch; the checks of the input and
/// the state; the run of the whole sequence as one op (recurrent_sequence).
class TAPEGRAD_API RecurrentLayer : public Module {
 public:
  /// The whole output (T, N, H) (or (N, T, H)) from a zero initial state.
  Tensor forward(const Tensor& x) override;
  /// Runs the sequence x, (T, N, in) or (N, T, in) with batch_first, from `state` (h0 of
  /// (1, N, H), and c0 for an LSTM; undefined for zeros) and returns every step's output
  /// and the final state. Throws ShapeError (messages start with the layer's name, and
  /// give the shapes) for an input that is not 3-D or has another feature size, or a
  /// state of the wrong shape; ValueError for a sequence of length zero, an empty batch,
  /// or a state with c for a layer without one, or without c for an LSTM.
  RecurrentOutput forward_with_state(const Tensor& x, const RecurrentState& state = {});
  /// "input_size=16, hidden_size=32" (then ", batch_first=true", ", bias=false" when so).
  std::string extra_repr() const override;

  /// The features of each step of the input.
  std::int64_t input_size() const { return weight_ih.size(1); }
  /// H: the features of the hidden state.
  std::int64_t hidden_size() const { return weight_hh.size(1); }
  /// Whether sequences are (N, T, ...).
  bool batch_first() const { return batch_first_; }

  /// (G H, in), the registered "weight_ih_l0": change it in place, do not rebind it.
  Tensor weight_ih;
  /// (G H, H), the registered "weight_hh_l0".
  Tensor weight_hh;
  /// (G H), the registered "bias_ih_l0"; undefined without bias.
  Tensor bias_ih;
  /// (G H), the registered "bias_hh_l0"; undefined without bias.
  Tensor bias_hh;

 protected:
  /// The parameters of a new layer of `gates` gates, drawn from `gen`. Throws ValueError
  /// for a size < 1.
  RecurrentLayer(std::string type_name, std::int64_t gates, std::int64_t input_size,
                 std::int64_t hidden_size, const RecurrentOptions& options, Generator& gen);
  /// A layer around existing leaf tensors (shared, not copied): both biases or neither.
  /// Throws ShapeError for shapes that do not fit `gates`, ValueError for one bias alone.
  RecurrentLayer(std::string type_name, std::int64_t gates, Tensor w_ih, Tensor w_hh, Tensor b_ih,
                 Tensor b_hh, bool batch_first);

  /// The cell recurrent_sequence runs.
  virtual RecurrentKind kind() const = 0;

 private:
  void register_all(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh);
  void check_input(const Tensor& x) const;
  Tensor initial(const Tensor& given, const char* name, const Tensor& x) const;
  bool batch_first_;
};

/// The course's basic RNN over a sequence, as torch.nn.RNN with tanh (one layer):
/// h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (rnn_cell).
class TAPEGRAD_API RNN : public RecurrentLayer {
 public:
  /// A new layer, parameters drawn from `gen`. Throws ValueError for a size < 1.
  RNN(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {},
      Generator& gen = default_generator());
  /// A layer around existing leaf tensors (shared, not copied): w_ih (H, in), w_hh (H, H),
  /// b_ih and b_hh (H), or both biases undefined.
  RNN(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh, bool batch_first = false);

 protected:
  /// rnn_cell's formula.
  RecurrentKind kind() const override { return RecurrentKind::rnn_tanh; }
};

/// A GRU over a sequence, as torch.nn.GRU (one layer; gru_cell at each step).
class TAPEGRAD_API GRU : public RecurrentLayer {
 public:
  /// A new layer, parameters drawn from `gen`. Throws ValueError for a size < 1.
  GRU(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {},
      Generator& gen = default_generator());
  /// A layer around existing leaf tensors (shared, not copied): w_ih (3H, in), w_hh (3H, H),
  /// b_ih and b_hh (3H), or both biases undefined.
  GRU(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh, bool batch_first = false);

 protected:
  /// gru_cell's formula.
  RecurrentKind kind() const override { return RecurrentKind::gru; }
};

/// An LSTM over a sequence, as torch.nn.LSTM (one layer; lstm_cell at each step, gates
/// i, f, g, o). Its state has both h and c.
class TAPEGRAD_API LSTM : public RecurrentLayer {
 public:
  /// A new layer, parameters drawn from `gen`. Throws ValueError for a size < 1.
  LSTM(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options = {},
       Generator& gen = default_generator());
  /// A layer around existing leaf tensors (shared, not copied): w_ih (4H, in), w_hh (4H, H),
  /// b_ih and b_hh (4H), or both biases undefined.
  LSTM(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh, bool batch_first = false);

 protected:
  /// lstm_cell's formula.
  RecurrentKind kind() const override { return RecurrentKind::lstm; }
};

}  // namespace tapegrad::nn
