// tapegrad against PyTorch: losses and gradients of whole graphs, in float64, equal to
// those torch autograd computed (tests/reference/torch_reference.txt, written by
// tests/reference/make_reference.py; this test only reads the committed file).
#define BOOST_TEST_MODULE torch_reference
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/test_support.hpp"

using namespace tapegrad;
namespace tt = tapegrad::test;

namespace {

constexpr double kTolerance = 1e-10;  // relative, per element

struct Reference {
  std::map<std::string, Tensor> inputs;  ///< requires_grad set as torch had it
  std::vector<std::string> input_order;
  double loss = 0;
  std::map<std::string, Tensor> grads;
};

std::filesystem::path reference_path() {
  return std::filesystem::path(__FILE__).parent_path() / "reference" / "torch_reference.txt";
}

Tensor read_tensor(std::istream& in, int ndim) {
  Shape shape(static_cast<std::size_t>(ndim));
  for (auto& d : shape) in >> d;
  std::vector<double> v(static_cast<std::size_t>(numel(shape)));
  for (double& e : v) in >> e;
  return tensor(v, shape, float64);
}

// Parses the whole file; throws on anything it does not expect.
std::map<std::string, Reference> load_references() {
  std::ifstream in(reference_path());
  if (!in) throw std::runtime_error("cannot open " + reference_path().string());
  std::map<std::string, Reference> cases;
  std::string word, name;
  Reference* current = nullptr;
  while (in >> word) {
    if (word.starts_with("#")) {
      std::getline(in, word);
    } else if (word == "case") {
      in >> name;
      current = &cases[name];
    } else if (word == "input") {
      std::string key;
      int rg = 0, ndim = 0;
      in >> key >> rg >> ndim;
      Tensor t = read_tensor(in, ndim);
      if (rg) t.requires_grad_();
      current->inputs[key] = t;
      current->input_order.push_back(key);
    } else if (word == "loss") {
      in >> current->loss;
    } else if (word == "grad") {
      std::string key;
      int ndim = 0;
      in >> key >> ndim;
      current->grads[key] = read_tensor(in, ndim);
    } else if (word == "end") {
      current = nullptr;
    } else {
      throw std::runtime_error("torch_reference.txt: unexpected word '" + word + "'");
    }
    if (in.fail()) throw std::runtime_error("torch_reference.txt: malformed near case " + name);
  }
  return cases;
}

const std::map<std::string, Reference>& references() {
  static const std::map<std::string, Reference> cases = load_references();
  return cases;
}

using Inputs = std::map<std::string, Tensor>;
using Builder = std::function<Tensor(const Inputs&)>;

// |a - b| / max(|a|, |b|), 0 when a == b; infinite when either is NaN or infinite and
// they differ (torch's values are finite), so that std::max never drops a NaN.
double rel_diff(double a, double b) {
  if (a == b) return 0;
  const double r = std::fabs(a - b) / std::max(std::fabs(a), std::fabs(b));
  return std::isfinite(r) ? r : INFINITY;
}

// Rebuilds case `name` with tapegrad, backpropagates, and compares with torch.
void check_against_torch(const std::string& name, const Builder& build) {
  const auto it = references().find(name);
  BOOST_TEST_REQUIRE((it != references().end()), "case " << name << " missing from the file");
  const Reference& ref = it->second;
  Inputs in;
  for (const auto& [key, t] : ref.inputs) {  // fresh leaves, no grads from earlier runs
    Tensor x = t.clone();
    if (t.requires_grad()) x.requires_grad_();
    in[key] = x;
  }
  const Tensor loss = build(in);
  BOOST_TEST_REQUIRE((loss.dtype() == float64));
  BOOST_TEST_REQUIRE(loss.numel() == 1);
  const double loss_diff = rel_diff(loss.item(), ref.loss);
  BOOST_TEST(loss_diff <= kTolerance, name << ": loss " << fmt::format("{:.17g}", loss.item())
                                           << " vs torch " << fmt::format("{:.17g}", ref.loss));
  loss.backward();
  double worst = 0;
  BOOST_TEST(!ref.grads.empty());
  for (const auto& [key, expected] : ref.grads) {
    const Tensor got = in.at(key).grad();
    BOOST_TEST_REQUIRE(got.defined(), name << ": no gradient for " << key);
    BOOST_TEST_REQUIRE(got.shape() == expected.shape());
    const auto a = got.to_vector(), b = expected.to_vector();
    double w = 0;
    for (std::size_t i = 0; i < a.size(); ++i) w = std::max(w, rel_diff(a[i], b[i]));
    BOOST_TEST(w <= kTolerance, name << ": gradient of " << key << " differs from torch by " << w);
    worst = std::max(worst, w);
  }
  // Inputs torch did not differentiate get no gradient here either.
  for (const auto& [key, t] : in)
    if (!ref.grads.contains(key)) BOOST_TEST(!t.grad().defined(), name << ": " << key);
  fmt::print("torch-reference {}: loss rel diff {:.1e}, worst gradient rel diff {:.1e}\n", name,
             loss_diff, worst);
  std::fflush(stdout);
}

const std::set<std::string> kBuiltHere = {
    "mlp_softmax_cross_entropy", "mlp_rows_tanh_softmax_cross_entropy", "logistic_regression_bce",
    "deep_net_course_cost", "broadcasting", "softmax_log_softmax", "leaky_relu", "mse",
    "bce_with_logits_large_logits", "softmax_cross_entropy_soft_targets",
    "shape_ops_and_elementwise", "conv_net", "conv_batch_norm", "embedding_repeats", "rnn_layer",
    "gru_layer_batch_first", "lstm_layer", "lstm_layer_batch_first_zero_state", "layer_norm",
    "attention", "attention_causal",
    // compared in test_transformer.cpp
    "multihead_attention_self", "multihead_attention_self_causal",
    "multihead_attention_cross_causal", "transformer_block_norm_first_causal",
    "transformer_block_post_norm"};

// The loss of make_reference.py's recurrent_case: a layer around the file's weights, run
// from h0 (and c0) when the case has them, sum(output * R) + sum(h_n * S), and for an
// LSTM + sum(tanh(c_n) * Q).
template <class Layer>
Tensor recurrent_loss(const Inputs& in, bool batch_first) {
  Layer layer(in.at("weight_ih_l0"), in.at("weight_hh_l0"), in.at("bias_ih_l0"),
              in.at("bias_hh_l0"), batch_first);
  nn::RecurrentState start;
  if (in.contains("h0")) start.h = in.at("h0");
  if (in.contains("c0")) start.c = in.at("c0");
  const auto [output, state] = layer.forward_with_state(in.at("x"), start);
  Tensor loss = sum(output * in.at("R")) + sum(state.h * in.at("S"));
  if (in.contains("Q")) loss = loss + sum(tanh(state.c) * in.at("Q"));
  return loss;
}

}  // namespace

BOOST_AUTO_TEST_CASE(reference_file_holds_exactly_the_cases_built_here) {
  std::set<std::string> in_file;
  for (const auto& [name, ref] : references()) {
    in_file.insert(name);
    BOOST_TEST(!ref.inputs.empty(), name);
    BOOST_TEST(std::isfinite(ref.loss), name);
  }
  BOOST_TEST(in_file == kBuiltHere, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(mlp_with_softmax_cross_entropy_matches_torch) {
  check_against_torch("mlp_softmax_cross_entropy", [](const Inputs& in) {
    const Tensor A1 = relu(matmul(in.at("W1"), in.at("X")) + in.at("b1"));
    const Tensor Z2 = matmul(in.at("W2"), A1) + in.at("b2");
    return softmax_cross_entropy(Z2, in.at("y"), 0);
  });
}

BOOST_AUTO_TEST_CASE(mlp_with_examples_in_rows_matches_torch) {
  check_against_torch("mlp_rows_tanh_softmax_cross_entropy", [](const Inputs& in) {
    const Tensor A1 = tanh(matmul(in.at("X"), in.at("W1")) + in.at("b1"));
    return softmax_cross_entropy(matmul(A1, in.at("W2")) + in.at("b2"), in.at("y"), 1);
  });
}

BOOST_AUTO_TEST_CASE(logistic_regression_with_binary_cross_entropy_matches_torch) {
  check_against_torch("logistic_regression_bce", [](const Inputs& in) {
    const Tensor A = sigmoid(matmul(in.at("w"), in.at("X")) + in.at("b"));
    return binary_cross_entropy(A, in.at("Y"));
  });
}

BOOST_AUTO_TEST_CASE(course_deep_net_cost_matches_torch) {
  check_against_torch("deep_net_course_cost", [](const Inputs& in) {
    Tensor A = in.at("X");
    constexpr int L = 3;
    for (int l = 1; l <= L; ++l) {
      const Tensor Z = matmul(in.at(fmt::format("W{}", l)), A) + in.at(fmt::format("b{}", l));
      A = l < L ? relu(Z) : sigmoid(Z);
    }
    const Tensor& Y = in.at("Y");
    const double m = static_cast<double>(Y.size(1));
    return sum(Y * log(A) + (1.0 - Y) * log(1.0 - A)) * (-1.0 / m);
  });
}

BOOST_AUTO_TEST_CASE(broadcasting_graph_matches_torch) {
  check_against_torch("broadcasting", [](const Inputs& in) {
    const Tensor &a = in.at("a"), &b = in.at("b"), &c = in.at("c"), &d = in.at("d"),
                 &e = in.at("e");
    const Tensor h = (a * b + c) / (d * d + 1.0);
    const Tensor k = e * h - a;
    return mean(tanh(k)) + sum(h * h) / 12.0 + sum(mean(k, 0, true) * c);
  });
}

BOOST_AUTO_TEST_CASE(softmax_and_log_softmax_match_torch) {
  check_against_torch("softmax_log_softmax", [](const Inputs& in) {
    const Tensor& x = in.at("x");
    return sum(softmax(x, 0) * in.at("w1")) + sum(log_softmax(x, 1) * in.at("w2"));
  });
}

BOOST_AUTO_TEST_CASE(leaky_relu_matches_torch) {
  check_against_torch("leaky_relu", [](const Inputs& in) {
    const Tensor &x = in.at("x"), &w = in.at("w");
    return mean(leaky_relu(x, 0.1) * w) + sum(leaky_relu(x) * w * w);
  });
}

BOOST_AUTO_TEST_CASE(mse_loss_matches_torch) {
  check_against_torch("mse", [](const Inputs& in) { return mse_loss(in.at("a"), in.at("b")); });
}

BOOST_AUTO_TEST_CASE(binary_cross_entropy_with_large_logits_matches_torch) {
  check_against_torch("bce_with_logits_large_logits", [](const Inputs& in) {
    return binary_cross_entropy_with_logits(in.at("z"), in.at("y"));
  });
}

BOOST_AUTO_TEST_CASE(softmax_cross_entropy_with_soft_targets_matches_torch) {
  check_against_torch("softmax_cross_entropy_soft_targets", [](const Inputs& in) {
    return softmax_cross_entropy(in.at("logits"), in.at("targets"), 1);
  });
}

BOOST_AUTO_TEST_CASE(shape_ops_and_elementwise_functions_match_torch) {
  check_against_torch("shape_ops_and_elementwise", [](const Inputs& in) {
    const Tensor &x = in.at("x"), &y = in.at("y");
    const Tensor cat = concat({transpose(x), y}, 1);
    const Tensor s = reshape(slice(cat, 1, 1, 4), {2, 6});
    const Tensor mx = max(index_select(s, 1, {0, 5, 5, 2}), 1);
    const Tensor p = pow(abs(x) + 0.5, 1.5);
    const Tensor q = sqrt(clamp(x, -0.5, 0.8) + 1.0);
    return sum(mx) + mean(p) + mean(q) + sum(square(select(x, 1, 2))) + sum(2.0 / (abs(y) + 1.0)) +
           sum(exp(-x) * log(abs(x) + 1.0));
  });
}

BOOST_AUTO_TEST_CASE(conv_net_matches_torch) {
  check_against_torch("conv_net", [](const Inputs& in) {
    Tensor h = max_pool2d(relu(conv2d(in.at("x"), in.at("w1"), in.at("b1"), 1, 1)), 2);
    h = conv2d(h, in.at("w2"), in.at("b2"), 1, 2, 2, 2);
    h = avg_pool2d(tanh(h), 3, 1, 1);
    h = adaptive_avg_pool2d(h, 3);
    const Tensor z = matmul(flatten(h, 1), transpose(in.at("W"))) + in.at("b");
    return softmax_cross_entropy(z, in.at("y"), 1);
  });
}

BOOST_AUTO_TEST_CASE(conv_with_batch_norm_matches_torch) {
  check_against_torch("conv_batch_norm", [](const Inputs& in) {
    Tensor h = conv2d(pad(in.at("x"), {1, 0, 2, 1}), in.at("w"), Tensor(), 2);
    h = batch_norm(h, Tensor(), Tensor(), in.at("gamma"), in.at("beta"), true, 0.1, 1e-5, 1);
    h = max_pool2d(relu(h), 2, 1);
    return sum(h * h) / 7.0;
  });
}

BOOST_AUTO_TEST_CASE(embedding_with_repeated_indices_matches_torch) {
  check_against_torch("embedding_repeats", [](const Inputs& in) {
    nn::Embedding embed(in.at("weight"));
    return sum(embed(in.at("indices")) * in.at("w"));
  });
}

BOOST_AUTO_TEST_CASE(rnn_layer_matches_torch) {
  check_against_torch("rnn_layer",
                      [](const Inputs& in) { return recurrent_loss<nn::RNN>(in, false); });
}

BOOST_AUTO_TEST_CASE(gru_layer_batch_first_matches_torch) {
  check_against_torch("gru_layer_batch_first",
                      [](const Inputs& in) { return recurrent_loss<nn::GRU>(in, true); });
}

BOOST_AUTO_TEST_CASE(lstm_layer_matches_torch) {
  check_against_torch("lstm_layer",
                      [](const Inputs& in) { return recurrent_loss<nn::LSTM>(in, false); });
}

BOOST_AUTO_TEST_CASE(lstm_layer_batch_first_from_a_zero_state_matches_torch) {
  check_against_torch("lstm_layer_batch_first_zero_state",
                      [](const Inputs& in) { return recurrent_loss<nn::LSTM>(in, true); });
}

BOOST_AUTO_TEST_CASE(layer_norm_matches_torch) {
  check_against_torch("layer_norm", [](const Inputs& in) {
    return sum(layer_norm(in.at("x"), in.at("weight"), in.at("bias"), 1e-5) * in.at("R"));
  });
}

BOOST_AUTO_TEST_CASE(attention_matches_torch) {
  check_against_torch("attention", [](const Inputs& in) {
    return sum(scaled_dot_product_attention(in.at("q"), in.at("k"), in.at("v")) * in.at("R"));
  });
}

BOOST_AUTO_TEST_CASE(causal_attention_matches_torch) {
  check_against_torch("attention_causal", [](const Inputs& in) {
    return sum(scaled_dot_product_attention(in.at("q"), in.at("k"), in.at("v"), true) * in.at("R"));
  });
}
