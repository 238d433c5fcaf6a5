#define BOOST_TEST_MODULE layers
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;
namespace tt = boost::test_tools;

namespace {

struct Stats {
  double mean = 0, std = 0, min = 0, max = 0;
};

Stats stats_of(const Tensor& t) {
  const std::vector<double> v = t.to_vector();
  Stats s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  return s;
}

// Checks mean ~ 0 (within 4 standard errors) and std within 2% of `want_std`.
void check_centered(const Tensor& t, double want_std, const char* what) {
  const Stats s = stats_of(t);
  const double standard_error = want_std / std::sqrt(static_cast<double>(t.numel()));
  BOOST_TEST(std::abs(s.mean) < 4 * standard_error, what << ": mean " << s.mean);
  BOOST_TEST(std::abs(s.std / want_std - 1) < 0.02,
             what << ": std " << s.std << " vs " << want_std);
}

const Shape kBig = {300, 800};  // (fan_out, fan_in): 240000 draws

}  // namespace

// ---- initializers ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fans_follow_the_course_weight_layout) {
  const init::Fans f = init::fans({5, 3});  // W (n[l], n[l-1]) = (5, 3)
  BOOST_TEST(f.fan_in == 3);
  BOOST_TEST(f.fan_out == 5);
  const init::Fans conv = init::fans({8, 3, 5, 5});
  BOOST_TEST(conv.fan_in == 75);
  BOOST_TEST(conv.fan_out == 200);
  BOOST_CHECK_THROW(init::fans({7}), ShapeError);
}

BOOST_AUTO_TEST_CASE(zeros_init_is_all_zero) {
  const Tensor t = init::zeros({3, 4}, float64);
  BOOST_TEST(t.to_vector() == std::vector<double>(12, 0.0), tt::per_element());
  BOOST_TEST((t.dtype() == float64));
}

BOOST_AUTO_TEST_CASE(small_random_is_randn_times_0_01) {
  Generator g(3);
  check_centered(init::small_random(kBig, float64, g), 0.01, "small_random");
  // Exactly the course's np.random.randn(...) * 0.01 from the same generator state.
  Generator a(9), b(9);
  const Tensor w = init::small_random({4, 5}, float64, a);
  const Tensor r = randn({4, 5}, float64, b);
  const auto wv = w.to_vector(), rv = r.to_vector();
  for (std::size_t i = 0; i < wv.size(); ++i)
    BOOST_TEST(wv[i] == 0.01 * rv[i], tt::tolerance(1e-15));
}

BOOST_AUTO_TEST_CASE(xavier_normal_std_is_sqrt_2_over_fan_in_plus_fan_out) {
  Generator g(4);
  check_centered(init::xavier_normal(kBig, float64, g), std::sqrt(2.0 / 1100.0), "xavier_normal");
  check_centered(init::xavier_normal(kBig, float32, g, 2.0), 2 * std::sqrt(2.0 / 1100.0),
                 "xavier_normal gain 2");
}

BOOST_AUTO_TEST_CASE(xavier_uniform_stays_within_bound_and_fills_it) {
  Generator g(5);
  const double a = std::sqrt(6.0 / 1100.0);
  const Tensor t = init::xavier_uniform(kBig, float64, g);
  const Stats s = stats_of(t);
  BOOST_TEST(s.min >= -a);
  BOOST_TEST(s.max <= a);
  BOOST_TEST(s.min < -0.99 * a);  // reaches both ends
  BOOST_TEST(s.max > 0.99 * a);
  check_centered(t, a / std::sqrt(3.0), "xavier_uniform");  // U[-a, a] has std a / sqrt(3)
}

BOOST_AUTO_TEST_CASE(he_normal_std_is_sqrt_2_over_fan_in) {
  Generator g(6);
  check_centered(init::he_normal(kBig, float64, g), std::sqrt(2.0 / 800.0), "he_normal");
}

BOOST_AUTO_TEST_CASE(he_uniform_stays_within_sqrt_6_over_fan_in) {
  Generator g(7);
  const double a = std::sqrt(6.0 / 800.0);
  const Tensor t = init::he_uniform(kBig, float32, g);
  const Stats s = stats_of(t);
  BOOST_TEST(s.min >= -a);
  BOOST_TEST(s.max <= a);
  BOOST_TEST(s.max > 0.99 * a);
  check_centered(t, a / std::sqrt(3.0), "he_uniform");
}

BOOST_AUTO_TEST_CASE(initializers_are_deterministic_under_a_seed) {
  manual_seed(42);
  const auto first = init::he_normal({6, 5}).to_vector();
  const auto first_u = init::xavier_uniform({6, 5}).to_vector();
  manual_seed(42);
  BOOST_TEST(init::he_normal({6, 5}).to_vector() == first, tt::per_element());
  BOOST_TEST(init::xavier_uniform({6, 5}).to_vector() == first_u, tt::per_element());
  manual_seed(43);
  BOOST_TEST(init::he_normal({6, 5}).to_vector() != first);
  Generator a(1), b(1);
  BOOST_TEST(init::xavier_normal({3, 3}, float64, a).to_vector() ==
                 init::xavier_normal({3, 3}, float64, b).to_vector(),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(init_by_name_and_enum) {
  BOOST_TEST((init::init_from_name("he") == init::Init::he_normal));
  BOOST_TEST((init::init_from_name("xavier_uniform") == init::Init::xavier_uniform));
  BOOST_CHECK_THROW(init::init_from_name("glorious"), ValueError);
  Generator a(2), b(2);
  BOOST_TEST(init::make(init::Init::he_uniform, {4, 3}, float64, a).to_vector() ==
                 init::he_uniform({4, 3}, float64, b).to_vector(),
             tt::per_element());
}

// ---- activation modules -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(activation_modules_apply_their_ops) {
  const Tensor z = tensor({-2, 0.5}, {2}, float64);
  BOOST_TEST(nn::ReLU()(z).to_vector() == std::vector<double>({0, 0.5}), tt::per_element());
  const auto leaky = nn::LeakyReLU(0.1)(z).to_vector();
  BOOST_TEST(leaky[0] == -0.2, tt::tolerance(1e-15));
  BOOST_TEST(leaky[1] == 0.5);
  BOOST_TEST(nn::Sigmoid()(z).to_vector()[1] == 1 / (1 + std::exp(-0.5)), tt::tolerance(1e-15));
  BOOST_TEST(nn::Tanh()(z).to_vector()[0] == std::tanh(-2.0), tt::tolerance(1e-15));
  BOOST_TEST(nn::Identity()(z).impl_ptr() == z.impl_ptr());
  const auto p = nn::Softmax(0)(z).to_vector();
  BOOST_TEST(p[0] + p[1] == 1.0, tt::tolerance(1e-15));
  BOOST_TEST(p[1] == 1 / (1 + std::exp(-2.5)), tt::tolerance(1e-15));
  BOOST_TEST(nn::LogSoftmax(0)(z).to_vector()[1] == std::log(p[1]), tt::tolerance(1e-14));
  BOOST_TEST(nn::ReLU().parameters().empty());
  BOOST_TEST(nn::LeakyReLU(0.2).to_string() == "LeakyReLU(slope=0.2)");
  BOOST_TEST(nn::Softmax(0).to_string() == "Softmax(axis=0)");
}

BOOST_AUTO_TEST_CASE(functional_wraps_any_function_and_its_gradient_flows) {
  // SiLU, a user's own activation: z * sigmoid(z); d/dz = s + z s (1 - s).
  nn::Functional silu([](const Tensor& z) { return z * sigmoid(z); }, "SiLU");
  BOOST_TEST(silu.type_name() == "SiLU");
  Tensor z = tensor({0.7}, {1}, float64).requires_grad_();
  silu(z).backward();
  const double s = 1 / (1 + std::exp(-0.7));
  BOOST_TEST(z.grad().item() == s + 0.7 * s * (1 - s), tt::tolerance(1e-14));
  BOOST_CHECK_THROW(nn::Functional(nn::Functional::Function{}), ValueError);
}

// ---- Module and Sequential ----------------------------------------------------------------

namespace {
// A model of the user's own, with named children and a buffer.
struct TwoLayer : nn::Module {
  TwoLayer() : Module("TwoLayer") {
    hidden = register_module("hidden", nn::Linear(3, 4, init::Init::he_normal, float64));
    out = register_module("out", nn::Linear(4, 2, init::Init::he_normal, float64));
    count = register_buffer("count", zeros({1}, float64));
  }
  Tensor forward(const Tensor& x) override { return (*out)(relu((*hidden)(x))); }
  std::shared_ptr<nn::Linear> hidden, out;
  Tensor count;
};

std::vector<std::string> names_of(const NamedTensors& tensors) {
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors) names.push_back(name);
  return names;
}
}  // namespace

BOOST_AUTO_TEST_CASE(module_names_parameters_with_dots_and_keeps_buffers_apart) {
  TwoLayer model;
  BOOST_TEST(
      names_of(model.named_parameters()) ==
          std::vector<std::string>({"hidden.weight", "hidden.bias", "out.weight", "out.bias"}),
      tt::per_element());
  BOOST_TEST(names_of(model.named_buffers()) == std::vector<std::string>({"count"}),
             tt::per_element());
  BOOST_TEST(names_of(model.state_dict()).size() == 5u);
  BOOST_TEST(model.parameters().size() == 4u);
  BOOST_TEST(model.parameters()[2].impl_ptr() == model.out->W.impl_ptr());
  BOOST_TEST(!model.count.requires_grad());
  BOOST_TEST(model(ones({3, 5}, float64)).shape() == Shape({2, 5}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(module_train_and_eval_reach_every_descendant) {
  nn::Sequential inner{nn::Linear(2, 2), nn::ReLU()};
  nn::Sequential model{std::make_shared<nn::Sequential>(inner), nn::Linear(2, 1)};
  BOOST_TEST(model.training());
  model.eval();
  BOOST_TEST(!model.training());
  BOOST_TEST(!model[0].training());
  BOOST_TEST(!model.at<nn::Sequential>(0)[1].training());
  model.train();
  BOOST_TEST(model.at<nn::Sequential>(0)[0].training());
  BOOST_TEST(names_of(model.named_parameters()) ==
                 std::vector<std::string>({"0.0.weight", "0.0.bias", "1.weight", "1.bias"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(sequential_applies_its_steps_in_order) {
  nn::Sequential model{nn::Linear(3, 2, init::Init::he_normal, float64), nn::ReLU(),
                       [](const Tensor& a) { return a * 2.0; }};
  BOOST_TEST(model.size() == 3u);
  auto& first = model.at<nn::Linear>(0);
  {
    NoGradGuard no_grad;
    first.W.copy_(tensor({1, 0, 0, 0, -1, 0}, {2, 3}, float64));
    first.b.copy_(tensor({0.5, 0}, {2, 1}, float64));
  }
  // W x + b = (1 + 0.5, -2) -> relu (1.5, 0) -> * 2 = (3, 0).
  const Tensor out = model(tensor({1, 2, 3}, {3, 1}, float64));
  BOOST_TEST(out.to_vector() == std::vector<double>({3, 0}), tt::per_element());
  BOOST_TEST(names_of(model.named_parameters()) == std::vector<std::string>({"0.weight", "0.bias"}),
             tt::per_element());
  BOOST_CHECK_THROW(model.at<nn::Linear>(1), ValueError);
  BOOST_CHECK_THROW(model[3], IndexError);
  BOOST_TEST(model.to_string() ==
             "Sequential(\n  (0): Linear(in=3, out=2)\n  (1): ReLU()\n  (2): Functional()\n)");
}

BOOST_AUTO_TEST_CASE(a_module_shared_by_two_steps_has_its_parameters_once) {
  auto shared = std::make_shared<nn::Linear>(2, 2);
  nn::Sequential model{shared, nn::Tanh(), shared};
  BOOST_TEST(model.parameters().size() == 2u);
  BOOST_TEST(names_of(model.named_parameters()) == std::vector<std::string>({"0.weight", "0.bias"}),
             tt::per_element());
}

BOOST_AUTO_TEST_CASE(module_rejects_bad_names_and_parameters) {
  struct Bad : nn::Module {
    Bad() : Module("Bad") {}
    Tensor forward(const Tensor& x) override { return x; }
    void add(const std::string& name, const Tensor& t) { register_parameter(name, t); }
  };
  Bad bad;
  bad.add("w", zeros({1}));
  BOOST_CHECK_THROW(bad.add("w", zeros({1})), ValueError);    // taken
  BOOST_CHECK_THROW(bad.add("a.b", zeros({1})), ValueError);  // a dot
  BOOST_CHECK_THROW(bad.add("", zeros({1})), ValueError);     // empty
  BOOST_CHECK_THROW(bad.add("u", Tensor()), ValueError);      // undefined
  Tensor w = zeros({1}).requires_grad_();
  BOOST_CHECK_THROW(bad.add("v", w * 2.0), ValueError);  // not a leaf
  nn::Sequential model;
  model.push_back("first", nn::ReLU());
  BOOST_CHECK_THROW(model.push_back("first", nn::ReLU()), ValueError);
}

BOOST_AUTO_TEST_CASE(zero_grad_drops_every_parameter_gradient) {
  nn::Sequential model{nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1)};
  sum(model(ones({2, 4}))).backward();
  for (const Tensor& p : model.parameters()) BOOST_TEST(p.grad().defined());
  model.zero_grad();
  for (const Tensor& p : model.parameters())
    BOOST_TEST((!p.grad().defined() || sum(abs(p.grad())).item() == 0.0));
}

// ---- Linear -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(linear_has_course_layout_and_computes_Wx_plus_b) {
  nn::Linear layer(3, 2, init::Init::he_normal, float64);
  BOOST_TEST(layer.W.shape() == Shape({2, 3}), tt::per_element());
  BOOST_TEST(layer.b.shape() == Shape({2, 1}), tt::per_element());
  BOOST_TEST(layer.W.requires_grad());
  BOOST_TEST(layer.b.requires_grad());
  BOOST_TEST(layer.in_features() == 3);
  BOOST_TEST(layer.out_features() == 2);
  BOOST_TEST(layer.b.to_vector() == std::vector<double>({0, 0}), tt::per_element());
  {
    NoGradGuard no_grad;
    layer.W.copy_(tensor({1, 2, 3, 4, 5, 6}, {2, 3}, float64));
    layer.b.copy_(tensor({10, 20}, {2, 1}, float64));
  }
  const Tensor x = tensor({1, 0, 0, 1, 1, 2}, {3, 2}, float64);  // m = 2 columns
  const Tensor z = layer(x);
  BOOST_TEST(z.shape() == Shape({2, 2}), tt::per_element());
  // column 0 = (1, 0, 1): W x = (4, 10); column 1 = (0, 1, 2): W x = (8, 17)
  BOOST_TEST(z.to_vector() == std::vector<double>({14, 18, 30, 37}), tt::per_element());
  BOOST_CHECK_THROW(layer(tensor({1, 2}, {2, 1}, float64)), ShapeError);
  BOOST_TEST(layer.parameters().size() == 2u);
}

// ---- MLP --------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(mlp_builds_layers_from_layers_dims) {
  nn::MLP model({784, 256, 128, 10}, nn::ReLU());
  BOOST_TEST(model.num_layers() == 3u);
  BOOST_TEST(model.layer(1).W.shape() == Shape({256, 784}), tt::per_element());
  BOOST_TEST(model.layer(2).W.shape() == Shape({128, 256}), tt::per_element());
  BOOST_TEST(model.layer(3).W.shape() == Shape({10, 128}), tt::per_element());
  BOOST_TEST(model.layer(3).b.shape() == Shape({10, 1}), tt::per_element());
  BOOST_TEST(model.activation(1).type_name() == "ReLU");
  BOOST_TEST(model.activation(3).type_name() == "Identity");
  BOOST_CHECK_THROW(model.layer(0), IndexError);
  BOOST_CHECK_THROW(model.layer(4), IndexError);
  BOOST_TEST(model.parameters().size() == 6u);
  // PyTorch's names for Sequential(Linear, ReLU, Linear, ReLU, Linear).
  BOOST_TEST(names_of(model.named_parameters()) ==
                 std::vector<std::string>(
                     {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}),
             tt::per_element());
  // named_parameters shares the tensors, so loading into it loads into the model.
  BOOST_TEST(model.named_parameters()[2].second.impl_ptr() == model.layer(2).W.impl_ptr());
  const Tensor out = model(zeros({784, 5}));
  BOOST_TEST(out.shape() == Shape({10, 5}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(mlp_takes_one_activation_per_layer) {
  nn::MLP model({4, 3, 1}, {nn::Tanh(), nn::Sigmoid()}, {.dtype = float64});
  const Tensor out = model(ones({4, 7}, float64));
  BOOST_TEST(out.shape() == Shape({1, 7}), tt::per_element());
  // sigmoid(W2 tanh(W1 x + b1) + b2), computed by hand.
  const Tensor want =
      sigmoid(matmul(model.layer(2).W,
                     tanh(matmul(model.layer(1).W, ones({4, 7}, float64)) + model.layer(1).b)) +
              model.layer(2).b);
  BOOST_TEST(out.to_vector() == want.to_vector(), tt::per_element());
  BOOST_CHECK_THROW(nn::MLP({4, 3, 1}, std::vector<nn::AnyModule>{nn::Tanh()}), ValueError);
  BOOST_CHECK_THROW(nn::MLP({4}, nn::ReLU()), ValueError);
  BOOST_CHECK_THROW(nn::MLP({4, 0, 1}, nn::ReLU()), ValueError);
}

BOOST_AUTO_TEST_CASE(mlp_takes_a_users_own_activation) {
  // A step function of the user's, as a lambda: no string, no enum.
  nn::MLP model({3, 4, 2}, [](const Tensor& z) { return z * sigmoid(z); }, {.dtype = float64});
  BOOST_TEST(model.activation(1).type_name() == "Functional");
  const Tensor x = ones({3, 2}, float64);
  const Tensor a1 = matmul(model.layer(1).W, x) + model.layer(1).b;
  const Tensor want = matmul(model.layer(2).W, a1 * sigmoid(a1)) + model.layer(2).b;
  BOOST_TEST(model(x).to_vector() == want.to_vector(), tt::per_element());
}

BOOST_AUTO_TEST_CASE(mlp_picks_he_for_relu_and_xavier_otherwise) {
  Generator g1(5), g2(5);
  nn::MLP relu_net({400, 300, 1}, nn::ReLU(), {.gen = &g1});
  check_centered(relu_net.layer(1).W, std::sqrt(2.0 / 400.0), "relu layer: He");
  nn::MLP tanh_net({400, 300, 1}, nn::Tanh(), {.gen = &g2});
  check_centered(tanh_net.layer(1).W, std::sqrt(2.0 / 700.0), "tanh layer: Xavier");
  nn::MLP small({400, 300, 1}, nn::ReLU(), {.weight_init = init::Init::small_random});
  check_centered(small.layer(1).W, 0.01, "explicit small_random");
}

BOOST_AUTO_TEST_CASE(mlp_is_deterministic_under_a_seed) {
  manual_seed(123);
  nn::MLP a({5, 4, 2}, nn::ReLU());
  manual_seed(123);
  nn::MLP b({5, 4, 2}, nn::ReLU());
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    BOOST_TEST(a.parameters()[i].to_vector() == b.parameters()[i].to_vector(), tt::per_element());
}

BOOST_AUTO_TEST_CASE(mlp_train_eval_flag) {
  nn::MLP model({2, 2}, nn::Identity());
  BOOST_TEST(model.training());
  model.eval();
  BOOST_TEST(!model.training());
  model.train();
  BOOST_TEST(model.training());
  model.train(false);
  BOOST_TEST(!model.training());
}

BOOST_AUTO_TEST_CASE(mlp_few_adam_steps_reduce_loss) {
  // XOR-like labels of 2-D points: a hidden layer is needed.
  Generator gen(17);
  const Tensor X = randn({2, 64}, float64, gen);
  std::vector<double> labels;
  const auto xv = X.to_vector();
  for (int j = 0; j < 64; ++j) labels.push_back(xv[j] * xv[64 + j] > 0 ? 1.0 : 0.0);
  const Tensor Y = tensor(labels, {1, 64}, float64);

  nn::MLP model({2, 16, 1}, nn::Tanh(), {.dtype = float64, .gen = &gen});
  optim::Adam opt(model.parameters(), 0.05);
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    opt.zero_grad();
    Tensor loss = binary_cross_entropy_with_logits(model(X), Y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  BOOST_TEST(last < 0.5 * first, "loss " << first << " -> " << last);
}

BOOST_AUTO_TEST_CASE(mlp_gd_steps_reduce_softmax_loss_in_float32) {
  Generator gen(8);
  const Tensor X = randn({5, 40}, float32, gen);
  const Tensor labels = randint(0, 3, {40}, float32, gen);
  nn::MLP model({5, 8, 3}, nn::ReLU(), {.gen = &gen});
  optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  double first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    opt.zero_grad();
    Tensor loss = softmax_cross_entropy(model(X), labels, 0);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  BOOST_TEST(last < first, "loss " << first << " -> " << last);
}
