// conv2d: its values against the formula summed by hand (float64 loops), its backward
// rule against finite differences over strides, paddings, dilations, groups, odd sizes,
// kernels larger than the stride and single channels (gradcheck, float64, with the
// "gradcheck worst" summary), the same bits for any thread count, and every error with
// the op and the shapes in its message.
#define BOOST_TEST_MODULE conv
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "support/gradcheck_suite.hpp"
#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;
using tt::check;
using tt::Fn;

namespace {

std::uint64_t next_seed() {
  static std::uint64_t s = 7000;
  return ++s;
}
Tensor u(const Shape& shape) { return tt::uniform(shape, -1.0, 1.0, next_seed()); }

struct Case {
  Shape x, w;
  Size2 stride = 1, padding = 0, dilation = 1;
  std::int64_t groups = 1;
  bool bias = true;
};

std::string describe(const Case& c) {
  return fmt::format("stride {}x{} pad {}x{} dil {}x{} groups {}{}", c.stride.h, c.stride.w,
                     c.padding.h, c.padding.w, c.dilation.h, c.dilation.w, c.groups,
                     c.bias ? "" : " no-bias");
}

// y[n, o, i, j] = b[o] + sum over c, p, q of w[o, c, p, q] x[n, g(o) Cg + c, i s - pad + p d,
// j s - pad + q d], straight from the definition.
std::vector<double> reference(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  const auto xv = x.to_vector(), wv = w.to_vector();
  const auto bv = b.defined() ? b.to_vector() : std::vector<double>();
  const std::int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3];
  const std::int64_t O = c.w[0], Cg = c.w[1], kh = c.w[2], kw = c.w[3];
  const std::int64_t Og = O / c.groups;
  const std::int64_t OH = conv_output_size(H, kh, c.stride.h, c.padding.h, c.dilation.h);
  const std::int64_t OW = conv_output_size(W, kw, c.stride.w, c.padding.w, c.dilation.w);
  std::vector<double> y;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < OH; ++i)
        for (std::int64_t j = 0; j < OW; ++j) {
          double s = bv.empty() ? 0.0 : bv[static_cast<std::size_t>(o)];
          for (std::int64_t ci = 0; ci < Cg; ++ci)
            for (std::int64_t p = 0; p < kh; ++p)
              for (std::int64_t q = 0; q < kw; ++q) {
                const std::int64_t ih = i * c.stride.h - c.padding.h + p * c.dilation.h;
                const std::int64_t iw = j * c.stride.w - c.padding.w + q * c.dilation.w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const std::int64_t cin = (o / Og) * Cg + ci;
                s += wv[static_cast<std::size_t>(((o * Cg + ci) * kh + p) * kw + q)] *
                     xv[static_cast<std::size_t>(((n * C + cin) * H + ih) * W + iw)];
              }
          y.push_back(s);
        }
  (void)C;
  return y;
}

// Strides, paddings, dilations, groups, odd sizes, kernels larger than the stride, one
// channel, a 1x1 kernel (the direct path: no im2col), and batches that make chunks of
// several images (16 images: two per GEMM) as well as one.
const std::vector<Case> kCases = {
    {{2, 1, 5, 5}, {3, 1, 3, 3}},
    {{1, 2, 6, 7}, {4, 2, 3, 3}, 1, 1},
    {{2, 3, 7, 6}, {2, 3, 3, 2}, {2, 1}, {1, 0}},
    {{2, 2, 7, 7}, {3, 2, 3, 3}, 2, 1, 2},
    {{1, 4, 6, 6}, {6, 2, 3, 3}, 1, 1, 1, 2},
    {{2, 4, 5, 5}, {4, 1, 3, 3}, 1, 1, 1, 4, false},
    {{3, 2, 5, 4}, {2, 2, 1, 1}},
    {{16, 2, 5, 5}, {3, 2, 1, 1}, 1, 0, 1, 1, false},
    {{16, 1, 6, 5}, {2, 1, 3, 3}, 2, 2},
    {{1, 1, 3, 3}, {1, 1, 3, 3}, 1, 0},
    {{2, 1, 4, 9}, {2, 1, 1, 4}, {1, 3}, {0, 2}, {1, 2}},
    {{1, 3, 8, 8}, {2, 3, 5, 5}, 3, 2},
};

Tensor conv(const Case& c, const std::vector<Tensor>& in) {
  return conv2d(in[0], in[1], c.bias ? in[2] : Tensor(), c.stride, c.padding, c.dilation, c.groups);
}

std::vector<Tensor> inputs(const Case& c) {
  std::vector<Tensor> in{u(c.x), u(c.w)};
  if (c.bias) in.push_back(u({c.w[0]}));
  return in;
}

template <class E>
void expect_error(const std::function<void()>& f, const std::string& message) {
  try {
    f();
    BOOST_ERROR("nothing thrown, expected: " << message);
  } catch (const E& e) {
    BOOST_TEST(std::string(e.what()) == message);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(conv2d_values_match_the_definition) {
  for (const Case& c : kCases)
    for (Dtype dtype : {float64, float32}) {
      std::vector<Tensor> in = inputs(c);
      for (Tensor& t : in) t = t.to(dtype);
      const Tensor y = conv(c, in);
      const std::vector<double> want = reference(c, in[0], in[1], c.bias ? in[2] : Tensor());
      BOOST_TEST_INFO(describe(c) << " " << shape_str(c.x) << " * " << shape_str(c.w));
      BOOST_TEST(y.to_vector().size() == want.size());
      BOOST_TEST(tt::max_rel_diff(y.to_vector(), want) <= (dtype == float64 ? 1e-12 : 1e-4));
    }
}

BOOST_AUTO_TEST_CASE(conv2d_output_shape_follows_pytorch) {
  const Tensor y = conv2d(ones({8, 3, 28, 28}), ones({6, 3, 5, 5}), Tensor(), 1, 2);
  BOOST_TEST((y.shape() == Shape{8, 6, 28, 28}));
  BOOST_TEST((conv2d(ones({1, 1, 28, 28}), ones({4, 1, 3, 3}), Tensor(), 2, 1).shape() ==
              Shape{1, 4, 14, 14}));
  BOOST_TEST((conv2d(ones({1, 2, 10, 10}), ones({2, 1, 3, 3}), Tensor(), 1, 0, 3, 2).shape() ==
              Shape{1, 2, 4, 4}));
  BOOST_TEST(conv_output_size(5, 3, 2, 0) == 2);
}

BOOST_AUTO_TEST_CASE(conv2d_grad_matches_finite_differences) {
  for (const Case& c : kCases) {
    if (c.x[0] > 4) continue;  // the 16-image cases: checked by the chunk test below
    check(
        "conv2d " + describe(c), [c](const std::vector<Tensor>& in) { return conv(c, in); },
        inputs(c));
  }
}

BOOST_AUTO_TEST_CASE(conv2d_grad_of_chunked_batches_matches_finite_differences) {
  // 16 images with small patches: two images per GEMM, the chunks' weight gradients summed.
  check("conv2d chunked 3x3",
        [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
        {u({16, 1, 4, 3}), u({2, 1, 3, 3}), u({2})});
  check("conv2d chunked 1x1", [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1]); },
        {u({16, 2, 3, 3}), u({3, 2, 1, 1})});
}

BOOST_AUTO_TEST_CASE(conv2d_grad_with_rebuilt_columns_matches_finite_differences) {
  // A budget of 0 bytes: no im2col matrix is kept, the backward builds them again.
  const std::int64_t before = detail::set_conv_column_budget(0);
  for (const Case& c : kCases) {
    if (c.x[0] > 4) continue;
    check(
        "conv2d rebuilt " + describe(c), [c](const std::vector<Tensor>& in) { return conv(c, in); },
        inputs(c));
  }
  check("conv2d rebuilt chunked 3x3",
        [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 1, 1); },
        {u({16, 1, 4, 3}), u({2, 1, 3, 3}), u({2})});
  detail::set_conv_column_budget(before);
}

BOOST_AUTO_TEST_CASE(conv2d_gives_the_same_bits_kept_or_rebuilt) {
  auto run = [] {
    Tensor x = tt::uniform({20, 4, 9, 9}, -1, 1, 21), w = tt::uniform({6, 2, 3, 3}, -1, 1, 22);
    x.requires_grad_();
    w.requires_grad_();
    Tensor y = conv2d(x, w, Tensor(), 2, 1, 1, 2);
    (y * y).sum().backward();
    return std::vector<std::vector<double>>{x.grad().to_vector(), w.grad().to_vector()};
  };
  const auto kept = run();
  const std::int64_t before = detail::set_conv_column_budget(0);
  const auto rebuilt = run();
  detail::set_conv_column_budget(before);
  BOOST_TEST((kept == rebuilt));
}

BOOST_AUTO_TEST_CASE(conv2d_gives_the_same_bits_for_any_thread_count) {
  const int before = num_threads();
  auto run = [](int threads) {
    set_num_threads(threads);
    Tensor x = tt::uniform({24, 3, 12, 12}, -1, 1, 11), w = tt::uniform({8, 3, 3, 3}, -1, 1, 12);
    Tensor b = tt::uniform({8}, -1, 1, 13);
    x.requires_grad_();
    w.requires_grad_();
    b.requires_grad_();
    Tensor y = conv2d(x, w, b, 1, 1);
    (y * y).sum().backward();
    return std::vector<std::vector<double>>{y.to_vector(), x.grad().to_vector(),
                                            w.grad().to_vector(), b.grad().to_vector()};
  };
  const auto one = run(1), two = run(2), three = run(3);
  set_num_threads(before);
  BOOST_TEST((one == two));
  BOOST_TEST((one == three));
}

BOOST_AUTO_TEST_CASE(conv2d_of_an_empty_batch_is_empty) {
  Tensor w = ones({2, 1, 3, 3});
  w.requires_grad_();
  const Tensor y = conv2d(zeros({0, 1, 5, 5}), w, Tensor(), 1, 1);
  BOOST_TEST((y.shape() == Shape{0, 2, 5, 5}));
  y.sum().backward();
  BOOST_TEST(w.grad().to_vector() == std::vector<double>(18, 0.0));
}

BOOST_AUTO_TEST_CASE(conv2d_rejects_bad_shapes_and_arguments) {
  const Tensor x = ones({8, 3, 28, 28});
  expect_error<ShapeError>(
      [&] {
        conv2d(x, ones({6, 1, 5, 5}));
      },
      "conv2d: input has 3 channels, weight expects 1: [8, 3, 28, 28] * [6, 1, 5, 5]");
  expect_error<ShapeError>(
      [&] {
        conv2d(ones({3, 28, 28}), ones({6, 3, 5, 5}));
      },
      "conv2d: input must be 4-D (N, C, H, W), got [3, 28, 28] * [6, 3, 5, 5]");
  expect_error<ShapeError>(
      [&] {
        conv2d(x, ones({6, 3, 5}));
      },
      "conv2d: weight must be 4-D (C_out, C_in / groups, kH, kW), got [8, 3, 28, 28] * [6, 3, 5]");
  expect_error<ShapeError>(
      [&] {
        conv2d(ones({1, 1, 4, 4}), ones({1, 1, 5, 5}));
      },
      "conv2d: kernel 5x5 (dilated 5x5) is larger than the padded input "
      "4x4: [1, 1, 4, 4] * [1, 1, 5, 5]");
  expect_error<ShapeError>(
      [&] {
        conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}), Tensor(), 1, 0, 3);
      },
      "conv2d: kernel 3x3 (dilated 7x7) is larger than the padded input "
      "4x4: [1, 1, 4, 4] * [1, 1, 3, 3]");
  expect_error<ShapeError>(
      [&] {
        conv2d(x, ones({6, 3, 5, 5}), ones({5}));
      },
      "conv2d: bias must be (6), one per output channel, got [5]: "
      "[8, 3, 28, 28] * [6, 3, 5, 5]");
  expect_error<ValueError>(
      [&] {
        conv2d(x, ones({6, 3, 5, 5}), Tensor(), 0);
      },
      "conv2d: stride must be >= 1, got 0x0");
  expect_error<ValueError>(
      [&] {
        conv2d(x, ones({6, 3, 5, 5}), Tensor(), {1, -1});
      },
      "conv2d: stride must be >= 1, got 1x-1");
  expect_error<ValueError>(
      [&] {
        conv2d(x, ones({6, 3, 5, 5}), Tensor(), 1, -1);
      },
      "conv2d: padding must be >= 0, got -1x-1");
  expect_error<ValueError>(
      [&] {
        conv2d(x, ones({6, 3, 5, 5}), Tensor(), 1, 0, 0);
      },
      "conv2d: dilation must be >= 1, got 0x0");
  expect_error<ValueError>(
      [&] {
        conv2d(x, ones({6, 1, 5, 5}), Tensor(), 1, 0, 1, 2);
      },
      "conv2d: groups 2 must divide the input channels (3) and the output "
      "channels (6): [8, 3, 28, 28] * [6, 1, 5, 5]");
  expect_error<ValueError>(
      [&] {
        conv2d(x, ones({6, 3, 5, 5}), Tensor(), 1, 0, 1, 0);
      },
      "conv2d: groups must be >= 1, got 0");
  expect_error<ShapeError>(
      [&] {
        conv2d(ones({1, 4, 5, 5}), ones({4, 1, 3, 3}), Tensor(), 1, 0, 1, 2);
      },
      "conv2d: input has 4 channels, weight expects 2 (2 groups): [1, 4, 5, 5] * [4, 1, 3, 3]");
  BOOST_CHECK_THROW(conv2d(x, ones({6, 3, 5, 5}, float64)), DtypeError);
}

// ---- causal_depthwise_conv1d ----------------------------------------------------------

// y[n, t, c] = sum over s < K, s <= t of w[s, c] x[n, t - s, c], straight from the
// definition.
std::vector<double> causal_reference(const Tensor& x, const Tensor& w) {
  const std::int64_t N = x.size(0), L = x.size(1), C = x.size(2), K = w.size(0);
  const auto xv = x.to_vector(), wv = w.to_vector();
  std::vector<double> y(xv.size(), 0.0);
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t t = 0; t < L; ++t)
      for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t s = 0; s < K && s <= t; ++s)
          y[static_cast<std::size_t>((n * L + t) * C + c)] +=
              wv[static_cast<std::size_t>(s * C + c)] *
              xv[static_cast<std::size_t>((n * L + t - s) * C + c)];
  return y;
}

BOOST_AUTO_TEST_CASE(causal_depthwise_conv1d_values_match_the_definition) {
  for (const auto& [x_shape, w_shape] :
       {std::pair{Shape{2, 5, 3}, Shape{3, 3}}, std::pair{Shape{1, 2, 4}, Shape{4, 4}},
        std::pair{Shape{3, 4, 1}, Shape{1, 1}}}) {
    const Tensor x = u(x_shape), w = u(w_shape);
    const auto got = causal_depthwise_conv1d(x, w).to_vector(), want = causal_reference(x, w);
    BOOST_TEST_REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST(std::abs(got[i] - want[i]) < 1e-15);
  }
  // The identity kernel (tap 0 one, the rest zero) gives x back, bit for bit.
  const Tensor x = u({2, 4, 3});
  const Tensor identity = tensor(std::vector<double>{1, 1, 1, 0, 0, 0, 0, 0, 0}, {3, 3}, float64);
  BOOST_TEST(causal_depthwise_conv1d(x, identity).to_vector() == x.to_vector());
}

BOOST_AUTO_TEST_CASE(causal_depthwise_conv1d_grad_matches_finite_differences) {
  const Fn f = [](const std::vector<Tensor>& x) { return causal_depthwise_conv1d(x[0], x[1]); };
  check("causal_depthwise_conv1d", f, {u({2, 5, 3}), u({3, 3})});
  check("causal_depthwise_conv1d", f, {u({3, 2, 4}), u({4, 4})});  // K > L
  check("causal_depthwise_conv1d", f, {u({1, 6, 2}), u({1, 2})});
}

BOOST_AUTO_TEST_CASE(causal_depthwise_conv1d_gives_the_same_bits_for_any_thread_count) {
  const int before = num_threads();
  auto run = [](int threads) {
    set_num_threads(threads);
    Tensor x = tt::uniform({40, 32, 24}, -1, 1, 21), w = tt::uniform({3, 24}, -1, 1, 22);
    x.requires_grad_();
    w.requires_grad_();
    Tensor y = causal_depthwise_conv1d(x, w);
    (y * y).sum().backward();
    return std::vector<std::vector<double>>{y.to_vector(), x.grad().to_vector(),
                                            w.grad().to_vector()};
  };
  const auto one = run(1), two = run(2), three = run(3);
  set_num_threads(before);
  BOOST_TEST((one == two));
  BOOST_TEST((one == three));
}

BOOST_AUTO_TEST_CASE(causal_depthwise_conv1d_rejects_bad_shapes) {
  expect_error<ShapeError>(
      [] {
        causal_depthwise_conv1d(ones({2, 5}), ones({3, 5}));
      },
      "causal_depthwise_conv1d: needs x (N, L, C) and weight (K, C) with K >= 1; x [2, 5], "
      "weight [3, 5]");
  expect_error<ShapeError>(
      [] {
        causal_depthwise_conv1d(ones({2, 5, 4}), ones({3, 5}));
      },
      "causal_depthwise_conv1d: needs x (N, L, C) and weight (K, C) with K >= 1; x [2, 5, 4], "
      "weight [3, 5]");
  expect_error<ShapeError>(
      [] {
        causal_depthwise_conv1d(ones({2, 5, 4}), ones({0, 4}));
      },
      "causal_depthwise_conv1d: needs x (N, L, C) and weight (K, C) with K >= 1; x [2, 5, 4], "
      "weight [0, 4]");
  BOOST_CHECK_THROW(causal_depthwise_conv1d(ones({2, 5, 4}), ones({3, 4}, float64)), DtypeError);
}
