#pragma once
/// \file
/// The in-process backend: `size` threads of one process play the ranks, for unit tests
/// of distributed code without mpirun. Collectives go through shared memory with the
/// same rank-order sums as the MPI backend.
///
///   run_threads(2, [](ProcessGroup& group) { ... train as rank group.rank() ... });
#include <chrono>
#include <functional>
#include <memory>
#include <tapegrad/distributed/process_group.hpp>

namespace tapegrad::distributed {

class ThreadWorld;

/// One rank of a ThreadWorld. Made by run_threads (or ThreadWorld::group).
class ThreadProcessGroup : public ProcessGroup {
 public:
  /// Rank `rank` of `world`.
  ThreadProcessGroup(std::shared_ptr<ThreadWorld> world, int rank);
  int rank() const override { return rank_; }                 ///< this thread's rank
  int size() const override;                                  ///< the world's number of threads
  std::string backend() const override { return "threads"; }  ///< "threads"
  void broadcast(Tensor& t, int root = 0) override;           ///< see ProcessGroup
  /// See ProcessGroup.
  std::unique_ptr<Work> all_reduce_async(Tensor t, ReduceOp op = ReduceOp::sum) override;
  void barrier() override;  ///< see ProcessGroup

 private:
  std::shared_ptr<ThreadWorld> world_;
  int rank_;
  std::uint64_t next_op_ = 0;  // the n-th collective of every rank is the same one
};

/// State shared by the threads of one in-process group.
class ThreadWorld {
 public:
  /// A world of `size` ranks whose collectives give up after `timeout` (a rank that
  /// stopped or threw never arrives: the others throw DistributedError, never hang).
  explicit ThreadWorld(int size, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~ThreadWorld();                                       ///< frees the pending contributions
  ThreadWorld(const ThreadWorld&) = delete;             ///< shared through a shared_ptr only
  ThreadWorld& operator=(const ThreadWorld&) = delete;  ///< shared through a shared_ptr only
  /// Number of ranks.
  int size() const { return size_; }
  /// Makes the waiting and every later collective throw DistributedError with `why`
  /// (run_threads calls it when a rank throws).
  void abort(const std::string& why);

  /// Internal: rank `rank` contributes `bytes` to collective `op` (a copy is kept).
  void post(std::uint64_t op, int rank, const void* bytes, std::size_t n);
  /// Internal: waits for every rank's contribution to `op` and passes them, in rank
  /// order, to `use`; throws DistributedError naming `what` on timeout or abort.
  void collect(std::uint64_t op, int rank, const char* what,
               const std::function<void(const void* const* parts)>& use);

 private:
  struct State;
  int size_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<State> state_;
};

/// Runs fn(group) on `size` threads, rank r on thread r, and waits for all. If a rank
/// throws, the others' collectives fail too (DistributedError) and the first rank's
/// exception is rethrown here.
void run_threads(int size, const std::function<void(ProcessGroup& group)>& fn,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace tapegrad::distributed
