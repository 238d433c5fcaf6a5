#pragma once
/// \file
/// Proves a backward rule against finite differences.
#include <cstdint>
#include <functional>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <vector>

namespace tapegrad {

/// Settings of gradcheck().
struct GradcheckOptions {
  double step = 1e-4;         ///< h of the 4th-order central difference
  double rtol = 1e-6;         ///< pass when the worst relative error is at most this
  std::uint64_t seed = 1234;  ///< for the random upstream gradient
};

/// What gradcheck() found: whether it passed and where the worst element is.
struct GradcheckResult {
  bool passed = false;           ///< max_rel_error <= rtol
  double max_abs_error = 0;      ///< worst |analytic - numeric| over all elements
  double max_rel_error = 0;      ///< worst relative error (see gradcheck)
  std::size_t worst_input = 0;   ///< which input holds the worst element
  std::int64_t worst_index = 0;  ///< flat index of the worst element in its input
  double analytic = 0;           ///< backward's value at the worst element
  double numeric = 0;            ///< the finite difference at the worst element
  std::string message;           ///< one line saying what was found
};

/// Checks d(sum(f(inputs) * v))/d(inputs) from backward against
///   (-F(x+2h) + 8 F(x+h) - 8 F(x-h) + F(x-2h)) / 12h
/// for every element of every input, in float64 (inputs are converted), with v a
/// seeded random non-uniform upstream gradient. The relative error of an element is
/// |a - n| / max(|a|, |n|, 1e-3 * s), where s is the largest |a| or |n| of the check:
/// an element far below the check's scale is judged against that scale. When every
/// gradient is exactly zero, the relative error is 0/0 and the check fails: it would
/// prove nothing.
TAPEGRAD_API GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                       const std::vector<Tensor>& inputs,
                                       const GradcheckOptions& options = {});

}  // namespace tapegrad
