#pragma once
/// \file
/// Process groups: the ranks that train one model together, and the collectives they
/// run on tensors (broadcast, all-reduce, barrier). Two backends implement the one
/// interface: MPI (distributed/mpi.hpp, one process a rank, under mpirun) and threads
/// of one process (distributed/thread_group.hpp, for tests without mpirun).
///
/// Every collective must be called by every rank of the group, in the same order.
/// All-reduce sums in rank order 0, 1, ..., size - 1, whatever the backend or the
/// message sizes, so every rank gets the same bits and a run repeated gives them again.
#include <cstdint>
#include <memory>
#include <string>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/tensor.hpp>

namespace tapegrad::distributed {

/// A collective that failed or could not finish: a rank died or stopped answering, or
/// the ranks disagreed on shapes. Its message names the collective and the ranks.
class DistributedError : public Error {
 public:
  using Error::Error;
};

/// How all_reduce combines the ranks' tensors.
enum class ReduceOp {
  sum,   ///< x_0 + x_1 + ... + x_{n-1}, in rank order
  mean,  ///< the sum divided by the number of ranks
};

/// A collective started by all_reduce_async; wait() finishes it.
class Work {
 public:
  virtual ~Work() = default;
  /// Lets the collective make progress without blocking; true once wait() would not block.
  virtual bool test() = 0;
  /// Blocks until the result is in the tensor given to all_reduce_async. Throws
  /// DistributedError if the collective failed. Calling it again does nothing.
  virtual void wait() = 0;
};

/// The ranks of one training run and their collectives.
class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  /// This rank, 0 .. size() - 1.
  virtual int rank() const = 0;
  /// Number of ranks.
  virtual int size() const = 0;
  /// "mpi" or "threads".
  virtual std::string backend() const = 0;

  /// Copies `root`'s tensor into `t` on every other rank (same shape and dtype on all).
  virtual void broadcast(Tensor& t, int root = 0) = 0;
  /// Starts combining `t` (float32 or float64, contiguous) across ranks; the result
  /// replaces t's elements on every rank once wait() returns. `t` must not be changed
  /// in between.
  virtual std::unique_ptr<Work> all_reduce_async(Tensor t, ReduceOp op = ReduceOp::sum) = 0;
  /// all_reduce_async(t, op)->wait().
  void all_reduce(Tensor& t, ReduceOp op = ReduceOp::sum) { all_reduce_async(t, op)->wait(); }
  /// Returns once every rank has called it.
  virtual void barrier() = 0;
};

namespace detail {
/// Throws ValueError naming `op` for an undefined tensor.
void check_reducible(const char* op, const Tensor& t);
/// dst[i] = (parts[0][i] + parts[1][i] + ... ) (/ n for mean), summed in rank order;
/// parts[r] points at rank r's `count` elements of `dtype`; dst may be one of them.
void reduce_in_rank_order(void* dst, const void* const* parts, int n, std::int64_t count,
                          Dtype dtype, ReduceOp op);
}  // namespace detail

}  // namespace tapegrad::distributed
