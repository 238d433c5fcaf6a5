// tapegrad's half of the round trips with PyTorch through safetensors. ctest runs, in
// order (tests/CMakeLists.txt): torch_roundtrip.py export, which trains three models in
// torch and writes their state_dicts and outputs; this suite, which
//   - from torch: loads each state_dict into the same architecture built with tapegrad
//     and asks for torch's logits on the same 500 test images, within 1e-6 of the
//     largest |logit| in float32 (1e-12 in float64), and the same test accuracy;
//   - to torch: trains its own model of each architecture and writes its weights (with
//     save_safetensors(model): torch's names and shapes) and its outputs;
// and torch_roundtrip.py check, which loads tapegrad's weights into torch and asks for
// tapegrad's logits and accuracy. The folder is TAPEGRAD_ROUNDTRIP_DIR.
#define BOOST_TEST_MODULE torch_roundtrip
#include <fmt/format.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;
namespace fs = std::filesystem;

namespace {

fs::path folder() {
  const char* dir = std::getenv("TAPEGRAD_ROUNDTRIP_DIR");
  BOOST_TEST_REQUIRE(dir != nullptr, "TAPEGRAD_ROUNDTRIP_DIR is not set");
  return dir;
}

// The three architectures of torch_roundtrip.py, in tapegrad's layers. Linear and
// Flatten put one example per column, so mlp and deepnet take x (784, N) and every
// model gives (C, N); torch's take (N, 784) or (N, 1, 28, 28) and give (N, C).
nn::Sequential build(const std::string& model, Dtype dtype, Generator& gen) {
  if (model == "mlp")
    return nn::MLP({784, 256, 128, 10}, nn::ReLU(), {.dtype = dtype, .gen = &gen});
  if (model == "deepnet")
    return nn::MLP({784, 20, 7, 5, 1}, {nn::ReLU(), nn::ReLU(), nn::ReLU(), nn::Sigmoid()},
                   {.dtype = dtype, .gen = &gen});
  const nn::Conv2dOptions conv{.padding = 1, .dtype = dtype};
  const nn::BatchNormOptions bn{.dtype = dtype};
  return nn::Sequential{nn::Conv2d(1, 8, 3, conv, gen),
                        nn::BatchNorm2d(8, bn),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Conv2d(8, 16, 3, conv, gen),
                        nn::BatchNorm2d(16, bn),
                        nn::ReLU(),
                        nn::MaxPool2d(2),
                        nn::Flatten(),
                        nn::Linear(16 * 7 * 7, 10, init::Init::xavier_uniform, dtype, gen)};
}

// Image bytes (N, 784) as the model's input, divided by 255 in `dtype` as torch does.
Tensor inputs(const std::string& model, const Tensor& bytes, Dtype dtype) {
  const Tensor x = bytes.to(dtype) / 255.0;
  if (model == "convnet") return reshape(x, {x.size(0), 1, 28, 28});
  return transpose(x);
}

// The model's outputs as torch's (N, C).
Tensor outputs(nn::Sequential& net, const std::string& model, const Tensor& bytes, Dtype dtype) {
  NoGradGuard no_grad;
  net.eval();
  return transpose(net(inputs(model, bytes, dtype)));
}

double accuracy(const std::string& model, const Tensor& out, const std::vector<double>& labels) {
  const std::vector<double> v = out.to_vector();
  const auto classes = static_cast<std::size_t>(out.size(1));
  std::size_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto row = v.begin() + static_cast<std::ptrdiff_t>(i * classes);
    const double guess =
        model == "deepnet"
            ? (*row > 0.5 ? 1.0 : 0.0)
            : static_cast<double>(
                  std::max_element(row, row + static_cast<std::ptrdiff_t>(classes)) - row);
    right += guess == labels[i] ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

// max |got - want| relative to max |want|.
double relative_difference(const Tensor& got, const Tensor& want) {
  BOOST_TEST_REQUIRE(got.shape() == want.shape());
  const std::vector<double> g = got.to_vector(), w = want.to_vector();
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    diff = std::max(diff, std::fabs(g[i] - w[i]));
    scale = std::max(scale, std::fabs(w[i]));
  }
  return diff / scale;
}

void from_torch(const std::string& model) {
  const fs::path dir = folder();
  const Safetensors out =
      read_safetensors(dir / fmt::format("torch_{}_outputs.safetensors", model));
  const Tensor bytes = out.find("x")->to_tensor();
  const std::vector<double> labels = out.find("labels")->to_tensor().to_vector();
  const double torch_accuracy =
      std::stod(std::find_if(out.metadata.begin(), out.metadata.end(), [](const auto& kv) {
                  return kv.first == "accuracy";
                })->second);
  Generator gen(1);
  for (const Dtype dtype : {float32, float64}) {
    nn::Sequential net = build(model, dtype, gen);
    load_safetensors_into(dir / fmt::format("torch_{}.safetensors", model), net);
    const Tensor logits = outputs(net, model, bytes, dtype);
    const Tensor want = out.find(dtype == float32 ? "logits" : "logits64")->to_tensor();
    const double diff = relative_difference(logits, want);
    const double acc = accuracy(model, logits, labels);
    BOOST_TEST_MESSAGE(
        fmt::format("{}: torch's weights in tapegrad ({}): relative logit "
                    "difference {:.3g}, test_accuracy: {:.4f} (torch: {:.4f})",
                    model, dtype == float32 ? "float32" : "float64", diff, acc, torch_accuracy));
    BOOST_TEST(diff <= (dtype == float32 ? 1e-6 : 1e-12));
    BOOST_TEST(std::fabs(acc - torch_accuracy) < 1e-9);
  }
}

// Mini-batches of 100 of the first training images (T-shirts and shirts, for deepnet),
// Adam, then the weights and the outputs on torch's test images for torch to check.
void to_torch(const std::string& model) {
  const fs::path dir = folder();
  data::Dataset train = data::load_fashion_mnist(data::kFashionMnistDir, "train", 4000);
  if (model == "deepnet") train = data::binary_subset(train, 0, 6);
  const std::int64_t m = std::min<std::int64_t>(train.m(), 1500);
  Generator gen(2);
  nn::Sequential net = build(model, float32, gen);
  optim::Adam adam(net.parameters(), 2e-3);
  net.train();
  for (int epoch = 0; epoch < 3; ++epoch)
    for (std::int64_t begin = 0; begin < m; begin += 100) {
      const std::int64_t end = std::min(begin + 100, m);
      Tensor X = slice(train.X, 1, begin, end);  // (784, n)
      if (model == "convnet") X = reshape(transpose(X), {end - begin, 1, 28, 28});
      const Tensor out = net(X);
      const Tensor y = slice(train.Y, 1, begin, end);
      const Tensor cost = model == "deepnet"
                              ? binary_cross_entropy(out, y)
                              : softmax_cross_entropy(out, reshape(y, {end - begin}), 0);
      adam.zero_grad();
      cost.backward();
      adam.step();
    }

  const Safetensors torch_out =
      read_safetensors(dir / fmt::format("torch_{}_outputs.safetensors", model));
  const Tensor bytes = torch_out.find("x")->to_tensor();
  const Tensor labels = torch_out.find("labels")->to_tensor();
  const Tensor logits = outputs(net, model, bytes, float32);
  const double acc = accuracy(model, logits, labels.to_vector());
  BOOST_TEST_MESSAGE(fmt::format("{}: tapegrad trained, test_accuracy: {:.4f}", model, acc));
  BOOST_TEST(acc > (model == "deepnet" ? 0.75 : 0.65));  // it learned

  const fs::path weights = dir / fmt::format("tapegrad_{}.safetensors", model);
  save_safetensors(weights, net, {{"format", "pt"}});
  // The float64 logits of the same weights, through the file.
  nn::Sequential net64 = build(model, float64, gen);
  load_safetensors_into(weights, net64);
  const Tensor logits64 = outputs(net64, model, bytes, float64);
  Safetensors file{{{"x", safetensors_tensor(bytes, "U8", "x")},
                    {"labels", safetensors_tensor(labels, "I64", "labels")},
                    {"logits", safetensors_tensor(logits, "F32", "logits")},
                    {"logits64", safetensors_tensor(logits64, "F64", "logits64")}},
                   {{"accuracy", fmt::format("{:.6f}", acc)}, {"model", model}}};
  save_safetensors(dir / fmt::format("tapegrad_{}_outputs.safetensors", model), file);
}

}  // namespace

BOOST_AUTO_TEST_CASE(mlp_from_torch) { from_torch("mlp"); }
BOOST_AUTO_TEST_CASE(convnet_from_torch) { from_torch("convnet"); }
BOOST_AUTO_TEST_CASE(deepnet_from_torch) { from_torch("deepnet"); }
BOOST_AUTO_TEST_CASE(mlp_to_torch) { to_torch("mlp"); }
BOOST_AUTO_TEST_CASE(convnet_to_torch) { to_torch("convnet"); }
BOOST_AUTO_TEST_CASE(deepnet_to_torch) { to_torch("deepnet"); }
