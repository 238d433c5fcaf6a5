// The course's activation functions and their derivatives: sigmoid, tanh, ReLU and
// leaky ReLU. The derivatives are not written here: each is the gradient backward()
// computes for sum(g(x)), whose d/dx_i is g'(x_i). The formulas the course gives are
// only used to check them.
//
//   build/examples/activations              # out/activations.svg, out/activation_derivatives.svg
//   build/examples/activations --slope 0.01 --min -3 --max 3
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <utility>
#include <vector>

#include "common/cli.hpp"

using namespace tapegrad;

struct Activation {
  std::string name;
  std::function<Tensor(const Tensor&)> g;  // the op
  std::function<double(double)> g_prime;   // the course's formula, to check against
};

int main(int argc, char** argv) {
  CLI::App app{"Sigmoid, tanh, ReLU, leaky ReLU and their derivatives (by backward())"};
  double lo = -5, hi = 5, slope = 0.1;
  std::int64_t points = 201;
  examples::RunOptions run;
  app.add_option("--min", lo, "left end of x")
      ->check(examples::finite_number())
      ->capture_default_str();
  app.add_option("--max", hi, "right end of x")
      ->check(examples::finite_number())
      ->capture_default_str();
  app.add_option("--points", points, "values of x")
      ->check(examples::whole_number<std::int64_t>(2, 1000000))
      ->capture_default_str();
  app.add_option("--slope", slope,
                 "leaky ReLU's slope for x < 0 (0.01 is usual; 0.1 shows in the plot)")
      ->check(examples::finite_number())
      ->capture_default_str();
  examples::add_run_options(app, run);
  return examples::run_example(argc, argv, app, [&] {
    if (!(lo < hi))
      throw examples::UsageError(fmt::format("--min must be below --max, got {} and {}", lo, hi));
    examples::check_paths(run);
    progress::Stopwatch watch;

    auto sigma = [](double z) { return 1 / (1 + std::exp(-z)); };
    const std::vector<Activation> activations = {
        {"sigmoid", [](const Tensor& x) { return sigmoid(x); },
         [&](double z) { return sigma(z) * (1 - sigma(z)); }},
        {"tanh", [](const Tensor& x) { return tanh(x); },
         [](double z) { return 1 - std::tanh(z) * std::tanh(z); }},
        {"relu", [](const Tensor& x) { return relu(x); },
         [](double z) { return z > 0 ? 1.0 : 0.0; }},
        {"leaky_relu", [&](const Tensor& x) { return leaky_relu(x, slope); },
         [&](double z) { return z > 0 ? 1.0 : slope; }},
    };

    // x: `points` values from lo to hi, float64, a leaf whose gradient backward() fills.
    std::vector<double> xs(static_cast<std::size_t>(points));
    for (std::int64_t i = 0; i < points; ++i)
      xs[i] = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(points - 1);
    Tensor x = tensor(xs, {points}, float64).requires_grad_();

    std::vector<std::pair<std::string, std::vector<double>>> values, derivatives;
    double max_error = 0;
    for (const Activation& a : activations) {
      Tensor y = a.g(x);
      sum(y).backward();  // d sum(g(x)) / dx_i = g'(x_i)
      std::vector<double> dy = x.grad().to_vector();
      x.zero_grad();
      for (std::int64_t i = 0; i < points; ++i)
        max_error = std::max(max_error, std::abs(dy[i] - a.g_prime(xs[i])));
      values.emplace_back(a.name, y.to_vector());
      derivatives.emplace_back(a.name + "'", std::move(dy));
    }

    // ---- a few values ----------------------------------------------------------------------
    const std::vector<double> probes = {-2, -0.5, 0, 0.5, 2};
    fmt::print("{:>12} {:>8}", "", "x");
    for (double p : probes) fmt::print(" {:>8}", p);
    fmt::print("\n");
    for (const Activation& a : activations) {
      Tensor at =
          tensor(probes, {static_cast<std::int64_t>(probes.size())}, float64).requires_grad_();
      Tensor y = a.g(at);
      sum(y).backward();
      for (const auto& [label, v] : {std::pair{std::string("g(x)"), y.to_vector()},
                                     std::pair{std::string("g'(x)"), at.grad().to_vector()}}) {
        fmt::print("{:>12} {:>8}", label == "g(x)" ? a.name : "", label);
        for (double value : v) fmt::print(" {:8.4f}", value);
        fmt::print("\n");
      }
    }

    // ---- pictures ------------------------------------------------------------------------
    const auto values_file = run.out / "activations.svg";
    const auto derivatives_file = run.out / "activation_derivatives.svg";
    plot::curves(values_file, xs, values,
                 {.title = fmt::format("Activation functions (leaky ReLU slope {})", slope),
                  .x_label = "z",
                  .y_label = "g(z)"});
    plot::curves(
        derivatives_file, xs, derivatives,
        {.title = "Their derivatives, computed by backward()", .x_label = "z", .y_label = "g'(z)"});

    examples::result("activations_plot", values_file.string());
    examples::result("derivatives_plot", derivatives_file.string());
    examples::result("sigmoid_grad_at_0",
                     derivatives[0].second[static_cast<std::size_t>(points / 2)]);
    examples::result("max_error_vs_formula", fmt::format("{:.3g}", max_error));
    examples::result("seconds", watch.seconds(), 2);
  });
}
