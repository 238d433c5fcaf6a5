// Pooling (max_pool2d, avg_pool2d, adaptive_avg_pool2d) and the shape ops of conv nets
// (flatten over a range of axes, constant pad): their backward rules against finite
// differences (gradcheck, float64, with the printed "gradcheck worst" summary), their
// values against a pool written from the definition and against numbers computed by
// hand, which maximum takes the gradient, thread-count independence, and every error
// with its exact message.
#define BOOST_TEST_MODULE pooling
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "support/gradcheck_suite.hpp"
#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;
using tt::check;
using Vec = std::vector<double>;

namespace {

std::uint64_t next_seed() {
  static std::uint64_t s = 12000;
  return ++s;
}
Tensor u(const Shape& shape) { return tt::uniform(shape, -2.0, 2.0, next_seed()); }
// Any two values at least 0.1 apart: finite differences never change a window's maximum.
Tensor distinct(const Shape& shape) { return tt::distinct(shape, next_seed()); }

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

void check_close(const Vec& got, const Vec& want, double tol, const std::string& what) {
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

// 1, 2, ..., n.
Vec counting(std::int64_t n, double sign = 1.0) {
  Vec v(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = sign * static_cast<double>(i + 1);
  return v;
}

// A sliding-window pool written from its definition, one output at a time: window (i, j)
// reads rows i s - p + a for a in [0, k) that fall inside the input (likewise columns);
// max takes the largest of them, avg their sum over k kH kW or over their count.
Vec reference_pool(const Vec& x, const Shape& s, Size2 k, Size2 st, Size2 p, bool is_max,
                   bool count_pad) {
  const std::int64_t Ho = (s[2] + 2 * p.h - k.h) / st.h + 1, Wo = (s[3] + 2 * p.w - k.w) / st.w + 1;
  Vec y;
  for (std::int64_t n = 0; n < s[0] * s[1]; ++n)
    for (std::int64_t i = 0; i < Ho; ++i)
      for (std::int64_t j = 0; j < Wo; ++j) {
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        std::int64_t inside = 0;
        for (std::int64_t a = 0; a < k.h; ++a)
          for (std::int64_t b = 0; b < k.w; ++b) {
            const std::int64_t h = i * st.h - p.h + a, w = j * st.w - p.w + b;
            if (h < 0 || h >= s[2] || w < 0 || w >= s[3]) continue;
            const double v = x[static_cast<std::size_t>((n * s[2] + h) * s[3] + w)];
            best = std::max(best, v);
            sum += v;
            ++inside;
          }
        y.push_back(is_max ? best : sum / static_cast<double>(count_pad ? k.h * k.w : inside));
      }
  return y;
}

}  // namespace

// ---- gradient checks ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(max_pool2d_grad_matches_finite_differences) {
  // Kernels 1..3, strides 1..3 (stride < kernel: overlapping windows), every padding
  // allowed; 5 x 7 leaves rows and columns that no window reads for some of them.
  for (std::int64_t k = 1; k <= 3; ++k)
    for (std::int64_t s = 1; s <= 3; ++s)
      for (std::int64_t p = 0; p <= k / 2; ++p)
        check(fmt::format("max_pool2d k={} s={} p={}", k, s, p),
              [=](const auto& x) { return max_pool2d(x[0], k, s, p); }, {distinct({2, 2, 5, 7})});
  // The 2x2 stride-2 loops, even and odd extents, one channel; the default stride.
  check("max_pool2d 2x2", [](const auto& x) { return max_pool2d(x[0], 2); },
        {distinct({1, 1, 4, 6})});
  check("max_pool2d 2x2 odd", [](const auto& x) { return max_pool2d(x[0], 2); },
        {distinct({2, 3, 5, 7})});
  check("max_pool2d 3x3 default stride", [](const auto& x) { return max_pool2d(x[0], 3); },
        {distinct({1, 2, 7, 6})});
  // A different kernel, stride and padding along each axis.
  check("max_pool2d 2x3 s=1x2 p=1x0",
        [](const auto& x) {
          return max_pool2d(x[0], {2, 3}, {1, 2}, {1, 0});
        },
        {distinct({2, 1, 6, 7})});
}

BOOST_AUTO_TEST_CASE(avg_pool2d_grad_matches_finite_differences) {
  for (const bool include : {true, false})
    for (std::int64_t k = 1; k <= 3; ++k)
      for (std::int64_t s = 1; s <= 3; ++s)
        for (std::int64_t p = 0; p <= k / 2; ++p)
          check(fmt::format("avg_pool2d k={} s={} p={} count_include_pad={}", k, s, p, include),
                [=](const auto& x) { return avg_pool2d(x[0], k, s, p, include); },
                {u({2, 2, 5, 7})});
  check("avg_pool2d 2x2", [](const auto& x) { return avg_pool2d(x[0], 2); }, {u({1, 1, 4, 6})});
  check("avg_pool2d 2x2 odd", [](const auto& x) { return avg_pool2d(x[0], 2); }, {u({2, 3, 5, 7})});
  check("avg_pool2d 2x3 s=1x2 p=1x0 exclude pad",
        [](const auto& x) {
          return avg_pool2d(x[0], {2, 3}, {1, 2}, {1, 0}, false);
        },
        {u({2, 1, 6, 7})});
}

BOOST_AUTO_TEST_CASE(adaptive_avg_pool2d_grad_matches_finite_differences) {
  // Sizes that do not divide 5 x 7 (overlapping windows), the identity, global pooling,
  // and an output larger than the input (windows of one element, repeated).
  for (const Size2 out :
       {Size2(1), Size2(2, 3), Size2(3, 4), Size2(5, 7), Size2(4, 2), Size2(7, 9)})
    check(fmt::format("adaptive_avg_pool2d out={}x{}", out.h, out.w),
          [=](const auto& x) { return adaptive_avg_pool2d(x[0], out); }, {u({2, 2, 5, 7})});
  // Sizes that divide 6 x 4: plain average pooling.
  for (const Size2 out : {Size2(3, 2), Size2(2, 4)})
    check(fmt::format("adaptive_avg_pool2d divides out={}x{}", out.h, out.w),
          [=](const auto& x) { return adaptive_avg_pool2d(x[0], out); }, {u({2, 1, 6, 4})});
}

BOOST_AUTO_TEST_CASE(pad_grad_matches_finite_differences) {
  check("pad 1-D", [](const auto& x) { return pad(x[0], {1, 2}); }, {u({5})});
  check("pad 2-D", [](const auto& x) { return pad(x[0], {0, 1, 2, 0}, 0.5); }, {u({3, 4})});
  check("pad 3-D", [](const auto& x) { return pad(x[0], {1, 1, 1, 1, 1, 1}); }, {u({2, 3, 4})});
  check("pad 4-D last two axes",
        [](const auto& x) {
          return pad(x[0], {1, 2, 0, 1}, -1.0);
        },
        {u({2, 2, 3, 3})});
  check("pad 4-D every axis",
        [](const auto& x) {
          return pad(x[0], {1, 0, 0, 0, 2, 1, 0, 1});
        },
        {u({2, 2, 3, 3})});
  check("pad none", [](const auto& x) { return pad(x[0], {}); }, {u({2, 3})});
}

BOOST_AUTO_TEST_CASE(flatten_grad_matches_finite_differences) {
  // (A pair, not a structured binding: clang 14 cannot capture one in a lambda.)
  for (const std::pair<int, int>& axes :
       std::vector<std::pair<int, int>>{{0, -1}, {1, -1}, {0, 1}, {1, 2}, {2, 2}, {-3, -2}, {3, 3}})
    check(fmt::format("flatten {}..{}", axes.first, axes.second),
          [axes](const auto& x) { return flatten(x[0], axes.first, axes.second); },
          {u({2, 3, 4, 5})});
}

BOOST_AUTO_TEST_CASE(pooling_in_a_small_net_grad_matches_finite_differences) {
  // pad by a value below every input, overlapping 3x3 max pool, 2x2 average pool, then
  // flatten per image and a weighted sum: the rules composed with each other.
  check("max_pool2d network",
        [](const auto& p) {
          const Tensor h = max_pool2d(pad(p[0], {1, 1, 1, 1}, -10.0), 3, 1);
          return matmul(flatten(avg_pool2d(h, 2), 1), p[1]);
        },
        {distinct({2, 2, 5, 5}), u({8, 3})});
}

// ---- values ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(max_pool2d_of_a_counting_grid_matches_hand_computation) {
  // 1..16 in a 4 x 4 grid.
  const Tensor x = tensor(counting(16), {1, 1, 4, 4}, float64);
  BOOST_TEST(max_pool2d(x, 2).shape() == Shape({1, 1, 2, 2}));
  BOOST_TEST(max_pool2d(x, 2).to_vector() == Vec({6, 8, 14, 16}), boost::test_tools::per_element());
  BOOST_TEST(max_pool2d(x, 3, 1).to_vector() == Vec({11, 12, 15, 16}),
             boost::test_tools::per_element());
  // -1..-16 with kernel 3, stride 2, padding 1: the padding is never the maximum (were it
  // 0, every output would be 0).
  const Tensor neg = tensor(counting(16, -1.0), {1, 1, 4, 4}, float64);
  BOOST_TEST(max_pool2d(neg, 3, 2, 1).to_vector() == Vec({-1, -2, -5, -6}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(avg_pool2d_of_a_counting_grid_matches_hand_computation) {
  const Tensor x = tensor(counting(16), {1, 1, 4, 4}, float64);
  BOOST_TEST(avg_pool2d(x, 2).to_vector() == Vec({3.5, 5.5, 11.5, 13.5}),
             boost::test_tools::per_element());
  // Kernel 3, stride 2, padding 1: the windows' sums are 14 (4 elements inside), 30 (6),
  // 57 (6) and 99 (9); count_include_pad divides all by 9, else by the count inside.
  check_close(avg_pool2d(x, 3, 2, 1).to_vector(), {14.0 / 9, 30.0 / 9, 57.0 / 9, 11}, 1e-15,
              "count_include_pad");
  check_close(avg_pool2d(x, 3, 2, 1, false).to_vector(), {3.5, 5, 9.5, 11}, 1e-15,
              "count_exclude_pad");
  // d/dx of the sum: each element gets 1/9 for every window it is in.
  Tensor p = param(counting(16), {1, 1, 4, 4});
  avg_pool2d(p, 3, 2, 1).sum().backward();
  const double a = 1.0 / 9;
  check_close(p.grad().to_vector(),
              {a, 2 * a, a, a, 2 * a, 4 * a, 2 * a, 2 * a, a, 2 * a, a, a, a, 2 * a, a, a}, 1e-15,
              "dx");
}

BOOST_AUTO_TEST_CASE(adaptive_avg_pool2d_matches_hand_computation) {
  // x[r][c] = 5 r + c over 3 x 5 to 2 x 3: rows [0, 2) and [1, 3), columns [0, 2), [1, 4)
  // and [3, 5); a window's mean is 5 mean(r) + mean(c).
  Vec v;
  for (int k = 0; k < 15; ++k) v.push_back(k);
  const Tensor x = tensor(v, {1, 1, 3, 5}, float64);
  const Tensor y = adaptive_avg_pool2d(x, {2, 3});
  BOOST_TEST(y.shape() == Shape({1, 1, 2, 3}));
  check_close(y.to_vector(), {3, 4.5, 6, 8, 9.5, 11}, 1e-14, "2x3");
  // Output size 1 is the mean of each plane.
  check_close(adaptive_avg_pool2d(x, 1).to_vector(), {7}, 1e-14, "global");
  // The gradient of the sum: 1 / count for each window an element is in. Column 1 is in
  // windows 0 (2 columns) and 1 (3); row 1 is in both row windows (2 rows each).
  Tensor p = param(v, {1, 1, 3, 5});
  adaptive_avg_pool2d(p, {2, 3}).sum().backward();
  BOOST_TEST(p.grad().at({0, 0, 0, 0}) == 1.0 / 4, boost::test_tools::tolerance(1e-14));
  BOOST_TEST(p.grad().at({0, 0, 1, 1}) == 2 * (1.0 / 4 + 1.0 / 6),
             boost::test_tools::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(pooling_matches_a_pool_written_from_the_definition) {
  // Every kernel, stride and padding up to 3 on odd and even sizes, in both dtypes: the
  // 2x2 loops and the general ones against the definition.
  for (const Shape& shape : {Shape{2, 3, 7, 5}, Shape{1, 2, 6, 8}})
    for (std::int64_t k = 1; k <= 3; ++k)
      for (std::int64_t s = 0; s <= 3; ++s)
        for (std::int64_t p = 0; p <= k / 2; ++p)
          for (const Dtype d : {float32, float64}) {
            const Tensor x = u(shape).to(float32).to(d);
            const Vec xv = x.to_vector();
            const std::int64_t st = s == 0 ? k : s;
            const std::string what = fmt::format("k={} s={} p={} {}", k, s, p, dtype_name(d));
            check_close(max_pool2d(x, k, s, p).to_vector(),
                        reference_pool(xv, shape, k, st, p, true, false), 0, "max " + what);
            for (const bool include : {true, false})
              check_close(avg_pool2d(x, k, s, p, include).to_vector(),
                          reference_pool(xv, shape, k, st, p, false, include),
                          d == float32 ? 1e-6 : 1e-15, "avg " + what);
          }
}

BOOST_AUTO_TEST_CASE(max_pool2d_gives_the_gradient_to_the_first_of_equal_maxima) {
  // The 2x2 loops: a window of four equal values, and one whose maximum is 2nd and 3rd.
  Tensor x = param({1, 1, 0, 3, 1, 1, 3, 1}, {1, 1, 2, 4});
  max_pool2d(x, 2).sum().backward();
  BOOST_TEST(x.grad().to_vector() == Vec({1, 0, 0, 1, 0, 0, 0, 0}),
             boost::test_tools::per_element());
  // Overlapping windows of a constant: each window's top-left element takes its g.
  Tensor c = param(Vec(9, 2.0), {1, 1, 3, 3});
  max_pool2d(c, 2, 1).sum().backward();
  BOOST_TEST(c.grad().to_vector() == Vec({1, 1, 0, 1, 1, 0, 0, 0, 0}),
             boost::test_tools::per_element());
  // A tie that is not at the window's start, in the general loops (3x3, stride 3).
  Tensor t = param({0, 0, 0, 0, 5, 5, 0, 5, 0}, {1, 1, 3, 3});
  max_pool2d(t, 3).sum().backward();
  BOOST_TEST(t.grad().to_vector() == Vec({0, 0, 0, 0, 1, 0, 0, 0, 0}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(max_pool2d_propagates_nan_and_gives_its_gradient_to_the_first_nan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Dtype d : {float32, float64}) {
    // 2x2 loops: window 0 holds two NaNs, window 1 none.
    Tensor x = param({1, nan, 3, 4, nan, 2, 1, 0}, {1, 1, 2, 4}, d);
    const Tensor y = max_pool2d(x, 2);
    BOOST_TEST(std::isnan(y.to_vector()[0]));
    BOOST_TEST(y.to_vector()[1] == 4);
    y.sum().backward();
    BOOST_TEST(x.grad().to_vector() == Vec({0, 1, 0, 1, 0, 0, 0, 0}),
               boost::test_tools::per_element());
    // General loops (kernel 3, padding 1): a NaN after the largest number still wins.
    Tensor z = param({9, 1, 2, 0, nan, 1, 2, 3, 4}, {1, 1, 3, 3}, d);
    const Tensor yz = max_pool2d(z, 3, 1, 1);
    for (const double e : yz.to_vector()) BOOST_TEST(std::isnan(e));
    yz.sum().backward();
    // Every window holds the NaN at the centre, which takes all nine gradients.
    BOOST_TEST(z.grad().to_vector() == Vec({0, 0, 0, 0, 9, 0, 0, 0, 0}),
               boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(pooling_records_nothing_without_grad) {
  Tensor x = param(counting(16), {1, 1, 4, 4});
  NoGradGuard no_grad;
  BOOST_TEST(!max_pool2d(x, 2).requires_grad());
  BOOST_TEST(!avg_pool2d(x, 3, 1, 1).requires_grad());
  BOOST_TEST(!adaptive_avg_pool2d(x, 3).requires_grad());
  BOOST_TEST(!pad(x, {1, 1}).requires_grad());
}

BOOST_AUTO_TEST_CASE(pooling_does_not_depend_on_the_thread_count) {
  // 128 planes of 32 x 32: enough to split over the pool.
  const Tensor x = distinct({8, 16, 32, 32});
  auto run = [&](int threads) {
    set_num_threads(threads);
    std::vector<Vec> out;
    for (const Dtype d : {float32, float64}) {
      Tensor a = x.to(d);
      a.requires_grad_();
      const std::vector<Tensor> ys = {max_pool2d(a, 2), max_pool2d(a, 3, 2, 1), avg_pool2d(a, 2),
                                      avg_pool2d(a, 3, 1, 1, false),
                                      adaptive_avg_pool2d(a, {5, 7})};
      Tensor loss = zeros({}, d);
      for (const Tensor& y : ys) {
        out.push_back(y.to_vector());
        loss = loss + (y * y).sum();
      }
      loss.backward();
      out.push_back(a.grad().to_vector());
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

BOOST_AUTO_TEST_CASE(pad_places_the_input_inside_the_value_and_its_gradient_is_the_interior) {
  BOOST_TEST(pad(tensor({1, 2}), {1, 2}, 9).to_vector() == Vec({9, 1, 2, 9, 9}),
             boost::test_tools::per_element());
  // {left 1, right 0, top 0, bottom 1}.
  const Tensor y = pad(tensor({{1, 2}, {3, 4}}), {1, 0, 0, 1}, 9);
  BOOST_TEST(y.shape() == Shape({3, 3}));
  BOOST_TEST(y.to_vector() == Vec({9, 1, 2, 9, 3, 4, 9, 9, 9}), boost::test_tools::per_element());
  // (2, 1, 2) padded on the first axis only: whole blocks of the value before and after.
  BOOST_TEST(
      pad(tensor({1, 2, 3, 4}, float64).reshape({2, 1, 2}), {0, 0, 0, 0, 1, 1}).to_vector() ==
          Vec({0, 0, 1, 2, 3, 4, 0, 0}),
      boost::test_tools::per_element());
  // The gradient of sum(w * pad(x)) is w's interior.
  Tensor x = param({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor w = tensor(counting(20), {4, 5}, float64);
  (pad(x, {1, 1, 1, 1}) * w).sum().backward();
  BOOST_TEST(x.grad().to_vector() == Vec({7, 8, 9, 12, 13, 14}), boost::test_tools::per_element());
  // An empty input is all padding; a scalar with no pads is itself.
  BOOST_TEST(pad(zeros({0, 2}), {1, 1, 1, 0}, 3).to_vector() == Vec({3, 3, 3, 3}),
             boost::test_tools::per_element());
  BOOST_TEST(pad(scalar(5), {}).item() == 5);
}

BOOST_AUTO_TEST_CASE(flatten_merges_a_range_of_axes_and_shares_the_data) {
  const Tensor x = zeros({2, 3, 4, 5});
  BOOST_TEST(flatten(x, 1).shape() == Shape({2, 60}));
  BOOST_TEST(flatten(x, 0).shape() == Shape({120}));
  BOOST_TEST(flatten(x, 1, 2).shape() == Shape({2, 12, 5}));
  BOOST_TEST(flatten(x, -2, -1).shape() == Shape({2, 3, 20}));
  BOOST_TEST(flatten(x, 2, 2).shape() == Shape({2, 3, 4, 5}));
  BOOST_TEST(flatten(x, 1).raw_data() == x.raw_data());
  // torch.flatten of a scalar is a one-element vector.
  BOOST_TEST(flatten(scalar(3), 0).shape() == Shape({1}));
}

// ---- errors -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(pooling_rejects_an_input_that_is_not_4d) {
  expect_message<ShapeError>(
      [] {
        max_pool2d(zeros({3, 4}), 2);
      },
      "max_pool2d: expected a 4-D input (N, C, H, W), got [3, 4]");
  expect_message<ShapeError>(
      [] {
        avg_pool2d(zeros({1, 3, 4}), 2);
      },
      "avg_pool2d: expected a 4-D input (N, C, H, W), got [1, 3, 4]");
  expect_message<ShapeError>(
      [] {
        adaptive_avg_pool2d(zeros({1, 1, 1, 3, 4}), 2);
      },
      "adaptive_avg_pool2d: expected a 4-D input (N, C, H, W), got [1, 1, 1, 3, 4]");
  expect_message<Error>([] { max_pool2d(Tensor(), 2); }, "max_pool2d: tensor is undefined");
}

BOOST_AUTO_TEST_CASE(pooling_rejects_a_kernel_larger_than_the_padded_input) {
  expect_message<ShapeError>(
      [] {
        max_pool2d(zeros({1, 1, 3, 3}), 5);
      },
      "max_pool2d: kernel 5x5 is larger than the padded input 3x3: input [1, 1, 3, 3]");
  expect_message<ShapeError>(
      [] {
        avg_pool2d(zeros({2, 3, 4, 4}), {2, 7}, 1, {0, 1});
      },
      "avg_pool2d: kernel 2x7 is larger than the padded input 4x6: input [2, 3, 4, 4]");
  // The padding counts: kernel 5 fits 3 + 2 * 2.
  BOOST_TEST(max_pool2d(zeros({1, 1, 3, 3}), 5, 1, 2).shape() == Shape({1, 1, 3, 3}));
}

BOOST_AUTO_TEST_CASE(pooling_rejects_a_kernel_or_stride_below_1) {
  const Tensor x = zeros({1, 1, 4, 4});
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, {0, 2});
      },
      "max_pool2d: kernel 0x2 must be at least 1 in each direction: input [1, 1, 4, 4]");
  expect_message<ValueError>(
      [&] { avg_pool2d(x, -1); },
      "avg_pool2d: kernel -1x-1 must be at least 1 in each direction: input [1, 1, 4, 4]");
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, 2, {-1, 1});
      },
      "max_pool2d: stride -1x1 must be at least 1 in each direction (0 "
      "means the kernel): input [1, 1, 4, 4]");
  expect_message<ValueError>(
      [&] {
        avg_pool2d(x, 2, {1, -2});
      },
      "avg_pool2d: stride 1x-2 must be at least 1 in each direction (0 "
      "means the kernel): input [1, 1, 4, 4]");
}

BOOST_AUTO_TEST_CASE(pooling_rejects_a_padding_below_0_or_above_half_the_kernel) {
  const Tensor x = zeros({1, 1, 4, 4});
  expect_message<ValueError>(
      [&] { max_pool2d(x, 3, 1, 2); },
      "max_pool2d: padding 2x2 must be between 0 and half the kernel 3x3: input [1, 1, 4, 4]");
  expect_message<ValueError>(
      [&] {
        max_pool2d(x, {2, 4}, 1, {1, 3});
      },
      "max_pool2d: padding 1x3 must be between 0 and half the kernel 2x4: input [1, 1, 4, 4]");
  expect_message<ValueError>(
      [&] {
        avg_pool2d(x, 2, 2, {0, -1});
      },
      "avg_pool2d: padding 0x-1 must be between 0 and half the kernel 2x2: input [1, 1, 4, 4]");
  // Half the kernel is allowed.
  BOOST_TEST(max_pool2d(x, {2, 4}, 1, {1, 2}).shape() == Shape({1, 1, 5, 5}));
}

BOOST_AUTO_TEST_CASE(adaptive_avg_pool2d_rejects_an_output_size_below_1_and_an_empty_plane) {
  expect_message<ValueError>(
      [] {
        adaptive_avg_pool2d(zeros({1, 2, 4, 4}), {0, 3});
      },
      "adaptive_avg_pool2d: output size 0x3 must be at least 1 in each "
      "direction: input [1, 2, 4, 4]");
  expect_message<ShapeError>(
      [] {
        adaptive_avg_pool2d(zeros({1, 2, 0, 4}), 1);
      },
      "adaptive_avg_pool2d: input [1, 2, 0, 4] has an empty spatial axis "
      "(H and W must be at least 1)");
  // No images or channels is fine: an empty result.
  BOOST_TEST(adaptive_avg_pool2d(zeros({0, 2, 4, 4}), 2).shape() == Shape({0, 2, 2, 2}));
  BOOST_TEST(max_pool2d(zeros({2, 0, 4, 4}), 2).shape() == Shape({2, 0, 2, 2}));
}

BOOST_AUTO_TEST_CASE(pad_rejects_odd_counts_too_many_pairs_and_negative_padding) {
  const Tensor x = zeros({2, 3});
  expect_message<ValueError>(
      [&] {
        pad(x, {1, 2, 3});
      },
      "pad: pads must come in (before, after) pairs, got 3 values [1, 2, 3] for input [2, 3]");
  expect_message<ValueError>(
      [&] {
        pad(x, {1, 1, 1, 1, 1, 1});
      },
      "pad: 3 pairs of padding [1, 1, 1, 1, 1, 1] for a 2-D input [2, 3]");
  expect_message<ValueError>(
      [&] {
        pad(x, {1, -1});
      },
      "pad: padding must be at least 0, got [1, -1] for input [2, 3]");
}

BOOST_AUTO_TEST_CASE(flatten_rejects_axes_out_of_range_and_end_before_start) {
  const Tensor x = zeros({2, 3, 4, 5});
  expect_message<IndexError>([&] { flatten(x, 4); },
                             "flatten: axis 4 is out of range for a tensor of shape [2, 3, 4, 5]");
  expect_message<IndexError>([&] { flatten(x, 0, -5); },
                             "flatten: axis -5 is out of range for a tensor of shape [2, 3, 4, 5]");
  expect_message<IndexError>(
      [&] { flatten(x, 2, 1); },
      "flatten: end_dim 1 comes before start_dim 2 for a tensor of shape [2, 3, 4, 5]");
  expect_message<IndexError>(
      [&] { flatten(x, -1, 0); },
      "flatten: end_dim 0 comes before start_dim -1 for a tensor of shape [2, 3, 4, 5]");
}
