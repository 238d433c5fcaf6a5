// Batch normalization, dropout and the L2 term: their backward rules against finite
// differences (gradcheck, float64, as tests/test_gradcheck.cpp, with the same printed
// "gradcheck worst" summary), their values against numbers computed by hand, the
// layers' train/eval switch and saved state, and every error with its exact message.
#define BOOST_TEST_MODULE normalization
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/gradcheck_suite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;
using tt::check;
using tt::Fn;
using Vec = std::vector<double>;

namespace {

std::uint64_t next_seed() {
  static std::uint64_t s = 5000;
  return ++s;
}
Tensor u(const Shape& shape, double lo = -2.0, double hi = 2.0) {
  return tt::uniform(shape, lo, hi, next_seed());
}
Tensor positive(const Shape& shape, double lo = 0.2, double hi = 2.5) {
  return tt::uniform(shape, lo, hi, next_seed());
}

// ---- helpers ---------------------------------------------------------------------------

// Runs f, which must throw exactly E with exactly `message`.
template <class E, class F>
void expect_message(F&& f, const std::string& message) {
  try {
    f();
    BOOST_ERROR("no exception; expected: " << message);
  } catch (const E& e) {
    BOOST_TEST(std::string(e.what()) == message);
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type, message: " << e.what() << "; expected: " << message);
  }
}

void check_close(const Vec& got, const Vec& want, double tol, const char* what) {
  BOOST_TEST_REQUIRE(got.size() == want.size(), what << ": sizes differ");
  for (std::size_t i = 0; i < got.size(); ++i)
    BOOST_TEST(std::abs(got[i] - want[i]) <= tol,
               what << "[" << i << "]: " << got[i] << " vs " << want[i]);
}

Tensor param(const Vec& values, const Shape& shape, Dtype dtype = float64) {
  Tensor t = tensor(values, shape, dtype);
  t.requires_grad_();
  return t;
}

// A (C) tensor of dtype `d` from values (running statistics inside a checked function
// must have the checked input's dtype).
Tensor feature(const Vec& values, Dtype d) {
  return tensor(values, {static_cast<std::int64_t>(values.size())}, d);
}

// The small batch of the exact-value tests, course layout (features 2, m 4):
// feature 0 = 1 2 3 4 (mean 2.5, biased var 1.25), feature 1 = 0 0 4 4 (mean 2, var 4).
const Vec kBatch = {1, 2, 3, 4, 0, 0, 4, 4};
constexpr double kEps = 1e-5;

}  // namespace

// ---- gradient checks ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch_norm_grad_matches_finite_differences_in_training) {
  // Course layout (features, m): axis 0.
  check("batch_norm training axis 0",
        [](const auto& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true, 0.1, kEps, 0); },
        {u({3, 5}), u({3}), u({3})});
  // PyTorch's (m, features): axis 1, and the running statistics given (updated, unused).
  check("batch_norm training axis 1",
        [](const auto& x) {
          const Tensor rm = zeros({3}, x[0].dtype()), rv = ones({3}, x[0].dtype());
          return batch_norm(x[0], rm, rv, x[1], x[2], true, 0.1, kEps, 1);
        },
        {u({6, 3}), u({3}), u({3})});
  // Images (N, C, H, W): axis 1, statistics over N, H and W.
  check("batch_norm training 4-D",
        [](const auto& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true, 0.1, kEps, 1); },
        {u({2, 3, 2, 3}), u({3}), u({3})});
  check("batch_norm training axis -1",
        [](const auto& x) { return batch_norm(x[0], {}, {}, x[1], x[2], true, 0.1, kEps, -1); },
        {u({2, 3, 4}), u({4}), u({4})});
}

BOOST_AUTO_TEST_CASE(batch_norm_grad_matches_finite_differences_without_affine) {
  check("batch_norm no-affine axis 0",
        [](const auto& x) { return batch_norm(x[0], {}, {}, {}, {}, true, 0.1, kEps, 0); },
        {u({4, 6})});
  check("batch_norm no-affine 4-D",
        [](const auto& x) { return batch_norm(x[0], {}, {}, {}, {}, true, 0.1, kEps, 1); },
        {u({3, 2, 2, 2})});
  // Weight alone, bias alone.
  check("batch_norm weight-only axis 1",
        [](const auto& x) { return batch_norm(x[0], {}, {}, x[1], {}, true, 0.1, kEps, 1); },
        {u({5, 3}), u({3})});
  check("batch_norm bias-only axis 0",
        [](const auto& x) { return batch_norm(x[0], {}, {}, {}, x[1], true, 0.1, kEps, 0); },
        {u({3, 5}), u({3})});
}

BOOST_AUTO_TEST_CASE(batch_norm_grad_matches_finite_differences_in_eval) {
  const Vec rm = {0.3, -0.5, 1.2}, rv = {0.8, 2.0, 0.4};
  check("batch_norm eval axis 0",
        [&](const auto& x) {
          return batch_norm(x[0], feature(rm, x[0].dtype()), feature(rv, x[0].dtype()), x[1], x[2],
                            false, 0.1, kEps, 0);
        },
        {u({3, 4}), u({3}), u({3})});
  check("batch_norm eval axis 1",
        [&](const auto& x) {
          return batch_norm(x[0], feature(rm, x[0].dtype()), feature(rv, x[0].dtype()), x[1], x[2],
                            false, 0.1, kEps, 1);
        },
        {u({4, 3}), u({3}), u({3})});
  check("batch_norm eval 4-D",
        [&](const auto& x) {
          return batch_norm(x[0], feature(rm, x[0].dtype()), feature(rv, x[0].dtype()), x[1], x[2],
                            false, 0.1, kEps, 1);
        },
        {u({2, 3, 2, 2}), u({3}), u({3})});
  check("batch_norm eval no-affine",
        [&](const auto& x) {
          return batch_norm(x[0], feature(rm, x[0].dtype()), feature(rv, x[0].dtype()), {}, {},
                            false, 0.1, kEps, 0);
        },
        {u({3, 4})});
  // A batch of one example is fine in eval: the statistics are the running ones.
  check("batch_norm eval one-example",
        [&](const auto& x) {
          return batch_norm(x[0], feature(rm, x[0].dtype()), feature(rv, x[0].dtype()), x[1], x[2],
                            false, 0.1, kEps, 0);
        },
        {u({3, 1}), u({3}), u({3})});
}

BOOST_AUTO_TEST_CASE(batch_norm_in_a_network_grad_matches_finite_differences) {
  // relu(batch_norm(W x)) then a sum of squares: the fused rule composed with others.
  const Tensor X = u({3, 6});
  check("batch_norm network",
        [X](const auto& p) {
          const Tensor z = matmul(p[0], X.to(p[0].dtype()));
          return square(tanh(batch_norm(z, {}, {}, p[1], p[2], true, 0.1, kEps, 0)));
        },
        {u({4, 3}), positive({4}), u({4})});
}

BOOST_AUTO_TEST_CASE(dropout_grad_matches_finite_differences_for_a_fixed_mask) {
  // A fresh generator with one seed in every call: the same mask for each evaluation.
  for (const double p : {0.2, 0.5, 0.9})
    check(fmt::format("dropout p={}", p),
          [p](const auto& x) {
            Generator gen(77);
            return dropout(x[0], p, gen);
          },
          {u({4, 5})});
  check("dropout 3-D",
        [](const auto& x) {
          Generator gen(78);
          return dropout(x[0], 0.3, gen);
        },
        {u({2, 3, 7})});
}

BOOST_AUTO_TEST_CASE(l2_penalty_grad_matches_finite_differences) {
  check("l2_penalty",
        [](const auto& w) {
          return nn::l2_penalty({w[0], w[1], w[2]}, 0.7, 5);
        },
        {u({4, 3}), u({2, 4}), u({1, 2})});
}

// ---- batch_norm values -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch_norm_output_of_a_small_batch_matches_hand_computation) {
  const double s0 = 1.0 / std::sqrt(1.25 + kEps), s1 = 1.0 / std::sqrt(4.0 + kEps);
  // weight (2, 3), bias (0.5, -1).
  const Vec want = {2 * -1.5 * s0 + 0.5, 2 * -0.5 * s0 + 0.5, 2 * 0.5 * s0 + 0.5,
                    2 * 1.5 * s0 + 0.5,  3 * -2.0 * s1 - 1,   3 * -2.0 * s1 - 1,
                    3 * 2.0 * s1 - 1,    3 * 2.0 * s1 - 1};
  for (const Dtype d : {float64, float32}) {
    const Tensor x = tensor(kBatch, {2, 4}, d);
    const Tensor y = batch_norm(x, {}, {}, feature({2, 3}, d), feature({0.5, -1}, d), true);
    BOOST_TEST((y.shape() == Shape{2, 4}));
    BOOST_TEST((y.dtype() == d));
    check_close(y.to_vector(), want, d == float64 ? 1e-14 : 2e-6, "batch_norm axis 0");
    // The same batch as (m, features), axis 1: the transposed result.
    const Tensor yt = batch_norm(transpose(x), {}, {}, feature({2, 3}, d), feature({0.5, -1}, d),
                                 true, 0.1, kEps, 1);
    check_close(transpose(yt).to_vector(), want, d == float64 ? 1e-14 : 2e-6, "batch_norm axis 1");
  }
  // Without affine: the normalized values, mean 0 and biased variance 1 / (1 + eps / var).
  const Tensor xhat = batch_norm(tensor(kBatch, {2, 4}, float64), {}, {}, {}, {}, true);
  check_close(xhat.to_vector(),
              {-1.5 * s0, -0.5 * s0, 0.5 * s0, 1.5 * s0, -2 * s1, -2 * s1, 2 * s1, 2 * s1}, 1e-14,
              "batch_norm without affine");
}

BOOST_AUTO_TEST_CASE(batch_norm_4d_normalizes_each_channel_over_n_h_w) {
  // (N 2, C 2, H 1, W 2): channel 0 holds 1 3 | 5 7 (mean 4, var 5), channel 1 10 10 | 10 14
  // (mean 11, var 3).
  const Tensor x = tensor({1, 3, 10, 10, 5, 7, 10, 14}, {2, 2, 1, 2}, float64);
  const Tensor y = batch_norm(x, {}, {}, {}, {}, true, 0.1, kEps, 1);
  const double a = 1 / std::sqrt(5 + kEps), b = 1 / std::sqrt(3 + kEps);
  check_close(y.to_vector(), {-3 * a, -1 * a, -1 * b, -1 * b, 1 * a, 3 * a, -1 * b, 3 * b}, 1e-14,
              "batch_norm 4-D");
}

BOOST_AUTO_TEST_CASE(batch_norm_updates_running_stats_with_the_unbiased_variance) {
  for (const Dtype d : {float64, float32}) {
    Tensor rm = zeros({2}, d), rv = ones({2}, d);
    batch_norm(tensor(kBatch, {2, 4}, d), rm, rv, {}, {}, true, 0.1);
    // mean (2.5, 2); unbiased var (1.25 * 4/3, 4 * 4/3) = (5/3, 16/3).
    const double tol = d == float64 ? 1e-15 : 1e-6;
    check_close(rm.to_vector(), {0.25, 0.2}, tol, "running_mean after one batch");
    check_close(rv.to_vector(), {0.9 + 0.1 * 5.0 / 3.0, 0.9 + 0.1 * 16.0 / 3.0}, tol,
                "running_var after one batch");
    // A second batch moves them again: r = 0.9 r + 0.1 stat.
    batch_norm(tensor(kBatch, {2, 4}, d), rm, rv, {}, {}, true, 0.1);
    check_close(rm.to_vector(), {0.9 * 0.25 + 0.25, 0.9 * 0.2 + 0.2}, tol, "running_mean, two");
    check_close(rv.to_vector(),
                {0.9 * (0.9 + 0.5 / 3.0) + 0.5 / 3.0, 0.9 * (0.9 + 1.6 / 3.0) + 1.6 / 3.0}, tol,
                "running_var, two");
  }
  // momentum 1 keeps only the last batch's statistics; 0 keeps the old ones.
  Tensor rm = zeros({2}, float64), rv = ones({2}, float64);
  batch_norm(tensor(kBatch, {2, 4}, float64), rm, rv, {}, {}, true, 1.0);
  check_close(rm.to_vector(), {2.5, 2.0}, 1e-15, "momentum 1 mean");
  check_close(rv.to_vector(), {5.0 / 3.0, 16.0 / 3.0}, 1e-15, "momentum 1 var");
  batch_norm(tensor({9, 9, 9, 7, 1, 2, 3, 4}, {2, 4}, float64), rm, rv, {}, {}, true, 0.0);
  check_close(rm.to_vector(), {2.5, 2.0}, 0, "momentum 0 mean");
}

BOOST_AUTO_TEST_CASE(batch_norm_eval_uses_running_stats_and_is_deterministic) {
  const Tensor rm = tensor({0.5, -1.0}, {2}, float64), rv = tensor({4.0, 0.25}, {2}, float64);
  const Tensor x = tensor(kBatch, {2, 4}, float64);
  const Tensor w = feature({2, 3}, float64), b = feature({0.5, -1}, float64);
  const Tensor y1 = batch_norm(x, rm, rv, w, b, false);
  const Tensor y2 = batch_norm(x, rm, rv, w, b, false);
  BOOST_TEST(y1.to_vector() == y2.to_vector(), boost::test_tools::per_element());
  // Running statistics untouched by evaluation.
  BOOST_TEST(rm.to_vector() == Vec({0.5, -1.0}), boost::test_tools::per_element());
  BOOST_TEST(rv.to_vector() == Vec({4.0, 0.25}), boost::test_tools::per_element());
  const double s0 = 1 / std::sqrt(4 + kEps), s1 = 1 / std::sqrt(0.25 + kEps);
  Vec want;
  for (int k = 0; k < 4; ++k) want.push_back(2 * (kBatch[k] - 0.5) * s0 + 0.5);
  for (int k = 4; k < 8; ++k) want.push_back(3 * (kBatch[k] + 1.0) * s1 - 1);
  check_close(y1.to_vector(), want, 1e-14, "batch_norm eval");
  // Each example is normalized alone: a batch of one column gives its column.
  const Tensor col =
      batch_norm(tensor({kBatch[1], kBatch[5]}, {2, 1}, float64), rm, rv, w, b, false);
  check_close(col.to_vector(), {want[1], want[5]}, 1e-14, "one example in eval");
}

BOOST_AUTO_TEST_CASE(batch_norm_eval_gradient_is_the_affine_map) {
  const Tensor rm = tensor({0.5, -1.0}, {2}, float64), rv = tensor({4.0, 0.25}, {2}, float64);
  Tensor x = param(kBatch, {2, 4});
  Tensor w = param({2, 3}, {2}), b = param({0.5, -1}, {2});
  batch_norm(x, rm, rv, w, b, false).sum().backward();
  const double s0 = 1 / std::sqrt(4 + kEps), s1 = 1 / std::sqrt(0.25 + kEps);
  // dx = weight * invstd; dweight = sum(xhat); dbias = 4 (the number of examples).
  check_close(x.grad().to_vector(),
              {2 * s0, 2 * s0, 2 * s0, 2 * s0, 3 * s1, 3 * s1, 3 * s1, 3 * s1}, 1e-14, "eval dx");
  check_close(w.grad().to_vector(), {(10 - 4 * 0.5) * s0, (8 + 4 * 1.0) * s1}, 1e-13, "eval dw");
  check_close(b.grad().to_vector(), {4, 4}, 0, "eval db");
}

BOOST_AUTO_TEST_CASE(batch_norm_training_gradient_of_a_sum_is_zero_for_x) {
  // sum(y) = sum(weight * xhat + bias) does not depend on x (sum(xhat) = 0): dx = 0,
  // dweight = sum(xhat) = 0, dbias = m.
  Tensor x = param(kBatch, {2, 4});
  Tensor w = param({2, 3}, {2}), b = param({0.5, -1}, {2});
  batch_norm(x, {}, {}, w, b, true).sum().backward();
  check_close(x.grad().to_vector(), Vec(8, 0.0), 1e-15, "dx of sum");
  check_close(w.grad().to_vector(), {0, 0}, 1e-15, "dw of sum");
  check_close(b.grad().to_vector(), {4, 4}, 0, "db of sum");
}

BOOST_AUTO_TEST_CASE(batch_norm_does_not_depend_on_the_thread_count) {
  // Large enough to split over the pool: 64 features of 2048 values, both layouts.
  const Tensor x = u({64, 2048}), xt = transpose(x);
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<Vec> out;
    for (const Dtype d : {float32, float64}) {
      Tensor a = x.to(d), at = xt.to(d), w = ones({64}, d), b = zeros({64}, d);
      a.requires_grad_();
      at.requires_grad_();
      w.requires_grad_();
      Tensor rm = zeros({64}, d), rv = ones({64}, d);
      const Tensor y = batch_norm(a, rm, rv, w, b, true, 0.1, kEps, 0);
      const Tensor yt = batch_norm(at, {}, {}, {}, {}, true, 0.1, kEps, 1);
      (y * y * y).sum().backward();
      (yt * yt * yt).sum().backward();
      for (const Tensor& t : {y, yt, a.grad(), at.grad(), w.grad(), rm, rv})
        out.push_back(t.to_vector());
    }
    return out;
  };
  const int before = num_threads();
  const auto one = run(1), two = run(2), four = run(4);
  set_num_threads(before);
  for (std::size_t k = 0; k < one.size(); ++k) {
    BOOST_TEST(one[k] == two[k], "tensor " << k << " differs between 1 and 2 threads");
    BOOST_TEST(one[k] == four[k], "tensor " << k << " differs between 1 and 4 threads");
  }
}

BOOST_AUTO_TEST_CASE(batch_norm_large_mean_keeps_float32_precision) {
  // Values 1000 + small spread: x - mean first, so float32 keeps the spread's digits.
  Vec v;
  for (int k = 0; k < 64; ++k) v.push_back(1000.0 + 0.01 * (k % 8) - 0.035);
  const Tensor y32 = batch_norm(tensor(v, {1, 64}, float32), {}, {}, {}, {}, true);
  const Tensor y64 = batch_norm(tensor(v, {1, 64}, float32).to(float64), {}, {}, {}, {}, true);
  BOOST_TEST(tt::max_rel_diff(y32.to_vector(), y64.to_vector()) < 1e-3);
}

// ---- batch_norm errors -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch_norm_rejects_an_axis_out_of_range) {
  const Tensor x = zeros({4, 16});
  expect_message<IndexError>([&] { batch_norm(x, {}, {}, {}, {}, true, 0.1, kEps, 2); },
                             "batch_norm: axis 2 is out of range for a tensor of shape [4, 16]");
  expect_message<IndexError>([&] { batch_norm(x, {}, {}, {}, {}, true, 0.1, kEps, -3); },
                             "batch_norm: axis -3 is out of range for a tensor of shape [4, 16]");
}

BOOST_AUTO_TEST_CASE(batch_norm_rejects_per_feature_tensors_of_another_size) {
  const Tensor x = zeros({4, 16});
  expect_message<ShapeError>([&] { batch_norm(x, {}, {}, ones({3}), {}, true); },
                             "batch_norm: weight has 3 features, input has 4 at axis 0: [4, 16]");
  expect_message<ShapeError>([&] { batch_norm(x, {}, {}, {}, zeros({5}), true); },
                             "batch_norm: bias has 5 features, input has 4 at axis 0: [4, 16]");
  expect_message<ShapeError>(
      [&] { batch_norm(x, zeros({16}), ones({4}), {}, {}, false); },
      "batch_norm: running_mean has 16 features, input has 4 at axis 0: [4, 16]");
}

BOOST_AUTO_TEST_CASE(batch_norm_rejects_a_running_var_of_another_size_and_non_vectors) {
  const Tensor x = zeros({4, 16});
  expect_message<ShapeError>(
      [&] { batch_norm(x, zeros({16}), ones({4}), {}, {}, false, 0.1, kEps, 1); },
      "batch_norm: running_var has 4 features, input has 16 at axis 1: [4, 16]");
  expect_message<ShapeError>(
      [&] {
        batch_norm(x, {}, {}, ones({4, 1}), {}, true);
      },
      "batch_norm: weight must be 1-D (4 features), got [4, 1] for input [4, 16] at axis 0");
}

BOOST_AUTO_TEST_CASE(batch_norm_rejects_mixed_dtypes) {
  expect_message<DtypeError>(
      [&] {
        batch_norm(zeros({4, 16}), {}, {}, ones({4}, float64), {}, true);
      },
      "batch_norm: dtypes differ: float32 [4, 16] and float64 [4]");
}

BOOST_AUTO_TEST_CASE(batch_norm_rejects_eval_without_running_stats) {
  const Tensor x = zeros({4, 16});
  expect_message<ValueError>([&] { batch_norm(x, {}, {}, {}, {}, false); },
                             "batch_norm: eval mode (training=false) normalizes by running_mean "
                             "and running_var, which are undefined (input [4, 16])");
  expect_message<ValueError>([&] { batch_norm(x, zeros({4}), {}, {}, {}, true); },
                             "batch_norm: running_mean and running_var must both be given or both "
                             "be undefined, got only running_mean");
  expect_message<ValueError>([&] { batch_norm(x, {}, ones({4}), {}, {}, false); },
                             "batch_norm: running_mean and running_var must both be given or both "
                             "be undefined, got only running_var");
}

BOOST_AUTO_TEST_CASE(batch_norm_rejects_one_value_per_feature_in_training) {
  // PyTorch: "Expected more than 1 value per channel when training".
  expect_message<ValueError>(
      [&] {
        batch_norm(zeros({4, 1}), {}, {}, {}, {}, true);
      },
      "batch_norm: expected more than 1 value per feature when training, "
      "got input [4, 1] (1 value per feature at axis 0): the batch "
      "variance is undefined");
  expect_message<ValueError>(
      [&] {
        batch_norm(zeros({1, 3, 1, 1}), {}, {}, {}, {}, true, 0.1, kEps, 1);
      },
      "batch_norm: expected more than 1 value per feature when training, got input [1, 3, 1, 1] "
      "(1 value per feature at axis 1): the batch variance is undefined");
  // Two values are enough, and the running statistics were not touched by the refusal.
  Tensor rm = zeros({4}), rv = ones({4});
  BOOST_CHECK_THROW(batch_norm(ones({4, 1}), rm, rv, {}, {}, true), ValueError);
  BOOST_TEST(rm.to_vector() == Vec(4, 0.0), boost::test_tools::per_element());
  BOOST_CHECK_NO_THROW(batch_norm(ones({4, 2}), rm, rv, {}, {}, true));
}

BOOST_AUTO_TEST_CASE(batch_norm_rejects_momentum_outside_the_unit_interval_and_eps_not_positive) {
  const Tensor x = zeros({4, 16});
  expect_message<ValueError>([&] { batch_norm(x, {}, {}, {}, {}, true, 1.5); },
                             "batch_norm: momentum must be in [0, 1], got 1.5");
  expect_message<ValueError>([&] { batch_norm(x, {}, {}, {}, {}, true, -0.1); },
                             "batch_norm: momentum must be in [0, 1], got -0.1");
  expect_message<ValueError>([&] { batch_norm(x, {}, {}, {}, {}, true, NAN); },
                             "batch_norm: momentum must be in [0, 1], got nan");
  expect_message<ValueError>([&] { batch_norm(x, {}, {}, {}, {}, true, 0.1, 0.0); },
                             "batch_norm: eps must be a finite number > 0, got 0");
  expect_message<ValueError>([&] { batch_norm(x, {}, {}, {}, {}, true, 0.1, -1e-5); },
                             "batch_norm: eps must be a finite number > 0, got -1e-05");
  expect_message<Error>([&] { batch_norm(Tensor(), {}, {}, {}, {}, true); },
                        "batch_norm: tensor is undefined");
}

// ---- dropout values ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dropout_with_p_zero_is_the_identity) {
  Tensor x = param({1, -2, 3}, {3});
  Generator gen(1);
  const std::string before = gen.state();
  const Tensor y = dropout(x, 0.0, gen);
  BOOST_TEST((y.impl_ptr() == x.impl_ptr()), "p = 0 must return x itself");
  BOOST_TEST(gen.state() == before, "p = 0 must not draw");
}

BOOST_AUTO_TEST_CASE(dropout_keeps_each_element_as_x_over_1_minus_p_or_zeroes_it) {
  for (const Dtype d : {float64, float32}) {
    const Tensor x = tt::away_from_zero({50, 40}, 0.1, 2.0, 3).to(d);
    Generator gen(5);
    const double p = 0.3;
    const Tensor y = dropout(x, p, gen);
    const Vec xv = x.to_vector(), yv = y.to_vector();
    const double scale = d == float64 ? 1.0 / (1.0 - p) : double(float(1.0 / (1.0 - p)));
    int kept = 0;
    for (std::size_t i = 0; i < xv.size(); ++i) {
      const double want = d == float64 ? xv[i] * scale : double(float(xv[i]) * float(scale));
      BOOST_TEST((yv[i] == 0.0 || yv[i] == want), "element " << i << ": " << yv[i]);
      kept += yv[i] != 0.0;
    }
    BOOST_TEST(kept > 0);
    BOOST_TEST(kept < 2000);
  }
}

BOOST_AUTO_TEST_CASE(dropout_keeps_a_fraction_near_1_minus_p) {
  for (const double p : {0.1, 0.5, 0.8}) {
    Generator gen(11);
    const Tensor y = dropout(ones({100000}), p, gen);
    double kept = 0;
    for (double v : y.to_vector()) kept += v != 0.0;
    kept /= 100000.0;
    const double sigma = std::sqrt(p * (1 - p) / 100000.0);
    BOOST_TEST(std::abs(kept - (1 - p)) < 5 * sigma, "p " << p << ": kept " << kept);
  }
}

BOOST_AUTO_TEST_CASE(dropout_mask_is_drawn_from_the_generator_in_element_order) {
  // One 64-bit draw decides two elements: its low 32 bits, then its high 32 bits,
  // kept when >= p 2^32; an odd last element takes a draw's low half.
  const double p = 0.4;
  const auto threshold = static_cast<std::uint32_t>(std::ceil(p * 4294967296.0));
  std::mt19937_64 engine(21);
  Vec want;
  for (int k = 0; k < 4; ++k) {
    const std::uint64_t r = engine();
    want.push_back((r & 0xffffffffu) >= threshold ? 1 / (1 - p) : 0.0);
    if (want.size() < 7) want.push_back((r >> 32) >= threshold ? 1 / (1 - p) : 0.0);
  }
  Generator gen(21);
  BOOST_TEST(dropout(ones({7}, float64), p, gen).to_vector() == want,
             boost::test_tools::per_element());
  // The generator advanced by the 4 draws: the next value is the engine's fifth.
  BOOST_TEST(gen.engine()() == engine());
}

BOOST_AUTO_TEST_CASE(dropout_same_seed_same_mask_whatever_the_thread_count) {
  const Tensor x = u({300, 100});
  const int before = num_threads();
  set_num_threads(1);
  Generator a(9);
  const Vec one = dropout(x, 0.5, a).to_vector();
  set_num_threads(2);
  Generator b(9);
  const Vec two = dropout(x, 0.5, b).to_vector();
  set_num_threads(before);
  BOOST_TEST(one == two);
  Generator c(10);
  BOOST_TEST(dropout(x, 0.5, c).to_vector() != one, "another seed must give another mask");
}

BOOST_AUTO_TEST_CASE(dropout_gradient_is_the_mask_over_1_minus_p) {
  Tensor x = param(Vec(1000, 2.0), {1000});
  Generator gen(4);
  const Tensor y = dropout(x, 0.25, gen);
  y.sum().backward();
  const Vec yv = y.to_vector(), gv = x.grad().to_vector();
  for (std::size_t i = 0; i < yv.size(); ++i)
    BOOST_TEST(gv[i] == (yv[i] == 0.0 ? 0.0 : 1.0 / 0.75), "element " << i);
}

BOOST_AUTO_TEST_CASE(dropout_rejects_p_outside_0_to_1) {
  const Tensor x = ones({3});
  expect_message<ValueError>([&] { dropout(x, 1.0); }, "dropout: p must be in [0, 1), got 1");
  expect_message<ValueError>([&] { dropout(x, -0.1); }, "dropout: p must be in [0, 1), got -0.1");
  expect_message<ValueError>([&] { dropout(x, NAN); }, "dropout: p must be in [0, 1), got nan");
  expect_message<ValueError>([&] { nn::Dropout(1.0); }, "Dropout: p must be in [0, 1), got 1");
  expect_message<Error>([&] { dropout(Tensor(), 0.5); }, "dropout: tensor is undefined");
}

// ---- the layers ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dropout_layer_drops_in_training_and_is_the_identity_in_eval) {
  Generator gen(3);
  nn::Dropout drop(0.5, gen);
  BOOST_TEST(drop.p() == 0.5);
  BOOST_TEST(drop.to_string() == "Dropout(p=0.5)");
  BOOST_TEST(nn::Dropout(0.2).to_string() == "Dropout(p=0.2)");
  const Tensor x = ones({1000});
  BOOST_TEST(drop.training());
  // Training: the same mask as the op with the same seed.
  Generator ref(3);
  BOOST_TEST(drop(x).to_vector() == dropout(x, 0.5, ref).to_vector());
  drop.eval();
  BOOST_TEST((drop(x).impl_ptr() == x.impl_ptr()), "eval must return x itself");
  drop.train();
  const Vec again = drop(x).to_vector();
  BOOST_TEST(std::count(again.begin(), again.end(), 0.0) > 0);
}

BOOST_AUTO_TEST_CASE(module_train_and_eval_switch_dropout_and_batch_norm_inside_a_model) {
  Generator gen(8);
  nn::Sequential model{nn::Linear(3, 4, init::Init::xavier_uniform, float64, gen),
                       nn::BatchNorm(4, {.dtype = float64}), nn::ReLU(), nn::Dropout(0.5, gen)};
  const Tensor X = u({3, 16});
  auto& bn = model.at<nn::BatchNorm>(1);
  const Vec rm0 = bn.running_mean.to_vector();
  model(X);
  BOOST_TEST(bn.running_mean.to_vector() != rm0, "training must update the running mean");
  model.eval();
  BOOST_TEST(!model.at<nn::Dropout>(3).training());
  BOOST_TEST(!bn.training());
  const Vec rm1 = bn.running_mean.to_vector();
  const Vec y1 = model(X).to_vector(), y2 = model(X).to_vector();
  BOOST_TEST(y1 == y2, "eval must be deterministic");
  BOOST_TEST(bn.running_mean.to_vector() == rm1, "eval must not update the running mean");
  // Eval output = the running-stat affine map of the Linear output, relu'd, no dropout.
  const Tensor z = model.at<nn::Linear>(0)(X);
  const Tensor want =
      relu(batch_norm(z, bn.running_mean, bn.running_var, bn.weight, bn.bias, false));
  BOOST_TEST(y1 == want.to_vector());
  model.train();
  BOOST_TEST(bn.training());
  BOOST_TEST(model(X).to_vector() != y1);
}

BOOST_AUTO_TEST_CASE(batch_norm_layer_matches_the_op_and_names_its_state) {
  nn::BatchNorm bn(4);
  BOOST_TEST(bn.to_string() == "BatchNorm(features=4, axis=0, momentum=0.1, eps=1e-05)");
  BOOST_TEST(bn.num_features() == 4);
  std::vector<std::string> names;
  for (const auto& [name, t] : bn.state_dict()) names.push_back(name);
  BOOST_TEST(names == std::vector<std::string>({"weight", "bias", "running_mean", "running_var"}),
             boost::test_tools::per_element());
  BOOST_TEST(bn.parameters().size() == 2u);
  BOOST_TEST(bn.named_buffers().size() == 2u);
  BOOST_TEST(bn.weight.to_vector() == Vec(4, 1.0), boost::test_tools::per_element());
  BOOST_TEST(bn.bias.to_vector() == Vec(4, 0.0), boost::test_tools::per_element());
  BOOST_TEST(bn.running_mean.to_vector() == Vec(4, 0.0), boost::test_tools::per_element());
  BOOST_TEST(bn.running_var.to_vector() == Vec(4, 1.0), boost::test_tools::per_element());
  BOOST_TEST(bn.weight.requires_grad());
  BOOST_TEST(!bn.running_mean.requires_grad());
  BOOST_TEST((bn.weight.dtype() == float32));

  nn::BatchNorm images(3, {.axis = 1, .momentum = 0.2, .eps = 1e-3, .dtype = float64});
  BOOST_TEST(images.to_string() == "BatchNorm(features=3, axis=1, momentum=0.2, eps=0.001)");
  const Tensor x = u({2, 3, 2, 2});
  Tensor rm = zeros({3}, float64), rv = ones({3}, float64);
  const Tensor want =
      batch_norm(x, rm, rv, ones({3}, float64), zeros({3}, float64), true, 0.2, 1e-3, 1);
  BOOST_TEST(images(x).to_vector() == want.to_vector());
  BOOST_TEST(images.running_mean.to_vector() == rm.to_vector());
  BOOST_TEST(images.running_var.to_vector() == rv.to_vector());

  nn::BatchNorm plain(2, {.affine = false, .track_running_stats = false, .dtype = float64});
  BOOST_TEST(plain.to_string() ==
             "BatchNorm(features=2, axis=0, momentum=0.1, eps=1e-05, affine=false, "
             "track_running_stats=false)");
  BOOST_TEST(plain.state_dict().empty());
  // Without running statistics, eval also normalizes by the batch's.
  plain.eval();
  const Tensor b = tensor(kBatch, {2, 4}, float64);
  BOOST_TEST(plain(b).to_vector() == batch_norm(b, {}, {}, {}, {}, true).to_vector());
}

BOOST_AUTO_TEST_CASE(batch_norm_layer_rejects_bad_options) {
  expect_message<ValueError>([] { nn::BatchNorm(0); },
                             "BatchNorm: num_features must be positive, got 0");
  expect_message<ValueError>([] { nn::BatchNorm(3, {.momentum = 1.5}); },
                             "BatchNorm: momentum must be in [0, 1], got 1.5");
  expect_message<ValueError>([] { nn::BatchNorm(3, {.eps = 0.0}); },
                             "BatchNorm: eps must be a finite number > 0, got 0");
  nn::BatchNorm bn(3);
  bn.eval();
  expect_message<ShapeError>(
      [&] {
        bn(zeros({4, 5}));
      },
      "batch_norm: weight has 3 features, input has 4 at axis 0: [4, 5]");
}

BOOST_AUTO_TEST_CASE(batch_norm_running_stats_round_trip_through_files) {
  test::TempDir dir;
  nn::Sequential a{nn::Linear(3, 4), nn::BatchNorm(4)};
  for (int k = 0; k < 3; ++k) a(u({3, 8}).to(float32));  // moves the running statistics
  std::vector<std::string> names;
  for (const auto& [name, t] : a.state_dict()) names.push_back(name);
  BOOST_TEST(names == std::vector<std::string>({"0.weight", "0.bias", "1.weight", "1.bias",
                                                "1.running_mean", "1.running_var"}),
             boost::test_tools::per_element());
  save_parameters(dir / "model.tg", a);
  nn::Sequential b{nn::Linear(3, 4), nn::BatchNorm(4)};
  load_parameters_into(dir / "model.tg", b);
  const auto sa = a.state_dict(), sb = b.state_dict();
  for (std::size_t k = 0; k < sa.size(); ++k)
    BOOST_TEST(sa[k].second.to_vector() == sb[k].second.to_vector(), sa[k].first);
  BOOST_TEST(b.at<nn::BatchNorm>(1).running_var.to_vector() != Vec(4, 1.0));

  // A checkpoint with an optimizer restores them too.
  optim::AdamW opt(a.parameters(), 0.01);
  save_checkpoint(dir / "run.tg", a, opt);
  nn::Sequential c{nn::Linear(3, 4), nn::BatchNorm(4)};
  optim::AdamW opt_c(c.parameters(), 0.01);
  load_checkpoint(dir / "run.tg", c, opt_c);
  BOOST_TEST(c.at<nn::BatchNorm>(1).running_mean.to_vector() ==
             a.at<nn::BatchNorm>(1).running_mean.to_vector());
  // The same module evaluates the same after loading.
  a.eval();
  c.eval();
  const Tensor x = u({3, 5}).to(float32);
  BOOST_TEST(a(x).to_vector() == c(x).to_vector());
}

// ---- the L2 term ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(l2_penalty_is_lambd_over_2m_times_the_squared_weights) {
  const Tensor W1 = param({1, -2, 3, 0.5}, {2, 2}), W2 = param({2, -1}, {1, 2});
  const Tensor cost = nn::l2_penalty({W1, W2}, 0.7, 4);
  BOOST_TEST((cost.shape() == Shape{}));
  // (1 + 4 + 9 + 0.25 + 4 + 1) = 19.25; 0.7 / 8 * 19.25.
  BOOST_TEST(cost.item() == 0.7 / 8.0 * 19.25, boost::test_tools::tolerance(1e-15));
  cost.backward();
  // d/dW = lambd / m * W.
  check_close(W1.grad().to_vector(), {0.175, -0.35, 0.525, 0.0875}, 1e-15, "dW1");
  check_close(W2.grad().to_vector(), {0.35, -0.175}, 1e-15, "dW2");
  BOOST_TEST(nn::l2_penalty(std::vector<Tensor>{}, 0.7, 4).item() == 0.0);
  expect_message<ValueError>([&] { nn::l2_penalty({W1}, 0.7, 0); },
                             "l2_penalty: m must be positive, got 0");
  expect_message<ValueError>([&] { nn::l2_penalty({W1}, -1.0, 4); },
                             "l2_penalty: lambd must be a finite number >= 0, got -1");
}

BOOST_AUTO_TEST_CASE(l2_penalty_takes_linear_weights_not_biases_nor_batch_norm_scale) {
  nn::Sequential model{nn::Linear(3, 4, init::Init::xavier_uniform, float64),
                       nn::BatchNorm(4, {.dtype = float64}), nn::ReLU(),
                       nn::Linear(4, 2, init::Init::xavier_uniform, float64)};
  const std::vector<Tensor> ws = nn::weights(model);
  BOOST_TEST_REQUIRE(ws.size() == 2u);
  BOOST_TEST((ws[0].impl_ptr() == model.at<nn::Linear>(0).W.impl_ptr()));
  BOOST_TEST((ws[1].impl_ptr() == model.at<nn::Linear>(3).W.impl_ptr()));
  const Tensor cost = nn::l2_penalty(model, 0.5, 10);
  double sq = 0;
  for (const Tensor& W : ws)
    for (double v : W.to_vector()) sq += v * v;
  BOOST_TEST(cost.item() == 0.5 / 20.0 * sq, boost::test_tools::tolerance(1e-14));
  cost.backward();
  // Only the Linear weights get a gradient: biases and batch norm's parameters none.
  BOOST_TEST(model.at<nn::Linear>(0).W.grad().defined());
  BOOST_TEST(!model.at<nn::Linear>(0).b.grad().defined());
  BOOST_TEST(!model.at<nn::BatchNorm>(1).weight.grad().defined());
  BOOST_TEST(!model.at<nn::BatchNorm>(1).bias.grad().defined());
  check_close(model.at<nn::Linear>(3).W.grad().to_vector(),
              (model.at<nn::Linear>(3).W * 0.05).to_vector(), 1e-15, "dW of the last layer");
}
