// The layers of convolutional nets: Conv2d, the pooling layers, Flatten, BatchNorm2d,
// ResidualBlock; a small conv net that learns; its parameters through a file and back.
#define BOOST_TEST_MODULE conv_layers
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/temp_dir.hpp"

using namespace tapegrad;
namespace tt = boost::test_tools;

namespace {

// Runs f, which must throw E whose message contains every one of `parts`.
template <class E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE(msg);
    for (const std::string& part : parts)
      BOOST_TEST(msg.find(part) != std::string::npos, "'" << part << "' not in: " << msg);
    return;
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type; message: " << e.what());
    return;
  }
  BOOST_ERROR("no exception thrown");
}

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> names;
  for (const auto& [name, t] : named) names.push_back(name);
  return names;
}

Shape shape_of(const NamedTensors& named, const std::string& name) {
  for (const auto& [n, t] : named)
    if (n == name) return t.shape();
  BOOST_ERROR("no tensor named " << name);
  return {};
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), a.numel() * dtype_size(a.dtype())) == 0;
}

double sum_of_squares(const Tensor& t) {
  double s = 0;
  for (double v : t.to_vector()) s += v * v;
  return s;
}

// Values 0, 1, 2, ... in a tensor of `shape`.
Tensor counting(const Shape& shape, Dtype dtype = float64) {
  return arange(0, static_cast<double>(numel(shape)), 1, dtype).reshape(shape);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const auto av = a.to_vector(), bv = b.to_vector();
  BOOST_REQUIRE(av.size() == bv.size());
  double d = 0;
  for (std::size_t i = 0; i < av.size(); ++i) d = std::max(d, std::fabs(av[i] - bv[i]));
  return d;
}

}  // namespace

// ---- initializers the conv layers use ------------------------------------------------

BOOST_AUTO_TEST_CASE(kaiming_uniform_bound_is_sqrt_6_over_1_plus_a2_fan_in) {
  Generator g(1);
  const Tensor w = init::kaiming_uniform({64, 16, 3, 3}, std::sqrt(5.0), float64, g);
  const double bound = 1.0 / std::sqrt(144.0);  // sqrt(6 / (6 * 144))
  const auto v = w.to_vector();
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  BOOST_TEST(*lo >= -bound);
  BOOST_TEST(*hi < bound);
  BOOST_TEST(*hi > 0.98 * bound);  // the whole range is used, not a narrower one
  BOOST_TEST(*lo < -0.98 * bound);
  // a = 0 is he_uniform, draw for draw.
  Generator a(5), b(5);
  BOOST_TEST(same_bits(init::kaiming_uniform({6, 4}, 0.0, float64, a),
                       init::he_uniform({6, 4}, float64, b)));
  BOOST_TEST((init::init_from_name("pytorch") == init::Init::pytorch_default));
  BOOST_TEST((init::init_from_name("pytorch_default") == init::Init::pytorch_default));
}

BOOST_AUTO_TEST_CASE(uniform_init_stays_inside_its_bound_and_rejects_a_negative_one) {
  Generator g(2);
  const auto v = init::uniform({5000}, 0.25, float64, g).to_vector();
  BOOST_TEST(*std::max_element(v.begin(), v.end()) < 0.25);
  BOOST_TEST(*std::min_element(v.begin(), v.end()) >= -0.25);
  BOOST_TEST(*std::max_element(v.begin(), v.end()) > 0.24);
  expect_error<ValueError>([&] { init::uniform({3}, -1.0, float32, g); }, {"init::uniform", "-1"});
}

// ---- Conv2d ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(conv2d_has_torch_parameter_names_and_shapes) {
  nn::Conv2d conv(3, 8, 5);
  const NamedTensors p = conv.named_parameters();
  BOOST_TEST(names_of(p) == (std::vector<std::string>{"weight", "bias"}), tt::per_element());
  BOOST_TEST(shape_of(p, "weight") == (Shape{8, 3, 5, 5}));
  BOOST_TEST(shape_of(p, "bias") == (Shape{8}));
  BOOST_TEST(conv.weight.requires_grad());
  BOOST_TEST(conv.bias.requires_grad());
  BOOST_TEST(conv.in_channels() == 3);
  BOOST_TEST(conv.out_channels() == 8);
  BOOST_TEST((conv.kernel_size() == Size2(5, 5)));

  // Groups split the input channels; a rectangular kernel keeps its two extents.
  nn::Conv2d grouped(4, 6, {3, 1}, {.groups = 2, .bias = false});
  BOOST_TEST(names_of(grouped.named_parameters()) == (std::vector<std::string>{"weight"}),
             tt::per_element());
  BOOST_TEST(grouped.weight.shape() == (Shape{6, 2, 3, 1}));
  BOOST_TEST(!grouped.bias.defined());

  nn::Conv2d f64(2, 3, 3, {.dtype = float64});
  BOOST_TEST((f64.weight.dtype() == float64));
  BOOST_TEST((f64.bias.dtype() == float64));
}

BOOST_AUTO_TEST_CASE(conv2d_output_shape_follows_the_formula) {
  nn::Conv2d same(1, 6, 5, {.padding = 2});
  BOOST_TEST(same(zeros({2, 1, 28, 28})).shape() == (Shape{2, 6, 28, 28}));
  nn::Conv2d valid(1, 6, 5);
  BOOST_TEST(valid(zeros({2, 1, 28, 28})).shape() == (Shape{2, 6, 24, 24}));
  nn::Conv2d strided(2, 4, 3, {.stride = {2, 1}, .padding = 1, .dilation = {1, 2}});
  const Tensor y = strided(zeros({3, 2, 9, 7}));
  BOOST_TEST(y.shape() ==
             (Shape{3, 4, conv_output_size(9, 3, 2, 1, 1), conv_output_size(7, 3, 1, 1, 2)}));
  BOOST_TEST(y.shape() == (Shape{3, 4, 5, 5}));
}

BOOST_AUTO_TEST_CASE(conv2d_output_matches_the_sum_by_hand) {
  // Stride 2, padding 1 and two groups at once: each enters the index arithmetic.
  const std::int64_t N = 2, C = 4, H = 5, W = 6, O = 6, K = 3, G = 2, S = 2, P = 1;
  Generator gen(7);
  nn::Conv2d conv(C, O, K, {.stride = S, .padding = P, .groups = G, .dtype = float64}, gen);
  const Tensor x = randn({N, C, H, W}, float64, gen);
  const Tensor y = conv(x);
  const std::int64_t Ho = conv_output_size(H, K, S, P), Wo = conv_output_size(W, K, S, P);
  BOOST_TEST_REQUIRE(y.shape() == (Shape{N, O, Ho, Wo}));
  const std::int64_t per_group_in = C / G, per_group_out = O / G;
  double worst = 0;
  for (std::int64_t n = 0; n < N; ++n)
    for (std::int64_t o = 0; o < O; ++o)
      for (std::int64_t i = 0; i < Ho; ++i)
        for (std::int64_t j = 0; j < Wo; ++j) {
          double want = conv.bias.at({o});
          const std::int64_t g = o / per_group_out;
          for (std::int64_t c = 0; c < per_group_in; ++c)
            for (std::int64_t p = 0; p < K; ++p)
              for (std::int64_t q = 0; q < K; ++q) {
                const std::int64_t r = i * S - P + p, s = j * S - P + q;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                want += conv.weight.at({o, c, p, q}) * x.at({n, g * per_group_in + c, r, s});
              }
          worst = std::max(worst, std::fabs(y.at({n, o, i, j}) - want));
        }
  BOOST_TEST(worst < 1e-12);
}

BOOST_AUTO_TEST_CASE(conv2d_default_init_is_torch_uniform_in_one_over_sqrt_fan_in) {
  Generator gen(3);
  nn::Conv2d conv(16, 32, 3, {}, gen);
  const double bound = 1.0 / std::sqrt(16.0 * 9.0);
  const auto w = conv.weight.to_vector();
  const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
  BOOST_TEST(*lo >= -bound);
  BOOST_TEST(*hi < bound);
  BOOST_TEST(*hi > 0.98 * bound);
  double var = 0;
  for (double v : w) var += v * v;
  var /= static_cast<double>(w.size());
  BOOST_TEST(std::sqrt(var) == bound / std::sqrt(3.0), tt::tolerance(0.05));  // U(-b, b)
  const auto b = conv.bias.to_vector();
  BOOST_TEST(*std::max_element(b.begin(), b.end()) < bound);
  BOOST_TEST(*std::min_element(b.begin(), b.end()) >= -bound);
  BOOST_TEST(sum_of_squares(conv.bias) > 0);  // drawn, not zeros

  // The same generator state gives the same layer.
  Generator a(11), c(11);
  nn::Conv2d first(2, 3, 3, {}, a), second(2, 3, 3, {}, c);
  BOOST_TEST(same_bits(first.weight, second.weight));
  BOOST_TEST(same_bits(first.bias, second.bias));
}

BOOST_AUTO_TEST_CASE(conv2d_he_init_is_normal_with_std_sqrt_2_over_fan_in_and_zero_bias) {
  Generator gen(4);
  nn::Conv2d conv(32, 64, 3, {.weight_init = init::Init::he_normal, .dtype = float64}, gen);
  const auto w = conv.weight.to_vector();
  double mean = 0, var = 0;
  for (double v : w) mean += v;
  mean /= static_cast<double>(w.size());
  for (double v : w) var += (v - mean) * (v - mean);
  var /= static_cast<double>(w.size());
  BOOST_TEST(std::sqrt(var) == std::sqrt(2.0 / (32.0 * 9.0)), tt::tolerance(0.03));
  BOOST_TEST(sum_of_squares(conv.bias) == 0.0);
}

BOOST_AUTO_TEST_CASE(conv2d_extra_repr_shows_its_settings) {
  BOOST_TEST(nn::Conv2d(1, 6, 5, {.padding = 2}).to_string() ==
             "Conv2d(in=1, out=6, kernel=5x5, stride=1, padding=2)");
  BOOST_TEST(nn::Conv2d(4, 6, {3, 1}, {.stride = {2, 1}, .groups = 2, .bias = false}).to_string() ==
             "Conv2d(in=4, out=6, kernel=3x1, stride=2x1, padding=0, groups=2, bias=false)");
  BOOST_TEST(nn::Conv2d(2, 2, 3, {.dilation = 2}).extra_repr() ==
             "in=2, out=2, kernel=3x3, stride=1, padding=0, dilation=2");
}

BOOST_AUTO_TEST_CASE(conv2d_rejects_bad_arguments) {
  expect_error<ValueError>([] { nn::Conv2d(0, 6, 5); }, {"Conv2d", "in=0", "out=6"});
  expect_error<ValueError>([] { nn::Conv2d(1, -2, 5); }, {"Conv2d", "out=-2"});
  expect_error<ValueError>([] { nn::Conv2d(1, 6, {0, 3}); }, {"Conv2d", "kernel_size", "0x3"});
  expect_error<ValueError>([] { nn::Conv2d(1, 6, 3, {.stride = 0}); },
                           {"Conv2d", "stride", "got 0"});
  expect_error<ValueError>(
      [] {
        nn::Conv2d(1, 6, 3, {.padding = {1, -1}});
      },
      {"Conv2d", "padding", "1x-1"});
  expect_error<ValueError>([] { nn::Conv2d(1, 6, 3, {.dilation = 0}); }, {"Conv2d", "dilation"});
  expect_error<ValueError>([] { nn::Conv2d(4, 6, 3, {.groups = 3}); },
                           {"Conv2d", "groups=3", "in=4", "out=6"});
  expect_error<ValueError>([] { nn::Conv2d(4, 6, 3, {.groups = 0}); }, {"Conv2d", "groups=0"});
}

BOOST_AUTO_TEST_CASE(conv2d_forward_rejects_inputs_of_the_wrong_shape) {
  nn::Conv2d conv(3, 4, 5);
  expect_error<ShapeError>(
      [&] {
        conv(zeros({3, 8, 8}));
      },
      {"Conv2d", "[3, 8, 8]", "(N, 3, H, W)"});
  expect_error<ShapeError>(
      [&] {
        conv(zeros({2, 1, 8, 8}));
      },
      {"Conv2d", "[2, 1, 8, 8]", "3 input channels"});
  expect_error<ShapeError>(
      [&] {
        conv(zeros({2, 3, 4, 8}));
      },
      {"Conv2d", "[2, 3, 4, 8]", "smaller than the kernel", "4x8", "5x5"});
  // Padding makes the same input big enough.
  nn::Conv2d padded(3, 4, 5, {.padding = 1});
  BOOST_TEST(padded(zeros({2, 3, 4, 8})).shape() == (Shape{2, 4, 2, 6}));
}

// ---- Flatten --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(flatten_puts_each_example_in_a_column) {
  nn::Flatten flat;
  const Tensor x = counting({2, 3, 2, 2});
  const Tensor y = flat(x);
  BOOST_TEST_REQUIRE(y.shape() == (Shape{12, 2}));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t f = 0; f < 12; ++f)
      BOOST_TEST(y.at({f, n}) == static_cast<double>(n * 12 + f));
  BOOST_TEST(flat.to_string() == "Flatten()");
  BOOST_TEST(flat.named_parameters().empty());
  BOOST_TEST(flat(zeros({5, 7})).shape() == (Shape{7, 5}));
}

BOOST_AUTO_TEST_CASE(flatten_gradient_goes_back_to_the_image_layout) {
  Tensor x = counting({2, 2, 1, 3});
  x.requires_grad_();
  const Tensor weights = counting({6, 2}) + 1.0;  // weights[f, n] = 2 f + n + 1
  (nn::Flatten()(x) * weights).sum().backward();
  BOOST_TEST_REQUIRE(x.grad().shape() == x.shape());
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 2; ++c)
      for (std::int64_t w = 0; w < 3; ++w)
        BOOST_TEST(x.grad().at({n, c, 0, w}) == static_cast<double>(2 * (c * 3 + w) + n + 1));
}

BOOST_AUTO_TEST_CASE(flatten_rejects_an_input_without_feature_axes) {
  expect_error<ShapeError>([] { nn::Flatten()(zeros({5})); }, {"Flatten", "[5]", "(N, ...)"});
}

// ---- pooling --------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(max_pool2d_takes_each_windows_largest_value) {
  nn::MaxPool2d pool(2);
  BOOST_TEST((pool.stride() == Size2(2)));  // 0 means the kernel
  const Tensor x = tensor({3, 1, 2, 0,      //
                           4, 2, 7, 1,      //
                           0, 9, 5, 5,      //
                           8, 1, 6, 2},
                          {1, 1, 4, 4}, float64);
  const Tensor y = pool(x);
  BOOST_TEST(y.shape() == (Shape{1, 1, 2, 2}));
  BOOST_TEST(y.to_vector() == (std::vector<double>{4, 7, 9, 6}), tt::per_element());
  BOOST_TEST(pool.to_string() == "MaxPool2d(kernel=2x2, stride=2, padding=0)");
  // Overlapping windows: kernel 3, stride 1.
  nn::MaxPool2d overlap(3, 1);
  BOOST_TEST(overlap(x).to_vector() == (std::vector<double>{9, 9, 9, 9}), tt::per_element());
  BOOST_TEST(nn::MaxPool2d({3, 2}, {1, 2}, 1).extra_repr() == "kernel=3x2, stride=1x2, padding=1");
}

BOOST_AUTO_TEST_CASE(avg_pool2d_takes_each_windows_mean) {
  const Tensor x = counting({1, 2, 4, 4});
  const Tensor y = nn::AvgPool2d(2)(x);
  BOOST_TEST_REQUIRE(y.shape() == (Shape{1, 2, 2, 2}));
  // Window (0, 0) of channel 0: (0 + 1 + 4 + 5) / 4.
  BOOST_TEST(y.at({0, 0, 0, 0}) == 2.5);
  BOOST_TEST(y.at({0, 1, 1, 1}) == (26 + 27 + 30 + 31) / 4.0);
  // With padding, the corner window holds one element of the input: divided by 4 with
  // count_include_pad, by 1 without.
  const Tensor one = ones({1, 1, 3, 3}, float64);
  BOOST_TEST(nn::AvgPool2d(2, 2, 1)(one).at({0, 0, 0, 0}) == 0.25);
  nn::AvgPool2d exclude(2, 2, 1, false);
  BOOST_TEST(exclude(one).at({0, 0, 0, 0}) == 1.0);
  BOOST_TEST(exclude.to_string() ==
             "AvgPool2d(kernel=2x2, stride=2, padding=1, count_include_pad=false)");
}

BOOST_AUTO_TEST_CASE(adaptive_avg_pool2d_of_one_is_the_mean_of_each_channel) {
  const Tensor x = counting({2, 3, 4, 5});
  nn::AdaptiveAvgPool2d pool(1);
  const Tensor y = pool(x);
  BOOST_TEST_REQUIRE(y.shape() == (Shape{2, 3, 1, 1}));
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      BOOST_TEST(y.at({n, c, 0, 0}) == static_cast<double>((n * 3 + c) * 20) + 9.5,
                 tt::tolerance(1e-12));
  BOOST_TEST(pool.to_string() == "AdaptiveAvgPool2d(output_size=1x1)");
  BOOST_TEST(nn::AdaptiveAvgPool2d({2, 3})(x).shape() == (Shape{2, 3, 2, 3}));
}

BOOST_AUTO_TEST_CASE(pooling_layers_reject_bad_arguments_and_inputs) {
  expect_error<ValueError>([] { nn::MaxPool2d(0); }, {"MaxPool2d", "kernel", "0x0"});
  expect_error<ValueError>([] { nn::MaxPool2d(2, -1); }, {"MaxPool2d", "stride", "-1"});
  expect_error<ValueError>([] { nn::MaxPool2d(2, 2, 2); },
                           {"MaxPool2d", "padding", "got 2 for a kernel of 2x2"});
  expect_error<ValueError>([] { nn::AvgPool2d(3, 1, -1); }, {"AvgPool2d", "padding", "-1"});
  expect_error<ValueError>(
      [] {
        nn::AdaptiveAvgPool2d({1, 0});
      },
      {"AdaptiveAvgPool2d", "output_size", "1x0"});
  expect_error<ShapeError>(
      [] {
        nn::MaxPool2d(2)(zeros({4, 4}));
      },
      {"MaxPool2d", "[4, 4]", "(N, C, H, W)"});
  expect_error<ShapeError>(
      [] {
        nn::AvgPool2d(3)(zeros({1, 1, 2, 5}));
      },
      {"AvgPool2d", "[1, 1, 2, 5]", "smaller than the window"});
  expect_error<ShapeError>(
      [] {
        nn::AdaptiveAvgPool2d(1)(zeros({2, 3, 4}));
      },
      {"AdaptiveAvgPool2d", "[2, 3, 4]"});
}

// ---- BatchNorm2d ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(batch_norm2d_normalizes_each_channel_over_batch_and_space) {
  nn::BatchNorm2d bn(3, {.dtype = float64});
  BOOST_TEST(bn.type_name() == "BatchNorm2d");
  BOOST_TEST(bn.options().axis == 1);
  BOOST_TEST(names_of(bn.state_dict()) ==
                 (std::vector<std::string>{"weight", "bias", "running_mean", "running_var"}),
             tt::per_element());
  Generator gen(5);
  // Channel c has mean 10 c and std c + 1.
  Tensor x = randn({4, 3, 5, 6}, float64, gen);
  const Tensor scale = tensor({1, 2, 3}, {1, 3, 1, 1}, float64);
  const Tensor shift = tensor({0, 10, 20}, {1, 3, 1, 1}, float64);
  x = x * scale + shift;
  const Tensor y = bn(x);
  BOOST_TEST_REQUIRE(y.shape() == x.shape());
  const Tensor mean = y.mean(3).mean(2).mean(0);  // (3)
  const Tensor sq = (y * y).mean(3).mean(2).mean(0);
  for (std::int64_t c = 0; c < 3; ++c) {
    BOOST_TEST(std::fabs(mean.at({c})) < 1e-10);
    BOOST_TEST(sq.at({c}) == 1.0, tt::tolerance(1e-4));  // biased var / (var + eps)
  }
  // The running mean moved a tenth of the way to each channel's batch mean.
  const Tensor batch_mean = x.mean(3).mean(2).mean(0);
  for (std::int64_t c = 0; c < 3; ++c)
    BOOST_TEST(bn.running_mean.at({c}) == 0.1 * batch_mean.at({c}), tt::tolerance(1e-10));
  // In evaluation the running statistics normalize: here (x - rm) / sqrt(rv + eps).
  bn.eval();
  const Tensor z = bn(x);
  const double want =
      (x.at({1, 2, 3, 4}) - bn.running_mean.at({2})) / std::sqrt(bn.running_var.at({2}) + 1e-5);
  BOOST_TEST(z.at({1, 2, 3, 4}) == want, tt::tolerance(1e-10));
}

BOOST_AUTO_TEST_CASE(batch_norm2d_ignores_the_axis_option_and_names_itself_in_errors) {
  nn::BatchNorm2d bn(2, {.axis = 0});
  BOOST_TEST(bn.options().axis == 1);
  BOOST_TEST(bn(ones({3, 2, 2, 2})).shape() == (Shape{3, 2, 2, 2}));
  expect_error<ValueError>([] { nn::BatchNorm2d(0); }, {"BatchNorm2d", "num_features", "0"});
  expect_error<ValueError>([] { nn::BatchNorm2d(4, {.momentum = 2}); },
                           {"BatchNorm2d", "momentum"});
  expect_error<ShapeError>([&] { bn(ones({3, 2})); }, {"BatchNorm2d", "[3, 2]", "(N, 2, H, W)"});
  expect_error<ShapeError>([&] { bn(ones({3, 4, 2, 2})); }, {"BatchNorm2d", "[3, 4, 2, 2]"});
  // The plain layer keeps its own name.
  expect_error<ValueError>([] { nn::BatchNorm(0); }, {"BatchNorm: num_features"});
}

// ---- ResidualBlock --------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(residual_block_keeping_the_shape_adds_its_input) {
  Generator gen(8);
  nn::ResidualBlock block(4, 4, 1, true, float64, gen);
  BOOST_TEST(!block.downsample);
  BOOST_TEST(names_of(block.named_parameters()) ==
                 (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                           "bn2.weight", "bn2.bias"}),
             tt::per_element());
  BOOST_TEST(shape_of(block.named_parameters(), "conv1.weight") == (Shape{4, 4, 3, 3}));
  const Tensor x = randn({2, 4, 6, 6}, float64, gen);
  const Tensor y = block(x);
  BOOST_TEST_REQUIRE(y.shape() == (Shape{2, 4, 6, 6}));
  // relu(F(x) + x), F from the block's own layers.
  const Tensor f = (*block.bn2)((*block.conv2)(relu((*block.bn1)((*block.conv1)(x)))));
  BOOST_TEST(max_abs_diff(y, relu(f + x)) < 1e-12);
  BOOST_TEST(max_abs_diff(y, relu(f)) > 0.1);  // the skip changed the output
}

BOOST_AUTO_TEST_CASE(residual_block_downsamples_the_shortcut_with_torchvision_names) {
  Generator gen(9);
  nn::ResidualBlock block(4, 8, 2, true, float64, gen);
  BOOST_TEST_REQUIRE(block.downsample != nullptr);
  const NamedTensors p = block.named_parameters();
  BOOST_TEST(names_of(p) ==
                 (std::vector<std::string>{"conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight",
                                           "bn2.weight", "bn2.bias", "downsample.0.weight",
                                           "downsample.1.weight", "downsample.1.bias"}),
             tt::per_element());
  BOOST_TEST(shape_of(p, "conv1.weight") == (Shape{8, 4, 3, 3}));
  BOOST_TEST(shape_of(p, "conv2.weight") == (Shape{8, 8, 3, 3}));
  BOOST_TEST(shape_of(p, "downsample.0.weight") == (Shape{8, 4, 1, 1}));
  const auto buffers = names_of(block.named_buffers());
  BOOST_TEST(
      (std::find(buffers.begin(), buffers.end(), "downsample.1.running_var") != buffers.end()));
  const Tensor x = randn({2, 4, 7, 7}, float64, gen);
  const Tensor y = block(x);
  BOOST_TEST_REQUIRE(y.shape() == (Shape{2, 8, 4, 4}));  // floor((7 - 1) / 2) + 1
  const Tensor f = (*block.bn2)((*block.conv2)(relu((*block.bn1)((*block.conv1)(x)))));
  BOOST_TEST(max_abs_diff(y, relu(f + (*block.downsample)(x))) < 1e-12);
}

BOOST_AUTO_TEST_CASE(residual_block_without_shortcut_is_the_plain_block) {
  Generator a(10), b(10);
  nn::ResidualBlock plain(4, 8, 2, false, float64, a);
  nn::ResidualBlock skip(4, 8, 2, true, float64, b);
  BOOST_TEST(!plain.downsample);
  BOOST_TEST(!plain.shortcut());
  BOOST_TEST(plain.named_parameters().size() == 6);
  // Same draws for the layers both have, so the two differ only by the skip.
  BOOST_TEST(same_bits(plain.conv2->weight, skip.conv2->weight));
  Generator gx(1);
  const Tensor x = randn({2, 4, 6, 6}, float64, gx);
  const Tensor f = (*skip.bn2)((*skip.conv2)(relu((*skip.bn1)((*skip.conv1)(x)))));
  BOOST_TEST(max_abs_diff(plain(x), relu(f)) < 1e-12);
}

BOOST_AUTO_TEST_CASE(residual_block_gradient_reaches_every_parameter) {
  for (const bool shortcut : {true, false}) {
    Generator gen(12);
    nn::ResidualBlock block(3, 6, 2, shortcut, float32, gen);
    Tensor x = randn({2, 3, 8, 8}, float32, gen);
    x.requires_grad_();
    const Tensor target = randn({2, 6, 4, 4}, float32, gen);
    (block(x) * target).sum().backward();
    for (const auto& [name, p] : block.named_parameters()) {
      BOOST_TEST_REQUIRE(p.grad().defined(), name);
      BOOST_TEST(p.grad().shape() == p.shape(), name);
      BOOST_TEST(sum_of_squares(p.grad()) > 0, name << " (shortcut " << shortcut << ")");
    }
    BOOST_TEST(sum_of_squares(x.grad()) > 0);
  }
}

BOOST_AUTO_TEST_CASE(residual_block_rejects_bad_arguments_and_inputs) {
  expect_error<ValueError>([] { nn::ResidualBlock(0, 4); }, {"ResidualBlock", "in=0"});
  expect_error<ValueError>([] { nn::ResidualBlock(4, 4, 0); }, {"ResidualBlock", "stride", "0"});
  nn::ResidualBlock block(4, 4);
  expect_error<ShapeError>(
      [&] {
        block(zeros({2, 3, 6, 6}));
      },
      {"ResidualBlock", "[2, 3, 6, 6]", "4 input channels"});
  expect_error<ShapeError>([&] { block(zeros({4, 6, 6})); }, {"ResidualBlock", "[4, 6, 6]"});
}

// ---- a small conv net -----------------------------------------------------------------

namespace {

// 8x8 images of a bright vertical bar (class 0) or horizontal bar (class 1) at a random
// place, on noise: X (m, 1, 8, 8), Y (m).
std::pair<Tensor, Tensor> bars(std::int64_t m, Generator& gen) {
  Tensor X = zeros({m, 1, 8, 8});
  Tensor Y = zeros({m});
  float* x = X.data<float>();
  for (std::int64_t i = 0; i < m; ++i) {
    const bool horizontal = i % 2 == 1;
    const std::int64_t at = gen.integer(1, 7);
    for (std::int64_t r = 0; r < 8; ++r)
      for (std::int64_t c = 0; c < 8; ++c)
        x[i * 64 + r * 8 + c] =
            static_cast<float>(0.3 * gen.uniform()) + ((horizontal ? r : c) == at ? 1.0f : 0.0f);
    Y.data<float>()[i] = horizontal ? 1.0f : 0.0f;
  }
  return {X, Y};
}

nn::Sequential small_net(Generator& gen) {
  return nn::Sequential{nn::Conv2d(1, 4, 3, {.padding = 1}, gen),
                        nn::BatchNorm2d(4),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Flatten(),
                        nn::Linear(64, 2, init::Init::xavier_uniform, float32, gen)};  // 4 x 4 x 4
}

}  // namespace

BOOST_AUTO_TEST_CASE(small_conv_net_learns_bars) {
  Generator gen(13);
  nn::Sequential net = small_net(gen);
  const auto [X, Y] = bars(32, gen);
  optim::Adam opt(net.parameters(), 0.02);
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    const Tensor logits = net(X);  // (2, 32)
    BOOST_TEST_REQUIRE(logits.shape() == (Shape{2, 32}));
    const Tensor loss = softmax_cross_entropy(logits, Y, 0);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
  }
  BOOST_TEST_MESSAGE("loss " << first << " -> " << last);
  BOOST_TEST(last < 0.3 * first);
  // Evaluation mode (running statistics) classifies fresh bars.
  net.eval();
  const auto [Xt, Yt] = bars(32, gen);
  const Tensor predicted = net(Xt).argmax(0);
  int right = 0;
  for (std::int64_t i = 0; i < 32; ++i) right += predicted.at({i}) == Yt.at({i}) ? 1 : 0;
  BOOST_TEST(right >= 28, right << " of 32");
}

BOOST_AUTO_TEST_CASE(conv_net_parameters_survive_a_file_round_trip) {
  test::TempDir dir;
  Generator gen(14), other(15);
  nn::Sequential net = small_net(gen);
  // One training step, so the running statistics are not their initial values.
  const auto [X, Y] = bars(8, gen);
  softmax_cross_entropy(net(X), Y, 0).backward();
  BOOST_TEST(names_of(net.state_dict()) ==
                 (std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "5.weight",
                                           "5.bias", "1.running_mean", "1.running_var"}),
             tt::per_element());
  save_parameters(dir.path / "net.tg", net);

  nn::Sequential copy = small_net(other);
  BOOST_TEST(!same_bits(copy.at<nn::Conv2d>(0).weight, net.at<nn::Conv2d>(0).weight));
  load_parameters_into(dir.path / "net.tg", copy);
  const NamedTensors a = net.state_dict(), b = copy.state_dict();
  BOOST_TEST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i)
    BOOST_TEST(same_bits(a[i].second, b[i].second), a[i].first);
  net.eval();
  copy.eval();
  BOOST_TEST(same_bits(net(X), copy(X)));

  // A net of another shape is refused, naming the tensor.
  Generator g3(16);
  nn::Sequential wider{nn::Conv2d(1, 5, 3, {.padding = 1}, g3),
                       nn::BatchNorm2d(5),
                       nn::ReLU(),
                       nn::MaxPool2d(2),
                       nn::Flatten(),
                       nn::Linear(80, 2)};  // 5 x 4 x 4
  BOOST_CHECK_THROW(load_parameters_into(dir.path / "net.tg", wider), Error);
}
