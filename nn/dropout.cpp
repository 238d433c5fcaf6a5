#include <fmt/format.h>

#include <tapegrad/graph/error.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/ops/normalization.hpp>

namespace tapegrad::nn {

Dropout::Dropout(double p, Generator& gen) : Module("Dropout"), p_(p), gen_(&gen) {
  if (!(p >= 0.0 && p < 1.0))
    throw ValueError(fmt::format("Dropout: p must be in [0, 1), got {}", p));
}

Tensor Dropout::forward(const Tensor& x) { return training() ? dropout(x, p_, *gen_) : x; }

std::string Dropout::extra_repr() const { return fmt::format("p={}", p_); }

}  // namespace tapegrad::nn
