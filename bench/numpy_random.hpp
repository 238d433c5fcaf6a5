#pragma once
// numpy's legacy RandomState (MT19937, seeded as np.random.seed(int) does, with its
// res53 doubles and polar Gaussian), so a benchmark can start from exactly the data
// and weights that ../shared/peers/deepnet_numpy.py makes.
#include <cmath>
#include <cstdint>
#include <random>

namespace bench {

class NumpyRandomState {
 public:
  explicit NumpyRandomState(std::uint32_t seed) : mt_(seed) {}  // init_genrand(seed)

  /// random_sample(): 53-bit double in [0, 1).
  double random_sample() {
    const std::uint32_t a = mt_() >> 5, b = mt_() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }
  double uniform(double low, double high) { return low + (high - low) * random_sample(); }

  /// The legacy standard normal: Marsaglia's polar method, one value cached.
  double standard_normal() {
    if (has_gauss_) {
      has_gauss_ = false;
      return gauss_;
    }
    double x1, x2, r2;
    do {
      x1 = 2.0 * random_sample() - 1.0;
      x2 = 2.0 * random_sample() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 == 0.0);
    const double f = std::sqrt(-2.0 * std::log(r2) / r2);
    gauss_ = f * x1;
    has_gauss_ = true;
    return f * x2;
  }

 private:
  std::mt19937 mt_;
  bool has_gauss_ = false;
  double gauss_ = 0;
};

}  // namespace bench
