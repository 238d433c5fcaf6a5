#include <cmath>
#include <numeric>
#include <sstream>
#include <tapegrad/graph/random.hpp>

namespace tapegrad {

double Generator::uniform() {
  // 53 random bits -> [0, 1): the same sequence on every platform, unlike
  // std::uniform_real_distribution.
  return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
}

double Generator::normal() {
  // Box-Muller on two uniforms: deterministic and portable.
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

std::int64_t Generator::integer(std::int64_t low, std::int64_t high) {
  const auto span = static_cast<std::uint64_t>(high - low);
  // Rejection keeps the draw unbiased.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % span;
  std::uint64_t r;
  do r = engine_();
  while (r >= limit);
  return low + static_cast<std::int64_t>(r % span);
}

std::string Generator::state() const {
  std::ostringstream os;
  os << engine_;
  return os.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 e;
  is >> e;
  if (is.fail()) throw ValueError("Generator::set_state: text is not a saved generator state");
  engine_ = e;
}

Generator& default_generator() {
  thread_local Generator gen;
  return gen;
}

void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

template <class Draw>
static Tensor fill_random(const Shape& shape, Dtype dtype, Draw draw) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch(dtype, [&]<class T>(T) {
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(draw());
  });
  return t;
}

Tensor rand(const Shape& shape, Dtype dtype, Generator& gen) {
  return fill_random(shape, dtype, [&] { return gen.uniform(); });
}

Tensor randn(const Shape& shape, Dtype dtype, Generator& gen) {
  return fill_random(shape, dtype, [&] { return gen.normal(); });
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, Dtype dtype,
               Generator& gen) {
  if (high <= low) throw ValueError(fmt::format("randint: empty range [{}, {})", low, high));
  return fill_random(shape, dtype, [&] { return static_cast<double>(gen.integer(low, high)); });
}

std::vector<std::int64_t> randperm(std::int64_t n, Generator& gen) {
  std::vector<std::int64_t> p(static_cast<std::size_t>(n));
  std::iota(p.begin(), p.end(), 0);
  for (std::int64_t i = n - 1; i > 0; --i)
    std::swap(p[i], p[gen.integer(0, i + 1)]);  // Fisher-Yates
  return p;
}

}  // namespace tapegrad
