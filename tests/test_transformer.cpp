// Multi-head attention, positional embeddings and the transformer block
// (nn/transformer.hpp): gradients against finite differences (the gradcheck suite:
// float64, max relative error 1e-6, and float32 against float64) with respect to the
// input and every parameter, the causal mask, names and initialization as torch's, the
// errors, and outputs and gradients equal to torch.nn.MultiheadAttention and
// torch.nn.TransformerEncoderLayer (tests/reference/torch_reference.txt, written by
// tests/reference/make_reference.py).
#define BOOST_TEST_MODULE transformer
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "support/expect_error.hpp"
#include "support/gradcheck_suite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;
using tt::check;
using tt::expect_error;
using tt::message_of;

namespace {

std::uint64_t next_seed() {
  static std::uint64_t s = 15000;
  return ++s;
}
Tensor u(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  return tt::uniform(shape, lo, hi, next_seed());
}

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

// The gradient checks differentiate with respect to the parameters too: the layer built
// for the dtype of the check is pointed at the check's leaves (its public handles
// rebound; the registered tensors are then unused). x[at .. at + 4] are in_proj_weight,
// the query's and the value's thirds of in_proj_bias, out_proj.weight and out_proj.bias.
// The key's third is held at zero: its true gradient is exactly zero (it adds q . b_k to
// every score of a row, which softmax ignores), so the float32 backward's rounding noise
// there has nothing to be relative to; key_bias_gets_no_gradient checks it instead.
void use(nn::MultiheadAttention& mha, const std::vector<Tensor>& x, std::size_t at) {
  const std::int64_t E = x[at].size(1);
  mha.in_proj_weight = x[at];
  mha.in_proj_bias = concat({x[at + 1], zeros({E}, x[at].dtype()), x[at + 2]}, 0);
  mha.out_proj->weight = x[at + 3];
  mha.out_proj->bias = x[at + 4];
}

std::vector<Tensor> mha_parameters(std::int64_t E) {
  return {u({3 * E, E}), u({E}, -0.3, 0.3), u({E}, -0.3, 0.3), u({E, E}), u({E}, -0.3, 0.3)};
}

// Output and averaged weights as one vector, so one check covers both.
Tensor both(const nn::MultiheadAttentionOutput& r) {
  return concat({reshape(r.output, {-1}), reshape(r.weights, {-1})}, 0);
}

}  // namespace

// ---- gradients against finite differences ---------------------------------------------

BOOST_AUTO_TEST_CASE(multihead_attention_grad_matches_finite_differences) {
  const std::int64_t N = 2, L = 3, E = 4, h = 2;
  for (const bool causal : {false, true}) {
    const std::string label = causal ? "MultiheadAttention self causal" : "MultiheadAttention self";
    std::vector<Tensor> inputs = {u({N, L, E})};
    for (const Tensor& p : mha_parameters(E)) inputs.push_back(p);
    check(
        label,
        [causal](const auto& x) {
          nn::MultiheadAttention mha(E, h, {.dtype = x[0].dtype()});
          use(mha, x, 1);
          return both(mha.forward(x[0], x[0], x[0], causal));
        },
        inputs);
    check(
        label + " output_only",
        [causal](const auto& x) {
          nn::MultiheadAttention mha(E, h, {.dtype = x[0].dtype()});
          use(mha, x, 1);
          return mha.forward(x[0], causal);
        },
        inputs);
  }
  // Cross-attention over more keys than queries, three heads.
  std::vector<Tensor> inputs = {u({N, L, 6}), u({N, 5, 6}), u({N, 5, 6})};
  for (const Tensor& p : mha_parameters(6)) inputs.push_back(p);
  check(
      "MultiheadAttention cross causal",
      [](const auto& x) {
        nn::MultiheadAttention mha(6, 3, {.dtype = x[0].dtype()});
        use(mha, x, 3);
        return both(mha.forward(x[0], x[1], x[2], true));
      },
      inputs);
  // Without biases.
  check("MultiheadAttention no_bias",
        [](const auto& x) {
          nn::MultiheadAttention mha(E, h, {.bias = false, .dtype = x[0].dtype()});
          mha.in_proj_weight = x[1];
          mha.out_proj->weight = x[2];
          return mha.forward(x[0]);
        },
        {u({N, L, E}), u({3 * E, E}), u({E, E})});
}

BOOST_AUTO_TEST_CASE(positional_embedding_grad_matches_finite_differences) {
  check("PositionalEmbedding",
        [](const auto& x) {
          nn::PositionalEmbedding pe(5, 4, x[0].dtype());
          pe.weight = x[1];
          return pe(x[0]);
        },
        {u({2, 3, 4}), u({5, 4})});
}

BOOST_AUTO_TEST_CASE(transformer_block_grad_matches_finite_differences) {
  const std::int64_t N = 2, L = 3, E = 4, h = 2, F = 6;
  for (const bool norm_first : {true, false})
    for (const bool causal : {false, true}) {
      const std::string label = fmt::format(
          "TransformerBlock {}{}", norm_first ? "pre_norm" : "post_norm", causal ? " causal" : "");
      std::vector<Tensor> inputs = {tt::uniform({N, L, E}, -1, 1, next_seed())};
      for (const Tensor& p : mha_parameters(E)) inputs.push_back(p);
      for (const Tensor& p :
           {u({F, E}), u({F}, -0.3, 0.3), u({E, F}), u({E}, -0.3, 0.3), u({E}, 0.7, 1.3),
            u({E}, -0.3, 0.3), u({E}, 0.7, 1.3), u({E}, -0.3, 0.3)})
        inputs.push_back(p);
      check(
          label,
          [norm_first, causal](const auto& x) {
            nn::TransformerBlock block(E, h, F, {.norm_first = norm_first, .dtype = x[0].dtype()});
            use(*block.self_attn, x, 1);
            block.linear1->weight = x[6];
            block.linear1->bias = x[7];
            block.linear2->weight = x[8];
            block.linear2->bias = x[9];
            block.norm1->weight = x[10];
            block.norm1->bias = x[11];
            block.norm2->weight = x[12];
            block.norm2->bias = x[13];
            return block.forward(x[0], causal);
          },
          inputs);
    }
}

// The block's settings beyond torch's: squared ReLU, ALiBi slopes and Primer's q, k, v
// convolutions (their weights x[14], (3, K, E), differentiated too).
BOOST_AUTO_TEST_CASE(transformer_block_with_primers_settings_grad_matches_finite_differences) {
  const std::int64_t N = 2, L = 4, E = 4, h = 2, F = 6, K = 2;
  for (const bool causal : {false, true}) {
    std::vector<Tensor> inputs = {tt::uniform({N, L, E}, -1, 1, next_seed())};
    for (const Tensor& p : mha_parameters(E)) inputs.push_back(p);
    for (const Tensor& p :
         {u({F, E}), u({F}, -0.3, 0.3), u({E, F}), u({E}, -0.3, 0.3), u({E}, 0.7, 1.3),
          u({E}, -0.3, 0.3), u({E}, 0.7, 1.3), u({E}, -0.3, 0.3), u({3, K, E})})
      inputs.push_back(p);
    check(
        fmt::format("TransformerBlock relu_squared alibi qkv_conv{}", causal ? " causal" : ""),
        [causal](const auto& x) {
          nn::TransformerBlock block(E, h, F,
                                     {.activation = nn::TransformerActivation::relu_squared,
                                      .dtype = x[0].dtype(),
                                      .alibi = {0.5, 0.25},
                                      .qkv_conv = K});
          use(*block.self_attn, x, 1);
          block.linear1->weight = x[6];
          block.linear1->bias = x[7];
          block.linear2->weight = x[8];
          block.linear2->bias = x[9];
          block.norm1->weight = x[10];
          block.norm1->bias = x[11];
          block.norm2->weight = x[12];
          block.norm2->bias = x[13];
          block.self_attn->qkv_conv = x[14];
          return block.forward(x[0], causal);
        },
        inputs);
  }
}

// Primer's convolutions start as the identity, and add no draw: a layer with them
// gives the same bits as one without, until they learn.
BOOST_AUTO_TEST_CASE(qkv_convolutions_start_as_the_identity) {
  const Tensor x = u({2, 5, 8}).to(float32);
  Generator g1(3), g2(3);
  nn::MultiheadAttention plain(8, 2, {}, g1), primer(8, 2, {.qkv_conv = 3}, g2);
  BOOST_TEST(plain.forward(x, true).to_vector() == primer.forward(x, true).to_vector());
  const auto names = names_of(primer.named_parameters());
  BOOST_TEST((std::find(names.begin(), names.end(), "qkv_conv") != names.end()));
  BOOST_TEST((primer.qkv_conv.shape() == Shape{3, 3, 8}));
  BOOST_TEST(primer.extra_repr() == "embed_dim=8, num_heads=2");
  nn::MultiheadAttention alibi(8, 2, {.alibi = alibi_slopes(2)}, g1);
  BOOST_TEST(alibi.extra_repr() == "embed_dim=8, num_heads=2, alibi");
}

BOOST_AUTO_TEST_CASE(key_bias_gets_no_gradient) {
  // b_k adds q . b_k to all scores of a row; softmax is blind to that. Its gradient is
  // rounding noise, far below the query and value thirds' of the same bias.
  for (const bool causal : {false, true}) {
    nn::MultiheadAttention mha(4, 2, {.dtype = float64});
    {
      NoGradGuard no_grad;
      mha.in_proj_bias.copy_(u({12}));
    }
    const Tensor x = u({2, 3, 4});
    sum(mha.forward(x, causal) * u({2, 3, 4})).backward();
    const Tensor g = mha.in_proj_bias.grad();
    const double k_part = max(abs(slice(g, 0, 4, 8))).item();
    const double q_part = max(abs(slice(g, 0, 0, 4))).item();
    const double v_part = max(abs(slice(g, 0, 8, 12))).item();
    BOOST_TEST(q_part > 1e-3);
    BOOST_TEST(v_part > 1e-3);
    BOOST_TEST(k_part <= 1e-14 * v_part, "key bias gradient " << k_part);
  }
}

// ---- the causal mask --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(causal_weights_are_zero_above_the_diagonal_and_rows_sum_to_one) {
  nn::MultiheadAttention mha(8, 2, {.dtype = float64});
  const Tensor x = u({3, 5, 8}, -2, 2);
  const nn::MultiheadAttentionOutput r = mha.forward(x, x, x, true);
  BOOST_TEST_REQUIRE((r.output.shape() == Shape{3, 5, 8}));
  BOOST_TEST_REQUIRE((r.weights.shape() == Shape{3, 5, 5}));
  const std::vector<double> w = r.weights.to_vector();
  for (std::int64_t n = 0; n < 3; ++n)
    for (std::int64_t i = 0; i < 5; ++i) {
      double row = 0;
      for (std::int64_t j = 0; j < 5; ++j) {
        const double e = w[static_cast<std::size_t>((n * 5 + i) * 5 + j)];
        if (j > i)
          BOOST_TEST(e == 0.0, "weight [" << n << ", " << i << ", " << j << "] " << e);
        else
          BOOST_TEST(e > 0.0);
        row += e;
      }
      BOOST_TEST(std::fabs(row - 1.0) <= 1e-12, "row " << i << " sums to " << row);
    }
  // The output-only forward is the same computation.
  BOOST_TEST(max(abs(mha.forward(x, true) - r.output)).item() == 0.0);
}

BOOST_AUTO_TEST_CASE(causal_block_output_does_not_depend_on_later_positions) {
  for (const bool norm_first : {true, false}) {
    nn::TransformerBlock block(8, 2, 16, {.norm_first = norm_first, .dtype = float64});
    const Tensor x = u({2, 4, 8});
    const Tensor changed = concat({slice(x, 1, 0, 2), u({2, 2, 8}, -3, 3)}, 1);  // rows 2, 3
    const Tensor a = block.forward(x, true), b = block.forward(changed, true);
    BOOST_TEST(max(abs(slice(a, 1, 0, 2) - slice(b, 1, 0, 2))).item() == 0.0);
    BOOST_TEST(max(abs(slice(a, 1, 2, 4) - slice(b, 1, 2, 4))).item() > 1e-3);
    // Without the mask the first positions see the change.
    BOOST_TEST(
        max(abs(slice(block.forward(x), 1, 0, 2) - slice(block.forward(changed), 1, 0, 2))).item() >
        1e-3);
  }
}

BOOST_AUTO_TEST_CASE(block_gives_the_same_bits_on_one_and_two_threads) {
  // float32 at the bench's shape class: the products, softmax, layer norm and bias sums are
  // cut the same way whatever the thread count.
  const auto run = [](int threads) {
    set_num_threads(threads);
    Generator gen(7);
    nn::TransformerBlock block(64, 4, 256, {}, gen);
    Tensor x = randn({8, 64, 64}, float32, gen);
    x.requires_grad_();
    sum(block.forward(x, true) * randn({8, 64, 64}, float32, gen)).backward();
    std::vector<std::vector<double>> out = {x.grad().to_vector()};
    for (const Tensor& p : block.parameters()) out.push_back(p.grad().to_vector());
    return out;
  };
  const int before = num_threads();
  const auto one = run(1), two = run(2);
  set_num_threads(before);
  BOOST_TEST_REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) BOOST_TEST(one[i] == two[i], "gradient " << i);
}

// ---- names, shapes and initialization ---------------------------------------------------

BOOST_AUTO_TEST_CASE(state_dict_names_are_torchs) {
  nn::MultiheadAttention mha(8, 2);
  BOOST_TEST(
      names_of(mha.state_dict()) == (std::vector<std::string>{"in_proj_weight", "in_proj_bias",
                                                              "out_proj.weight", "out_proj.bias"}),
      boost::test_tools::per_element());
  BOOST_TEST((mha.in_proj_weight.shape() == Shape{24, 8}));
  BOOST_TEST((mha.in_proj_bias.shape() == Shape{24}));
  BOOST_TEST((mha.out_proj->weight.shape() == Shape{8, 8}));
  BOOST_TEST((mha.out_proj->bias.shape() == Shape{8}));
  nn::MultiheadAttention plain(8, 2, {.bias = false});
  BOOST_TEST(names_of(plain.state_dict()) ==
                 (std::vector<std::string>{"in_proj_weight", "out_proj.weight"}),
             boost::test_tools::per_element());

  // torch.nn.TransformerEncoderLayer(8, 2, 16).state_dict().keys(), in its order.
  nn::TransformerBlock block(8, 2, 16);
  BOOST_TEST(
      names_of(block.state_dict()) ==
          (std::vector<std::string>{
              "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
              "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
              "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"}),
      boost::test_tools::per_element());
  BOOST_TEST((block.linear1->weight.shape() == Shape{16, 8}));
  BOOST_TEST((block.linear1->bias.shape() == Shape{16}));
  BOOST_TEST((block.linear2->weight.shape() == Shape{8, 16}));
  BOOST_TEST((block.norm2->bias.shape() == Shape{8}));
  BOOST_TEST(block.parameters().size() == 12u);

  nn::PositionalEmbedding pe(16, 8);
  BOOST_TEST(names_of(pe.state_dict()) == (std::vector<std::string>{"weight"}),
             boost::test_tools::per_element());
  BOOST_TEST((pe.weight.shape() == Shape{16, 8}));
}

BOOST_AUTO_TEST_CASE(safetensors_round_trip_keeps_torchs_names_and_shapes) {
  // The row-layout biases are (out) already: the file holds what torch's state_dict does.
  const tt::TempDir dir;
  nn::TransformerBlock block(8, 2, 16, {.dtype = float64});
  save_safetensors(dir / "block.safetensors", block);
  const NamedTensors loaded = load_safetensors(dir / "block.safetensors");
  const NamedTensors own = block.state_dict();
  BOOST_TEST_REQUIRE(loaded.size() == own.size());
  for (std::size_t i = 0; i < own.size(); ++i) {
    BOOST_TEST(loaded[i].first == own[i].first);
    BOOST_TEST((loaded[i].second.shape() == own[i].second.shape()), own[i].first);
  }
  nn::TransformerBlock copy(8, 2, 16, {.dtype = float64});
  load_safetensors_into(dir / "block.safetensors", copy);
  const Tensor x = u({2, 5, 8});
  BOOST_TEST(max(abs(copy.forward(x, true) - block.forward(x, true))).item() == 0.0);
}

BOOST_AUTO_TEST_CASE(initialization_is_torchs) {
  const std::int64_t E = 64;
  Generator gen(3);
  nn::MultiheadAttention mha(E, 4, {.dtype = float64}, gen);
  // xavier_uniform over the stacked (3E, E): bound sqrt(6 / (3E + E)).
  const double xavier = std::sqrt(6.0 / (4.0 * E));
  BOOST_TEST(max(abs(mha.in_proj_weight)).item() <= xavier);
  BOOST_TEST(max(abs(mha.in_proj_weight)).item() > 0.95 * xavier);
  const double linear = 1.0 / std::sqrt(static_cast<double>(E));
  BOOST_TEST(max(abs(mha.out_proj->weight)).item() <= linear);
  BOOST_TEST(max(abs(mha.out_proj->weight)).item() > 0.95 * linear);
  BOOST_TEST(max(abs(mha.in_proj_bias)).item() == 0.0);
  BOOST_TEST(max(abs(mha.out_proj->bias)).item() == 0.0);

  nn::TransformerBlock block(E, 4, 256, {.dtype = float64}, gen);
  BOOST_TEST(max(abs(block.linear2->bias)).item() <= 1.0 / 16.0);  // 1 / sqrt(256)
  BOOST_TEST(max(abs(block.linear2->bias)).item() > 0.0);
  BOOST_TEST(max(abs(block.norm1->weight - 1.0)).item() == 0.0);
  BOOST_TEST(max(abs(block.norm1->bias)).item() == 0.0);

  // N(0, 0.02^2): the sample std of 64 x 64 draws within 5% of 0.02.
  nn::PositionalEmbedding pe(64, 64, float64, gen);
  const double sd = std::sqrt(mean(square(pe.weight)).item());
  BOOST_TEST(std::fabs(sd - 0.02) <= 0.001, "std " << sd);
}

BOOST_AUTO_TEST_CASE(sinusoidal_positions_are_the_courses_table) {
  const std::int64_t L = 7, D = 6;
  const Tensor pe = nn::sinusoidal_positions(L, D, float64);
  BOOST_TEST_REQUIRE((pe.shape() == Shape{L, D}));
  for (std::int64_t pos = 0; pos < L; ++pos)
    for (std::int64_t i = 0; i < D / 2; ++i) {
      // Pair i: sin and cos of pos / 10000^(2i / D).
      const double angle = pos / std::pow(10000.0, 2.0 * i / D);
      BOOST_TEST(pe.at({pos, 2 * i}) == std::sin(angle));
      BOOST_TEST(pe.at({pos, 2 * i + 1}) == std::cos(angle));
    }
  // Position 0 is (0, 1, 0, 1, ...); an odd width ends with a sine.
  const Tensor odd = nn::sinusoidal_positions(3, 5, float64);
  BOOST_TEST(odd.at({0, 4}) == 0.0);
  BOOST_TEST(odd.at({2, 4}) == std::sin(2.0 / std::pow(10000.0, 4.0 / 5.0)));
  BOOST_TEST(odd.at({0, 3}) == 1.0);
  BOOST_TEST((nn::sinusoidal_positions(2, 4).dtype() == float32));
}

BOOST_AUTO_TEST_CASE(positional_embedding_adds_the_first_rows) {
  nn::PositionalEmbedding pe(6, 3, float64);
  const Tensor x = u({2, 4, 3});
  const Tensor y = pe(x);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t t = 0; t < 4; ++t)
      for (std::int64_t c = 0; c < 3; ++c)
        BOOST_TEST(y.at({n, t, c}) == x.at({n, t, c}) + pe.weight.at({t, c}));
}

// ---- errors -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(errors_name_the_layer_and_the_shapes) {
  nn::MultiheadAttention mha(4, 2);
  const Tensor x = ones({2, 3, 4});
  expect_error<ValueError>([] { nn::MultiheadAttention(4, 2, {.alibi = {0.5}}); },
                           "MultiheadAttention: 1 ALiBi slopes for 2 heads (one a head)");
  expect_error<ValueError>(
      [] {
        nn::TransformerBlock(4, 2, 8, {.alibi = {0.5, 0.2, 0.1}});
      },
      "MultiheadAttention: 3 ALiBi slopes for 2 heads (one a head)");
  expect_error<ValueError>([] { nn::MultiheadAttention(4, 2, {.qkv_conv = -1}); },
                           "MultiheadAttention: qkv_conv must be >= 0 steps, got -1");
  expect_error<ShapeError>(
      [&] {
        mha.forward(ones({3, 4}));
      },
      "MultiheadAttention: query, key and value must be (N, L, E), (N, S, "
      "E), (N, S, E) with E = 4; query [3, 4], key [3, 4], value [3, 4]");
  expect_error<ShapeError>(
      [&] {
        mha.forward(ones({2, 3, 5}));
      },
      "MultiheadAttention: query, key and value must be (N, L, E), (N, S, "
      "E), (N, S, E) with E = 4; query [2, 3, 5]");
  expect_error<ShapeError>(
      [&] {
        mha.forward(x, ones({2, 5, 4}), ones({2, 6, 4}));
      },
      "MultiheadAttention: query, key and value must be (N, L, E), (N, S, "
      "E), (N, S, E) with E = 4; query [2, 3, 4], key [2, 5, 4], value "
      "[2, 6, 4]");
  expect_error<ShapeError>(
      [&] {
        mha.forward(x, ones({3, 5, 4}), ones({3, 5, 4}));
      },
      "MultiheadAttention: query, key and value must be (N, L, E), (N, S, "
      "E), (N, S, E) with E = 4; query [2, 3, 4], key [3, 5, 4]");
  expect_error<ValueError>([] { nn::MultiheadAttention(6, 4); },
                           "MultiheadAttention: embed_dim 6 is not divisible by num_heads 4");
  expect_error<ValueError>([] { nn::MultiheadAttention(0, 1); },
                           "MultiheadAttention: sizes must be positive");
  expect_error<ValueError>([] { nn::TransformerBlock(6, 4, 8); },
                           "TransformerBlock: d_model 6 is not divisible by nhead 4");

  nn::PositionalEmbedding pe(4, 3);
  expect_error<IndexError>(
      [&] {
        pe(ones({2, 5, 3}));
      },
      "PositionalEmbedding: a sequence of length 5 for a table of max_len "
      "4; input [2, 5, 3], weight [4, 3]");
  expect_error<ShapeError>(
      [&] {
        pe(ones({2, 4, 2}));
      },
      "PositionalEmbedding: input of shape [2, 4, 2] for a table of dim 3 "
      "(expects (N, L, 3))");
  expect_error<ValueError>([] { nn::sinusoidal_positions(0, 4); },
                           "sinusoidal_positions: sizes must be positive, got length=0 dim=4");

  nn::TransformerBlock block(4, 2, 8);
  expect_error<ShapeError>(
      [&] {
        block(ones({2, 3, 5}));
      },
      "TransformerBlock: input of shape [2, 3, 5] for d_model 4 (expects "
      "(N, L, 4))");
  nn::RowLinear linear(4, 2);
  expect_error<ShapeError>(
      [&] {
        linear(ones({3, 5}));
      },
      "RowLinear: input of shape [3, 5] for a layer of 4 inputs (expects "
      "(..., 4))");
}

// ---- against torch ----------------------------------------------------------------------

namespace {

// Relative per element, an element judged against at least 1e-3 of its tensor's largest
// (tt::max_rel_diff): the key's third of in_proj_bias has a true gradient of exactly zero,
// which both sides give as rounding noise of 1e-17.
constexpr double kTorchTolerance = 1e-10;

struct Reference {
  std::map<std::string, Tensor> inputs, grads;
  double loss = 0;
};

Tensor read_tensor(std::istream& in) {
  int ndim = 0;
  in >> ndim;
  Shape shape(static_cast<std::size_t>(ndim));
  for (auto& d : shape) in >> d;
  std::vector<double> v(static_cast<std::size_t>(numel(shape)));
  for (double& e : v) in >> e;
  return tensor(v, shape, float64);
}

// Case `name` of tests/reference/torch_reference.txt (the format is make_reference.py's).
Reference reference(const std::string& name) {
  const auto path =
      std::filesystem::path(__FILE__).parent_path() / "reference" / "torch_reference.txt";
  std::ifstream in(path);
  BOOST_TEST_REQUIRE(in.good(), "cannot open " << path);
  std::string word, current;
  Reference ref;
  bool found = false;
  while (in >> word) {
    if (word.starts_with("#")) {
      std::getline(in, word);
    } else if (word == "case") {
      in >> current;
    } else if (word == "input") {
      std::string key;
      int requires_grad = 0;
      in >> key >> requires_grad;
      const Tensor t = read_tensor(in);
      if (current == name) ref.inputs[key] = t;
    } else if (word == "loss") {
      double loss = 0;
      in >> loss;
      if (current == name) ref.loss = loss, found = true;
    } else if (word == "grad") {
      std::string key;
      in >> key;
      const Tensor t = read_tensor(in);
      if (current == name) ref.grads[key] = t;
    } else if (word != "end") {
      BOOST_FAIL("torch_reference.txt: unexpected word '" << word << "'");
    }
    BOOST_TEST_REQUIRE(!in.fail(), "torch_reference.txt: malformed near case " << current);
  }
  BOOST_TEST_REQUIRE(found, "case " << name << " missing from torch_reference.txt");
  return ref;
}

double rel_diff(double a, double b) {
  if (a == b) return 0;
  const double r = std::fabs(a - b) / std::max(std::fabs(a), std::fabs(b));
  return std::isfinite(r) ? r : INFINITY;
}

double worst_rel_diff(const Tensor& got, const Tensor& expected) {
  if (got.shape() != expected.shape()) return INFINITY;
  return tt::max_rel_diff(got.to_vector(), expected.to_vector());
}

// Copies the case's values into the module's parameters, by their state-dict names (every
// parameter must be in the file), computes loss(inputs) and compares the loss, every
// parameter's gradient and every input's gradient with torch's.
void check_against_torch(
    const std::string& name, nn::Module& module,
    const std::function<Tensor(const std::map<std::string, Tensor>&)>& loss_of) {
  const Reference ref = reference(name);
  std::map<std::string, Tensor> leaves;  // the case's non-parameter inputs
  std::map<std::string, Tensor> grads_of;
  const NamedTensors params = module.named_parameters();
  {
    NoGradGuard no_grad;
    for (const auto& [key, t] : params) {
      BOOST_TEST_REQUIRE(ref.inputs.contains(key), name << ": parameter " << key << " not in file");
      Tensor p = t;
      p.copy_(ref.inputs.at(key));
      grads_of[key] = p;
    }
  }
  for (const auto& [key, t] : ref.inputs)
    if (!grads_of.contains(key)) {
      Tensor x = t.clone();
      if (ref.grads.contains(key)) x.requires_grad_();
      leaves[key] = x;
      grads_of[key] = x;
    }
  module.zero_grad();
  const Tensor loss = loss_of(leaves);
  const double loss_diff = rel_diff(loss.item(), ref.loss);
  BOOST_TEST(loss_diff <= kTorchTolerance, name << ": loss " << fmt::format("{:.17g}", loss.item())
                                                << " vs torch "
                                                << fmt::format("{:.17g}", ref.loss));
  loss.backward();
  double worst = 0;
  BOOST_TEST(ref.grads.size() == params.size() + 1 + (ref.inputs.contains("key") ? 2 : 0));
  for (const auto& [key, expected] : ref.grads) {
    BOOST_TEST_REQUIRE(grads_of.contains(key), name << ": " << key);
    const Tensor got = grads_of.at(key).grad();
    BOOST_TEST_REQUIRE(got.defined(), name << ": no gradient for " << key);
    const double w = worst_rel_diff(got, expected);
    BOOST_TEST(w <= kTorchTolerance, name << ": gradient of " << key << " differs by " << w);
    worst = std::max(worst, w);
  }
  fmt::print("torch-reference {}: loss rel diff {:.1e}, worst gradient rel diff {:.1e}\n", name,
             loss_diff, worst);
  std::fflush(stdout);
}

void mha_case(const std::string& name, std::int64_t E, std::int64_t heads, bool causal) {
  nn::MultiheadAttention mha(E, heads, {.dtype = float64});
  check_against_torch(name, mha, [&](const auto& in) {
    const Tensor& q = in.at("query");
    const bool cross = in.contains("key");
    const auto r = mha.forward(q, cross ? in.at("key") : q, cross ? in.at("value") : q, causal);
    return sum(r.output * in.at("R")) + sum(r.weights * in.at("Q"));
  });
}

void block_case(const std::string& name, bool norm_first, bool causal) {
  nn::TransformerBlock block(4, 2, 6, {.norm_first = norm_first, .dtype = float64});
  check_against_torch(name, block, [&](const auto& in) {
    return sum(block.forward(in.at("x"), causal) * in.at("R"));
  });
}

}  // namespace

BOOST_AUTO_TEST_CASE(multihead_attention_matches_torch) {
  mha_case("multihead_attention_self", 4, 2, false);
  mha_case("multihead_attention_self_causal", 4, 2, true);
  mha_case("multihead_attention_cross_causal", 6, 3, true);
}

BOOST_AUTO_TEST_CASE(transformer_block_matches_torchs_encoder_layer) {
  block_case("transformer_block_norm_first_causal", true, true);
  block_case("transformer_block_post_norm", false, false);
}
