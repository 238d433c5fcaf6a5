// The sequence models: embedding, the RNN, LSTM and GRU cells (ops/recurrent.hpp) and the
// layers that unroll them (nn/recurrent.hpp). Their gradients against finite differences
// (the gradcheck suite: float64, max relative error 1e-6, and float32 against float64),
// their errors, their parameters, and truncated backpropagation through time. Their
// equality with torch.nn is in test_torch_reference.
#define BOOST_TEST_MODULE recurrent
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gradcheck_suite.hpp"
#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;
using tt::check;
using tt::expect_error;
using tt::message_of;

namespace {

std::uint64_t next_seed() {
  static std::uint64_t s = 13000;
  return ++s;
}
Tensor u(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  return tt::uniform(shape, lo, hi, next_seed());
}
// A weight or bias of a layer of H units, in torch's initial range U(-1/sqrt(H),
// 1/sqrt(H)): larger weights saturate tanh and sigmoid, where 1 - t^2 computed from a
// float32 t keeps few digits and the float32 backward drifts from the float64 one.
Tensor w(const Shape& shape, std::int64_t H) {
  const double k = 1.0 / std::sqrt(static_cast<double>(H));
  return u(shape, -k, k);
}

// The whole result of a layer as one tensor: output, h_n, and c_n when there is one.
Tensor joined(const nn::RecurrentOutput& r) {
  std::vector<Tensor> parts = {flatten(r.output), flatten(r.state.h)};
  if (r.state.c.defined()) parts.push_back(flatten(r.state.c));
  return concat(parts, 0);
}

}  // namespace

// ---- gradients against finite differences ---------------------------------------------

BOOST_AUTO_TEST_CASE(embedding_grad_matches_finite_differences) {
  // Row 2 is taken three times and row 4 once; rows 1 and 3 never (their gradient is 0).
  check("embedding repeats",
        [](const auto& x) {
          return embedding(x[0], {2, 0, 2, 4, 2});
        },
        {u({5, 3})});
  const Tensor indices = tensor({{1, 3, 1}, {0, 1, 4}}, float64);
  check("embedding 2-D indices", [indices](const auto& x) { return embedding(x[0], indices); },
        {u({5, 3})});
  check("embedding layer",
        [indices](const auto& x) {
          nn::Embedding embed(x[0]);
          return embed(indices);
        },
        {u({5, 3})});
}

BOOST_AUTO_TEST_CASE(embedding_grad_of_a_repeated_index_is_the_sum) {
  Tensor W = tensor({{1, 2}, {3, 4}, {5, 6}}, float64);
  W.requires_grad_();
  const Tensor g = tensor({{1, 10, 100, 1000}, {2, 20, 200, 2000}}, float64);  // (dim, n)
  embedding(W, {1, 0, 1, 1}).backward(g);
  BOOST_TEST(W.grad().to_vector() == (std::vector<double>{10, 20, 1101, 2202, 0, 0}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(rnn_cell_grad_matches_finite_differences) {
  const auto f = [](const auto& x) { return rnn_cell(x[0], x[1], x[2], x[3], x[4]); };
  check("rnn_cell", f, {u({3, 4}), u({5, 4}), w({5, 3}, 5), w({5, 5}, 5), w({5, 1}, 5)});
  check("rnn_cell", f, {u({1, 1}), u({2, 1}), w({2, 1}, 2), w({2, 2}, 2), w({2, 1}, 2)});
  check("rnn_cell no-bias", [](const auto& x) { return rnn_cell(x[0], x[1], x[2], x[3], {}); },
        {u({3, 2}), u({4, 2}), w({4, 3}, 4), w({4, 4}, 4)});
}

BOOST_AUTO_TEST_CASE(lstm_cell_grad_matches_finite_differences) {
  const auto f = [](const auto& x) {
    const LstmState s = lstm_cell(x[0], x[1], x[2], x[3], x[4], x[5]);
    return concat({s.h, s.c}, 0);
  };
  check("lstm_cell", f,
        {u({3, 2}), u({4, 2}), u({4, 2}), w({16, 3}, 4), w({16, 4}, 4), w({16, 1}, 4)});
  check("lstm_cell no-bias",
        [](const auto& x) {
          const LstmState s = lstm_cell(x[0], x[1], x[2], x[3], x[4], {});
          return concat({s.h, s.c}, 0);
        },
        {u({2, 3}), u({3, 3}), u({3, 3}), w({12, 2}, 3), w({12, 3}, 3)});
}

BOOST_AUTO_TEST_CASE(gru_cell_grad_matches_finite_differences) {
  const auto f = [](const auto& x) { return gru_cell(x[0], x[1], x[2], x[3], x[4], x[5]); };
  check("gru_cell", f,
        {u({3, 2}), u({4, 2}), w({12, 3}, 4), w({12, 4}, 4), w({12, 1}, 4), w({12, 1}, 4)});
  check("gru_cell no-bias", [](const auto& x) { return gru_cell(x[0], x[1], x[2], x[3], {}, {}); },
        {u({2, 3}), u({3, 3}), w({9, 2}, 3), w({9, 3}, 3)});
}

// Whole layers unrolled over several steps: gradients of every output and the final
// state with respect to the input, the initial state and all four parameters (the
// weights' gradients add up over the steps).
BOOST_AUTO_TEST_CASE(rnn_layer_grad_matches_finite_differences) {
  for (const bool batch_first : {false, true}) {
    const Shape x_shape = batch_first ? Shape{2, 4, 3} : Shape{4, 2, 3};
    check(fmt::format("RNN batch_first={}", batch_first),
          [batch_first](const auto& x) {
            nn::RNN rnn(x[2], x[3], x[4], x[5], batch_first);
            return joined(rnn.forward_with_state(x[0], {x[1]}));
          },
          {u(x_shape), u({1, 2, 4}), w({4, 3}, 4), w({4, 4}, 4), w({4}, 4), w({4}, 4)});
  }
}

BOOST_AUTO_TEST_CASE(gru_layer_grad_matches_finite_differences) {
  for (const bool batch_first : {false, true}) {
    const Shape x_shape = batch_first ? Shape{2, 4, 3} : Shape{4, 2, 3};
    check(fmt::format("GRU batch_first={}", batch_first),
          [batch_first](const auto& x) {
            nn::GRU gru(x[2], x[3], x[4], x[5], batch_first);
            return joined(gru.forward_with_state(x[0], {x[1]}));
          },
          {u(x_shape), u({1, 2, 3}), w({9, 3}, 3), w({9, 3}, 3), w({9}, 3), w({9}, 3)});
  }
}

BOOST_AUTO_TEST_CASE(lstm_layer_grad_matches_finite_differences) {
  for (const bool batch_first : {false, true}) {
    const Shape x_shape = batch_first ? Shape{2, 4, 3} : Shape{4, 2, 3};
    check(fmt::format("LSTM batch_first={}", batch_first),
          [batch_first](const auto& x) {
            nn::LSTM lstm(x[3], x[4], x[5], x[6], batch_first);
            return joined(lstm.forward_with_state(x[0], {x[1], x[2]}));
          },
          {u(x_shape), u({1, 2, 3}), u({1, 2, 3}), w({12, 3}, 3), w({12, 3}, 3), w({12}, 3),
           w({12}, 3)});
  }
  check("LSTM zero-state no-bias",
        [](const auto& x) {
          nn::LSTM lstm(x[1], x[2], {}, {});
          return joined(lstm.forward_with_state(x[0]));
        },
        {u({3, 2, 2}), w({8, 2}, 2), w({8, 2}, 2)});
}

// ---- what the layers compute ----------------------------------------------------------

// The layer is the cell run over the steps, in torch's layout: output[t] = h_t^T.
BOOST_AUTO_TEST_CASE(rnn_layer_runs_rnn_cell_over_the_steps) {
  Generator gen(7);
  nn::RNN rnn(3, 4, {.dtype = float64}, gen);
  const Tensor x = randn({5, 2, 3}, float64, gen), h0 = randn({1, 2, 4}, float64, gen);
  const nn::RecurrentOutput r = rnn.forward_with_state(x, {h0});
  BOOST_TEST_REQUIRE(r.output.shape() == (Shape{5, 2, 4}));
  BOOST_TEST_REQUIRE(r.state.h.shape() == (Shape{1, 2, 4}));
  BOOST_TEST(!r.state.c.defined());
  const Tensor b = reshape(rnn.bias_ih + rnn.bias_hh, {4, 1});
  Tensor a = transpose(h0[0]);
  for (std::int64_t t = 0; t < 5; ++t) {
    a = rnn_cell(transpose(x[t]), a, rnn.weight_ih, rnn.weight_hh, b);
    BOOST_TEST(tt::max_rel_diff(r.output[t].to_vector(), transpose(a).to_vector()) < 1e-14);
  }
  BOOST_TEST(tt::max_rel_diff(r.state.h.to_vector(), transpose(a).to_vector()) < 1e-14);
}

// batch_first only moves the axes: the same numbers as time-first.
BOOST_AUTO_TEST_CASE(batch_first_gives_the_time_first_result_transposed) {
  Generator gen(8);
  nn::LSTM time_first(3, 4, {.dtype = float64}, gen);
  nn::LSTM batch_first(time_first.weight_ih, time_first.weight_hh, time_first.bias_ih,
                       time_first.bias_hh, true);
  const Tensor x = randn({5, 2, 3}, float64, gen);
  const nn::RecurrentOutput a = time_first.forward_with_state(x);
  const nn::RecurrentOutput b = batch_first.forward_with_state(transpose(x, 0, 1));
  BOOST_TEST_REQUIRE(b.output.shape() == (Shape{2, 5, 4}));
  BOOST_TEST(transpose(b.output, 0, 1).to_vector() == a.output.to_vector(),
             boost::test_tools::per_element());
  BOOST_TEST(b.state.h.to_vector() == a.state.h.to_vector(), boost::test_tools::per_element());
  BOOST_TEST(b.state.c.to_vector() == a.state.c.to_vector(), boost::test_tools::per_element());
}

// forward(x) starts from zeros, as an explicit zero state does; its last output is h_n.
BOOST_AUTO_TEST_CASE(forward_starts_from_a_zero_state) {
  Generator gen(9);
  nn::GRU gru(2, 3, {.dtype = float64}, gen);
  const Tensor x = randn({4, 2, 2}, float64, gen);
  const Tensor out = gru(x);
  const nn::RecurrentOutput r = gru.forward_with_state(x, {zeros({1, 2, 3}, float64)});
  BOOST_TEST(out.to_vector() == r.output.to_vector(), boost::test_tools::per_element());
  BOOST_TEST(out[3].to_vector() == r.state.h[0].to_vector(), boost::test_tools::per_element());
  BOOST_TEST(out[0].to_vector() != out[3].to_vector());
}

BOOST_AUTO_TEST_CASE(recurrent_layers_have_torchs_parameter_names_shapes_and_init) {
  Generator gen(10);
  const nn::RNN rnn(3, 5, {}, gen);
  const nn::GRU gru(3, 5, {}, gen);
  const nn::LSTM lstm(3, 5, {}, gen);
  const double bound = 1.0 / std::sqrt(5.0);
  for (const auto& [layer, G] :
       {std::pair<const nn::Module*, std::int64_t>{&rnn, 1}, {&gru, 3}, {&lstm, 4}}) {
    const NamedTensors params = layer->named_parameters();
    BOOST_TEST_REQUIRE(params.size() == 4u);
    const std::vector<std::pair<std::string, Shape>> expected = {{"weight_ih_l0", {G * 5, 3}},
                                                                 {"weight_hh_l0", {G * 5, 5}},
                                                                 {"bias_ih_l0", {G * 5}},
                                                                 {"bias_hh_l0", {G * 5}}};
    double largest = 0, smallest = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      BOOST_TEST(params[k].first == expected[k].first);
      BOOST_TEST((params[k].second.shape() == expected[k].second), layer->type_name());
      BOOST_TEST((params[k].second.dtype() == float32));
      largest = std::max(largest, max(abs(params[k].second)).item());
      smallest = std::min(smallest, min(params[k].second).item());
    }
    // U(-bound, bound): inside it, and spread over it (50 or more draws).
    BOOST_TEST(largest <= bound, layer->type_name());
    BOOST_TEST(largest > 0.8 * bound, layer->type_name());
    BOOST_TEST(smallest < -0.5 * bound, layer->type_name());
  }
  const nn::LSTM no_bias(3, 5, {.bias = false, .dtype = float64}, gen);
  BOOST_TEST(no_bias.named_parameters().size() == 2u);
  BOOST_TEST((no_bias.weight_ih.dtype() == float64));
  BOOST_TEST(no_bias.to_string() == "LSTM(input_size=3, hidden_size=5, bias=false)");
  const nn::GRU gru_bf(2, 4, {.batch_first = true}, gen);
  BOOST_TEST(gru_bf.to_string() == "GRU(input_size=2, hidden_size=4, batch_first=true)");
}

BOOST_AUTO_TEST_CASE(embedding_layer_has_torchs_weight_and_layout) {
  Generator gen(11);
  nn::Embedding embed(200, 10, float64, gen);
  const NamedTensors params = embed.named_parameters();
  BOOST_TEST_REQUIRE(params.size() == 1u);
  BOOST_TEST(params[0].first == "weight");
  BOOST_TEST(params[0].second.shape() == (Shape{200, 10}));
  BOOST_TEST(std::fabs(mean(embed.weight).item()) < 0.05);  // N(0, 1)
  BOOST_TEST(std::fabs(embed.weight.std().item() - 1.0) < 0.05);
  BOOST_TEST(embed.to_string() == "Embedding(num_embeddings=200, dim=10)");
  // (a, b) -> (a, b, dim), row by row, as torch; the op gives the course's columns.
  const Tensor idx = tensor({{3, 0, 3}, {199, 1, 2}}, float64);
  const Tensor rows = embed(idx);
  BOOST_TEST_REQUIRE(rows.shape() == (Shape{2, 3, 10}));
  BOOST_TEST(rows[1][0].to_vector() == embed.weight[199].to_vector(),
             boost::test_tools::per_element());
  const Tensor cols = embedding(embed.weight, idx);
  BOOST_TEST_REQUIRE(cols.shape() == (Shape{10, 2, 3}));
  BOOST_TEST(select(select(cols, 1, 1), 1, 0).to_vector() == embed.weight[199].to_vector(),
             boost::test_tools::per_element());
}

// ---- truncated backpropagation through time ---------------------------------------------

// The state carried into the second window with detach(): its values go on (the windows
// compute what one long sequence does), its graph does not (backward from the second
// window reaches no input of the first). Without detach() the gradient does reach it:
// the check can fail.
BOOST_AUTO_TEST_CASE(detached_state_cuts_the_graph_between_windows) {
  Generator gen(12);
  nn::LSTM lstm(2, 3, {.dtype = float64}, gen);
  Tensor first = randn({3, 2, 2}, float64, gen), second = randn({4, 2, 2}, float64, gen);
  first.requires_grad_();
  const nn::RecurrentOutput whole = lstm.forward_with_state(concat({first, second}, 0));

  for (const bool detached : {true, false}) {
    first.zero_grad();
    lstm.zero_grad();
    const nn::RecurrentOutput a = lstm.forward_with_state(first);
    const nn::RecurrentState carried = detached ? a.state.detach() : a.state;
    BOOST_TEST(carried.h.requires_grad() == !detached);
    BOOST_TEST(carried.c.requires_grad() == !detached);
    const nn::RecurrentOutput b = lstm.forward_with_state(second, carried);
    BOOST_TEST(tt::max_rel_diff(b.output.to_vector(), slice(whole.output, 0, 3, 7).to_vector()) <
               1e-14);
    BOOST_TEST(tt::max_rel_diff(b.state.c.to_vector(), whole.state.c.to_vector()) < 1e-14);
    sum(b.output).backward();
    BOOST_TEST(lstm.weight_hh.grad().defined());
    const Tensor g = first.grad();
    if (detached)
      BOOST_TEST((!g.defined() || max(abs(g)).item() == 0.0), "gradient crossed the cut");
    else
      BOOST_TEST((g.defined() && max(abs(g)).item() > 0.0));
  }
}

// ---- errors ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(embedding_rejects_bad_indices_and_weights) {
  const Tensor W = ones({5, 3}, float64);
  expect_error<IndexError>(
      [&] {
        embedding(W, {1, 7, 2});
      },
      "embedding: index 7 at position 1 is out of range for weight [5, 3] (5 embeddings)");
  expect_error<IndexError>([&] { embedding(W, {-1}); }, "embedding: index -1 at position 0");
  expect_error<ShapeError>([] { embedding(ones({5}), std::vector<std::int64_t>{0}); },
                           "embedding: weight must be 2-D (num_embeddings, dim), got [5]");
  expect_error<ValueError>(
      [&] {
        embedding(W, tensor({{0, 1}, {2.5, 3}}, float64));
      },
      "embedding: index 2.5 at position [1, 0] of indices [2, 2] is not a whole number");
  expect_error<ValueError>(
      [&] {
        embedding(W, tensor({0, NAN}, float64));
      },
      "embedding: index nan at position 1 of indices [2]");
  expect_error<IndexError>(
      [&] {
        embedding(W, tensor({0, 5}, float64));
      },
      "embedding: index 5 at position 1 of indices [2] is out of range for 5 embeddings");
  expect_error<IndexError>([&] { embedding(W, tensor({1e300}, float64)); },
                           "embedding: index 1e+300 at position 0");
  expect_error<ShapeError>(
      [&] {
        embedding(W, zeros({1, 1, 1}, float64));
      },
      "embedding: indices must be 1-D (n) or 2-D (a, b), got [1, 1, 1]");
  nn::Embedding embed(5, 3);
  expect_error<IndexError>(
      [&] {
        embed(tensor({4, 5}, float64));
      },
      "Embedding: index 5 at position 1 of indices [2] is out of range");
  expect_error<ValueError>([] { nn::Embedding(0, 3); },
                           "Embedding: sizes must be positive, got num_embeddings=0 dim=3");
  expect_error<ShapeError>([] { nn::Embedding bad(ones({6})); },
                           "Embedding: weight must be 2-D (num_embeddings, dim), got [6]");
}

BOOST_AUTO_TEST_CASE(cells_reject_shapes_that_do_not_fit) {
  const Tensor x = ones({3, 2}), a = ones({5, 2});
  expect_error<ShapeError>(
      [&] {
        rnn_cell(x, a, ones({5, 4}), ones({5, 5}), ones({5, 1}));
      },
      "rnn_cell: Wax is [5, 4], expected (n_a, n_x) = [5, 3]; x [3, 2], a_prev [5, 2], Wax [5, "
      "4], Waa [5, 5], b [5, 1]");
  expect_error<ShapeError>(
      [&] {
        rnn_cell(x, ones({5, 3}), ones({5, 3}), ones({5, 5}), {});
      },
      "rnn_cell: a_prev is [5, 3], expected (n_a, m) = [5, 2]; x [3, 2], "
      "a_prev [5, 3], Wax [5, 3], Waa [5, 5], b undefined");
  expect_error<ShapeError>(
      [&] {
        rnn_cell(x, a, ones({5, 3}), ones({5, 5}), ones({5}));
      },
      "rnn_cell: b is [5], expected (n_a, 1) = [5, 1]");
  expect_error<ShapeError>(
      [&] {
        rnn_cell(ones({3}), a, ones({5, 3}), ones({5, 5}), {});
      },
      "rnn_cell: x must be 2-D (n_x, m), got [3]; x [3], a_prev [5, 2]");
  expect_error<ValueError>(
      [&] {
        rnn_cell(x, a, Tensor(), ones({5, 5}), {});
      },
      "rnn_cell: Wax is undefined");
  const Tensor h = ones({4, 2});
  expect_error<ShapeError>(
      [&] {
        lstm_cell(x, h, h, ones({16, 3}), ones({12, 4}), ones({16, 1}));
      },
      "lstm_cell: W_hh is [12, 4], expected (4H, H) = [16, 4]; x [3, 2], h_prev [4, 2], c_prev "
      "[4, 2], W_ih [16, 3], W_hh [12, 4], b [16, 1]");
  expect_error<ShapeError>(
      [&] {
        lstm_cell(x, h, ones({4, 3}), ones({16, 3}), ones({16, 4}), {});
      },
      "lstm_cell: c_prev is [4, 3], expected (H, m) = [4, 2]");
  expect_error<ShapeError>(
      [&] {
        gru_cell(x, h, ones({12, 3}), ones({12, 4}), ones({12, 1}), ones({16, 1}));
      },
      "gru_cell: b_hh is [16, 1], expected (3H, 1) = [12, 1]; x [3, 2], h_prev [4, 2], W_ih [12, "
      "3], W_hh [12, 4], b_ih [12, 1], b_hh [16, 1]");
  expect_error<ShapeError>(
      [&] {
        gru_cell(x, h, ones({12, 2}), ones({12, 4}), {}, {});
      },
      "gru_cell: W_ih is [12, 2], expected (3H, n_x) = [12, 3]");
}

BOOST_AUTO_TEST_CASE(layers_reject_bad_inputs_and_states) {
  nn::LSTM lstm(3, 4);
  nn::GRU gru(3, 4, {.batch_first = true});
  nn::RNN rnn(3, 4);
  expect_error<ShapeError>(
      [&] {
        lstm(ones({5, 3}));
      },
      "LSTM: input of shape [5, 3] for a layer of 3 inputs (expects (T, N, 3))");
  expect_error<ShapeError>(
      [&] {
        gru(ones({2, 5, 4}));
      },
      "GRU: input of shape [2, 5, 4] for a layer of 3 inputs (expects (N, T, 3))");
  expect_error<ValueError>(
      [&] {
        rnn(ones({0, 2, 3}));
      },
      "RNN: a sequence of length zero (input [0, 2, 3], expects (T, N, 3))");
  expect_error<ValueError>(
      [&] {
        gru(ones({2, 0, 3}));
      },
      "GRU: a sequence of length zero (input [2, 0, 3], expects (N, T, 3))");
  expect_error<ValueError>(
      [&] {
        rnn(ones({4, 0, 3}));
      },
      "RNN: an empty batch (input [4, 0, 3], expects (T, N, 3))");
  const Tensor x = ones({5, 2, 3});
  expect_error<ShapeError>(
      [&] {
        rnn.forward_with_state(x, {ones({1, 3, 4})});
      },
      "RNN: h0 of shape [1, 3, 4] for input [5, 2, 3] (expects (1, N, H) = "
      "[1, 2, 4])");
  expect_error<ShapeError>(
      [&] {
        rnn.forward_with_state(x, {ones({2, 4})});
      },
      "RNN: h0 of shape [2, 4] for input [5, 2, 3]");
  expect_error<ShapeError>(
      [&] {
        lstm.forward_with_state(x, {ones({1, 2, 4}), ones({1, 2, 5})});
      },
      "LSTM: c0 of shape [1, 2, 5] for input [5, 2, 3] (expects (1, N, H) = [1, 2, 4])");
  expect_error<ValueError>(
      [&] {
        lstm.forward_with_state(x, {ones({1, 2, 4})});
      },
      "LSTM: the state needs both h and c, or neither for zeros; got h [1, "
      "2, 4] and c undefined");
  expect_error<ValueError>(
      [&] {
        rnn.forward_with_state(x, {ones({1, 2, 4}), ones({1, 2, 4})});
      },
      "RNN: the state has a cell state c [1, 2, 4], which only an LSTM takes");
  expect_error<ValueError>([] { nn::GRU(3, 0); },
                           "GRU: sizes must be positive, got input_size=3 hidden_size=0");
  expect_error<ShapeError>(
      [] {
        nn::LSTM(ones({12, 3}), ones({12, 4}), ones({12}), ones({12}));
      },
      "LSTM: parameters that do not fit 4 gates: weight_ih_l0 [12, 3], weight_hh_l0 [12, 4], "
      "bias_ih_l0 [12], bias_hh_l0 [12] (expects (4H, in), (4H, H), (4H), (4H))");
  expect_error<ValueError>(
      [] {
        nn::RNN(ones({4, 3}), ones({4, 4}), ones({4}), Tensor());
      },
      "RNN: give both biases or neither; got weight_ih_l0 [4, 3]");
}

// ---- recurrent_sequence: the fused op the layers run ------------------------------------

namespace {

// The gradients of sum(output * r_out) + sum(h * r_h) (+ sum(c * r_c)) with respect to
// every input of recurrent_sequence, after its outputs.
std::vector<Tensor> sequence_run(RecurrentKind kind, bool batch_first,
                                 const std::vector<Tensor>& in,
                                 const std::vector<Tensor>& weights_of_outputs) {
  std::vector<Tensor> leaves;
  for (const Tensor& t : in) leaves.push_back(t.defined() ? t.detach().requires_grad_() : t);
  const SequenceOutput s = recurrent_sequence(kind, leaves[0], leaves[1], leaves[2], leaves[3],
                                              leaves[4], leaves[5], leaves[6], batch_first);
  Tensor loss = (s.output * weights_of_outputs[0]).sum() + (s.h * weights_of_outputs[1]).sum();
  if (s.c.defined()) loss = loss + (s.c * weights_of_outputs[2]).sum();
  loss.backward();
  std::vector<Tensor> out = {s.output.detach(), s.h.detach(),
                             s.c.defined() ? s.c.detach() : Tensor()};
  for (const Tensor& t : leaves) out.push_back(t.defined() ? t.grad() : Tensor());
  return out;
}

struct SequenceCase {
  RecurrentKind kind;
  const char* name;
  std::int64_t gates;
};

const std::vector<SequenceCase> kSequenceCases = {{RecurrentKind::rnn_tanh, "rnn", 1},
                                                  {RecurrentKind::gru, "gru", 3},
                                                  {RecurrentKind::lstm, "lstm", 4}};

// Inputs of a sequence of T steps over N rows (N > 16: several chunks of the batch).
std::vector<Tensor> sequence_inputs(const SequenceCase& c, bool batch_first, std::int64_t T,
                                    std::int64_t N, std::int64_t in, std::int64_t H) {
  const Shape x = batch_first ? Shape{N, T, in} : Shape{T, N, in};
  return {u(x),
          u({N, H}),
          c.kind == RecurrentKind::lstm ? u({N, H}) : Tensor(),
          w({c.gates * H, in}, H),
          w({c.gates * H, H}, H),
          w({c.gates * H}, H),
          w({c.gates * H}, H)};
}

std::vector<Tensor> as_dtype(const std::vector<Tensor>& ts, Dtype dtype) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.defined() ? t.to(dtype) : t);
  return out;
}

}  // namespace

// Over several chunks of the batch, both layouts, with and without a state: the float32
// kernels (vectorized sigmoid and tanh) agree with the float64 ones, which the gradient
// checks above and the torch references prove.
BOOST_AUTO_TEST_CASE(recurrent_sequence_float32_agrees_with_float64) {
  for (const SequenceCase& c : kSequenceCases)
    for (const bool batch_first : {false, true}) {
      std::vector<Tensor> in = sequence_inputs(c, batch_first, 5, 37, 3, 6);
      const Shape out_shape = batch_first ? Shape{37, 5, 6} : Shape{5, 37, 6};
      const std::vector<Tensor> r = {u(out_shape), u({37, 6}), u({37, 6})};
      const std::vector<Tensor> a = sequence_run(c.kind, batch_first, in, r);
      const std::vector<Tensor> b =
          sequence_run(c.kind, batch_first, as_dtype(in, float32), as_dtype(r, float32));
      BOOST_TEST_REQUIRE(a[0].shape() == out_shape);
      for (std::size_t k = 0; k < a.size(); ++k) {
        if (!a[k].defined()) continue;
        const double diff = tt::max_rel_diff(a[k].to_vector(), b[k].to_vector());
        BOOST_TEST(diff < 2e-4, c.name << " batch_first=" << batch_first << " result " << k
                                       << ": float32 against float64 " << diff);
      }
    }
}

// The layer in batch_first layout is the time-first one with its axes swapped: bit for
// bit in the values and in the gradients of x and the state; the weights' gradients sum
// the same terms over the rows in another order (to float32's rounding).
BOOST_AUTO_TEST_CASE(recurrent_sequence_layouts_give_the_same_bits) {
  for (const SequenceCase& c : kSequenceCases) {
    std::vector<Tensor> tf = as_dtype(sequence_inputs(c, false, 4, 20, 3, 5), float32);
    std::vector<Tensor> bf = tf;
    bf[0] = transpose(tf[0], 0, 1);
    const Tensor r = u({4, 20, 5}).to(float32);
    const std::vector<Tensor> rs = {r, u({20, 5}).to(float32), u({20, 5}).to(float32)};
    const std::vector<Tensor> a = sequence_run(c.kind, false, tf, rs);
    const std::vector<Tensor> b =
        sequence_run(c.kind, true, bf, {transpose(r, 0, 1), rs[1], rs[2]});
    BOOST_TEST(transpose(b[0], 0, 1).to_vector() == a[0].to_vector(),
               boost::test_tools::per_element());
    BOOST_TEST(transpose(b[3], 0, 1).to_vector() == a[3].to_vector(),
               boost::test_tools::per_element());
    for (std::size_t k : {1, 2, 4, 5})
      if (a[k].defined())
        BOOST_TEST(b[k].to_vector() == a[k].to_vector(), boost::test_tools::per_element());
    for (std::size_t k : {6, 7, 8, 9})
      BOOST_TEST(tt::max_rel_diff(b[k].to_vector(), a[k].to_vector()) < 1e-4);
  }
}

// The batch's chunks and the products' blocks do not depend on the thread count.
BOOST_AUTO_TEST_CASE(recurrent_sequence_gives_the_same_bits_at_every_thread_count) {
  const int threads = num_threads();
  for (const SequenceCase& c : kSequenceCases) {
    const std::vector<Tensor> in = as_dtype(sequence_inputs(c, true, 6, 50, 7, 24), float32);
    const std::vector<Tensor> r = as_dtype({u({50, 6, 24}), u({50, 24}), u({50, 24})}, float32);
    set_num_threads(1);
    const std::vector<Tensor> one = sequence_run(c.kind, true, in, r);
    set_num_threads(2);
    const std::vector<Tensor> two = sequence_run(c.kind, true, in, r);
    for (std::size_t k = 0; k < one.size(); ++k)
      if (one[k].defined())
        BOOST_TEST(one[k].to_vector() == two[k].to_vector(), boost::test_tools::per_element());
  }
  set_num_threads(threads);
}

// Against finite differences across a chunk boundary (18 rows: chunks of 16 and 2),
// without biases and from zeros.
BOOST_AUTO_TEST_CASE(recurrent_sequence_grad_across_chunks_matches_finite_differences) {
  for (const SequenceCase& c : kSequenceCases) {
    const std::int64_t G = c.gates;
    check(fmt::format("recurrent_sequence {} 18 rows", c.name),
          [kind = c.kind](const auto& x) {
            const SequenceOutput s =
                recurrent_sequence(kind, x[0], x[1], {}, x[2], x[3], {}, {}, true);
            return concat({flatten(s.output), flatten(s.h)}, 0);
          },
          {u({18, 2, 2}), u({18, 2}), w({G * 2, 2}, 2), w({G * 2, 2}, 2)});
  }
}

BOOST_AUTO_TEST_CASE(recurrent_sequence_rejects_what_does_not_fit) {
  const Tensor x = ones({5, 2, 3}), w_ih = ones({16, 3}), w_hh = ones({16, 4});
  expect_error<ShapeError>(
      [&] {
        recurrent_sequence(RecurrentKind::lstm, x, {}, {}, ones({12, 3}), w_hh, {}, {});
      },
      "recurrent_sequence (lstm): expected w_ih (4 H, in) = [16, 3] and w_hh (4 H, H) = [16, 4]");
  expect_error<ShapeError>(
      [&] {
        recurrent_sequence(RecurrentKind::lstm, x, ones({2, 5}), {}, w_ih, w_hh, {}, {});
      },
      "recurrent_sequence (lstm): h0 must be (N, H) = [2, 4]");
  expect_error<ShapeError>(
      [&] {
        recurrent_sequence(RecurrentKind::gru, x, {}, ones({2, 4}), ones({12, 3}), ones({12, 4}),
                           {}, {});
      },
      "recurrent_sequence (gru): c0 is for an LSTM only");
  expect_error<ShapeError>(
      [&] { recurrent_sequence(RecurrentKind::lstm, x, {}, {}, w_ih, w_hh, ones({16}), {}); },
      "recurrent_sequence (lstm): give both biases or neither");
  expect_error<ValueError>(
      [&] {
        recurrent_sequence(RecurrentKind::lstm, ones({0, 2, 3}), {}, {}, w_ih, w_hh, {}, {});
      },
      "recurrent_sequence (lstm): a sequence of length zero or an empty batch");
  expect_error<DtypeError>(
      [&] { recurrent_sequence(RecurrentKind::lstm, x.to(float64), {}, {}, w_ih, w_hh, {}, {}); },
      "recurrent_sequence");
}

// A NaN in a float32 sequence comes out as NaN (the vectorized exp reads its integer from
// bits, so a NaN is no undefined conversion: the sanitizer builds run this).
BOOST_AUTO_TEST_CASE(recurrent_sequence_passes_a_nan_on) {
  for (const SequenceCase& c : kSequenceCases) {
    std::vector<Tensor> in = as_dtype(sequence_inputs(c, false, 3, 2, 2, 3), float32);
    in[0].data<float>()[0] = std::nanf("");
    const SequenceOutput s =
        recurrent_sequence(c.kind, in[0], in[1], in[2], in[3], in[4], in[5], in[6]);
    BOOST_TEST(std::isnan(s.output.to_vector()[0]), c.name);
    BOOST_TEST(std::isnan(s.h.to_vector()[0]), c.name);
  }
}

BOOST_AUTO_TEST_CASE(recurrent_sequence_rejects_sizes_of_zero) {
  expect_error<ValueError>(
      [] {
        recurrent_sequence(RecurrentKind::rnn_tanh, ones({2, 2, 3}), {}, {}, ones({0, 3}),
                           ones({0, 0}), {}, {});
      },
      "recurrent_sequence (rnn): an input or hidden size of zero");
}
