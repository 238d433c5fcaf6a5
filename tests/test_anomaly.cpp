#define BOOST_TEST_MODULE anomaly
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

using namespace tapegrad;

namespace {

// Runs `f`, which must throw AnomalyError whose message holds every one of `parts`.
template <class F>
void check_anomaly(F f, std::initializer_list<std::string> parts) {
  try {
    f();
    BOOST_ERROR("no AnomalyError");
  } catch (const AnomalyError& e) {
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE(msg);
    for (const auto& part : parts) BOOST_TEST(msg.find(part) != std::string::npos, msg);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(off_by_default_and_guard_restores) {
  BOOST_TEST(!detect_anomaly());
  {
    DetectAnomalyGuard on;
    BOOST_TEST(detect_anomaly());
    {
      DetectAnomalyGuard off(false);
      BOOST_TEST(!detect_anomaly());
    }
    BOOST_TEST(detect_anomaly());
  }
  BOOST_TEST(!detect_anomaly());
}

BOOST_AUTO_TEST_CASE(without_the_mode_nan_flows_silently) {
  auto x = tensor({-1, 2, 3}, {3}).requires_grad_();
  auto y = sum(log(x));
  BOOST_TEST(std::isnan(y.item()));
  y.backward();  // no throw, and the gradient is computed as usual: 1 / x
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({-1, 0.5, 1.0 / 3}),
             boost::test_tools::tolerance(1e-6) << boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(forward_nan_names_the_op_and_input_shapes) {
  DetectAnomalyGuard on;
  auto x = (tensor({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {3, 4}) - 5.0f).requires_grad_();
  check_anomaly(
      [&] { (void)log(x); },
      {"anomaly: 'log' produced NaN in its forward result (shape [3, 4]) from inputs [3, 4]"});
  auto a = ones({3, 4}).requires_grad_();
  auto b = zeros({3, 1});
  check_anomaly([&] { (void)(a / b); }, {"'div' produced Inf", "forward", "inputs [3, 4], [3, 1]"});
}

BOOST_AUTO_TEST_CASE(forward_blames_the_first_op_and_notes_a_bad_input) {
  DetectAnomalyGuard on;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto x = tensor({1, nan}, {2}).requires_grad_();
  check_anomaly([&] { (void)(x * 2.0f); }, {"'mul", "NaN", "input 0 already holds NaN"});
}

BOOST_AUTO_TEST_CASE(backward_inf_names_the_op_and_the_input) {
  DetectAnomalyGuard on;
  // sqrt(0) is finite, its gradient 1 / (2 sqrt(0)) is not.
  auto x = zeros({3, 1}).requires_grad_();
  auto y = sum(sqrt(x));
  check_anomaly(
      [&] { y.backward(); },
      {"anomaly: backward of 'sqrt' produced Inf in the gradient for input 0 (shape [3, 1])"});
  // div's second input: d(a/b)/db = -a / b^2 overflows to -Inf at b = 1e-30, while
  // a / b = 1e30 is finite.
  auto a = ones({3, 4}).requires_grad_();
  auto b = full({3, 1}, 1e-30).requires_grad_();
  auto z = sum(a / b);
  check_anomaly([&] { z.backward(); }, {"backward of 'div'", "Inf", "input 1", "[3, 1]"});
}

BOOST_AUTO_TEST_CASE(finite_training_passes_unchanged_under_the_mode) {
  Generator gen(1);
  auto X = randn({4, 16}, float32, gen);
  auto labels = randint(0, 3, {16}, float32, gen);
  auto run = [&](bool anomaly) {
    DetectAnomalyGuard mode(anomaly);
    Generator init(2);
    nn::MLP model({4, 8, 3}, nn::Tanh(), {.gen = &init});
    optim::SGD opt(model.parameters(), 0.1);
    for (int i = 0; i < 5; ++i) {
      opt.zero_grad();
      softmax_cross_entropy(model(X), labels, 0).backward();
      opt.step();
    }
    return model.parameters()[0].to_vector();
  };
  BOOST_TEST(run(true) == run(false), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_mode_is_per_thread) {
  DetectAnomalyGuard on;
  bool other_thread_sees = true;
  std::thread t([&] {
    other_thread_sees = detect_anomaly();
    auto x = tensor({-1}, {1}).requires_grad_();
    (void)log(x);  // no throw here: the mode is off on this thread
  });
  t.join();
  BOOST_TEST(!other_thread_sees);
}
