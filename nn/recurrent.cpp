#include <fmt/format.h>

#include <cmath>
#include <string>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/init.hpp>
#include <tapegrad/nn/recurrent.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/recurrent.hpp>
#include <tapegrad/ops/shape_ops.hpp>
#include <utility>
#include <vector>

namespace tapegrad::nn {

namespace {

std::string shape_or_undefined(const Tensor& t) {
  return t.defined() ? shape_str(t.shape()) : "undefined";
}

}  // namespace

// ---- Embedding ------------------------------------------------------------------------

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t dim, Dtype dtype, Generator& gen)
    : Module("Embedding") {
  if (num_embeddings < 1 || dim < 1)
    throw ValueError(fmt::format("Embedding: sizes must be positive, got num_embeddings={} dim={}",
                                 num_embeddings, dim));
  weight = register_parameter("weight", randn({num_embeddings, dim}, dtype, gen));
}

Embedding::Embedding(Tensor table) : Module("Embedding") {
  if (table.defined() && table.dim() != 2)
    throw ShapeError(fmt::format("Embedding: weight must be 2-D (num_embeddings, dim), got {}",
                                 shape_str(table.shape())));
  weight = register_parameter("weight", std::move(table));
}

Tensor Embedding::forward(const Tensor& indices) {
  const std::vector<std::int64_t> rows =
      tapegrad::detail::embedding_indices("Embedding", indices, num_embeddings());
  Shape shape = indices.shape();
  shape.push_back(dim());
  // index_select's rule adds the gradients of repeated rows.
  return reshape(index_select(weight, 0, rows), shape);
}

std::string Embedding::extra_repr() const {
  return fmt::format("num_embeddings={}, dim={}", num_embeddings(), dim());
}

// ---- the recurrent layers -------------------------------------------------------------

RecurrentState RecurrentState::detach() const {
  return {h.defined() ? h.detach() : Tensor(), c.defined() ? c.detach() : Tensor()};
}

RecurrentLayer::RecurrentLayer(std::string type_name, std::int64_t gates, std::int64_t input_size,
                               std::int64_t hidden_size, const RecurrentOptions& options,
                               Generator& gen)
    : Module(std::move(type_name)), batch_first_(options.batch_first) {
  if (input_size < 1 || hidden_size < 1)
    throw ValueError(fmt::format("{}: sizes must be positive, got input_size={} hidden_size={}",
                                 this->type_name(), input_size, hidden_size));
  // torch's reset_parameters: every parameter U(-1/sqrt(H), 1/sqrt(H)), in this order.
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  const std::int64_t rows = gates * hidden_size;
  Tensor w_ih = init::uniform({rows, input_size}, bound, options.dtype, gen);
  Tensor w_hh = init::uniform({rows, hidden_size}, bound, options.dtype, gen);
  Tensor b_ih, b_hh;
  if (options.bias) {
    b_ih = init::uniform({rows}, bound, options.dtype, gen);
    b_hh = init::uniform({rows}, bound, options.dtype, gen);
  }
  register_all(std::move(w_ih), std::move(w_hh), std::move(b_ih), std::move(b_hh));
}

RecurrentLayer::RecurrentLayer(std::string type_name, std::int64_t gates, Tensor w_ih, Tensor w_hh,
                               Tensor b_ih, Tensor b_hh, bool batch_first)
    : Module(std::move(type_name)), batch_first_(batch_first) {
  const std::string shapes = fmt::format(
      "weight_ih_l0 {}, weight_hh_l0 {}, bias_ih_l0 {}, bias_hh_l0 {}", shape_or_undefined(w_ih),
      shape_or_undefined(w_hh), shape_or_undefined(b_ih), shape_or_undefined(b_hh));
  if (b_ih.defined() != b_hh.defined())
    throw ValueError(
        fmt::format("{}: give both biases or neither; got {}", this->type_name(), shapes));
  const auto fits = [&] {
    if (!w_ih.defined() || !w_hh.defined()) return false;
    if (w_ih.dim() != 2 || w_hh.dim() != 2) return false;
    const std::int64_t H = w_hh.size(1), rows = gates * H;
    if (H < 1 || w_ih.size(1) < 1 || w_hh.size(0) != rows || w_ih.size(0) != rows) return false;
    return !b_ih.defined() || (b_ih.shape() == Shape{rows} && b_hh.shape() == Shape{rows});
  };
  if (!fits()) {
    const std::string g = gates == 1 ? "" : fmt::format("{}", gates);
    throw ShapeError(fmt::format(
        "{}: parameters that do not fit {} gate{}: {} (expects ({}H, in), ({}H, H), ({}H), ({}H))",
        this->type_name(), gates, gates == 1 ? "" : "s", shapes, g, g, g, g));
  }
  register_all(std::move(w_ih), std::move(w_hh), std::move(b_ih), std::move(b_hh));
}

void RecurrentLayer::register_all(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh) {
  weight_ih = register_parameter("weight_ih_l0", std::move(w_ih));
  weight_hh = register_parameter("weight_hh_l0", std::move(w_hh));
  if (b_ih.defined()) {
    bias_ih = register_parameter("bias_ih_l0", std::move(b_ih));
    bias_hh = register_parameter("bias_hh_l0", std::move(b_hh));
  }
}

void RecurrentLayer::check_input(const Tensor& x) const {
  const char* layout = batch_first_ ? "(N, T, {})" : "(T, N, {})";
  const std::string expects = fmt::format(fmt::runtime(layout), input_size());
  if (!x.defined() || x.dim() != 3 || x.size(2) != input_size())
    throw ShapeError(fmt::format("{}: input of shape {} for a layer of {} inputs (expects {})",
                                 type_name(), shape_or_undefined(x), input_size(), expects));
  const std::int64_t T = x.size(batch_first_ ? 1 : 0), N = x.size(batch_first_ ? 0 : 1);
  if (T == 0)
    throw ValueError(fmt::format("{}: a sequence of length zero (input {}, expects {})",
                                 type_name(), shape_str(x.shape()), expects));
  if (N == 0)
    throw ValueError(fmt::format("{}: an empty batch (input {}, expects {})", type_name(),
                                 shape_str(x.shape()), expects));
}

// The given h0 or c0, (1, N, H), as recurrent_sequence takes it, (N, H); undefined
// (zeros) when not given.
Tensor RecurrentLayer::initial(const Tensor& given, const char* name, const Tensor& x) const {
  if (!given.defined()) return {};
  const std::int64_t N = x.size(batch_first_ ? 0 : 1), H = hidden_size();
  const Shape expected = {1, N, H};
  if (given.shape() != expected)
    throw ShapeError(fmt::format("{}: {} of shape {} for input {} (expects (1, N, H) = {})",
                                 type_name(), name, shape_str(given.shape()), shape_str(x.shape()),
                                 shape_str(expected)));
  return reshape(given, {N, H});
}

RecurrentOutput RecurrentLayer::forward_with_state(const Tensor& x, const RecurrentState& state) {
  check_input(x);
  const bool lstm = kind() == RecurrentKind::lstm;
  if (!lstm && state.c.defined())
    throw ValueError(fmt::format("{}: the state has a cell state c {}, which only an LSTM takes",
                                 type_name(), shape_str(state.c.shape())));
  if (lstm && state.h.defined() != state.c.defined())
    throw ValueError(
        fmt::format("{}: the state needs both h and c, or neither for zeros; got h "
                    "{} and c {}",
                    type_name(), shape_or_undefined(state.h), shape_or_undefined(state.c)));
  if (x.dtype() != weight_hh.dtype())
    throw DtypeError(fmt::format("{}: input is {}, the layer's parameters {}", type_name(),
                                 dtype_name(x.dtype()), dtype_name(weight_hh.dtype())));
  const Tensor h0 = initial(state.h, "h0", x);
  const Tensor c0 = lstm ? initial(state.c, "c0", x) : Tensor();
  const SequenceOutput run =
      recurrent_sequence(kind(), x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first_);
  const std::int64_t N = run.h.size(0), H = hidden_size();
  const auto final = [&](const Tensor& t) { return reshape(t, {1, N, H}); };
  return {run.output, {final(run.h), lstm ? final(run.c) : Tensor()}};
}

Tensor RecurrentLayer::forward(const Tensor& x) { return forward_with_state(x).output; }

std::string RecurrentLayer::extra_repr() const {
  std::string s = fmt::format("input_size={}, hidden_size={}", input_size(), hidden_size());
  if (batch_first_) s += ", batch_first=true";
  if (!bias_ih.defined()) s += ", bias=false";
  return s;
}

RNN::RNN(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options,
         Generator& gen)
    : RecurrentLayer("RNN", 1, input_size, hidden_size, options, gen) {}

RNN::RNN(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh, bool batch_first)
    : RecurrentLayer("RNN", 1, std::move(w_ih), std::move(w_hh), std::move(b_ih), std::move(b_hh),
                     batch_first) {}

GRU::GRU(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options,
         Generator& gen)
    : RecurrentLayer("GRU", 3, input_size, hidden_size, options, gen) {}

GRU::GRU(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh, bool batch_first)
    : RecurrentLayer("GRU", 3, std::move(w_ih), std::move(w_hh), std::move(b_ih), std::move(b_hh),
                     batch_first) {}

LSTM::LSTM(std::int64_t input_size, std::int64_t hidden_size, RecurrentOptions options,
           Generator& gen)
    : RecurrentLayer("LSTM", 4, input_size, hidden_size, options, gen) {}

LSTM::LSTM(Tensor w_ih, Tensor w_hh, Tensor b_ih, Tensor b_hh, bool batch_first)
    : RecurrentLayer("LSTM", 4, std::move(w_ih), std::move(w_hh), std::move(b_ih), std::move(b_hh),
                     batch_first) {}

}  // namespace tapegrad::nn
