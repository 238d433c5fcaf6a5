#include <algorithm>
#include <cmath>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/graph/gradcheck.hpp>
#include <tapegrad/graph/random.hpp>

namespace tapegrad {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  std::vector<Tensor> xs;
  for (const Tensor& in : inputs) {
    Tensor x = in.detach().to(float64);
    x.requires_grad_();
    xs.push_back(x);
  }
  Tensor out = f(xs);
  if (out.dtype() != float64)
    throw DtypeError("gradcheck: the function must keep float64 inputs in float64");
  Generator gen(options.seed);
  // Upstream gradient in [0.5, 1.5) with random signs: non-uniform, never near zero.
  std::vector<double> v(static_cast<std::size_t>(out.numel()));
  for (double& e : v) e = (0.5 + gen.uniform()) * (gen.uniform() < 0.5 ? -1.0 : 1.0);
  out.backward(tensor(v, out.shape(), float64));

  auto projected = [&]() {
    NoGradGuard no_grad;
    const std::vector<double> y = f(xs).to_vector();
    double s = 0;
    for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * v[i];
    return s;
  };

  struct Pair {
    double analytic, numeric;
    std::size_t input;
    std::int64_t index;
  };
  std::vector<Pair> pairs;
  const double h = options.step;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    const Tensor grad = xs[k].grad();
    const std::vector<double> analytic =
        grad.defined() ? grad.to_vector() : std::vector<double>(xs[k].numel(), 0.0);
    double* p = xs[k].data<double>();
    for (std::int64_t i = 0; i < xs[k].numel(); ++i) {
      const double x0 = p[i];
      auto at = [&](double dx) {
        p[i] = x0 + dx;
        return projected();
      };
      const double numeric = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
      p[i] = x0;
      pairs.push_back({analytic[i], numeric, k, i});
    }
  }

  GradcheckResult r;
  double scale = 0;
  bool finite = true;
  for (const Pair& q : pairs) {
    scale = std::max({scale, std::fabs(q.analytic), std::fabs(q.numeric)});
    finite = finite && std::isfinite(q.analytic) && std::isfinite(q.numeric);
  }
  double worst_rel = -1;
  for (const Pair& q : pairs) {
    const double abs_err = std::fabs(q.analytic - q.numeric);
    const double denom = std::max({std::fabs(q.analytic), std::fabs(q.numeric), 1e-3 * scale});
    const double rel = denom > 0 ? abs_err / denom : 0.0;
    r.max_abs_error = std::max(r.max_abs_error, abs_err);
    if (rel > worst_rel) {
      worst_rel = rel;
      r.max_rel_error = rel;
      r.worst_input = q.input;
      r.worst_index = q.index;
      r.analytic = q.analytic;
      r.numeric = q.numeric;
    }
  }
  if (pairs.empty()) {
    r.message = "gradcheck: no input elements to check";
  } else if (!finite) {
    r.message = "gradcheck: a gradient is NaN or infinite";
  } else if (scale == 0) {
    r.message =
        "gradcheck: every analytic and numeric gradient is 0, so the relative error is "
        "0/0 and proves nothing; pick inputs where the output depends on them";
  } else {
    r.passed = r.max_rel_error <= options.rtol;
    r.message = fmt::format(
        "gradcheck {}: max relative error {:.3e}, max absolute error {:.3e}, worst at input {} "
        "element {} (analytic {:.10g}, numeric {:.10g})",
        r.passed ? "passed" : "FAILED", r.max_rel_error, r.max_abs_error, r.worst_input,
        r.worst_index, r.analytic, r.numeric);
  }
  if (!r.passed && r.message.find("FAILED") == std::string::npos && !pairs.empty())
    r.message = "gradcheck FAILED: " + r.message.substr(std::string_view("gradcheck: ").size());
  return r;
}

}  // namespace tapegrad
