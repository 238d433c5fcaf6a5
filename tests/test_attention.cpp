// Layer normalization and scaled dot-product attention (ops/attention.hpp): their
// gradients against finite differences (the gradcheck suite: float64, max relative error
// 1e-6, and float32 against float64), the causal mask's exact zeros, and their errors.
// Their equality with torch.nn.functional is in test_torch_reference.
#define BOOST_TEST_MODULE attention
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
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
  static std::uint64_t s = 14000;
  return ++s;
}
Tensor u(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  return tt::uniform(shape, lo, hi, next_seed());
}

}  // namespace

// ---- gradients against finite differences ---------------------------------------------

BOOST_AUTO_TEST_CASE(layer_norm_grad_matches_finite_differences) {
  check("layer_norm affine", [](const auto& x) { return layer_norm(x[0], x[1], x[2]); },
        {u({3, 5}), u({5}, 0.5, 1.5), u({5})});
  check("layer_norm affine", [](const auto& x) { return layer_norm(x[0], x[1], x[2], 1e-3); },
        {u({2, 3, 4}), u({4}, 0.5, 1.5), u({4})});
  check("layer_norm plain", [](const auto& x) { return layer_norm(x[0], Tensor(), Tensor()); },
        {u({2, 3, 4})});
  check("layer_norm weight_only", [](const auto& x) { return layer_norm(x[0], x[1], Tensor()); },
        {u({4, 6}), u({6}, 0.5, 1.5)});
}

BOOST_AUTO_TEST_CASE(attention_grad_matches_finite_differences) {
  for (const bool causal : {false, true}) {
    const std::string label = causal ? "attention causal" : "attention plain";
    const auto f = [causal](const auto& x) {
      return scaled_dot_product_attention(x[0], x[1], x[2], causal);
    };
    check(label + " 3-D", f, {u({2, 4, 3}), u({2, 5, 3}), u({2, 5, 2})});
    check(label + " 4-D", f, {u({2, 2, 3, 4}), u({2, 2, 3, 4}), u({2, 2, 3, 3})});
    // More queries than keys: the causal rows past S see every key.
    check(label + " L>S", f, {u({1, 5, 2}), u({1, 3, 2}), u({1, 3, 2})});
  }
  // The weights do not depend on v: only q and k are differentiated.
  const Tensor v = u({2, 4, 2});
  check("attention weights",
        [v](const auto& x) {
          return attention_with_weights(x[0], x[1], v.to(x[0].dtype()), true).weights;
        },
        {u({2, 4, 3}), u({2, 4, 3})});
}

BOOST_AUTO_TEST_CASE(alibi_attention_grad_matches_finite_differences) {
  const std::vector<double> slopes = alibi_slopes(2, 2);  // 1/2 and 1/4
  for (const bool causal : {false, true}) {
    const std::string label = causal ? "attention alibi causal" : "attention alibi plain";
    const auto f = [causal, slopes](const auto& x) {
      return scaled_dot_product_attention(x[0], x[1], x[2], causal, slopes);
    };
    check(label, f, {u({2, 2, 4, 3}), u({2, 2, 5, 3}), u({2, 2, 5, 2})});
    check(label + " 3-D", f, {u({2, 3, 2}), u({2, 3, 2}), u({2, 3, 2})});
  }
}

// ---- ALiBi ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(alibi_slopes_are_the_papers_geometric_sequence) {
  const std::vector<double> eight = alibi_slopes(8);
  BOOST_TEST_REQUIRE(eight.size() == 8U);
  for (std::size_t h = 0; h < 8; ++h)
    BOOST_TEST(eight[h] == std::ldexp(1.0, -static_cast<int>(h + 1)));  // 1/2 .. 1/256
  const std::vector<double> four = alibi_slopes(4, 2);
  BOOST_TEST(four[0] == std::exp2(-0.5));
  BOOST_TEST(four[1] == 0.5);
  BOOST_TEST(four[3] == 0.25);
}

// The op against the formula written out in float64: softmax(q k^T / sqrt(E) - slope_h
// |i - j|, masked) v, head h on the axis before L.
BOOST_AUTO_TEST_CASE(alibi_adds_minus_slope_times_distance_to_each_heads_scores) {
  const std::int64_t B = 2, H = 3, L = 4, S = 5, E = 3, Ev = 2;
  const std::vector<double> slopes = {0.7, 0.2, 1.5};
  const Tensor q = u({B, H, L, E}, -2, 2), k = u({B, H, S, E}, -2, 2), v = u({B, H, S, Ev});
  for (const bool causal : {false, true}) {
    const AttentionResult r = attention_with_weights(q, k, v, causal, slopes);
    const std::vector<double> qv = q.to_vector(), kv = k.to_vector(), vv = v.to_vector(),
                              wv = r.weights.to_vector(), ov = r.output.to_vector();
    double worst = 0;
    for (std::int64_t b = 0; b < B * H; ++b) {
      const double slope = slopes[static_cast<std::size_t>(b % H)];
      for (std::int64_t i = 0; i < L; ++i) {
        std::vector<double> w(static_cast<std::size_t>(S), 0.0);
        double total = 0;
        const std::int64_t seen = causal ? std::min(S, i + 1) : S;
        for (std::int64_t j = 0; j < seen; ++j) {
          double dot = 0;
          for (std::int64_t e = 0; e < E; ++e)
            dot += qv[static_cast<std::size_t>((b * L + i) * E + e)] *
                   kv[static_cast<std::size_t>((b * S + j) * E + e)];
          const double score = dot / std::sqrt(static_cast<double>(E)) -
                               slope * static_cast<double>(std::abs(i - j));
          w[static_cast<std::size_t>(j)] = std::exp(score);
          total += w[static_cast<std::size_t>(j)];
        }
        for (std::int64_t j = 0; j < S; ++j) {
          const double expected = w[static_cast<std::size_t>(j)] / total;
          const double got = wv[static_cast<std::size_t>((b * L + i) * S + j)];
          if (causal && j > i) BOOST_TEST(got == 0.0);
          worst = std::max(worst, std::abs(got - expected));
        }
        for (std::int64_t c = 0; c < Ev; ++c) {
          double expected = 0;
          for (std::int64_t j = 0; j < S; ++j)
            expected += w[static_cast<std::size_t>(j)] / total *
                        vv[static_cast<std::size_t>((b * S + j) * Ev + c)];
          worst = std::max(worst,
                           std::abs(ov[static_cast<std::size_t>((b * L + i) * Ev + c)] - expected));
        }
      }
    }
    BOOST_TEST(worst < 1e-14, "causal " << causal << ": worst difference " << worst);
  }
  // Slopes of zero are no bias at all: the same bits as without.
  const Tensor plain = scaled_dot_product_attention(q, k, v, true);
  const Tensor zero = scaled_dot_product_attention(q, k, v, true, {0.0, 0.0, 0.0});
  BOOST_TEST(plain.to_vector() == zero.to_vector());
}

// ---- the causal mask --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(causal_weights_are_exactly_zero_above_the_diagonal) {
  const std::int64_t B = 2, H = 3, L = 5, S = 6, E = 4;
  const Tensor q = u({B, H, L, E}, -3, 3), k = u({B, H, S, E}, -3, 3), v = u({B, H, S, 2});
  const AttentionResult r = attention_with_weights(q, k, v, true);
  BOOST_TEST_REQUIRE((r.weights.shape() == Shape{B, H, L, S}));
  BOOST_TEST_REQUIRE((r.output.shape() == Shape{B, H, L, 2}));
  const std::vector<double> w = r.weights.to_vector();
  for (std::int64_t b = 0; b < B * H; ++b)
    for (std::int64_t i = 0; i < L; ++i) {
      double row = 0;
      for (std::int64_t j = 0; j < S; ++j) {
        const double x = w[static_cast<std::size_t>((b * L + i) * S + j)];
        if (j > i)
          BOOST_TEST(x == 0.0, "weight [" << b << ", " << i << ", " << j << "] " << x);
        else
          BOOST_TEST(x > 0.0);
        row += x;
      }
      BOOST_TEST(std::fabs(row - 1.0) <= 1e-6, "row " << i << " sums to " << row);
    }
  // The output is the weights applied to v, and scaled_dot_product_attention's output.
  BOOST_TEST(max(abs(r.output - matmul(r.weights, v))).item() == 0.0);
  BOOST_TEST(max(abs(r.output - scaled_dot_product_attention(q, k, v, true))).item() == 0.0);
}

BOOST_AUTO_TEST_CASE(masked_keys_get_exactly_zero_gradient) {
  // Query 0 sees only key 0: the other keys' rows of k and v get nothing from it.
  const Tensor q = u({1, 1, 3});
  Tensor k = u({1, 4, 3}), v = u({1, 4, 2});
  k.requires_grad_();
  v.requires_grad_();
  sum(scaled_dot_product_attention(q, k, v, true)).backward();
  const std::vector<double> gk = k.grad().to_vector(), gv = v.grad().to_vector();
  for (std::size_t e = 3; e < gk.size(); ++e) BOOST_TEST(gk[e] == 0.0);
  for (std::size_t e = 2; e < gv.size(); ++e) BOOST_TEST(gv[e] == 0.0);
  BOOST_TEST(gv[0] == 1.0);
}

BOOST_AUTO_TEST_CASE(layer_norm_rows_have_mean_zero_and_variance_one) {
  const Tensor y = layer_norm(u({4, 8}, -2, 5).to(float64), Tensor(), Tensor(), 1e-12);
  BOOST_TEST(max(abs(mean(y, -1))).item() <= 1e-12);
  BOOST_TEST(max(abs(mean(square(y), -1) - 1.0)).item() <= 1e-9);
}

// ---- errors -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(errors_name_the_op_and_every_shape) {
  const Tensor q = ones({2, 3, 4}), k = ones({2, 5, 4}), v = ones({2, 5, 6});
  expect_error<ShapeError>(
      [&] {
        scaled_dot_product_attention(q, ones({2, 5, 3}), v);
      },
      "scaled_dot_product_attention: q's E (last extent) 4 differs from "
      "k's 3; q [2, 3, 4], k [2, 5, 3], v [2, 5, 6]");
  expect_error<ShapeError>(
      [&] {
        scaled_dot_product_attention(q, k, ones({2, 6, 6}));
      },
      "scaled_dot_product_attention: k's S (extent -2) 5 differs from "
      "v's 6; q [2, 3, 4], k [2, 5, 4], v [2, 6, 6]");
  expect_error<ShapeError>(
      [&] {
        attention_with_weights(q, ones({3, 5, 4}), ones({3, 5, 6}));
      },
      "attention_with_weights: q, k and v must have the same leading "
      "(batch) axes; q [2, 3, 4], k [3, 5, 4], v [3, 5, 6]");
  expect_error<ShapeError>(
      [&] {
        scaled_dot_product_attention(q, ones({1, 2, 5, 4}), v);
      },
      "scaled_dot_product_attention: q, k and v must have the same rank; "
      "q [2, 3, 4], k [1, 2, 5, 4], v [2, 5, 6]");
  expect_error<ShapeError>([&] { scaled_dot_product_attention(ones({4}), k, v); },
                           "scaled_dot_product_attention: q, k and v must be at least 2-D");
  expect_error<ShapeError>(
      [&] {
        scaled_dot_product_attention(q, k, v, true, {0.5, 0.25, 0.125});
      },
      "scaled_dot_product_attention: 3 ALiBi slopes need q, k and v of (..., heads = 3, L, E), "
      "one slope a head; q [2, 3, 4], k [2, 5, 4], v [2, 5, 6]");
  expect_error<ShapeError>(
      [&] {
        scaled_dot_product_attention(ones({3, 4}), ones({5, 4}), ones({5, 6}), true, {0.5});
      },
      "scaled_dot_product_attention: 1 ALiBi slopes need q, k and v of");
  expect_error<ValueError>(
      [&] {
        attention_with_weights(q, k, v, false, {0.5, std::nan("")});
      },
      "attention_with_weights: the ALiBi slopes must be finite, got nan");
  expect_error<ValueError>([&] { alibi_slopes(0); }, "alibi_slopes: heads must be positive, got 0");
  expect_error<ValueError>([&] { alibi_slopes(4, INFINITY); },
                           "alibi_slopes: max_exponent must be finite, got inf");

  const Tensor x = ones({2, 4});
  expect_error<ShapeError>([&] { layer_norm(x, ones({3}), Tensor()); },
                           "layer_norm: weight is [3], expected (D) = [4]; x [2, 4], weight "
                           "[3], bias undefined");
  expect_error<ShapeError>(
      [&] {
        layer_norm(x, ones({4}), ones({1, 4}));
      },
      "layer_norm: bias is [1, 4], expected (D) = [4]; x [2, 4], weight "
      "[4], bias [1, 4]");
  expect_error<ShapeError>([&] { layer_norm(ones({}), Tensor(), Tensor()); },
                           "layer_norm: x must be at least 1-D (..., D); x [], weight undefined");
  expect_error<ValueError>([&] { layer_norm(x, Tensor(), Tensor(), 0.0); },
                           "layer_norm: eps must be > 0, got 0");
}
