#define BOOST_TEST_MODULE edge_cases
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;

namespace {

constexpr double Inf = std::numeric_limits<double>::infinity();
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
constexpr double big = 3e38;    // near float32's largest, 3.4e38
constexpr double tiny = 1e-45;  // float32's smallest subnormal

bool is_nan(double v) { return std::isnan(v); }

// Every value of t satisfies `pred`.
template <class Pred>
bool all_of(const Tensor& t, Pred pred) {
  for (double v : t.to_vector())
    if (!pred(v)) return false;
  return true;
}

bool all_finite(const Tensor& t) {
  return all_of(t, [](double v) { return std::isfinite(v); });
}

// Leaves of shape [3, 0], [0], [1] (value 2), for both dtypes.
struct Leaves {
  Tensor e30, e0, one;
  explicit Leaves(Dtype d = float32)
      : e30(zeros({3, 0}, d).requires_grad_()),
        e0(zeros({0}, d).requires_grad_()),
        one(full({1}, 2.0, d).requires_grad_()) {}
};

}  // namespace

// ---- arithmetic --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(arithmetic_on_empty_tensors_gives_empty_results_and_grads) {
  for (Dtype d : {float32, float64}) {
    Leaves l(d);
    Tensor y = l.e30 * 2.0 + l.e30 / (l.e30 + 1.0) - l.e30;
    BOOST_TEST((y.shape() == Shape{3, 0}));
    // [3, 0] with [3, 1] and with [1] broadcasts to [3, 0].
    Tensor col = ones({3, 1}, d).requires_grad_();
    Tensor z = l.e30 * col + l.one;
    BOOST_TEST((z.shape() == Shape{3, 0}));
    sum(z + y).backward();  // sum of nothing: 0
    BOOST_TEST((l.e30.grad().shape() == Shape{3, 0}));
    BOOST_TEST(col.grad().to_vector() == std::vector<double>({0, 0, 0}),
               boost::test_tools::per_element());
    BOOST_TEST(l.one.grad().item() == 0.0);  // summed over no element
    BOOST_TEST((where(l.e0 > 0.0, l.e0, l.e0).shape() == Shape{0}));
  }
  BOOST_CHECK_THROW(zeros({3, 0}) + zeros({3, 2}), ShapeError);
}

BOOST_AUTO_TEST_CASE(arithmetic_propagates_nan_and_inf_as_ieee) {
  Tensor x = tensor({NaN, Inf, -Inf, 1, 0}, {5});
  auto v = (x + 1.0f).to_vector();
  BOOST_TEST(is_nan(v[0]));
  BOOST_TEST(v[1] == Inf);
  BOOST_TEST(v[2] == -Inf);
  v = (x - x).to_vector();  // Inf - Inf = NaN
  BOOST_TEST((is_nan(v[0]) && is_nan(v[1]) && is_nan(v[2]) && v[3] == 0));
  v = (1.0f / x).to_vector();
  BOOST_TEST((is_nan(v[0]) && v[1] == 0 && v[2] == 0 && v[3] == 1 && v[4] == Inf));
  v = (full({2}, big) * 10.0f).to_vector();  // float32 overflow
  BOOST_TEST((v[0] == Inf && v[1] == Inf));
  v = (full({2}, tiny) / 4.0f).to_vector();  // underflow to zero, not NaN
  BOOST_TEST((v[0] == 0 && v[1] == 0));
  BOOST_TEST(scalar(2).item() * 3 == (scalar(2) * 3.0f).item());  // one element, rank 0
}

BOOST_AUTO_TEST_CASE(comparisons_treat_nan_as_unordered) {
  Tensor x = tensor({NaN, 1}, {2});
  BOOST_TEST((x > 0.0).to_vector() == std::vector<double>({0, 1}),
             boost::test_tools::per_element());
  BOOST_TEST(not_equal(x, x).to_vector() == std::vector<double>({1, 0}),
             boost::test_tools::per_element());
}

// ---- elementwise math --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(elementwise_math_at_its_domain_edges) {
  Tensor x = tensor({0, -1, NaN, Inf, -Inf}, {5});
  auto v = log(x).to_vector();
  BOOST_TEST((v[0] == -Inf && is_nan(v[1]) && is_nan(v[2]) && v[3] == Inf && is_nan(v[4])));
  v = sqrt(x).to_vector();
  BOOST_TEST((v[0] == 0 && is_nan(v[1]) && is_nan(v[2]) && v[3] == Inf && is_nan(v[4])));
  v = exp(x).to_vector();
  BOOST_TEST((v[0] == 1 && is_nan(v[2]) && v[3] == Inf && v[4] == 0));
  v = exp(tensor({100, -200}, {2})).to_vector();  // float32 overflow and underflow
  BOOST_TEST((v[0] == Inf && v[1] == 0));
  v = abs(x).to_vector();
  BOOST_TEST((v[1] == 1 && is_nan(v[2]) && v[3] == Inf && v[4] == Inf));
  v = clamp(x, -1, 1).to_vector();  // NaN stays NaN, as in PyTorch
  BOOST_TEST((v[0] == 0 && v[1] == -1 && is_nan(v[2]) && v[3] == 1 && v[4] == -1));
  v = pow(x, 2).to_vector();
  BOOST_TEST((v[0] == 0 && v[1] == 1 && is_nan(v[2]) && v[3] == Inf && v[4] == Inf));
  v = square(full({1}, 1e20)).to_vector();
  BOOST_TEST(v[0] == Inf);

  Leaves l;
  Tensor y = exp(l.e30) + log(l.e30 + 1.0) + sqrt(l.e30) + pow(l.e30, 3) + abs(l.e30) +
             clamp(l.e30, 0, 1) + square(l.e30);
  BOOST_TEST((y.shape() == Shape{3, 0}));
  sum(y).backward();
  BOOST_TEST((l.e30.grad().shape() == Shape{3, 0}));
  Tensor z = exp(l.one) * log(l.one) * sqrt(l.one);
  sum(z).backward();
  // d/dx e^x log(x) sqrt(x) = e^x sqrt(x) (log(x) + 1 / x + log(x) / (2 x)), at x = 2.
  const double x2 = 2.0;
  BOOST_TEST(l.one.grad().item() ==
                 std::exp(x2) * std::sqrt(x2) * (std::log(x2) + 1 / x2 + std::log(x2) / (2 * x2)),
             boost::test_tools::tolerance(1e-6));
}

// ---- activations -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(activations_saturate_without_nan_and_propagate_nan) {
  Tensor x = tensor({-1e30, -100, 100, 1e30}, {4}).requires_grad_();
  Tensor s = sigmoid(x);
  BOOST_TEST(s.at({0}) == 0.0);
  BOOST_TEST((s.at({1}) > 0.0 && s.at({1}) < 1e-40));  // e^-100: a float32 subnormal
  BOOST_TEST((s.at({2}) == 1.0 && s.at({3}) == 1.0));
  Tensor t = tanh(x);
  BOOST_TEST(t.to_vector() == std::vector<double>({-1, -1, 1, 1}),
             boost::test_tools::per_element());
  sum(s + t + relu(x) + leaky_relu(x)).backward();
  // sigmoid' = s (1 - s) (at most e^-100, about 4e-44) and tanh' = 1 - t^2 (0) add
  // nothing, and no 0 * Inf: relu' + leaky_relu' is 0 + 0.01 on the left, 1 + 1 on the right.
  BOOST_TEST(all_finite(x.grad()));
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({0.01, 0.01, 2, 2}),
             boost::test_tools::tolerance(1e-6) << boost::test_tools::per_element());

  Tensor n = tensor({NaN}, {1});
  BOOST_TEST(is_nan(sigmoid(n).item()));
  BOOST_TEST(is_nan(tanh(n).item()));
  BOOST_TEST(is_nan(relu(n).item()));  // as PyTorch: a NaN is not hidden as 0
  BOOST_TEST(is_nan(leaky_relu(n).item()));
  BOOST_TEST(relu(tensor({-Inf, Inf}, {2})).to_vector() == std::vector<double>({0, Inf}),
             boost::test_tools::per_element());

  Leaves l;
  Tensor y = sigmoid(l.e30) + tanh(l.e30) + relu(l.e30) + leaky_relu(l.e30) + softmax(l.e30, 0) +
             log_softmax(l.e30, 0);
  BOOST_TEST((y.shape() == Shape{3, 0}));
  sum(y).backward();
  BOOST_TEST((l.e30.grad().shape() == Shape{3, 0}));
}

BOOST_AUTO_TEST_CASE(softmax_is_stable_on_large_and_infinite_logits) {
  Tensor x = tensor({1000, 1001, -1000, 1e30}, {2, 2});
  Tensor s = softmax(x, 1);
  BOOST_TEST(all_finite(s));
  BOOST_TEST(s.at({0, 0}) + s.at({0, 1}) == 1.0, boost::test_tools::tolerance(1e-5));
  BOOST_TEST(s.at({1, 1}) == 1.0);
  BOOST_TEST(all_finite(log_softmax(x, 1)));
  // A -Inf logit has probability 0 and log-probability -Inf; the others are unaffected.
  Tensor m = tensor({-Inf, 0, 0}, {1, 3});
  BOOST_TEST(softmax(m, 1).to_vector() == std::vector<double>({0, 0.5, 0.5}),
             boost::test_tools::per_element());
  BOOST_TEST(log_softmax(m, 1).at({0, 0}) == -Inf);
  // A NaN logit spoils its own row only.
  Tensor n = softmax(tensor({NaN, 0, 1, 2}, {2, 2}), 1);
  BOOST_TEST((is_nan(n.at({0, 0})) && is_nan(n.at({0, 1})) && std::isfinite(n.at({1, 0}))));
  // One element: probability 1.
  BOOST_TEST(softmax(tensor({-5}, {1, 1}), 1).item() == 1.0);
}

// ---- reductions --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(reductions_of_empty_tensors) {
  Leaves l;
  BOOST_TEST(sum(l.e30).item() == 0.0);
  BOOST_TEST((sum(l.e30, 1).to_vector() == std::vector<double>({0, 0, 0})));
  BOOST_TEST((sum(l.e30, 0).shape() == Shape{0}));
  BOOST_TEST((sum(l.e30, 1, true).shape() == Shape{3, 1}));
  BOOST_TEST((mean(l.e30, 0).shape() == Shape{0}));  // nothing to average, nothing returned
  BOOST_TEST((max(l.e30, 0).shape() == Shape{0}));
  BOOST_TEST((argmax(l.e30, 0).shape() == Shape{0}));
  // No mean, max or argmax of no element (a mean would be 0/0).
  BOOST_CHECK_THROW(mean(l.e30), ShapeError);
  BOOST_CHECK_THROW(mean(l.e30, 1), ShapeError);
  BOOST_CHECK_THROW(max(l.e0), ShapeError);
  BOOST_CHECK_THROW(max(l.e30, 1), ShapeError);
  BOOST_CHECK_THROW(argmax(l.e0), ShapeError);
  sum(sum(l.e30, 1)).backward();
  BOOST_TEST((l.e30.grad().shape() == Shape{3, 0}));
  // One element.
  BOOST_TEST(mean(l.one).item() == 2.0);
  BOOST_TEST(max(l.one).item() == 2.0);
  BOOST_TEST(argmax(l.one).item() == 0.0);
}

BOOST_AUTO_TEST_CASE(reductions_propagate_nan_and_handle_extremes) {
  Tensor x = tensor({1, NaN, 3, 2}, {2, 2});
  BOOST_TEST(is_nan(sum(x).item()));
  BOOST_TEST(is_nan(mean(x).item()));
  BOOST_TEST(is_nan(max(x).item()));  // NaN wins, as numpy and PyTorch
  BOOST_TEST(argmax(x).item() == 1.0);
  auto rows = max(x, 1).to_vector();
  BOOST_TEST((is_nan(rows[0]) && rows[1] == 3));
  BOOST_TEST(is_nan(max(tensor({NaN, 5}, {2})).item()));
  BOOST_TEST(is_nan(max(tensor({5, NaN}, {2})).item()));
  BOOST_TEST(max(tensor({-Inf, -Inf}, {2})).item() == -Inf);
  BOOST_TEST(is_nan(sum(tensor({Inf, -Inf}, {2})).item()));
  // float32 values whose float32 sum overflows: summed in double, then rounded.
  BOOST_TEST(sum(full({4}, big)).item() == Inf);
  // The mean of float32 values whose sum overflows is Inf: the sum is rounded to the
  // tensor's dtype before the division, as in PyTorch. float64 holds it.
  BOOST_TEST(mean(full({4}, big)).item() == Inf);
  BOOST_TEST(mean(full({4}, big, float64)).item() == big);
  // Many small values do not lose the total (double accumulation).
  BOOST_TEST(sum(full({1 << 20}, 1e-3)).item() == 1048.576, boost::test_tools::tolerance(1e-5));
}

// ---- shape ops ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(shape_ops_on_empty_and_one_element_tensors) {
  Leaves l;
  BOOST_TEST((reshape(l.e30, {0, 3}).shape() == Shape{0, 3}));
  BOOST_TEST((reshape(l.e0, {2, 0, 5}).shape() == Shape{2, 0, 5}));
  BOOST_TEST((flatten(l.e30).shape() == Shape{0}));
  BOOST_TEST((transpose(l.e30).shape() == Shape{0, 3}));
  BOOST_TEST((slice(ones({3, 4}), 1, 2, 2).shape() == Shape{3, 0}));
  BOOST_TEST((index_select(ones({3, 4}), 1, {}).shape() == Shape{3, 0}));
  BOOST_TEST((concat({l.e30, ones({3, 2})}, 1).shape() == Shape{3, 2}));
  BOOST_TEST((concat({l.e30, l.e30}, 0).shape() == Shape{6, 0}));
  BOOST_TEST((broadcast_to(l.one, {3, 0}).shape() == Shape{3, 0}));
  BOOST_TEST((select(l.one, 0, 0).shape() == Shape{}));
  BOOST_TEST((reshape(l.one, {}).shape() == Shape{}));
  Tensor y = sum(concat({l.e30, transpose(reshape(l.e30, {0, 3}))}, 1)) + sum(select(l.one, 0, 0));
  y.backward();
  BOOST_TEST((l.e30.grad().shape() == Shape{3, 0}));
  BOOST_TEST(l.one.grad().item() == 1.0);
  BOOST_CHECK_THROW(reshape(l.e30, {1}), ShapeError);
  BOOST_CHECK_THROW(select(l.e30, 1, 0), IndexError);
  // NaN and Inf pass through shape ops untouched.
  auto v = transpose(tensor({NaN, Inf, -Inf, 0}, {2, 2})).to_vector();
  BOOST_TEST((is_nan(v[0]) && v[1] == -Inf && v[2] == Inf && v[3] == 0));
}

// ---- matmul ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(matmul_with_empty_dimensions) {
  for (Dtype d : {float32, float64}) {
    // Inner dimension 0: a sum of nothing, zeros (not uninitialized memory).
    Tensor a = zeros({3, 0}, d).requires_grad_();
    Tensor b = zeros({0, 4}, d).requires_grad_();
    Tensor c = matmul(a, b);
    BOOST_TEST((c.shape() == Shape{3, 4}));
    BOOST_TEST(all_of(c, [](double v) { return v == 0; }));
    sum(c).backward();
    BOOST_TEST((a.grad().shape() == Shape{3, 0}));
    BOOST_TEST((b.grad().shape() == Shape{0, 4}));
    // An empty outer dimension: an empty result.
    Tensor e = zeros({0, 3}, d).requires_grad_();
    Tensor w = ones({3, 4}, d).requires_grad_();
    Tensor f = matmul(e, w);
    BOOST_TEST((f.shape() == Shape{0, 4}));
    sum(f).backward();
    BOOST_TEST(all_of(w.grad(), [](double v) { return v == 0; }));
    BOOST_TEST((matmul(ones({2, 3}, d), zeros({3, 0}, d)).shape() == Shape{2, 0}));
  }
}

BOOST_AUTO_TEST_CASE(matmul_propagates_nan_and_overflows_to_inf) {
  Tensor a = tensor({NaN, 1, 2, 3}, {2, 2});
  Tensor c = matmul(a, ones({2, 2}));
  BOOST_TEST((is_nan(c.at({0, 0})) && is_nan(c.at({0, 1}))));
  BOOST_TEST((c.at({1, 0}) == 5 && c.at({1, 1}) == 5));  // the other row is untouched
  BOOST_TEST(matmul(full({1, 2}, big), full({2, 1}, big)).item() == Inf);
  BOOST_TEST(matmul(tensor({3}, {1, 1}), tensor({4}, {1, 1})).item() == 12.0);  // 1 x 1
  // 0 * Inf = NaN inside the product, as IEEE says.
  BOOST_TEST(is_nan(matmul(tensor({0, 1}, {1, 2}), tensor({Inf, 1}, {2, 1})).item()));
}

// ---- losses ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(losses_stay_finite_on_extreme_logits_and_probabilities) {
  Tensor z = tensor({-1000, 1000, -1e30, 1e30}, {1, 4}).requires_grad_();
  Tensor y = tensor({1, 0, 0, 1}, {1, 4});
  Tensor bce = binary_cross_entropy_with_logits(z, y);
  BOOST_TEST(bce.item() == 500.0, boost::test_tools::tolerance(1e-6));  // (1000 + 1000 + 0 + 0) / 4
  bce.backward();
  // (sigmoid(z) - y) / 4
  BOOST_TEST(z.grad().to_vector() == std::vector<double>({-0.25, 0.25, 0, 0}),
             boost::test_tools::per_element());
  // Probabilities exactly 0 and 1: clamped, so log(0) gives no NaN or Inf.
  Tensor p = tensor({0, 1, 1, 0}, {1, 4}).requires_grad_();
  Tensor bce2 = binary_cross_entropy(p, y);
  BOOST_TEST(std::isfinite(bce2.item()));
  bce2.backward();
  BOOST_TEST(all_finite(p.grad()));
  // Softmax cross-entropy on huge logits.
  Tensor logits = tensor({1e30, -1e30, 0, 1000, 1001, 999}, {3, 2}).requires_grad_();
  Tensor ce = softmax_cross_entropy(logits, tensor({1, 0}, {2}), 0);
  BOOST_TEST(std::isfinite(ce.item()));
  ce.backward();
  BOOST_TEST(all_finite(logits.grad()));
  // mse on big values overflows float32 (as PyTorch does).
  BOOST_TEST(mse_loss(full({2}, big), full({2}, -big)).item() == Inf);
}

BOOST_AUTO_TEST_CASE(losses_propagate_nan_and_refuse_empty_batches) {
  Tensor y = tensor({1, 0}, {1, 2});
  BOOST_TEST(is_nan(binary_cross_entropy_with_logits(tensor({NaN, 0}, {1, 2}), y).item()));
  BOOST_TEST(is_nan(binary_cross_entropy(tensor({NaN, 0.5}, {1, 2}), y).item()));
  BOOST_TEST(
      is_nan(softmax_cross_entropy(tensor({NaN, 0, 1, 2}, {2, 2}), tensor({0, 1}, {2}), 0).item()));
  BOOST_TEST(is_nan(mse_loss(tensor({NaN}, {1}), tensor({0}, {1})).item()));
  // One example.
  BOOST_TEST(mse_loss(tensor({3}, {1}), tensor({1}, {1})).item() == 4.0);
  BOOST_TEST(
      softmax_cross_entropy(tensor({0, 0}, {2, 1}), tensor({1}, {1}), 0).item() == std::log(2.0),
      boost::test_tools::tolerance(1e-6));
  // No example: a mean over nothing is refused, as mean() refuses it.
  BOOST_CHECK_THROW(mse_loss(zeros({0}), zeros({0})), ShapeError);
  BOOST_CHECK_THROW(binary_cross_entropy_with_logits(zeros({1, 0}), zeros({1, 0})), ShapeError);
  BOOST_CHECK_THROW(softmax_cross_entropy(zeros({3, 0}), zeros({0}), 0), ShapeError);
}
