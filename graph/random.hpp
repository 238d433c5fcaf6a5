#pragma once
/// \file
/// Seeded random numbers and random tensors. Each thread has its own default
/// generator, so two threads training two models do not disturb each other's sequences.
#include <cstdint>
#include <random>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad {

/// A seeded source of random numbers (a 64-bit Mersenne Twister). Functions that draw
/// take one, defaulting to the calling thread's default_generator().
class TAPEGRAD_API Generator {
 public:
  /// A generator started from `seed`.
  explicit Generator(std::uint64_t seed = 5489u) : engine_(seed) {}
  /// Restarts the sequence from `s`.
  void seed(std::uint64_t s) { engine_.seed(s); }
  /// The underlying engine, for std:: distributions.
  std::mt19937_64& engine() { return engine_; }
  /// Uniform in [0, 1).
  double uniform();
  /// Standard normal.
  double normal();
  /// Uniform integer in [low, high).
  std::int64_t integer(std::int64_t low, std::int64_t high);
  /// The whole state, as text: saving and restoring it resumes the sequence exactly.
  std::string state() const;
  /// Restores a state() string; throws ValueError if it is not one.
  void set_state(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

/// The calling thread's default generator.
TAPEGRAD_API Generator& default_generator();
/// Seeds the calling thread's default generator.
TAPEGRAD_API void manual_seed(std::uint64_t seed);

/// Uniform [0, 1) values.
TAPEGRAD_API Tensor rand(const Shape& shape, Dtype dtype = float32,
                         Generator& gen = default_generator());
/// Standard normal values.
TAPEGRAD_API Tensor randn(const Shape& shape, Dtype dtype = float32,
                          Generator& gen = default_generator());
/// Integers in [low, high) stored as floating values (labels are such tensors).
TAPEGRAD_API Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape,
                            Dtype dtype = float32, Generator& gen = default_generator());
/// A random permutation of 0 .. n-1.
TAPEGRAD_API std::vector<std::int64_t> randperm(std::int64_t n,
                                                Generator& gen = default_generator());

}  // namespace tapegrad
