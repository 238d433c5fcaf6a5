#pragma once
/// \file
/// The MPI backend: one process a rank, started by mpirun. No MPI header is included
/// here: a program includes this and links tapegrad::distributed.
///
///   distributed::MpiEnvironment env(argc, argv);   // MPI_Init ... MPI_Finalize
///   distributed::MpiProcessGroup group;            // all the ranks of mpirun -np N
#include <memory>
#include <tapegrad/distributed/process_group.hpp>

namespace tapegrad::distributed {

/// MPI's lifetime as an object: the constructor initializes MPI (unless someone already
/// has), the destructor finalizes it (if this object initialized it). Errors of MPI
/// calls are returned to tapegrad, which throws DistributedError, instead of aborting.
class MpiEnvironment {
 public:
  /// MPI_Init_thread with the program's arguments (may be null).
  MpiEnvironment(int* argc = nullptr, char*** argv = nullptr);
  ~MpiEnvironment();                                          ///< MPI_Finalize
  MpiEnvironment(const MpiEnvironment&) = delete;             ///< one per process
  MpiEnvironment& operator=(const MpiEnvironment&) = delete;  ///< one per process
  /// This process's rank in MPI_COMM_WORLD.
  int rank() const;
  /// Number of processes in MPI_COMM_WORLD.
  int size() const;

 private:
  bool owns_ = false;
};

/// All the processes of MPI_COMM_WORLD (through a duplicate communicator of its own).
/// All-reduce is a reduce-scatter followed by an all-gather, both of point-to-point
/// messages: rank q sums range q of the tensor in rank order and sends the sum to the
/// others. MPI's own MPI_Iallreduce picks its algorithm (and so its order of additions)
/// by message size and process count, which would change bits. Each rank sends and
/// receives 2 (n - 1) / n of the tensor, as the bandwidth-optimal algorithms do.
class MpiProcessGroup : public ProcessGroup {
 public:
  /// Needs an initialized MPI (an MpiEnvironment).
  MpiProcessGroup();
  ~MpiProcessGroup() override;                                  ///< frees the communicator
  MpiProcessGroup(const MpiProcessGroup&) = delete;             ///< owns a communicator
  MpiProcessGroup& operator=(const MpiProcessGroup&) = delete;  ///< owns a communicator
  int rank() const override;                                    ///< MPI rank
  int size() const override;                                    ///< number of processes
  std::string backend() const override { return "mpi"; }        ///< "mpi"
  void broadcast(Tensor& t, int root = 0) override;             ///< see ProcessGroup
  /// See ProcessGroup.
  std::unique_ptr<Work> all_reduce_async(Tensor t, ReduceOp op = ReduceOp::sum) override;
  void barrier() override;  ///< see ProcessGroup

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapegrad::distributed
