#pragma once
/// \file
/// tapegrad's exceptions. Every message names the op (or file) and the shapes or
/// offsets involved, e.g. "matmul: inner dimensions differ: [3, 4] x [5, 2]".
#include <stdexcept>
#include <string>
#include <tapegrad/graph/export.hpp>

namespace tapegrad {

/// Base of every exception tapegrad throws.
class TAPEGRAD_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
/// Shapes that do not fit the op (mismatch, not broadcastable, wrong size).
class TAPEGRAD_API ShapeError : public Error {
 public:
  using Error::Error;
};
/// Inputs of different dtypes, or a dtype the op does not take.
class TAPEGRAD_API DtypeError : public Error {
 public:
  using Error::Error;
};
/// Misuse of the tape: backward without a gradient, through a freed graph, ...
class TAPEGRAD_API GraphError : public Error {
 public:
  using Error::Error;
};
/// An index, axis or label outside its range.
class TAPEGRAD_API IndexError : public Error {
 public:
  using Error::Error;
};
/// A value outside what the op accepts (non-integer label, negative size, ...).
class TAPEGRAD_API ValueError : public Error {
 public:
  using Error::Error;
};
/// A NaN or an Inf found by anomaly detection (set_detect_anomaly), naming the op.
class TAPEGRAD_API AnomalyError : public Error {
 public:
  using Error::Error;
};
/// A file that cannot be read or written, or whose bytes are not what they claim.
class TAPEGRAD_API IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace tapegrad
