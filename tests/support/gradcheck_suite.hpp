#pragma once
// The gradient-check harness of the suites that prove backward rules (test_gradcheck,
// test_normalization, ...): check() runs tapegrad::gradcheck (float64, max relative
// error 1e-6) and compares the float32 backward with the float64 one, printing one line
// for each:
//   gradcheck sigmoid [3, 4]: max_rel_error 3.1e-11
//   gradcheck-f32 sigmoid [3, 4]: max_rel_diff_vs_float64 2.0e-08
// and, when the test program ends, the worst relative error of each op ("gradcheck
// worst ..." lines, which make test gathers). Include it in one file per test program:
// it defines the Boost.Test global fixture that prints the summary.
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "test_support.hpp"

namespace tapegrad::test {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

constexpr double kGradcheckTolerance = 1e-6;  // float64 against finite differences
constexpr double kFloat32Tolerance = 1e-4;    // float32 backward against float64 backward

struct Worst {
  double rel = 0, f32 = 0;
  int checks = 0;
};
std::map<std::string, Worst>& worst_by_op() {
  static std::map<std::string, Worst> table;
  return table;
}

struct PrintSummary {
  ~PrintSummary() {
    fmt::print("gradcheck summary: worst relative error per op ({} ops)\n", worst_by_op().size());
    for (const auto& [op, w] : worst_by_op())
      fmt::print(
          "gradcheck worst {}: max_rel_error {:.1e}, float32 max_rel_diff {:.1e} ({} checks)\n", op,
          w.rel, w.f32, w.checks);
    std::fflush(stdout);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(PrintSummary);

// Gradients of f at `inputs` converted to `dtype`, for a seeded upstream gradient whose
// values are exact in float32 (so both dtypes backpropagate the same numbers).
std::vector<std::vector<double>> backward_grads(const Fn& f, const std::vector<Tensor>& inputs,
                                                Dtype dtype) {
  std::vector<Tensor> xs;
  for (const Tensor& in : inputs) {
    Tensor x = in.to(dtype);
    x.requires_grad_();
    xs.push_back(x);
  }
  Tensor out = f(xs);
  BOOST_REQUIRE(out.dtype() == dtype);
  Generator gen(99);
  std::vector<double> v(static_cast<std::size_t>(out.numel()));
  for (double& e : v)
    e = static_cast<float>((0.5 + gen.uniform()) * (gen.uniform() < 0.5 ? -1.0 : 1.0));
  out.backward(tensor(v, out.shape(), dtype));
  std::vector<std::vector<double>> grads;
  for (const Tensor& x : xs) {
    BOOST_REQUIRE_MESSAGE(x.grad().defined(), "backward gave no gradient to an input");
    grads.push_back(x.grad().to_vector());
  }
  return grads;
}

// Worst relative difference between the float32 and the float64 backward of f, both
// run on the float32-rounded inputs.
double float32_vs_float64(const Fn& f, const std::vector<Tensor>& inputs) {
  std::vector<Tensor> rounded;
  for (const Tensor& in : inputs) rounded.push_back(in.to(float32).to(float64));
  const auto g64 = backward_grads(f, rounded, float64);
  const auto g32 = backward_grads(f, rounded, float32);
  double worst = 0;
  for (std::size_t k = 0; k < g64.size(); ++k)
    worst = std::max(worst, max_rel_diff(g32[k], g64[k]));
  return worst;
}

// Runs both checks on f at `inputs` and prints one line for each. `label` starts with
// the op's name (the key of the summary), then says which variant is checked.
void check(const std::string& label, const Fn& f, const std::vector<Tensor>& inputs) {
  const std::string op = label.substr(0, label.find(' '));
  const std::string what = fmt::format("{} {}", label, shapes_str(inputs));
  // passed means max_rel_error <= rtol, with finite and not all-zero gradients.
  const GradcheckResult r = gradcheck(f, inputs, {.rtol = kGradcheckTolerance});
  fmt::print("gradcheck {}: max_rel_error {:.1e}\n", what, r.max_rel_error);
  BOOST_TEST(r.passed, what << ": " << r.message);

  const double f32 = float32_vs_float64(f, inputs);
  fmt::print("gradcheck-f32 {}: max_rel_diff_vs_float64 {:.1e}\n", what, f32);
  std::fflush(stdout);
  BOOST_TEST(f32 <= kFloat32Tolerance,
             what << ": float32 backward differs from float64 by " << f32);

  Worst& w = worst_by_op()[op];
  w.rel = std::max(w.rel, r.max_rel_error);
  w.f32 = std::max(w.f32, f32);
  ++w.checks;
}

}  // namespace tapegrad::test
