#define BOOST_TEST_MODULE optim
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;
using Vec = std::vector<double>;

namespace {

Tensor param(const Vec& values, const Shape& shape, Dtype dtype = float64) {
  Tensor t = tensor(values, shape, dtype);
  t.requires_grad_();
  return t;
}

void check_close(const Vec& got, const Vec& want, double tol, const char* what) {
  BOOST_TEST_REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    BOOST_TEST(std::abs(got[i] - want[i]) <= tol,
               what << "[" << i << "]: " << std::setprecision(17) << got[i] << " vs " << want[i]);
}

// The gradient the tests feed at step t: depends on the current weights (so weight
// decay and state both matter) and on t (so steps differ).
double grad_rule(double w, std::size_t i, int t) {
  return 2.0 * w - 0.5 + 0.3 * static_cast<double>(i) - 0.7 * t;
}

// Runs `steps` steps of `opt` on params p0, p1 (float64), feeding grad_rule, and
// checks every step against `reference`, which updates plain vectors by hand.
void compare_with_hand(
    optim::Optimizer& opt, std::vector<Tensor>& params,
    const std::function<void(std::vector<Vec>& w, const std::vector<Vec>& g, int t)>& reference,
    int steps = 3) {
  std::vector<Vec> w;
  for (const Tensor& p : params) w.push_back(p.to_vector());
  for (int t = 1; t <= steps; ++t) {
    std::vector<Vec> g(w.size());
    for (std::size_t k = 0; k < params.size(); ++k) {
      for (std::size_t i = 0; i < w[k].size(); ++i) g[k].push_back(grad_rule(w[k][i], i, t));
      params[k].set_grad(tensor(g[k], params[k].shape(), float64));
    }
    opt.step();
    reference(w, g, t);
    for (std::size_t k = 0; k < params.size(); ++k)
      check_close(params[k].to_vector(), w[k], 1e-12, "param");
  }
}

std::vector<Tensor> two_params() {
  return {param({0.5, -1.25, 2.0, 0.75, -0.1, 3.0}, {2, 3}), param({1.5, -0.5}, {2, 1})};
}

}  // namespace

// ---- first steps match the published formulas -----------------------------------------

BOOST_AUTO_TEST_CASE(sgd_first_steps_match_gradient_descent_formula) {
  auto ps = two_params();
  optim::SGD opt(ps, 0.1);
  compare_with_hand(opt, ps, [](auto& w, const auto& g, int) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) w[k][i] -= 0.1 * g[k][i];
  });
}

BOOST_AUTO_TEST_CASE(sgd_weight_decay_adds_l2_term_to_gradient) {
  auto ps = two_params();
  optim::SGD opt(ps, {.lr = 0.1, .weight_decay = 0.01});
  compare_with_hand(opt, ps, [](auto& w, const auto& g, int) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) w[k][i] -= 0.1 * (g[k][i] + 0.01 * w[k][i]);
  });
}

BOOST_AUTO_TEST_CASE(sgd_momentum_first_steps_match_formula) {
  auto ps = two_params();
  optim::SGD opt(ps, {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.02});
  std::vector<Vec> v = {Vec(6, 0.0), Vec(2, 0.0)};
  compare_with_hand(opt, ps, [&](auto& w, const auto& g, int) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        const double gi = g[k][i] + 0.02 * w[k][i];
        v[k][i] = 0.9 * v[k][i] + gi;  // PyTorch: buf = mu buf + g
        w[k][i] -= 0.05 * v[k][i];
      }
  });
}

BOOST_AUTO_TEST_CASE(sgd_dampened_momentum_is_the_course_exponential_average) {
  auto ps = two_params();
  optim::SGD opt(ps, {.lr = 0.05, .momentum = 0.9, .dampening = 0.9});
  std::vector<Vec> v = {Vec(6, 0.0), Vec(2, 0.0)};
  compare_with_hand(opt, ps, [&](auto& w, const auto& g, int) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        v[k][i] = 0.9 * v[k][i] + (1 - 0.9) * g[k][i];  // v = beta v + (1 - beta) dW
        w[k][i] -= 0.05 * v[k][i];
      }
  });
}

BOOST_AUTO_TEST_CASE(sgd_nesterov_first_steps_match_formula) {
  auto ps = two_params();
  optim::SGD opt(ps, {.lr = 0.05, .momentum = 0.8, .nesterov = true, .weight_decay = 0.01});
  std::vector<Vec> v = {Vec(6, 0.0), Vec(2, 0.0)};
  compare_with_hand(opt, ps, [&](auto& w, const auto& g, int) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        const double gi = g[k][i] + 0.01 * w[k][i];
        v[k][i] = 0.8 * v[k][i] + gi;
        w[k][i] -= 0.05 * (gi + 0.8 * v[k][i]);
      }
  });
}

BOOST_AUTO_TEST_CASE(rmsprop_first_steps_match_formula) {
  auto ps = two_params();
  optim::RMSprop opt(ps, {.lr = 0.01, .alpha = 0.9, .eps = 1e-8, .weight_decay = 0.03});
  std::vector<Vec> s = {Vec(6, 0.0), Vec(2, 0.0)};
  compare_with_hand(opt, ps, [&](auto& w, const auto& g, int) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        const double gi = g[k][i] + 0.03 * w[k][i];
        s[k][i] = 0.9 * s[k][i] + 0.1 * gi * gi;
        w[k][i] -= 0.01 * gi / (std::sqrt(s[k][i]) + 1e-8);
      }
  });
}

BOOST_AUTO_TEST_CASE(adam_first_steps_match_formula_with_bias_correction) {
  auto ps = two_params();
  optim::Adam opt(ps,
                  {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.05});
  std::vector<Vec> m = {Vec(6, 0.0), Vec(2, 0.0)}, v = m;
  compare_with_hand(opt, ps, [&](auto& w, const auto& g, int t) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        const double gi = g[k][i] + 0.05 * w[k][i];
        m[k][i] = 0.9 * m[k][i] + 0.1 * gi;
        v[k][i] = 0.999 * v[k][i] + 0.001 * gi * gi;
        const double m_hat = m[k][i] / (1 - std::pow(0.9, t));
        const double v_hat = v[k][i] / (1 - std::pow(0.999, t));
        w[k][i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
      }
  });
}

BOOST_AUTO_TEST_CASE(adam_first_step_moves_each_weight_by_about_lr) {
  // With bias correction, step 1 is lr * g / (|g| + eps): about lr whatever g's scale.
  Tensor w = param({0.0, 0.0}, {2});
  optim::Adam opt({w}, 0.1);
  w.set_grad(tensor({1e-3, -50.0}, {2}, float64));
  opt.step();
  check_close(w.to_vector(), {-0.1, 0.1}, 1e-5, "w");
}

// ---- step counter, skipping, zero_grad -------------------------------------------------

BOOST_AUTO_TEST_CASE(adam_step_counter_advances_once_per_step_with_several_params) {
  std::vector<Tensor> ps = {param({1, 2}, {2}), param({3}, {1}), param({4, 5, 6}, {3})};
  optim::Adam opt(ps, 0.01);
  BOOST_TEST(opt.step_count() == 0);
  for (int s = 1; s <= 4; ++s) {
    for (auto& p : ps) p.set_grad(ones_like(p));
    opt.step();
    BOOST_TEST(opt.step_count() == s);
  }
  // With the counter right, every element's step-t update is the same for g = 1:
  // p0 -= lr * 1 / (1 + eps) each step, so 4 steps move each weight by ~4 lr.
  check_close(ps[2].to_vector(), {4 - 0.04, 5 - 0.04, 6 - 0.04}, 1e-8, "p2");
  // The counter is saved with the state: it must be there, and say 4.
  const NamedTensors state = opt.state();
  const auto step =
      std::find_if(state.begin(), state.end(), [](const auto& e) { return e.first == "step"; });
  BOOST_TEST_REQUIRE((step != state.end()), "Adam's state() has no \"step\" entry");
  BOOST_TEST(step->second.item() == 4.0);
}

BOOST_AUTO_TEST_CASE(parameter_without_grad_is_skipped) {
  // With weight decay, a parameter whose missing grad were read as zero would still move
  // (g = wd * y); a skipped one keeps its value, its undefined grad and its zero state.
  constexpr double lr = 0.1, wd = 0.5;
  for (int which = 0; which < 3; ++which) {
    Tensor x = param({1, 2}, {2}), y = param({3, 4}, {2});
    const std::vector<Tensor> ps = {x, y};
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0)
      opt = std::make_unique<optim::SGD>(
          ps, optim::SGDOptions{.lr = lr, .momentum = 0.9, .weight_decay = wd});
    if (which == 1)
      opt =
          std::make_unique<optim::RMSprop>(ps, optim::RMSpropOptions{.lr = lr, .weight_decay = wd});
    if (which == 2)
      opt = std::make_unique<optim::Adam>(ps, optim::AdamOptions{.lr = lr, .weight_decay = wd});
    x.set_grad(ones_like(x));
    opt->step();
    BOOST_TEST_CONTEXT(opt->name()) {
      BOOST_TEST(y.to_vector() == Vec({3, 4}), boost::test_tools::per_element());
      BOOST_TEST(!y.grad().defined());
      int y_state = 0;  // velocity.1; square_avg.1; exp_avg.1 and exp_avg_sq.1
      for (const auto& [name, t] : opt->state())
        if (name.ends_with(".1")) {
          ++y_state;
          BOOST_TEST(t.to_vector() == Vec({0, 0}), boost::test_tools::per_element());
        }
      BOOST_TEST(y_state == (which == 2 ? 2 : 1));
    }
    // x takes the first step of its formula, g = 1 + wd x (defaults: alpha 0.99, eps 1e-8).
    Vec want;
    for (double x0 : {1.0, 2.0}) {
      const double g = 1 + wd * x0;
      if (which == 0) want.push_back(x0 - lr * g);  // v = g
      if (which == 1) want.push_back(x0 - lr * g / (std::sqrt(0.01 * g * g) + 1e-8));
      if (which == 2) want.push_back(x0 - lr * g / (std::abs(g) + 1e-8));  // m_hat = g
    }
    check_close(x.to_vector(), want, 1e-12, opt->name().c_str());
  }
}

BOOST_AUTO_TEST_CASE(zero_grad_zeroes_every_gradient) {
  Tensor w = param({1, 2, 3}, {3});
  Tensor loss = sum(w * w);
  loss.backward();
  optim::SGD opt({w}, 0.1);
  BOOST_TEST(w.grad().to_vector() == Vec({2, 4, 6}));
  opt.zero_grad();
  BOOST_TEST(w.grad().to_vector() == Vec({0, 0, 0}));
}

BOOST_AUTO_TEST_CASE(optimizer_rejects_non_leaf_and_repeated_parameters) {
  Tensor w = param({1, 2}, {2});
  Tensor y = w * 2.0;
  BOOST_CHECK_THROW(optim::SGD({y}, 0.1), ValueError);
  BOOST_CHECK_THROW(optim::SGD({w, w}, 0.1), ValueError);
  BOOST_CHECK_THROW(optim::SGD({w}, -1.0), ValueError);
  BOOST_CHECK_THROW(optim::SGD({w}, optim::SGDOptions{.lr = 0.1, .nesterov = true}), ValueError);
  BOOST_CHECK_THROW(optim::Adam({w}, optim::AdamOptions{.beta1 = 1.0}), ValueError);
}

BOOST_AUTO_TEST_CASE(lr_is_readable_and_settable) {
  Tensor w = param({1}, {1});
  optim::Adam opt({w}, 0.01);
  BOOST_TEST(opt.lr() == 0.01);
  opt.set_lr(0.5);
  BOOST_TEST(opt.lr() == 0.5);
  BOOST_CHECK_THROW(opt.set_lr(-0.1), ValueError);
  w.set_grad(ones_like(w));
  opt.step();
  BOOST_TEST(w.item() == 0.5, boost::test_tools::tolerance(1e-6));  // 1 - 0.5 * 1/(1+eps)
}

// ---- a non-finite hyperparameter is an error that names the optimizer and the value ----

namespace {

const double kNan = std::nan("");
const double kInf = std::numeric_limits<double>::infinity();

// Runs `make`, which must throw ValueError whose message holds `who` and `value`.
void check_rejects(const std::function<void()>& make, const std::string& who,
                   const std::string& value) {
  try {
    make();
    BOOST_ERROR(who << ": no ValueError for " << value);
  } catch (const ValueError& e) {
    const std::string message = e.what();
    BOOST_TEST(message.starts_with(who + ": "), message);
    BOOST_TEST(message.find("got " + value) != std::string::npos, message);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(sgd_rejects_non_finite_lr_and_momentum) {
  Tensor w = param({1, 2}, {2});
  check_rejects([&] { optim::SGD({w}, kNan); }, "SGD", "nan");
  check_rejects([&] { optim::SGD({w}, kInf); }, "SGD", "inf");
  check_rejects([&] { optim::SGD({w}, {.lr = 0.1, .momentum = kNan}); }, "SGD", "nan");
  check_rejects([&] { optim::SGD({w}, {.lr = 0.1, .momentum = kInf}); }, "SGD", "inf");
  check_rejects([&] { optim::SGD({w}, {.lr = 0.1, .weight_decay = kInf}); }, "SGD", "inf");
  check_rejects([&] { optim::SGD({w}, {.lr = 0.1, .dampening = kNan}); }, "SGD", "nan");
  optim::SGD opt({w}, 0.1);
  check_rejects([&] { opt.set_lr(kNan); }, "SGD::set_lr", "nan");
  check_rejects([&] { opt.set_lr(-kInf); }, "SGD::set_lr", "-inf");
  BOOST_TEST(opt.lr() == 0.1);  // a rejected lr leaves the old one
}

BOOST_AUTO_TEST_CASE(rmsprop_rejects_non_finite_lr_alpha_and_eps) {
  Tensor w = param({1, 2}, {2});
  check_rejects([&] { optim::RMSprop({w}, kNan); }, "RMSprop", "nan");
  check_rejects([&] { optim::RMSprop({w}, kInf); }, "RMSprop", "inf");
  check_rejects([&] { optim::RMSprop({w}, {.lr = 0.1, .alpha = kNan}); }, "RMSprop", "nan");
  check_rejects([&] { optim::RMSprop({w}, {.lr = 0.1, .eps = kNan}); }, "RMSprop", "nan");
  check_rejects([&] { optim::RMSprop({w}, {.lr = 0.1, .eps = kInf}); }, "RMSprop", "inf");
  optim::RMSprop opt({w}, 0.1);
  check_rejects([&] { opt.set_lr(kInf); }, "RMSprop::set_lr", "inf");
  BOOST_TEST(opt.lr() == 0.1);
}

BOOST_AUTO_TEST_CASE(adam_rejects_non_finite_lr_betas_and_eps) {
  Tensor w = param({1, 2}, {2});
  check_rejects([&] { optim::Adam({w}, kNan); }, "Adam", "nan");
  check_rejects([&] { optim::Adam({w}, kInf); }, "Adam", "inf");
  check_rejects([&] { optim::Adam({w}, {.beta1 = kNan}); }, "Adam", "nan");
  check_rejects([&] { optim::Adam({w}, {.beta2 = kNan}); }, "Adam", "nan");
  check_rejects([&] { optim::Adam({w}, {.eps = kInf}); }, "Adam", "inf");
  check_rejects([&] { optim::Adam({w}, {.weight_decay = kNan}); }, "Adam", "nan");
  optim::Adam opt({w}, 0.1);
  check_rejects([&] { opt.set_lr(kNan); }, "Adam::set_lr", "nan");
  BOOST_TEST(opt.lr() == 0.1);
}

// ---- AdamW ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(adamw_two_steps_match_hand_computed_values) {
  // w = 1, lr 0.1, wd 0.5: each step first w *= 1 - 0.05, then Adam's step on the raw g.
  Tensor w = param({1.0}, {1});
  optim::AdamW opt({w}, {.lr = 0.1, .weight_decay = 0.5});
  w.set_grad(tensor({2.0}, {1}, float64));
  opt.step();
  // 0.95 - 0.1 * 2 / (sqrt(4) + 1e-8): m_hat = 2, v_hat = 4.
  check_close(w.to_vector(), {0.8500000004999999}, 1e-15, "step 1");
  w.set_grad(tensor({-1.0}, {1}, float64));
  opt.step();
  // 0.95 w - 0.1 (0.08 / 0.19) / (sqrt(0.004996 / 0.001999) + 1e-8).
  check_close(w.to_vector(), {0.7808662966774315}, 1e-15, "step 2");
  const NamedTensors state = opt.state();
  check_close(state[2].second.to_vector(), {0.08}, 1e-16, "exp_avg");
  check_close(state[3].second.to_vector(), {0.004996}, 1e-17, "exp_avg_sq");
}

BOOST_AUTO_TEST_CASE(adamw_first_steps_match_formula_with_decoupled_decay) {
  auto ps = two_params();
  optim::AdamW opt(ps, {.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.3});
  std::vector<Vec> m = {Vec(6, 0.0), Vec(2, 0.0)}, v = m;
  compare_with_hand(opt, ps, [&](auto& w, const auto& g, int t) {
    for (std::size_t k = 0; k < w.size(); ++k)
      for (std::size_t i = 0; i < w[k].size(); ++i) {
        w[k][i] *= 1 - 0.01 * 0.3;  // decoupled: the decay never enters m and v
        const double gi = g[k][i];
        m[k][i] = 0.8 * m[k][i] + 0.2 * gi;
        v[k][i] = 0.99 * v[k][i] + 0.01 * gi * gi;
        const double m_hat = m[k][i] / (1 - std::pow(0.8, t));
        const double v_hat = v[k][i] / (1 - std::pow(0.99, t));
        w[k][i] -= 0.01 * m_hat / (std::sqrt(v_hat) + 1e-6);
      }
  });
}

BOOST_AUTO_TEST_CASE(adamw_with_zero_weight_decay_is_adam) {
  auto a = two_params(), b = two_params();
  optim::Adam adam(a, {.lr = 0.02});
  optim::AdamW adamw(b, {.lr = 0.02, .weight_decay = 0.0});
  for (int t = 1; t <= 3; ++t) {
    for (std::size_t k = 0; k < a.size(); ++k) {
      Vec g;
      for (std::size_t i = 0; i < static_cast<std::size_t>(a[k].numel()); ++i)
        g.push_back(grad_rule(a[k].to_vector()[i], i, t));
      a[k].set_grad(tensor(g, a[k].shape(), float64));
      b[k].set_grad(tensor(g, b[k].shape(), float64));
    }
    adam.step();
    adamw.step();
    for (std::size_t k = 0; k < a.size(); ++k)
      BOOST_TEST(a[k].to_vector() == b[k].to_vector(), boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(adamw_decay_with_a_zero_gradient_shrinks_by_1_minus_lr_wd) {
  // g = 0: Adam's step is 0 / (0 + eps) = 0, so only the decay moves w, by exactly
  // 1 - lr wd a step. Adam's coupled decay instead feeds wd w into m and v, and moves
  // w by about lr: the two are not the same optimizer.
  Tensor w = param({2.0, -4.0}, {2});
  optim::AdamW opt({w}, {.lr = 0.1, .weight_decay = 0.2});
  for (int t = 0; t < 3; ++t) {
    w.set_grad(zeros({2}, float64));
    opt.step();
  }
  check_close(w.to_vector(), {2.0 * std::pow(0.98, 3), -4.0 * std::pow(0.98, 3)}, 1e-15, "AdamW");
  Tensor c = param({2.0, -4.0}, {2});
  optim::Adam coupled({c}, {.lr = 0.1, .weight_decay = 0.2});
  c.set_grad(zeros({2}, float64));
  coupled.step();
  check_close(c.to_vector(), {1.9, -3.9}, 1e-6, "Adam");
}

BOOST_AUTO_TEST_CASE(adamw_state_names_defaults_and_float32) {
  std::vector<Tensor> ps = two_params();
  optim::AdamW opt(ps, 0.01);
  BOOST_TEST(opt.name() == "AdamW");
  BOOST_TEST(opt.options().weight_decay == 1e-2);  // PyTorch's default
  BOOST_TEST(optim::AdamWOptions{}.lr == 1e-3);
  BOOST_TEST(opt.lr() == 0.01);
  std::vector<std::string> names;
  for (const auto& [name, t] : opt.state()) names.push_back(name);
  BOOST_TEST(names == std::vector<std::string>(
                          {"lr", "step", "exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1"}),
             boost::test_tools::per_element());
  // A saved state loads into a new AdamW, step count included.
  for (auto& p : ps) p.set_grad(ones_like(p));
  opt.step();
  opt.step();
  std::vector<Tensor> qs = two_params();
  optim::AdamW other(qs, 0.01);
  other.load_state(opt.state());
  BOOST_TEST(other.step_count() == 2);
  BOOST_TEST(other.state()[2].second.to_vector() == opt.state()[2].second.to_vector(),
             boost::test_tools::per_element());
  // float32: in place, 1 - lr wd applied in float32.
  Tensor w = param({1, 2}, {2}, float32);
  optim::AdamW f32({w}, {.lr = 0.1, .weight_decay = 0.5});
  w.set_grad(ones({2}, float32));
  f32.step();
  check_close(w.to_vector(), {0.95 - 0.1, 1.9 - 0.1}, 1e-6, "float32 w");
}

BOOST_AUTO_TEST_CASE(adamw_rejects_bad_options_naming_itself) {
  Tensor w = param({1, 2}, {2});
  check_rejects([&] { optim::AdamW({w}, kNan); }, "AdamW", "nan");
  check_rejects([&] { optim::AdamW({w}, -1.0); }, "AdamW", "-1");
  check_rejects([&] { optim::AdamW({w}, {.beta1 = 1.0}); }, "AdamW", "1");
  check_rejects([&] { optim::AdamW({w}, {.beta2 = kNan}); }, "AdamW", "nan");
  check_rejects([&] { optim::AdamW({w}, {.eps = kInf}); }, "AdamW", "inf");
  check_rejects([&] { optim::AdamW({w}, {.weight_decay = -0.1}); }, "AdamW", "-0.1");
  try {
    optim::AdamW({w}, {.beta1 = 1.0});
    BOOST_ERROR("no ValueError for beta1 = 1");
  } catch (const ValueError& e) {
    BOOST_TEST(std::string(e.what()) == "AdamW: beta1 must be in [0, 1), got 1");
  }
  try {
    optim::AdamW({w}, {.weight_decay = kInf});
    BOOST_ERROR("no ValueError for weight_decay = inf");
  } catch (const ValueError& e) {
    BOOST_TEST(std::string(e.what()) ==
               "AdamW: weight_decay must be a finite number >= 0, got inf");
  }
  optim::AdamW opt({w}, 0.1);
  check_rejects([&] { opt.set_lr(kNan); }, "AdamW::set_lr", "nan");
  BOOST_TEST(opt.lr() == 0.1);
}

BOOST_AUTO_TEST_CASE(a_schedule_giving_nan_is_rejected_by_set_lr) {
  Tensor w = param({1}, {1});
  optim::SGD opt({w}, 0.1);
  check_rejects(
      [&] {
        optim::apply_schedule(optim::ExponentialDecay{kNan, 0.5}, opt, 1);
      },
      "SGD::set_lr", "nan");
}

BOOST_AUTO_TEST_CASE(float32_parameters_update_in_place) {
  Tensor w = param({1, 2}, {2}, float32);
  const void* before = w.raw_data();
  optim::Adam opt({w}, 0.1);
  w.set_grad(ones({2}, float32));
  opt.step();
  BOOST_TEST(w.raw_data() == before);
  BOOST_TEST((w.dtype() == float32));
  check_close(w.to_vector(), {0.9, 1.9}, 1e-6, "w");
}

BOOST_AUTO_TEST_CASE(state_tensors_are_named_and_shaped_like_params) {
  std::vector<Tensor> ps = two_params();
  optim::Adam adam(ps, 0.01);
  std::vector<std::string> names;
  for (const auto& [name, t] : adam.state()) names.push_back(name);
  BOOST_TEST(names == std::vector<std::string>(
                          {"lr", "step", "exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1"}),
             boost::test_tools::per_element());
  BOOST_TEST(adam.state()[3].second.shape() == Shape({2, 1}));
  optim::SGD plain(ps, 0.1);
  BOOST_TEST(plain.state().size() == 1u);  // lr only: no velocity without momentum
  optim::SGD momentum(ps, {.lr = 0.1, .momentum = 0.9});
  BOOST_TEST(momentum.state().size() == 3u);
}

BOOST_AUTO_TEST_CASE(load_state_restores_and_rejects_mismatch_without_change) {
  std::vector<Tensor> ps = two_params();
  optim::Adam a(ps, 0.01);
  for (auto& p : ps) p.set_grad(ones_like(p));
  a.step();
  a.step();
  a.set_lr(0.003);

  std::vector<Tensor> qs = two_params();
  optim::Adam b(qs, 0.01);
  NamedTensors saved;
  for (const auto& [name, t] : a.state()) saved.emplace_back(name, t.clone());
  b.load_state(saved);
  BOOST_TEST(b.step_count() == 2);
  BOOST_TEST(b.lr() == 0.003);
  BOOST_TEST(b.state()[2].second.to_vector() == a.state()[2].second.to_vector(),
             boost::test_tools::per_element());

  optim::Adam c(qs, 0.01);
  NamedTensors bad = saved;
  bad.back().second = zeros({5}, float64);  // wrong shape for exp_avg_sq.1
  BOOST_CHECK_THROW(c.load_state(bad), ShapeError);
  BOOST_TEST(c.step_count() == 0);  // nothing was assigned, not even the entries before
  BOOST_TEST(c.lr() == 0.01);
  NamedTensors missing(saved.begin(), saved.end() - 1);
  BOOST_CHECK_THROW(c.load_state(missing), ValueError);
  NamedTensors extra = saved;
  extra.emplace_back("velocity.0", zeros({2, 3}, float64));
  BOOST_CHECK_THROW(c.load_state(extra), ValueError);
  BOOST_TEST(c.step_count() == 0);
}

// ---- convergence on convex problems ---------------------------------------------------

namespace {

// Least squares: min_x mean((A x - y)^2), A (30, 4) well conditioned, y = A x*.
struct LeastSquares {
  Tensor A, y;
  Vec x_star = {1.0, -2.0, 0.5, 3.0};
  explicit LeastSquares(Dtype dtype) {
    Generator gen(11);
    A = randn({30, 4}, dtype, gen);
    y = matmul(A, tensor(x_star, {4, 1}, dtype));
  }
  double loss_and_grad(const Tensor& x) const {
    Tensor loss = mse_loss(matmul(A, x), y);
    loss.backward();
    return loss.item();
  }
};

void drive_to_minimum(optim::Optimizer& opt, const LeastSquares& problem, Tensor& x, int steps,
                      double tol) {
  double first = 0, last = 0;
  for (int s = 0; s < steps; ++s) {
    opt.zero_grad();
    last = problem.loss_and_grad(x);
    if (s == 0) first = last;
    opt.step();
  }
  BOOST_TEST(last < 1e-3 * first, opt.name() << ": loss " << first << " -> " << last);
  check_close(x.to_vector(), problem.x_star, tol, opt.name().c_str());
}

}  // namespace

BOOST_AUTO_TEST_CASE(sgd_solves_least_squares) {
  LeastSquares problem(float64);
  Tensor x = zeros({4, 1}, float64).requires_grad_();
  optim::SGD opt({x}, 0.1);
  drive_to_minimum(opt, problem, x, 500, 1e-6);
}

BOOST_AUTO_TEST_CASE(sgd_momentum_and_nesterov_solve_least_squares) {
  LeastSquares problem(float64);
  Tensor x = zeros({4, 1}, float64).requires_grad_();
  optim::SGD opt({x}, {.lr = 0.05, .momentum = 0.9});
  drive_to_minimum(opt, problem, x, 500, 1e-6);
  Tensor z = zeros({4, 1}, float64).requires_grad_();
  optim::SGD nesterov({z}, {.lr = 0.05, .momentum = 0.9, .nesterov = true});
  drive_to_minimum(nesterov, problem, z, 500, 1e-6);
}

BOOST_AUTO_TEST_CASE(rmsprop_solves_least_squares_with_decaying_lr) {
  LeastSquares problem(float64);
  Tensor x = zeros({4, 1}, float64).requires_grad_();
  optim::RMSprop opt({x}, 0.05);
  const optim::CosineDecay schedule{.lr0 = 0.05, .T = 1500};
  double loss = 0;
  for (int s = 0; s < 1500; ++s) {
    optim::apply_schedule(schedule, opt, s);
    opt.zero_grad();
    loss = problem.loss_and_grad(x);
    opt.step();
  }
  BOOST_TEST(loss < 1e-6);
  check_close(x.to_vector(), problem.x_star, 1e-3, "rmsprop");
}

BOOST_AUTO_TEST_CASE(adam_solves_least_squares_in_float32_and_float64) {
  for (Dtype dtype : {float64, float32}) {
    LeastSquares problem(dtype);
    Tensor x = zeros({4, 1}, dtype).requires_grad_();
    optim::Adam opt({x}, 0.05);
    const optim::CosineDecay schedule{.lr0 = 0.05, .T = 1500};
    for (int s = 0; s < 1500; ++s) {
      optim::apply_schedule(schedule, opt, s);
      opt.zero_grad();
      problem.loss_and_grad(x);
      opt.step();
    }
    check_close(x.to_vector(), problem.x_star, dtype == float64 ? 1e-4 : 1e-3, "adam");
  }
}

BOOST_AUTO_TEST_CASE(weight_decay_reaches_the_ridge_minimum) {
  // min 0.5 (w - 3)^2 + 0.5 lambda w^2 has its minimum at w = 3 / (1 + lambda).
  Tensor w = zeros({1}, float64).requires_grad_();
  optim::SGD opt({w}, {.lr = 0.1, .weight_decay = 1.0});
  for (int s = 0; s < 300; ++s) {
    opt.zero_grad();
    Tensor loss = 0.5 * sum(square(w - 3.0));
    loss.backward();
    opt.step();
  }
  BOOST_TEST(w.item() == 1.5, boost::test_tools::tolerance(1e-9));
}

// ---- gradient clipping --------------------------------------------------------------

BOOST_AUTO_TEST_CASE(clip_grad_norm_scales_to_max_norm_and_returns_old_norm) {
  Tensor a = param({0, 0}, {2}), b = param({0}, {1}), c = param({0}, {1});
  a.set_grad(tensor({3, 4}, {2}, float64));
  b.set_grad(tensor({12}, {1}, float64));                     // global norm sqrt(9 + 16 + 144) = 13
  const double norm = optim::clip_grad_norm({a, b, c}, 6.5);  // c has no grad: skipped
  BOOST_TEST(norm == 13.0, boost::test_tools::tolerance(1e-15));
  const double f = 6.5 / (13.0 + 1e-6);
  check_close(a.grad().to_vector(), {3 * f, 4 * f}, 1e-15, "a");
  check_close(b.grad().to_vector(), {12 * f}, 1e-15, "b");
  BOOST_TEST(!c.grad().defined());
  // Already inside the ball: nothing changes.
  const double again = optim::clip_grad_norm({a, b}, 100.0);
  BOOST_TEST(again == 6.5, boost::test_tools::tolerance(1e-6));
  check_close(a.grad().to_vector(), {3 * f, 4 * f}, 1e-15, "a unchanged");
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_works_on_float32) {
  Tensor a = param({0, 0}, {2}, float32);
  a.set_grad(tensor({30, 40}, {2}, float32));
  BOOST_TEST(optim::clip_grad_norm({a}, 1.0) == 50.0, boost::test_tools::tolerance(1e-6));
  check_close(a.grad().to_vector(), {0.6, 0.8}, 1e-6, "a");
}

BOOST_AUTO_TEST_CASE(clip_grad_value_clamps_each_element_and_returns_the_largest_magnitude) {
  Tensor a = param({0, 0, 0, 0}, {2, 2}), b = param({0, 0}, {2}, float32), c = param({0}, {1});
  a.set_grad(tensor({7, -0.5, -9, 5}, {2, 2}, float64));
  b.set_grad(tensor({-5.5, 2}, {2}, float32));
  const double largest = optim::clip_grad_value({a, b, c}, 5.0);  // c has no grad: skipped
  BOOST_TEST(largest == 9.0);
  check_close(a.grad().to_vector(), {5, -0.5, -5, 5}, 0.0, "a");  // 5 itself is kept
  check_close(b.grad().to_vector(), {-5, 2}, 0.0, "b");
  BOOST_TEST(!c.grad().defined());
  // Inside the bounds: nothing changes, and the largest |g| is now the clip value.
  BOOST_TEST(optim::clip_grad_value({a, b}, 10.0) == 5.0);
  check_close(a.grad().to_vector(), {5, -0.5, -5, 5}, 0.0, "a unchanged");
  // 0 zeroes every gradient (np.clip(g, -0, 0)).
  BOOST_TEST(optim::clip_grad_value({b}, 0.0) == 5.0);
  check_close(b.grad().to_vector(), {0, 0}, 0.0, "b zeroed");
  // A NaN element passes through (as torch.clamp) and makes the result NaN.
  a.set_grad(tensor({std::nan(""), 20, -1, 0}, {2, 2}, float64));
  BOOST_TEST(std::isnan(optim::clip_grad_value({a}, 5.0)));
  const Vec after = a.grad().to_vector();
  BOOST_TEST(std::isnan(after[0]));
  check_close({after[1], after[2], after[3]}, {5, -1, 0}, 0.0, "a around the NaN");
  BOOST_TEST(optim::clip_grad_value({}, 1.0) == 0.0);
  const auto starts = [](const char* prefix) {
    return [prefix](const ValueError& e) { return std::string(e.what()).rfind(prefix, 0) == 0; };
  };
  const char* message = "clip_grad_value: clip_value must be a finite number >= 0, got ";
  BOOST_CHECK_EXCEPTION(optim::clip_grad_value({a}, -1.0), ValueError, starts(message));
  BOOST_CHECK_EXCEPTION(optim::clip_grad_value({a}, std::nan("")), ValueError, starts(message));
  BOOST_CHECK_EXCEPTION(optim::clip_grad_value({a}, INFINITY), ValueError, starts(message));
}

// ---- learning-rate schedules ------------------------------------------------------------

namespace tt = boost::test_tools;

BOOST_AUTO_TEST_CASE(step_decay_values) {
  BOOST_TEST(optim::step_decay(0.1, 0, 10, 0.5) == 0.1, tt::tolerance(1e-15));
  BOOST_TEST(optim::step_decay(0.1, 9, 10, 0.5) == 0.1, tt::tolerance(1e-15));
  BOOST_TEST(optim::step_decay(0.1, 10, 10, 0.5) == 0.05, tt::tolerance(1e-15));
  BOOST_TEST(optim::step_decay(0.1, 25, 10, 0.5) == 0.025, tt::tolerance(1e-15));
  BOOST_TEST((optim::StepDecay{.lr0 = 0.1, .step_size = 10, .gamma = 0.5}.lr(25)) == 0.025,
             tt::tolerance(1e-15));
  BOOST_CHECK_THROW(optim::step_decay(0.1, 1, 0, 0.5), ValueError);
}

BOOST_AUTO_TEST_CASE(exponential_decay_values) {
  BOOST_TEST(optim::exponential_decay(0.2, 0, 0.9) == 0.2, tt::tolerance(1e-15));
  BOOST_TEST(optim::exponential_decay(0.2, 1, 0.9) == 0.18, tt::tolerance(1e-15));
  BOOST_TEST(optim::exponential_decay(0.2, 3, 0.9) == 0.1458, tt::tolerance(1e-14));
  BOOST_TEST((optim::ExponentialDecay{.lr0 = 0.2, .gamma = 0.9}.lr(2)) == 0.162,
             tt::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(inverse_time_decay_is_the_course_update_lr) {
  // lr0 / (1 + decay_rate * epoch): 0.5 / (1 + 1 * 2) = 1/6
  BOOST_TEST(optim::inverse_time_decay(0.5, 0, 1.0) == 0.5, tt::tolerance(1e-15));
  BOOST_TEST(optim::inverse_time_decay(0.5, 2, 1.0) == 1.0 / 6.0, tt::tolerance(1e-15));
  BOOST_TEST(optim::inverse_time_decay(0.5, 10, 0.3) == 0.125, tt::tolerance(1e-15));
  BOOST_TEST((optim::InverseTimeDecay{.lr0 = 0.5, .decay_rate = 0.3}.lr(10)) == 0.125,
             tt::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(scheduled_inverse_time_decay_is_the_course_schedule_lr_decay) {
  // The course's check: lr0 = 0.5, epoch 100, decay 1, interval 10 -> 0.5 / 11.
  BOOST_TEST(optim::scheduled_inverse_time_decay(0.5, 100, 1.0, 10) == 0.5 / 11.0,
             tt::tolerance(1e-15));
  BOOST_TEST(optim::scheduled_inverse_time_decay(0.5, 9, 1.0, 10) == 0.5, tt::tolerance(1e-15));
  BOOST_TEST(optim::scheduled_inverse_time_decay(0.5, 19, 1.0, 10) == 0.25, tt::tolerance(1e-15));
  BOOST_TEST(
      (optim::ScheduledInverseTimeDecay{.lr0 = 0.5, .decay_rate = 1.0, .time_interval = 10}.lr(
          20)) == 0.5 / 3,
      tt::tolerance(1e-15));
  BOOST_CHECK_THROW(optim::scheduled_inverse_time_decay(0.5, 1, 1.0, 0), ValueError);
}

BOOST_AUTO_TEST_CASE(cosine_decay_values) {
  // lr_min + (lr0 - lr_min) (1 + cos(pi e / T)) / 2 with lr0 = 1, lr_min = 0.1, T = 4
  BOOST_TEST(optim::cosine_decay(1.0, 0, 4, 0.1) == 1.0, tt::tolerance(1e-15));
  BOOST_TEST(optim::cosine_decay(1.0, 1, 4, 0.1) == 0.1 + 0.9 * (1 + std::sqrt(0.5)) / 2,
             tt::tolerance(1e-14));
  BOOST_TEST(optim::cosine_decay(1.0, 2, 4, 0.1) == 0.55, tt::tolerance(1e-14));
  BOOST_TEST(optim::cosine_decay(1.0, 4, 4, 0.1) == 0.1, tt::tolerance(1e-14));
  BOOST_TEST(optim::cosine_decay(1.0, 9, 4, 0.1) == 0.1,
             tt::tolerance(1e-14));  // stays at the minimum
  BOOST_TEST((optim::CosineDecay{.lr0 = 1.0, .T = 4}.lr(2)) == 0.5, tt::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(apply_schedule_sets_the_optimizer_lr) {
  Tensor w = param({1}, {1});
  optim::SGD opt({w}, 0.5);
  const optim::InverseTimeDecay schedule{.lr0 = 0.5, .decay_rate = 1.0};
  BOOST_TEST(optim::apply_schedule(schedule, opt, 3) == 0.125);
  BOOST_TEST(opt.lr() == 0.125);
  w.set_grad(ones_like(w));
  opt.step();
  BOOST_TEST(w.item() == 0.875);
}
