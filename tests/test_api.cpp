// The API a PyTorch user reaches for: method forms, comparison operators with scalars
// on either side, tensor literals, linspace, and the values of the ops added with
// them (maximum, min, stack, var, std, logsumexp, one_hot, batched matmul), checked
// against what torch / numpy give.
#define BOOST_TEST_MODULE api
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;
namespace bt = boost::test_tools;
using V = std::vector<double>;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor param(const Tensor& t) {
  Tensor p = t.clone();
  p.requires_grad_();
  return p;
}

// Matrix `i` of a batch (..., n, m), flattened over the batch axes, as a 2-D tensor.
Tensor matrix(const Tensor& t, std::int64_t i) {
  return select(reshape(t, {-1, t.size(-2), t.size(-1)}), 0, i);
}

}  // namespace

// ---- method forms -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(methods_give_the_values_of_the_free_functions) {
  const Tensor A = tensor({{1, -2, 3}, {4, 5, -6}}, float64);
  BOOST_TEST(A.sum().item() == 5.0);
  BOOST_TEST(A.sum(0).to_vector() == V({5, 3, -3}), bt::per_element());
  BOOST_TEST((A.sum(1, true).shape() == Shape{2, 1}));
  BOOST_TEST(A.mean().item() == 5.0 / 6.0);
  BOOST_TEST(A.mean(1).to_vector() == V({2.0 / 3.0, 1.0}), bt::per_element());
  BOOST_TEST(A.max().item() == 5.0);
  BOOST_TEST(A.max(0).to_vector() == V({4, 5, 3}), bt::per_element());
  BOOST_TEST(A.min().item() == -6.0);
  BOOST_TEST(A.min(1, true).to_vector() == V({-2, -6}), bt::per_element());
  BOOST_TEST(A.argmax().item() == 4.0);
  BOOST_TEST(A.argmax(1).to_vector() == V({2, 1}), bt::per_element());
  BOOST_TEST(A.argmin().item() == 5.0);
  BOOST_TEST(A.argmin(0).to_vector() == V({0, 0, 1}), bt::per_element());
  BOOST_TEST((A.reshape({3, -1}).shape() == Shape{3, 2}));
  BOOST_TEST((A.flatten().shape() == Shape{6}));
  BOOST_TEST(A.t().to_vector() == V({1, 4, -2, 5, 3, -6}), bt::per_element());
  BOOST_TEST(A.transpose(0, 1).to_vector() == A.t().to_vector(), bt::per_element());
  BOOST_TEST(A.abs().to_vector() == V({1, 2, 3, 4, 5, 6}), bt::per_element());
  BOOST_TEST(A.relu().to_vector() == V({1, 0, 3, 4, 5, 0}), bt::per_element());
  BOOST_TEST(A.pow(2).to_vector() == V({1, 4, 9, 16, 25, 36}), bt::per_element());
  BOOST_TEST(A.abs().sqrt().to_vector() == sqrt(abs(A)).to_vector(), bt::per_element());
  BOOST_TEST(A.exp().log().to_vector() == log(exp(A)).to_vector(), bt::per_element());
  BOOST_TEST(A.sigmoid().to_vector() == sigmoid(A).to_vector(), bt::per_element());
  BOOST_TEST(A.tanh().to_vector() == tanh(A).to_vector(), bt::per_element());
  BOOST_TEST(A.var().item() == var(A).item());
  BOOST_TEST(A.std(0, false, 0).to_vector() == V({1.5, 3.5, 4.5}), bt::per_element());
  BOOST_TEST(A.matmul(A.t()).to_vector() == V({14, -24, -24, 77}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(subscript_picks_a_row_and_its_gradient_is_select_s) {
  Tensor A = param(tensor({{1, 2}, {3, 4}, {5, 6}}, float64));
  BOOST_TEST(A[0].to_vector() == V({1, 2}), bt::per_element());
  BOOST_TEST(A[-1].to_vector() == V({5, 6}), bt::per_element());
  BOOST_TEST((A[1].shape() == Shape{2}));
  BOOST_TEST(A[1][0].item() == 3.0);  // a 0-D tensor, as in PyTorch
  BOOST_TEST(A[1][0].dim() == 0);
  (A[1] * tensor({10, 20}, float64)).sum().backward();
  BOOST_TEST(A.grad().to_vector() == V({0, 0, 10, 20, 0, 0}), bt::per_element());
  BOOST_CHECK_THROW(A[3], IndexError);
}

// ---- comparison operators -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(comparison_operators_give_masks_with_a_scalar_on_either_side) {
  const Tensor A = tensor({1, 2, 3}), B = tensor({3, 2, 1});
  BOOST_TEST((A == B).to_vector() == V({0, 1, 0}), bt::per_element());
  BOOST_TEST((A != B).to_vector() == V({1, 0, 1}), bt::per_element());
  BOOST_TEST((A == 2.0).to_vector() == V({0, 1, 0}), bt::per_element());
  BOOST_TEST((A != 2).to_vector() == V({1, 0, 1}), bt::per_element());
  BOOST_TEST((2.0 == A).to_vector() == V({0, 1, 0}), bt::per_element());
  BOOST_TEST((2.0 != A).to_vector() == V({1, 0, 1}), bt::per_element());
  BOOST_TEST((2.0 > A).to_vector() == V({1, 0, 0}), bt::per_element());
  BOOST_TEST((2.0 < A).to_vector() == V({0, 0, 1}), bt::per_element());
  BOOST_TEST((2.0 >= A).to_vector() == V({1, 1, 0}), bt::per_element());
  BOOST_TEST((2.0 <= A).to_vector() == V({0, 1, 1}), bt::per_element());
  BOOST_TEST((A > 2.0).to_vector() == V({0, 0, 1}), bt::per_element());
  BOOST_TEST((A <= 2.0).to_vector() == V({1, 1, 0}), bt::per_element());
  // Broadcasting, the inputs' dtype, and never recorded.
  Tensor P = param(tensor({{1, 2}, {3, 4}}, float64));
  const Tensor mask = P == tensor({1, 4}, float64);
  BOOST_TEST(mask.to_vector() == V({1, 0, 0, 1}), bt::per_element());
  BOOST_TEST((mask.dtype() == float64));
  BOOST_TEST(!mask.requires_grad());
  BOOST_TEST(!(1.0 < P).requires_grad());
}

// ---- creation -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(tensor_literals_without_a_shape_are_1_d_or_nested_2_d) {
  const Tensor v = tensor({1, 2, 3});
  BOOST_TEST((v.shape() == Shape{3}));
  BOOST_TEST((v.dtype() == float32));
  BOOST_TEST(v.to_vector() == V({1, 2, 3}), bt::per_element());
  const Tensor M = tensor({{1, 2, 3}, {4, 5, 6}}, float64);
  BOOST_TEST((M.shape() == Shape{2, 3}));
  BOOST_TEST((M.dtype() == float64));
  BOOST_TEST(M.at({1, 0}) == 4.0);
  BOOST_TEST((tensor({{7}}).shape() == Shape{1, 1}));
  const Tensor column = tensor({{1}, {2}, {3}});  // the course's b, (n, 1)
  BOOST_TEST((column.shape() == Shape{3, 1}));
  BOOST_TEST(column.to_vector() == V({1, 2, 3}), bt::per_element());
  BOOST_TEST((tensor({7}).shape() == Shape{1}));
  BOOST_TEST((tensor({1.5, 2}, float64).shape() == Shape{2}));
  // The calls with a shape still mean what they did.
  BOOST_TEST((tensor({1, 2}, {2}).shape() == Shape{2}));
  BOOST_TEST((tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64).shape() == Shape{2, 3}));
  BOOST_TEST((tensor({3}, {1, 1}).shape() == Shape{1, 1}));
  BOOST_TEST((tensor(V{1, 2, 3, 4}, {2, 2}).shape() == Shape{2, 2}));
}

BOOST_AUTO_TEST_CASE(linspace_gives_torch_s_values) {
  BOOST_TEST(linspace(0, 1, 5, float64).to_vector() == V({0, 0.25, 0.5, 0.75, 1}),
             bt::per_element());
  BOOST_TEST(linspace(3, 7, 1).to_vector() == V({3}), bt::per_element());
  BOOST_TEST(linspace(3, 7, 0).numel() == 0);
  BOOST_TEST(linspace(5, -5, 3).to_vector() == V({5, 0, -5}), bt::per_element());
  // torch.linspace(-1, 1, 4) in float32: both ends exact, the middle symmetric.
  const V f = linspace(-1, 1, 4).to_vector();
  BOOST_TEST(f == V({-1.0, -0.3333333134651184, 0.3333333134651184, 1.0}), bt::per_element());
  // torch.linspace(0, 1, 7, dtype=float64)[5] is 1 - 1/6, not 5 * (1/6).
  const V d = linspace(0, 1, 7, float64).to_vector();
  BOOST_TEST(d[5] == 1.0 - 1.0 / 6.0);
  BOOST_TEST(d[6] == 1.0);
}

// ---- division by a scalar -----------------------------------------------------------

BOOST_AUTO_TEST_CASE(division_by_a_scalar_divides_as_torch_does) {
  // 10 / 3 in float32 is 3.3333332538604736 (torch, numpy); 10 * (1 / 3.0) rounds to
  // 3.3333334922790527.
  const Tensor x = tensor({10.0});
  BOOST_TEST((x / 3.0).item() == 3.3333332538604736);
  Tensor y = tensor({10.0});
  y /= 3.0;
  BOOST_TEST(y.item() == 3.3333332538604736);
  BOOST_TEST((tensor({1.0, 7.0}, float64) / 7.0).to_vector() == V({1.0 / 7.0, 1.0}),
             bt::per_element());
}

// ---- new ops ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(maximum_and_minimum_broadcast_propagate_nan_and_split_ties) {
  const Tensor a = tensor({{1, 5}, {3, 0}}), b = tensor({2, 4});
  BOOST_TEST(maximum(a, b).to_vector() == V({2, 5, 3, 4}), bt::per_element());
  BOOST_TEST(minimum(a, b).to_vector() == V({1, 4, 2, 0}), bt::per_element());
  const double nan = std::nan("");
  BOOST_TEST(std::isnan(maximum(tensor({nan}), tensor({1})).item()));
  BOOST_TEST(std::isnan(maximum(tensor({1}), tensor({nan})).item()));
  BOOST_TEST(std::isnan(minimum(tensor({nan}), tensor({1})).item()));
  // At a tie each side gets half, as torch.maximum's backward.
  Tensor x = param(tensor({1, 2, 3}, float64)), y = param(tensor({1, 0, 3}, float64));
  maximum(x, y).sum().backward();
  BOOST_TEST(x.grad().to_vector() == V({0.5, 1, 0.5}), bt::per_element());
  BOOST_TEST(y.grad().to_vector() == V({0.5, 0, 0.5}), bt::per_element());
  // maximum(x, x) = x: the halves add to 1.
  Tensor z = param(tensor({4, -1}, float64));
  minimum(z, z).sum().backward();
  BOOST_TEST(z.grad().to_vector() == V({1, 1}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(min_and_argmin_pick_the_first_smallest_and_propagate_nan) {
  const Tensor x = tensor({{3, 1, 1}, {0, 2, 0}}, float64);
  BOOST_TEST(min(x, 1).to_vector() == V({1, 0}), bt::per_element());
  BOOST_TEST(argmin(x, 1).to_vector() == V({1, 0}), bt::per_element());
  BOOST_TEST(argmin(x).item() == 3.0);
  BOOST_TEST(std::isnan(min(tensor({1, std::nan(""), -5})).item()));
  Tensor p = param(x);
  min(p, 1).sum().backward();  // the gradient goes to the first smallest only
  BOOST_TEST(p.grad().to_vector() == V({0, 1, 0, 1, 0, 0}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(stack_joins_along_a_new_axis) {
  const Tensor a = tensor({1, 2, 3}), b = tensor({4, 5, 6});
  const Tensor s0 = stack({a, b});
  BOOST_TEST((s0.shape() == Shape{2, 3}));
  BOOST_TEST(s0.to_vector() == V({1, 2, 3, 4, 5, 6}), bt::per_element());
  const Tensor s1 = stack({a, b}, 1);
  BOOST_TEST((s1.shape() == Shape{3, 2}));
  BOOST_TEST(s1.to_vector() == V({1, 4, 2, 5, 3, 6}), bt::per_element());
  BOOST_TEST((stack({a, b}, -1).shape() == Shape{3, 2}));
  BOOST_TEST((stack({scalar(1), scalar(2), scalar(3)}).shape() == Shape{3}));
}

BOOST_AUTO_TEST_CASE(var_and_std_are_unbiased_by_default_as_torch) {
  const Tensor x = tensor({1, 2, 3, 4}, float64);
  BOOST_TEST(var(x).item() == 5.0 / 3.0, bt::tolerance(1e-15));          // torch.var: 1.6667
  BOOST_TEST(var(x, 0, false, 0).item() == 1.25, bt::tolerance(1e-15));  // numpy's np.var
  BOOST_TEST(tapegrad::std(x).item() == std::sqrt(5.0 / 3.0), bt::tolerance(1e-15));
  const Tensor M = tensor({{1, 2}, {3, 6}}, float64);
  BOOST_TEST(var(M, 0).to_vector() == V({2, 8}), bt::tolerance(1e-15) << bt::per_element());
  BOOST_TEST(var(M, 1, true).to_vector() == V({0.5, 4.5}), bt::tolerance(1e-15)
                                                               << bt::per_element());
  BOOST_TEST((var(M, 1, true).shape() == Shape{2, 1}));
  BOOST_TEST((tapegrad::std(M, -1).shape() == Shape{2}));
}

BOOST_AUTO_TEST_CASE(logsumexp_is_stable_on_large_and_infinite_inputs) {
  const Tensor x = tensor({{1, 2, 3}, {1000, 1000, -kInf}}, float64);
  const V r = logsumexp(x, 1).to_vector();
  BOOST_TEST(r[0] == std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), bt::tolerance(1e-15));
  BOOST_TEST(r[1] == 1000 + std::log(2.0), bt::tolerance(1e-15));
  BOOST_TEST((logsumexp(x, 0, true).shape() == Shape{1, 3}));
  BOOST_TEST(logsumexp(tensor({-kInf, -kInf}), 0).item() == -kInf);
  BOOST_TEST(logsumexp(tensor({kInf, 1}), 0).item() == kInf);
  BOOST_TEST(logsumexp(tensor({1000.0f, 1000.0f}), 0).item() == 1000.6931471805599,
             bt::tolerance(1e-6));
  // d/dx = softmax(x): finite at 1000.
  Tensor p = param(tensor({1000, 1000}, float64));
  logsumexp(p, 0).backward();
  BOOST_TEST(p.grad().to_vector() == V({0.5, 0.5}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(one_hot_puts_the_class_axis_where_asked) {
  const Tensor labels = tensor({2, 0, 1});
  const Tensor last = one_hot(labels, 3);  // torch's layout: (m, classes)
  BOOST_TEST((last.shape() == Shape{3, 3}));
  BOOST_TEST(last.to_vector() == V({0, 0, 1, 1, 0, 0, 0, 1, 0}), bt::per_element());
  const Tensor first = one_hot(labels, 4, 0);  // the course's (classes, m)
  BOOST_TEST((first.shape() == Shape{4, 3}));
  BOOST_TEST(first.to_vector() == V({0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}), bt::per_element());
  const Tensor two_d = one_hot(tensor({{0, 1}, {1, 1}}, float64), 2, 1);
  BOOST_TEST((two_d.shape() == Shape{2, 2, 2}));
  BOOST_TEST((two_d.dtype() == float64));
  BOOST_TEST(two_d.to_vector() == V({1, 0, 0, 1, 0, 0, 1, 1}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(batched_matmul_multiplies_each_matrix_with_broadcast_batches) {
  Generator gen(7);
  auto rnd = [&](const Shape& s) { return randn(s, float64, gen); };
  struct Case {
    Shape a, b, out;
  };
  for (const Case& c : {Case{{3, 2, 4}, {4, 5}, {3, 2, 5}}, Case{{3, 2, 4}, {3, 4, 5}, {3, 2, 5}},
                        Case{{1, 2, 4}, {3, 4, 5}, {3, 2, 5}}, Case{{2, 4}, {3, 4, 5}, {3, 2, 5}},
                        Case{{2, 1, 2, 4}, {3, 4, 1}, {2, 3, 2, 1}}}) {
    const Tensor A = rnd(c.a), B = rnd(c.b);
    const Tensor C = matmul(A, B);
    BOOST_TEST_REQUIRE(C.shape() == c.out);
    // Matrix i of C is A's matrix times B's, each repeated where its batch is 1.
    const Tensor Ab = broadcast_to(A, [&] {
      Shape s = c.out;
      s[s.size() - 1] = c.a.back();
      return s;
    }());
    const Tensor Bb = broadcast_to(B, [&] {
      Shape s = c.out;
      s[s.size() - 2] = c.b[c.b.size() - 2];
      return s;
    }());
    for (std::int64_t i = 0; i < numel(c.out) / (c.out[c.out.size() - 2] * c.out.back()); ++i)
      BOOST_TEST(matrix(C, i).to_vector() == matmul(matrix(Ab, i), matrix(Bb, i)).to_vector(),
                 bt::tolerance(1e-13) << bt::per_element());
  }
  // Vectors, as torch.matmul: (k) x (k, m) -> (m), (n, k) x (k) -> (n), (k) x (k) -> [].
  const Tensor M = tensor({{1, 2}, {3, 4}, {5, 6}});
  BOOST_TEST(matmul(tensor({1, 1, 1}), M).to_vector() == V({9, 12}), bt::per_element());
  BOOST_TEST(matmul(M, tensor({1, -1})).to_vector() == V({-1, -1, -1}), bt::per_element());
  BOOST_TEST(matmul(tensor({1, 2}), tensor({3, 4})).dim() == 0);
  BOOST_TEST(matmul(tensor({1, 2}), tensor({3, 4})).item() == 11.0);
  // Empty batch, empty inner extent.
  BOOST_TEST((matmul(ones({0, 2, 3}), ones({0, 3, 4})).shape() == Shape{0, 2, 4}));
  BOOST_TEST(matmul(ones({2, 2, 0}), ones({2, 0, 3})).to_vector() == V(12, 0.0), bt::per_element());
}
