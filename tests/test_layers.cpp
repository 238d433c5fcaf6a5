#define BOOST_TEST_MODULE layers
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
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

// ---- activations ------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(activation_names_round_trip) {
  for (const char* name : {"none", "relu", "sigmoid", "tanh", "leaky_relu"})
    BOOST_TEST(nn::activation_name(nn::activation_from_name(name)) == name);
  BOOST_CHECK_THROW(nn::activation_from_name("softplus"), ValueError);
  const Tensor z = tensor({-2, 0.5}, {2}, float64);
  const auto leaky = nn::activate(z, nn::Activation::leaky_relu, 0.1).to_vector();
  BOOST_TEST(leaky[0] == -0.2, tt::tolerance(1e-15));
  BOOST_TEST(nn::activate(z, nn::Activation::relu).to_vector() == std::vector<double>({0, 0.5}),
             tt::per_element());
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
  nn::MLP model({784, 256, 128, 10}, "relu");
  BOOST_TEST(model.layers().size() == 3u);
  BOOST_TEST(model.layers()[0].W.shape() == Shape({256, 784}), tt::per_element());
  BOOST_TEST(model.layers()[1].W.shape() == Shape({128, 256}), tt::per_element());
  BOOST_TEST(model.layers()[2].W.shape() == Shape({10, 128}), tt::per_element());
  BOOST_TEST(model.layers()[2].b.shape() == Shape({10, 1}), tt::per_element());
  BOOST_TEST((model.activations() == std::vector<nn::Activation>{nn::Activation::relu,
                                                                 nn::Activation::relu,
                                                                 nn::Activation::none}));
  BOOST_TEST(model.parameters().size() == 6u);
  std::vector<std::string> names;
  for (const auto& [name, t] : model.named_parameters()) names.push_back(name);
  BOOST_TEST(names == std::vector<std::string>({"W1", "b1", "W2", "b2", "W3", "b3"}),
             tt::per_element());
  // named_parameters shares the tensors, so loading into it loads into the model.
  BOOST_TEST(model.named_parameters()[2].second.impl_ptr() == model.layers()[1].W.impl_ptr());
  const Tensor out = model(zeros({784, 5}));
  BOOST_TEST(out.shape() == Shape({10, 5}), tt::per_element());
}

BOOST_AUTO_TEST_CASE(mlp_takes_one_activation_per_layer) {
  nn::MLP model({4, 3, 1}, std::vector<std::string>{"tanh", "sigmoid"}, {.dtype = float64});
  const Tensor out = model(ones({4, 7}, float64));
  BOOST_TEST(out.shape() == Shape({1, 7}), tt::per_element());
  for (double p : out.to_vector()) BOOST_TEST((p > 0 && p < 1));  // sigmoid output
  BOOST_CHECK_THROW(nn::MLP({4, 3, 1}, std::vector<std::string>{"tanh"}), ValueError);
  BOOST_CHECK_THROW(nn::MLP({4}, "relu"), ValueError);
  BOOST_CHECK_THROW(nn::MLP({4, 0, 1}, "relu"), ValueError);
}

BOOST_AUTO_TEST_CASE(mlp_picks_he_for_relu_and_xavier_otherwise) {
  Generator g1(5), g2(5);
  nn::MLP relu_net({400, 300, 1}, "relu", {.gen = &g1});
  check_centered(relu_net.layers()[0].W, std::sqrt(2.0 / 400.0), "relu layer: He");
  nn::MLP tanh_net({400, 300, 1}, "tanh", {.gen = &g2});
  check_centered(tanh_net.layers()[0].W, std::sqrt(2.0 / 700.0), "tanh layer: Xavier");
  nn::MLP small({400, 300, 1}, "relu", {.weight_init = init::Init::small_random});
  check_centered(small.layers()[0].W, 0.01, "explicit small_random");
}

BOOST_AUTO_TEST_CASE(mlp_is_deterministic_under_a_seed) {
  manual_seed(123);
  nn::MLP a({5, 4, 2}, "relu");
  manual_seed(123);
  nn::MLP b({5, 4, 2}, "relu");
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    BOOST_TEST(a.parameters()[i].to_vector() == b.parameters()[i].to_vector(), tt::per_element());
}

BOOST_AUTO_TEST_CASE(mlp_train_eval_flag) {
  nn::MLP model({2, 2}, "none");
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

  nn::MLP model({2, 16, 1}, "tanh", {.dtype = float64, .gen = &gen});
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
  nn::MLP model({5, 8, 3}, "relu", {.gen = &gen});
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
