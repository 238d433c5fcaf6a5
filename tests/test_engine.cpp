// The autograd engine: accumulation, order, lifetime of graphs, grad mode.
#define BOOST_TEST_MODULE engine
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>
#include <future>
#include <memory>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;
namespace bt = boost::test_tools;

namespace {

Tensor param(const std::vector<double>& values, const Shape& shape) {
  Tensor t = tensor(values, shape, float64);
  t.requires_grad_();
  return t;
}

// An identity op that counts how often its backward runs and keeps the last gradient
// it was handed: a probe for what the engine does at one node.
struct Probe {
  int calls = 0;
  std::vector<double> seen;
  bool recording_during_backward = true;
  Tensor operator()(const Tensor& x) {
    return record("probe", x.detach().clone(), {&x}, [this](const Tensor& g, Needs) {
      ++calls;
      seen = g.to_vector();
      recording_during_backward = grad_enabled();
      return Grads{g};
    });
  }
};

// Resident set size of this process, in bytes.
std::int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

}  // namespace

// ---- accumulation -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(leaf_grads_accumulate_across_backward_calls_until_zero_grad) {
  Tensor x = param({1, -2, 3}, {3});
  sum(x * x).backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({2, -4, 6}), bt::per_element());
  sum(x * x).backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({4, -8, 12}), bt::per_element());
  const void* buffer = x.grad().raw_data();
  x.zero_grad();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({0, 0, 0}), bt::per_element());
  BOOST_TEST(x.grad().raw_data() == buffer);  // zero_grad keeps the buffer
  sum(x * 3.0).backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({3, 3, 3}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(tensor_used_by_several_ops_gets_the_sum_of_their_gradients) {
  Tensor x = param({0.5, -1, 2}, {3});
  const Tensor loss = sum(x * 3.0) + sum(exp(x)) + sum(x * x) + sum(x);
  loss.backward();
  const auto xv = x.to_vector();
  const auto g = x.grad().to_vector();
  for (std::size_t i = 0; i < 3; ++i)
    BOOST_TEST(g[i] == 3 + std::exp(xv[i]) + 2 * xv[i] + 1, bt::tolerance(1e-14));
}

BOOST_AUTO_TEST_CASE(diamond_graph_sums_both_paths_before_running_the_shared_node) {
  // x -> a -> {sigmoid(a), a*a} -> sum: a's node must run once, with both paths summed.
  Tensor x = param({0.3, -0.7, 1.1}, {3});
  const Tensor w = tensor({1.5, -2.0, 0.5}, {3}, float64);
  Probe probe;
  const Tensor a = probe(x * 2.0);
  const Tensor loss = sum((sigmoid(a) + a * a) * w);
  loss.backward();
  BOOST_TEST(probe.calls == 1);
  BOOST_TEST(!probe.recording_during_backward);  // backward runs with recording off
  const auto av = a.to_vector(), wv = w.to_vector(), g = x.grad().to_vector();
  BOOST_REQUIRE(probe.seen.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const double s = 1 / (1 + std::exp(-av[i]));
    const double da = wv[i] * (s * (1 - s) + 2 * av[i]);
    BOOST_TEST(probe.seen[i] == da, bt::tolerance(1e-14));
    BOOST_TEST(g[i] == 2 * da, bt::tolerance(1e-14));
  }
}

BOOST_AUTO_TEST_CASE(node_consumed_early_and_late_waits_for_every_consumer) {
  // a feeds b = a*3, c = b + a and d = c * a: the tape order puts a's consumers at
  // three different depths; a's gradient must be complete when its node runs.
  Tensor x = param({0.5, 2.0}, {2});
  Probe probe;
  const Tensor a = probe(x + 1.0);
  const Tensor b = a * 3.0;
  const Tensor c = b + a;
  const Tensor d = c * a;  // = 4 a^2, so dd/da = 8 a
  sum(d).backward();
  BOOST_TEST(probe.calls == 1);
  const auto av = a.to_vector();
  BOOST_TEST(probe.seen == std::vector<double>({8 * av[0], 8 * av[1]}), bt::per_element());
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({8 * av[0], 8 * av[1]}),
             bt::per_element());
}

BOOST_AUTO_TEST_CASE(backward_runs_only_nodes_reachable_from_the_loss) {
  Tensor x = param({1, 2}, {2});
  Probe side;
  const Tensor unused = side(x * 5.0);  // recorded, but the loss does not depend on it
  sum(x * x).backward();
  BOOST_TEST(side.calls == 0);
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({2, 4}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(inputs_that_do_not_require_grad_get_no_gradient) {
  Tensor x = param({1, 2}, {2});
  const Tensor c = tensor({3, 4}, {2}, float64);
  bool asked_for_c = true;
  // The rule hands back a gradient for c all the same: the engine must drop it.
  const Tensor y = record("probe2", x.detach() * c, {&x, &c}, [&](const Tensor& g, Needs needs) {
    asked_for_c = needs[1];
    return Grads{g * c, g * x.detach()};
  });
  sum(y).backward();
  BOOST_TEST(!asked_for_c);
  BOOST_TEST(!c.grad().defined());
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({3, 4}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(accumulated_grads_never_alias_each_other_or_the_seed) {
  // add hands the same upstream buffer to both inputs: each leaf must get its own copy.
  Tensor x = param({1, 2}, {2});
  Tensor y = param({3, 4}, {2});
  const Tensor G = tensor({1, 1}, {2}, float64);
  (x + y).backward(G);
  BOOST_TEST(x.grad().raw_data() != y.grad().raw_data());
  BOOST_TEST(x.grad().raw_data() != G.raw_data());
  {
    NoGradGuard no_grad;
    x.grad().fill_(5);
    G.detach().fill_(9);
  }
  BOOST_TEST(y.grad().to_vector() == std::vector<double>({1, 1}), bt::per_element());
  // A leaf's backward with a given gradient copies it too.
  Tensor z = param({1, 2}, {2});
  Tensor seed = tensor({2, 3}, {2}, float64);
  z.backward(seed);
  seed.fill_(0);
  BOOST_TEST(z.grad().to_vector() == std::vector<double>({2, 3}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(backward_on_a_leaf_seeds_its_own_gradient) {
  Tensor x = param({2.5}, {});
  x.backward();
  x.backward();
  BOOST_TEST(x.grad().item() == 2.0);
}

// ---- long graphs ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(million_op_chain_builds_backprops_and_frees_without_stack_overflow) {
  constexpr int kOps = 1'000'000;
  constexpr double kFactor = 1.0000001;
  const auto base = live_nodes();
  Tensor x = param({1.0}, {1});
  Tensor y = x;
  for (int i = 0; i < kOps; ++i) y = y * kFactor;
  BOOST_TEST(live_nodes() == base + kOps);
  y.backward();
  // d/dx of x * f^n is f^n: the product of a million factors, each rounded once.
  BOOST_TEST(x.grad().item() == std::pow(kFactor, kOps), bt::tolerance(1e-9));
  BOOST_TEST(y.item() == std::pow(kFactor, kOps), bt::tolerance(1e-9));
  y = Tensor();  // destroys the chain: iteratively, or this test crashes
  BOOST_TEST(live_nodes() == base);
}

BOOST_AUTO_TEST_CASE(million_op_chain_dropped_without_backward_is_freed) {
  constexpr int kOps = 1'000'000;
  const auto base = live_nodes();
  Tensor x = param({0.0}, {1});
  {
    Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y + 1e-9;
    BOOST_TEST(live_nodes() == base + kOps);
  }
  BOOST_TEST(live_nodes() == base);
}

// ---- grad mode ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(no_grad_guard_records_nothing) {
  Tensor x = param({1, 2, 3}, {3});
  const auto base = live_nodes();
  {
    NoGradGuard no_grad;
    BOOST_TEST(!grad_enabled());
    const Tensor y = sigmoid(matmul(reshape(x, {1, 3}), reshape(x, {3, 1}))) * 2.0 + x;
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(y.is_leaf());
    BOOST_TEST(live_nodes() == base);
    {
      EnableGradGuard enable;  // recording back on inside the guard
      const Tensor z = x * 2.0;
      BOOST_TEST(z.requires_grad());
      BOOST_TEST(live_nodes() == base + 1);
    }
    BOOST_TEST(!grad_enabled());
  }
  BOOST_TEST(grad_enabled());
  const Tensor z = x * 2.0;
  BOOST_TEST(z.requires_grad());
  BOOST_TEST(live_nodes() == base + 1);
}

BOOST_AUTO_TEST_CASE(grad_mode_is_thread_local) {
  Tensor x = param({1, 2}, {2});
  // A guard on another thread leaves this one recording.
  std::promise<void> guarded, release;
  std::future<void> release_future = release.get_future();
  bool other_enabled = true, other_recorded = true;
  std::thread other([&] {
    NoGradGuard no_grad;
    const Tensor y = x * 3.0;
    other_enabled = grad_enabled();
    other_recorded = y.requires_grad();
    guarded.set_value();
    release_future.wait();
  });
  guarded.get_future().wait();
  BOOST_TEST(grad_enabled());
  const Tensor here = x * 3.0;
  BOOST_TEST(here.requires_grad());
  release.set_value();
  other.join();
  BOOST_TEST(!other_enabled);
  BOOST_TEST(!other_recorded);

  // And a guard here leaves a new thread recording.
  NoGradGuard no_grad;
  bool fresh_enabled = false, fresh_recorded = false;
  std::thread fresh([&] {
    fresh_enabled = grad_enabled();
    fresh_recorded = (x * 3.0).requires_grad();
  });
  fresh.join();
  BOOST_TEST(fresh_enabled);
  BOOST_TEST(fresh_recorded);
  BOOST_TEST(!(x * 3.0).requires_grad());
}

BOOST_AUTO_TEST_CASE(graph_built_on_one_thread_backpropagates_on_another) {
  Tensor x = param({1, 2, 3}, {3});
  Tensor loss;
  std::thread builder([&] { loss = sum(tanh(x) * x); });
  builder.join();
  loss.backward();
  const auto xv = x.to_vector(), g = x.grad().to_vector();
  for (std::size_t i = 0; i < 3; ++i) {
    const double t = std::tanh(xv[i]);
    BOOST_TEST(g[i] == t + xv[i] * (1 - t * t), bt::tolerance(1e-14));
  }
}

// ---- lifetime of graphs -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(storage_view_shares_memory_and_keeps_its_base_alive) {
  std::shared_ptr<Storage> base = Storage::allocate(64);
  const std::weak_ptr<Storage> watch = base;
  auto view = Storage::view(base, 16, 32);
  static_cast<unsigned char*>(view->data())[0] = 42;
  BOOST_TEST(static_cast<unsigned char*>(base->data())[16] == 42);
  base.reset();
  BOOST_TEST(!watch.expired());  // the view holds it
  view.reset();
  BOOST_TEST(watch.expired());
  BOOST_CHECK_THROW(Storage::view(Storage::allocate(64), 48, 32), ValueError);
}

BOOST_AUTO_TEST_CASE(backward_releases_the_saved_tensors) {
  Tensor x = param({0.1, 0.2, 0.3}, {3});
  Tensor a = exp(x);  // a's buffer is saved by exp (its result) and by mul (an operand)
  const std::weak_ptr<Storage> saved = a.impl().storage;
  const Tensor loss = sum(a * x);
  a = Tensor();
  BOOST_TEST(!saved.expired());  // the graph still holds it
  const auto nodes = live_nodes();
  loss.backward();
  BOOST_TEST(saved.expired());
  BOOST_TEST(live_nodes() == nodes);  // nodes stay (loss holds them), their saved data went
}

BOOST_AUTO_TEST_CASE(second_backward_through_a_released_graph_throws) {
  Tensor x = param({0.1, 0.2}, {2});
  Tensor loss = sum(exp(x) * x);
  loss.retain_grad();
  loss.backward();
  const auto first = x.grad().to_vector();
  BOOST_CHECK_THROW(loss.backward(), GraphError);
  BOOST_TEST(x.grad().to_vector() == first, bt::per_element());  // nothing was added
  BOOST_TEST(loss.grad().item() == 1.0);  // not even to the retained gradient
}

BOOST_AUTO_TEST_CASE(retain_graph_allows_a_second_backward_that_doubles_the_grads) {
  Tensor x = param({0.1, 0.2, 0.3}, {3});
  Tensor a = exp(x);
  const std::weak_ptr<Storage> saved = a.impl().storage;
  const Tensor loss = sum(a * x);
  a = Tensor();
  loss.backward(/*retain_graph=*/true);
  BOOST_TEST(!saved.expired());
  const auto once = x.grad().to_vector();
  loss.backward(/*retain_graph=*/false);
  const auto twice = x.grad().to_vector();
  for (std::size_t i = 0; i < once.size(); ++i)
    BOOST_TEST(twice[i] == 2 * once[i], bt::tolerance(1e-15));
  BOOST_TEST(saved.expired());
  BOOST_CHECK_THROW(loss.backward(), GraphError);
}

BOOST_AUTO_TEST_CASE(forward_pass_dropped_without_backward_frees_its_graph) {
  Tensor W = param({0.1, -0.2, 0.3, 0.4, -0.5, 0.6}, {2, 3});
  const Tensor X = tensor({1, 2, 3, 4, 5, 6}, {3, 2}, float64);
  const auto base = live_nodes();
  std::weak_ptr<Storage> saved;
  {
    const Tensor Z = matmul(W, X);
    saved = Z.impl().storage;
    const Tensor loss = mean(sigmoid(Z));
    BOOST_TEST(live_nodes() == base + 4);  // matmul, sigmoid, sum, mul_scalar
  }
  BOOST_TEST(live_nodes() == base);
  BOOST_TEST(saved.expired());
}

// Under AddressSanitizer (make test's second build) freed memory waits in a quarantine
// before it is reused, so resident memory grows by design: the RSS bounds hold only
// without it (LeakSanitizer checks for leaks there instead).
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kRssIsMeaningful = false;
#else
constexpr bool kRssIsMeaningful = true;
#endif

BOOST_AUTO_TEST_CASE(hundred_thousand_forward_passes_keep_live_nodes_and_memory_flat) {
  manual_seed(7);
  Tensor W1 = randn({8, 4}), b1 = zeros({8, 1}), W2 = randn({1, 8}), b2 = zeros({1, 1});
  for (Tensor* p : {&W1, &b1, &W2, &b2}) p->requires_grad_();
  const Tensor X = randn({4, 16});
  const Tensor Y = randint(0, 2, {1, 16});
  auto forward = [&] {
    const Tensor A1 = relu(matmul(W1, X) + b1);
    return binary_cross_entropy_with_logits(matmul(W2, A1) + b2, Y);
  };
  double total = 0;
  for (int i = 0; i < 1000; ++i) total += forward().item();  // warm the pools
  const auto nodes = live_nodes();
  const auto rss = resident_bytes();
  for (int i = 0; i < 100'000; ++i) total += forward().item();
  const auto grown = resident_bytes() - rss;
  BOOST_TEST_MESSAGE("forward-only loop: resident memory grew by " << grown << " bytes");
  BOOST_TEST(live_nodes() == nodes);
  if (kRssIsMeaningful)
    BOOST_TEST(grown < 4 * 1024 * 1024);  // a leak of even 100 bytes a pass would be 10 MB
  BOOST_TEST(std::isfinite(total));
  BOOST_TEST(!W1.grad().defined());
}

// ---- several losses, explicit gradients --------------------------------------------------

BOOST_AUTO_TEST_CASE(two_independent_losses_backpropagate_independently) {
  Tensor x = param({1, 2}, {2});
  Tensor y = param({3, 4}, {2});
  const Tensor l1 = sum(x * x);
  const Tensor l2 = sum(y * 3.0);
  l1.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({2, 4}), bt::per_element());
  BOOST_TEST(!y.grad().defined());
  l2.backward();
  BOOST_TEST(y.grad().to_vector() == std::vector<double>({3, 3}), bt::per_element());
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({2, 4}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(two_losses_sharing_a_leaf_add_their_gradients) {
  Tensor x = param({1, 2}, {2});
  const Tensor l1 = sum(x * x);
  const Tensor l2 = sum(x * 3.0);
  l2.backward();
  l1.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({5, 7}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(backward_with_a_gradient_on_a_non_scalar_output) {
  Tensor x = param({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor y = x * x;
  const Tensor G = tensor({1, 0, -1, 2, 0.5, 3}, {2, 3}, float64);
  y.backward(G);
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({2, 0, -6, 16, 5, 36}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(detach_cuts_the_graph) {
  Tensor x = param({1, 2}, {2});
  const Tensor d = x.detach();
  BOOST_TEST(!d.requires_grad());
  BOOST_TEST(d.is_leaf());
  BOOST_TEST(d.raw_data() == x.raw_data());  // same data
  const Tensor loss = sum(d * 3.0 * x + x);  // d is a constant: d/dx = 3 d + 1
  loss.backward();
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({4, 7}), bt::per_element());
  BOOST_TEST(!d.grad().defined());
}

BOOST_AUTO_TEST_CASE(retain_grad_keeps_the_gradient_of_an_intermediate) {
  Tensor x = param({1, -2}, {2});
  Tensor h = x * 2.0;
  h.retain_grad();
  const Tensor k = h * h;
  sum(k).backward();
  BOOST_TEST(h.grad().to_vector() == std::vector<double>({4, -8}), bt::per_element());  // 2 h
  BOOST_TEST(!k.grad().defined());  // not retained
  BOOST_TEST(x.grad().to_vector() == std::vector<double>({8, -16}), bt::per_element());
}

BOOST_AUTO_TEST_CASE(requires_grad_on_a_non_leaf_throws) {
  Tensor x = param({1, 2}, {2});
  Tensor y = x * 2.0;
  try {
    y.requires_grad_();
    BOOST_FAIL("requires_grad_ on a computed tensor did not throw");
  } catch (const GraphError& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("requires_grad_") != std::string::npos, msg);
    BOOST_TEST(msg.find("mul_scalar") != std::string::npos, msg);
    BOOST_TEST(msg.find("[2]") != std::string::npos, msg);
  }
  // Its detached copy is a leaf and can be marked.
  Tensor z = y.detach();
  z.requires_grad_();
  BOOST_TEST(z.requires_grad());
}
