// Tensor values: creation, shapes, indexing, broadcasting, reductions, masks,
// printing, seeded randomness, dtype conversion and numerically stable losses.
#define BOOST_TEST_MODULE tensor
#include <fmt/format.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

using namespace tapegrad;
namespace bt = boost::test_tools;
using V = std::vector<double>;

namespace {

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

// ---- creation -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(creation_functions_give_the_asked_shape_dtype_and_values) {
  const Tensor z = zeros({2, 3});
  BOOST_TEST(z.shape() == Shape({2, 3}));
  BOOST_TEST(z.numel() == 6);
  BOOST_TEST(z.dim() == 2);
  BOOST_TEST((z.dtype() == float32));
  BOOST_TEST(z.to_vector() == V(6, 0.0), bt::per_element());
  BOOST_TEST(ones({4}, float64).to_vector() == V(4, 1.0), bt::per_element());
  BOOST_TEST((ones({4}, float64).dtype() == float64));
  BOOST_TEST(full({2, 2}, -1.5).to_vector() == V(4, -1.5), bt::per_element());
  BOOST_TEST(eye(3).to_vector() == V({1, 0, 0, 0, 1, 0, 0, 0, 1}), bt::per_element());
  BOOST_TEST(arange(0, 1, 0.25).to_vector() == V({0, 0.25, 0.5, 0.75}), bt::per_element());
  BOOST_TEST(arange(5, 0, -2).to_vector() == V({5, 3, 1}), bt::per_element());
  const Tensor s = scalar(3.5, float64);
  BOOST_TEST(s.shape().empty());
  BOOST_TEST(s.numel() == 1);
  BOOST_TEST(s.item() == 3.5);
  const Tensor t = tensor({1, 2, 3, 4, 5, 6}, {3, 2});
  BOOST_TEST(t.at({2, 1}) == 6);
  BOOST_TEST(t.size(-1) == 2);
  const float raw[] = {1.5f, 2.5f};
  const Tensor f = from_data(std::span<const float>(raw), {2});
  BOOST_TEST((f.dtype() == float32));
  BOOST_TEST(f.to_vector() == V({1.5, 2.5}), bt::per_element());
  BOOST_TEST(zeros({0, 3}).numel() == 0);
  BOOST_TEST(zeros_like(t).shape() == t.shape());
  BOOST_TEST(ones_like(s).item() == 1.0);
}

BOOST_AUTO_TEST_CASE(clone_copies_the_data_and_detach_shares_it) {
  Tensor a = tensor({1, 2, 3}, {3});
  const Tensor c = a.clone();
  const Tensor d = a.detach();
  a.fill_(7);
  BOOST_TEST(c.to_vector() == V({1, 2, 3}), bt::per_element());
  BOOST_TEST(d.to_vector() == V({7, 7, 7}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(to_converts_between_dtypes) {
  const Tensor x = tensor({0.1, 1e10, -3}, {3}, float64);
  const Tensor f = x.to(float32);
  BOOST_TEST((f.dtype() == float32));
  BOOST_TEST(f.to_vector() == V({double(0.1f), double(1e10f), -3}), bt::per_element());
  const Tensor back = f.to(float64);
  BOOST_TEST((back.dtype() == float64));
  BOOST_TEST(back.to_vector() == f.to_vector(), bt::per_element());
  Tensor same = x.to(float64);  // a copy, not an alias
  same.fill_(0);
  BOOST_TEST(x.at({0}) == 0.1);
}

// ---- shapes -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reshape_keeps_row_major_order) {
  const Tensor x = arange(0, 6);
  const Tensor r = reshape(x, {2, 3});
  BOOST_TEST(r.at({1, 0}) == 3);
  BOOST_TEST(reshape(x, {3, -1}).shape() == Shape({3, 2}));
  BOOST_TEST(reshape(x, {3, -1}).at({2, 1}) == 5);
  BOOST_TEST(flatten(r).shape() == Shape({6}));
  BOOST_TEST(reshape(tensor({4}, {1, 1}), {}).shape().empty());
}

BOOST_AUTO_TEST_CASE(transpose_moves_the_values) {
  const Tensor x = reshape(arange(0, 6), {2, 3});
  const Tensor t = transpose(x);
  BOOST_TEST(t.shape() == Shape({3, 2}));
  BOOST_TEST(t.to_vector() == V({0, 3, 1, 4, 2, 5}), bt::per_element());
  // A matrix larger than one cache block.
  const Tensor big = reshape(arange(0, 70 * 45, 1, float64), {70, 45});
  const Tensor bt_ = transpose(big);
  bool ok = true;
  for (std::int64_t i = 0; i < 70; ++i)
    for (std::int64_t j = 0; j < 45; ++j) ok = ok && bt_.at({j, i}) == big.at({i, j});
  BOOST_TEST(ok);
  // General axes of a 3-D tensor.
  const Tensor y = reshape(arange(0, 24), {2, 3, 4});
  const Tensor yt = transpose(y, 0, 2);
  BOOST_TEST(yt.shape() == Shape({4, 3, 2}));
  ok = true;
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j)
      for (std::int64_t k = 0; k < 4; ++k) ok = ok && yt.at({k, j, i}) == y.at({i, j, k});
  BOOST_TEST(ok);
  BOOST_TEST(transpose(y, 1, -1).shape() == Shape({2, 4, 3}));
  BOOST_TEST(transpose(y, 1, -1).at({1, 3, 2}) == y.at({1, 2, 3}));
}

BOOST_AUTO_TEST_CASE(indexing_picks_the_right_elements) {
  const Tensor x = reshape(arange(0, 12), {3, 4});  // [[0..3], [4..7], [8..11]]
  BOOST_TEST(x.at({-1, -1}) == 11);
  BOOST_TEST(select(x, 0, 1).to_vector() == V({4, 5, 6, 7}), bt::per_element());
  BOOST_TEST(select(x, 1, -1).to_vector() == V({3, 7, 11}), bt::per_element());
  BOOST_TEST(select(x, 1, 2).shape() == Shape({3}));
  BOOST_TEST(slice(x, 1, 1, 3).to_vector() == V({1, 2, 5, 6, 9, 10}), bt::per_element());
  BOOST_TEST(slice(x, 0, -2, 3).to_vector() == V({4, 5, 6, 7, 8, 9, 10, 11}), bt::per_element());
  BOOST_TEST(slice(x, 0, 1, 1).shape() == Shape({0, 4}));
  BOOST_TEST(
      index_select(x, 0, {2, 0, 2}).to_vector() == V({8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}),
      bt::per_element());
  BOOST_TEST(index_select(x, 1, {3, 0}).to_vector() == V({3, 0, 7, 4, 11, 8}), bt::per_element());
  BOOST_TEST(row(x, 2).shape() == Shape({1, 4}));
  BOOST_TEST(col(x, 1).to_vector() == V({1, 5, 9}), bt::per_element());
  BOOST_TEST(cols(x, 2, 4).to_vector() == V({2, 3, 6, 7, 10, 11}), bt::per_element());
  const Tensor c0 = concat({row(x, 2), row(x, 0)}, 0);
  BOOST_TEST(c0.to_vector() == V({8, 9, 10, 11, 0, 1, 2, 3}), bt::per_element());
  const Tensor c1 = concat({col(x, 3), cols(x, 0, 2)}, 1);
  BOOST_TEST(c1.shape() == Shape({3, 3}));
  BOOST_TEST(c1.to_vector() == V({3, 0, 1, 7, 4, 5, 11, 8, 9}), bt::per_element());
}

// ---- arithmetic ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(broadcasting_arithmetic_gives_numpy_values) {
  const Tensor a = tensor({1, 2, 3, 4, 5, 6}, {2, 3});
  BOOST_TEST((a + tensor({10, 20, 30}, {3})).to_vector() == V({11, 22, 33, 14, 25, 36}),
             bt::per_element());
  const Tensor c = tensor({1, 2}, {2, 1}) * tensor({1, 2, 3}, {1, 3});
  BOOST_TEST(c.shape() == Shape({2, 3}));
  BOOST_TEST(c.to_vector() == V({1, 2, 3, 2, 4, 6}), bt::per_element());
  BOOST_TEST((tensor({6, 8}, {2, 1}) / tensor({2, 4}, {1, 2})).to_vector() == V({3, 1.5, 4, 2}),
             bt::per_element());
  BOOST_TEST(
      (tensor({1, 2, 3}, {3, 1}) - tensor({1, 2}, {2})).to_vector() == V({0, -1, 1, 0, 2, 1}),
      bt::per_element());
  BOOST_TEST((scalar(2) * a).to_vector() == V({2, 4, 6, 8, 10, 12}), bt::per_element());
  const Tensor d = tensor({1, 2, 3, 4, 5, 6}, {2, 1, 3}) + tensor({10, 20, 30, 40}, {4, 1});
  BOOST_TEST(d.shape() == Shape({2, 4, 3}));
  BOOST_TEST(d.at({1, 2, 0}) == 34);
  BOOST_TEST(d.at({0, 3, 2}) == 43);
  BOOST_TEST((1.0 - a / 2.0).to_vector() == V({0.5, 0, -0.5, -1, -1.5, -2}), bt::per_element());
  BOOST_TEST((12.0 / a).to_vector() == V({12, 6, 4, 3, 2.4, 2}), bt::tolerance(1e-6)
                                                                     << bt::per_element());
  BOOST_TEST((-a + 1.0).to_vector() == V({0, -1, -2, -3, -4, -5}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(elementwise_functions_give_their_values) {
  const Tensor x = tensor({0.25, 1, 4}, {3}, float64);
  BOOST_TEST(exp(x).to_vector() == V({std::exp(0.25), std::exp(1.0), std::exp(4.0)}),
             bt::per_element());
  BOOST_TEST(log(x).to_vector() == V({std::log(0.25), 0, std::log(4.0)}), bt::per_element());
  BOOST_TEST(sqrt(x).to_vector() == V({0.5, 1, 2}), bt::per_element());
  BOOST_TEST(pow(x, 1.5).to_vector() == V({0.125, 1, 8}), bt::per_element());
  BOOST_TEST(square(x - 1.0).to_vector() == V({0.5625, 0, 9}), bt::per_element());
  BOOST_TEST(abs(x - 1.0).to_vector() == V({0.75, 0, 3}), bt::per_element());
  BOOST_TEST(clamp(x, 0.5, 2).to_vector() == V({0.5, 1, 2}), bt::per_element());
  BOOST_TEST(relu(x - 1.0).to_vector() == V({0, 0, 3}), bt::per_element());
  BOOST_TEST(leaky_relu(x - 1.0, 0.1).to_vector() == V({-0.075, 0, 3}), bt::tolerance(1e-15)
                                                                            << bt::per_element());
  BOOST_TEST(sigmoid(scalar(0.0, float64)).item() == 0.5);
  BOOST_TEST(tanh(x).to_vector() == V({std::tanh(0.25), std::tanh(1.0), std::tanh(4.0)}),
             bt::per_element());
}

BOOST_AUTO_TEST_CASE(in_place_updates_change_the_values) {
  Tensor a = tensor({1, 2, 3, 4}, {2, 2});
  a.add_(tensor({10, 20}, {2}), 0.5);  // broadcast row, scaled
  BOOST_TEST(a.to_vector() == V({6, 12, 8, 14}), bt::per_element());
  a.mul_(0.5);
  BOOST_TEST(a.to_vector() == V({3, 6, 4, 7}), bt::per_element());
  a /= tensor({1, 2}, {2, 1});
  BOOST_TEST(a.to_vector() == V({3, 6, 2, 3.5}), bt::per_element());
  a.copy_(tensor({9}, {1}));
  BOOST_TEST(a.to_vector() == V({9, 9, 9, 9}), bt::per_element());
  a -= 1.0;
  BOOST_TEST(a.to_vector() == V({8, 8, 8, 8}), bt::per_element());
}

// ---- reductions -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reductions_over_all_elements_and_one_axis) {
  const Tensor x = tensor({1, 5, 3, 4, 2, 6}, {2, 3});
  BOOST_TEST(sum(x).item() == 21);
  BOOST_TEST(sum(x).shape().empty());
  BOOST_TEST(sum(x, 0).to_vector() == V({5, 7, 9}), bt::per_element());
  BOOST_TEST(sum(x, 0).shape() == Shape({3}));
  BOOST_TEST(sum(x, 0, true).shape() == Shape({1, 3}));
  BOOST_TEST(sum(x, -1).to_vector() == V({9, 12}), bt::per_element());
  BOOST_TEST(sum(x, 1, true).shape() == Shape({2, 1}));
  BOOST_TEST(mean(x).item() == 3.5);
  BOOST_TEST(mean(x, 1).to_vector() == V({3, 4}), bt::per_element());
  BOOST_TEST(mean(x, 0, true).to_vector() == V({2.5, 3.5, 4.5}), bt::per_element());
  BOOST_TEST(max(x).item() == 6);
  BOOST_TEST(max(x, 0).to_vector() == V({4, 5, 6}), bt::per_element());
  BOOST_TEST(max(x, 1, true).shape() == Shape({2, 1}));
  BOOST_TEST(max(x, 1, true).to_vector() == V({5, 6}), bt::per_element());
  BOOST_TEST(argmax(x).item() == 5);
  BOOST_TEST(argmax(x, 0).to_vector() == V({1, 0, 1}), bt::per_element());
  BOOST_TEST(argmax(x, 1).to_vector() == V({1, 2}), bt::per_element());
  BOOST_TEST(argmax(x, 1, true).shape() == Shape({2, 1}));
  // 3-D, middle axis.
  const Tensor y = reshape(arange(0, 24, 1, float64), {2, 3, 4});
  BOOST_TEST(sum(y, 1).shape() == Shape({2, 4}));
  BOOST_TEST(sum(y, 1).at({1, 2}) == 14 + 18 + 22);
  BOOST_TEST(max(y, 1).at({0, 3}) == 11);
}

BOOST_AUTO_TEST_CASE(argmax_picks_the_first_of_tied_maxima_and_max_propagates_nan) {
  BOOST_TEST(argmax(tensor({2, 7, 7, 1}, {4})).item() == 1);
  BOOST_TEST(argmax(tensor({3, 3, 1, 3}, {2, 2}), 0).to_vector() == V({0, 0}), bt::per_element());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(std::isnan(max(tensor({1, nan, 3}, {3}, float64)).item()));
  BOOST_TEST(argmax(tensor({1, nan, 3}, {3}, float64)).item() == 1);
}

BOOST_AUTO_TEST_CASE(comparisons_give_masks_of_ones_and_zeros) {
  Tensor a = tensor({1, 2, 3}, {3});
  a.requires_grad_();
  const Tensor b = tensor({3, 2, 1}, {3});
  BOOST_TEST((a > b).to_vector() == V({0, 0, 1}), bt::per_element());
  BOOST_TEST((a < b).to_vector() == V({1, 0, 0}), bt::per_element());
  BOOST_TEST((a >= b).to_vector() == V({0, 1, 1}), bt::per_element());
  BOOST_TEST((a <= b).to_vector() == V({1, 1, 0}), bt::per_element());
  BOOST_TEST(equal(a, b).to_vector() == V({0, 1, 0}), bt::per_element());
  BOOST_TEST(not_equal(a, b).to_vector() == V({1, 0, 1}), bt::per_element());
  BOOST_TEST((a > 1.5).to_vector() == V({0, 1, 1}), bt::per_element());
  BOOST_TEST((a <= 2.0).to_vector() == V({1, 1, 0}), bt::per_element());
  BOOST_TEST(!(a > b).requires_grad());  // masks are never recorded
  BOOST_TEST(((a > b).dtype() == a.dtype()));
  const Tensor picked = where(a > 1.5, a, b * 10.0);
  BOOST_TEST(picked.to_vector() == V({30, 2, 3}), bt::per_element());
}

// ---- printing -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fmt_prints_a_small_tensor_like_numpy) {
  BOOST_TEST(fmt::format("{}", tensor({1, 2, 3, 4}, {2, 2})) ==
             "tensor([[1., 2.],\n        [3., 4.]], dtype=float32, shape=[2, 2])");
  BOOST_TEST(fmt::format("{}", tensor({0.5, -1.25, 3}, {3}, float64)) ==
             "tensor([ 0.5000, -1.2500,  3.0000], dtype=float64, shape=[3])");
  BOOST_TEST(fmt::format("{}", scalar(2.5)) == "tensor(2.5000, dtype=float32, shape=[])");
  BOOST_TEST(fmt::format("{}", tensor({1e-5, 2e6}, {2}, float64)) ==
             "tensor([1.0000e-05, 2.0000e+06], dtype=float64, shape=[2])");
  BOOST_TEST(fmt::format("{}", Tensor()) == "tensor(undefined)");
}

BOOST_AUTO_TEST_CASE(fmt_marks_grad_and_summarises_long_tensors) {
  Tensor w = tensor({1, 2}, {2});
  w.requires_grad_();
  BOOST_TEST(fmt::format("{}", w) ==
             "tensor([1., 2.], dtype=float32, shape=[2], requires_grad=true)");
  BOOST_TEST(fmt::format("{}", w * 2.0) ==
             "tensor([2., 4.], dtype=float32, shape=[2], grad_fn=mul_scalar)");
  BOOST_TEST(
      fmt::format("{}", arange(0, 2000)) ==
      "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], dtype=float32, shape=[2000])");
  BOOST_TEST(fmt::format("{}", zeros({0, 2})) == "tensor([], dtype=float32, shape=[0, 2])");
  BOOST_TEST(fmt::format("{}", tensor({1, 2, 3, 4, 5, 6, 7, 8}, {2, 2, 2})) ==
             "tensor([[[1., 2.],\n         [3., 4.]],\n\n        [[5., 6.],\n         [7., 8.]]], "
             "dtype=float32, shape=[2, 2, 2])");
}

// ---- randomness ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rand_and_randn_repeat_under_manual_seed) {
  manual_seed(42);
  const auto a = rand({50}).to_vector();
  const auto an = randn({50}, float64).to_vector();
  manual_seed(42);
  const auto b = rand({50}).to_vector();
  const auto bn = randn({50}, float64).to_vector();
  BOOST_TEST(a == b, bt::per_element());
  BOOST_TEST(an == bn, bt::per_element());
  const auto c = rand({50}).to_vector();
  BOOST_TEST(a != c);  // the sequence moves on
  manual_seed(43);
  BOOST_TEST(rand({50}).to_vector() != a);
  for (double v : a) BOOST_TEST((v >= 0 && v < 1));
  double m = 0, s2 = 0;
  manual_seed(1);
  const auto big = randn({20000}, float64).to_vector();
  for (double v : big) m += v / big.size();
  for (double v : big) s2 += (v - m) * (v - m) / big.size();
  BOOST_TEST(std::fabs(m) < 0.05);
  BOOST_TEST(std::fabs(s2 - 1) < 0.05);
}

BOOST_AUTO_TEST_CASE(generator_state_saved_and_restored_resumes_the_sequence) {
  Generator gen(7);
  rand({3}, float64, gen);
  const std::string state = gen.state();
  const auto first = rand({5}, float64, gen).to_vector();
  gen.set_state(state);
  BOOST_TEST(rand({5}, float64, gen).to_vector() == first, bt::per_element());
}

BOOST_AUTO_TEST_CASE(randint_and_randperm_stay_in_range) {
  manual_seed(3);
  const auto r = randint(2, 5, {200}).to_vector();
  std::set<double> seen(r.begin(), r.end());
  BOOST_TEST(seen == std::set<double>({2, 3, 4}));
  auto p = randperm(10);
  std::sort(p.begin(), p.end());
  for (std::int64_t i = 0; i < 10; ++i) BOOST_TEST(p[i] == i);
}

BOOST_AUTO_TEST_CASE(each_thread_has_its_own_default_generator) {
  manual_seed(42);
  const auto here = rand({4}).to_vector();
  manual_seed(42);
  std::vector<double> there;
  std::thread other([&] {
    manual_seed(42);
    there = rand({4}).to_vector();
  });
  other.join();
  BOOST_TEST(there == here, bt::per_element());
  BOOST_TEST(rand({4}).to_vector() == here, bt::per_element());  // untouched by the other thread
}

// ---- numerical stability --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_with_logits_of_plus_minus_1000_is_finite) {
  for (Dtype dt : {float32, float64}) {
    Tensor z = tensor({1000, -1000, 0, -1000, 1000, 0}, {2, 3}, dt);
    z.requires_grad_();
    const Tensor loss = softmax_cross_entropy(z, tensor({1, 1}, {2}, dt), 1);
    // Example 0 puts its label at -1000 against a max of 1000: -log softmax = 2000.
    BOOST_TEST(loss.item() == 1000.0, bt::tolerance(1e-6));
    loss.backward();
    BOOST_TEST(all_finite(z.grad()));
    BOOST_TEST(z.grad().to_vector() == V({0.5, -0.5, 0, 0, 0, 0}), bt::tolerance(1e-6)
                                                                       << bt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax_of_plus_minus_1000_are_finite) {
  for (Dtype dt : {float32, float64}) {
    Tensor z = tensor({1000, -1000, 0}, {3}, dt);
    z.requires_grad_();
    const Tensor s = softmax(z, 0);
    BOOST_TEST(s.to_vector() == V({1, 0, 0}), bt::per_element());
    const Tensor ls = log_softmax(z, 0);
    BOOST_TEST(ls.to_vector() == V({0, -2000, -1000}), bt::per_element());
    sum(s * tensor({1, 2, 3}, {3}, dt) + ls).backward();
    BOOST_TEST(all_finite(z.grad()));
    // d/dz sum(log_softmax) = 1 - 3 softmax: (-2, 1, 1); the softmax term adds 0 here.
    BOOST_TEST(z.grad().to_vector() == V({-2, 1, 1}), bt::tolerance(1e-6) << bt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_with_logits_of_plus_minus_1000_is_finite) {
  for (Dtype dt : {float32, float64}) {
    Tensor z = tensor({1000, -1000, 1000, -1000}, {1, 4}, dt);
    z.requires_grad_();
    const Tensor loss = binary_cross_entropy_with_logits(z, tensor({1, 0, 0, 1}, {1, 4}, dt));
    BOOST_TEST(loss.item() == 500.0, bt::tolerance(1e-6));  // two right (0), two wrong (1000)
    loss.backward();
    BOOST_TEST(z.grad().to_vector() == V({0, 0, 0.25, -0.25}), bt::per_element());
  }
}

BOOST_AUTO_TEST_CASE(sigmoid_of_plus_minus_1000_is_finite_with_zero_gradient) {
  Tensor z = tensor({1000, -1000}, {2});
  z.requires_grad_();
  const Tensor s = sigmoid(z);
  BOOST_TEST(s.to_vector() == V({1, 0}), bt::per_element());
  sum(s).backward();
  BOOST_TEST(z.grad().to_vector() == V({0, 0}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_at_probabilities_0_and_1_is_finite) {
  for (Dtype dt : {float32, float64}) {
    Tensor p = tensor({0, 1, 0, 1}, {4}, dt);
    p.requires_grad_();
    const Tensor loss = binary_cross_entropy(p, tensor({0, 1, 1, 0}, {4}, dt));
    // Right answers cost 0, wrong ones log(0) clamped at -100: mean 50.
    BOOST_TEST(loss.item() == 50.0, bt::tolerance(1e-6));
    loss.backward();
    const auto g = p.grad().to_vector();
    BOOST_TEST(all_finite(p.grad()));
    BOOST_TEST(g[0] == 0.0);
    BOOST_TEST(g[1] == 0.0);
    BOOST_TEST(g[2] < -1e6);  // pushes p up towards the label 1
    BOOST_TEST(g[3] > 1e6);
  }
}

BOOST_AUTO_TEST_CASE(course_two_step_cost_of_saturated_sigmoid_is_finite) {
  // sigmoid then binary_cross_entropy, as in the course, with logits that saturate.
  Tensor z = tensor({1000, -1000, 40, -40}, {1, 4}, float64);
  z.requires_grad_();
  const Tensor loss = binary_cross_entropy(sigmoid(z), tensor({0, 1, 1, 0}, {1, 4}, float64));
  BOOST_TEST(std::isfinite(loss.item()));
  BOOST_TEST(loss.item() == 50.0, bt::tolerance(1e-6));
  loss.backward();
  BOOST_TEST(all_finite(z.grad()));
}

BOOST_AUTO_TEST_CASE(empty_rejects_a_shape_whose_element_count_overflows) {
  // numel (and numel * dtype size) must fit in int64, also when a zero extent makes it 0.
  BOOST_CHECK_THROW(Tensor::empty({std::int64_t{1} << 62, 4, 0}), ShapeError);
  BOOST_CHECK_THROW(zeros({std::int64_t{1} << 61}, float64), ShapeError);
  BOOST_TEST(Tensor::empty({std::int64_t{1} << 40, 0}).numel() == 0);
}
