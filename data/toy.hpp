#pragma once
/// \file
/// The course's two-dimensional toy data sets, made from a seeded Generator: two moons,
/// two concentric circles, and two overlapping blobs with label noise. Each is in the
/// course's layout, X (2, m) float32 with one point per column and Y (1, m) float32
/// holding 0 or 1. The points are in class order: the first m / 2 (rounded down, as
/// sklearn splits an odd m) are class 0, the other m - m / 2 class 1, so an odd m gives
/// class 1 one point more. Nothing is shuffled: a model trained on the whole set in one
/// batch does not care, and a DataLoader shuffles its own batches.
#include <cstdint>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/random.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad::data {

/// A toy set: X (2, m) float32 points, Y (1, m) float32 labels 0 or 1.
struct ToySet {
  Tensor X;  ///< (2, m), one point per column
  Tensor Y;  ///< (1, m), 0 or 1
};

/// Two interleaving half circles (sklearn's make_moons) of radius 1: class 0 on the upper
/// half of the circle centred at (0, 0), class 1 on the lower half of the one centred at
/// (1, 0.5), each at evenly spaced angles, plus Gaussian noise of standard deviation
/// `noise` on both coordinates (drawn from `gen`, x then y for each point in order).
/// ValueError for m < 2 or a negative or non-finite noise.
TAPEGRAD_API ToySet make_moons(std::int64_t m, double noise, Generator& gen = default_generator());

/// Two concentric circles (sklearn's make_circles): class 0 on the circle of radius 1,
/// class 1 on the one of radius `factor` (inner radius / outer, 0 < factor < 1), each at
/// evenly spaced angles starting at angle 0, plus Gaussian noise of standard deviation
/// `noise` on both coordinates. ValueError for m < 2, a negative or non-finite noise, or
/// a factor outside (0, 1).
TAPEGRAD_API ToySet make_circles(std::int64_t m, double noise, double factor = 0.5,
                                 Generator& gen = default_generator());

/// Two overlapping Gaussian blobs with label noise, the regularization lesson's set in
/// place of the course's football data: class 0 around (-1, 0) and class 1 around (1, 0),
/// both coordinates with standard deviation `spread`; then round(flip * m) labels, chosen
/// at random without repeats, are flipped (noise a model can overfit), so a fraction
/// `flip` of Y disagrees with the blob a point was drawn from. ValueError for m < 2, a
/// negative or non-finite spread, or a flip outside [0, 1].
TAPEGRAD_API ToySet make_blobs(std::int64_t m, double spread = 1.0, double flip = 0.1,
                               Generator& gen = default_generator());

}  // namespace tapegrad::data
