#include <mpi.h>

#include <tapegrad/distributed/mpi.hpp>
#include <vector>

namespace tapegrad::distributed {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw DistributedError(fmt::format("{}: MPI failed: {}", what, std::string(text, len)));
}

MPI_Datatype mpi_type(Dtype d) { return d == Dtype::float64 ? MPI_DOUBLE : MPI_FLOAT; }

}  // namespace

MpiEnvironment::MpiEnvironment(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // FUNNELED: only the thread that initialized MPI calls it; tapegrad's own kernel
    // threads never do.
    int provided = 0;
    check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MpiEnvironment");
    owns_ = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiEnvironment::~MpiEnvironment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owns_ && !finalized) MPI_Finalize();
}

int MpiEnvironment::rank() const {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int MpiEnvironment::size() const {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

struct MpiProcessGroup::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
};

MpiProcessGroup::MpiProcessGroup() : impl_(std::make_unique<Impl>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    throw DistributedError(
        "MpiProcessGroup: MPI is not initialized (make an MpiEnvironment first)");
  check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "MpiProcessGroup");
  MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(impl_->comm, &impl_->rank);
  MPI_Comm_size(impl_->comm, &impl_->size);
}

MpiProcessGroup::~MpiProcessGroup() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && impl_->comm != MPI_COMM_NULL) MPI_Comm_free(&impl_->comm);
}

int MpiProcessGroup::rank() const { return impl_->rank; }
int MpiProcessGroup::size() const { return impl_->size; }

void MpiProcessGroup::broadcast(Tensor& t, int root) {
  detail::check_reducible("broadcast", t);
  if (root < 0 || root >= impl_->size)
    throw ValueError(fmt::format("broadcast: root {} is outside 0 .. {}", root, impl_->size - 1));
  // Every rank must pass the same count: compare with the root's first.
  long long count = t.numel();
  long long root_count = count;
  check(MPI_Bcast(&root_count, 1, MPI_LONG_LONG, root, impl_->comm), "broadcast");
  if (root_count != count)
    throw DistributedError(fmt::format("broadcast: rank {} has {} elements, root {} has {}",
                                       impl_->rank, count, root, root_count));
  check(MPI_Bcast(t.raw_data(), static_cast<int>(count), mpi_type(t.dtype()), root, impl_->comm),
        "broadcast");
}

namespace {

class MpiWork : public Work {
 public:
  MpiWork(MPI_Comm comm, int size, Tensor t, ReduceOp op)
      : comm_(comm), size_(size), t_(std::move(t)), op_(op) {
    const auto count = static_cast<std::size_t>(t_.numel());
    gathered_.resize(count * dtype_size(t_.dtype()) * static_cast<std::size_t>(size_));
    check(MPI_Iallgather(t_.raw_data(), static_cast<int>(count), mpi_type(t_.dtype()),
                         gathered_.data(), static_cast<int>(count), mpi_type(t_.dtype()), comm_,
                         &request_),
          "all_reduce");
  }
  ~MpiWork() override {
    // A collective dropped unfinished must still finish before its buffer goes.
    if (!done_) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  bool test() override {
    if (done_) return true;
    int flag = 0;
    check(MPI_Test(&request_, &flag, MPI_STATUS_IGNORE), "all_reduce");
    if (flag) finish();
    return done_;
  }
  void wait() override {
    if (done_) return;
    check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "all_reduce");
    finish();
  }

 private:
  void finish() {
    const std::size_t bytes = static_cast<std::size_t>(t_.numel()) * dtype_size(t_.dtype());
    std::vector<const void*> parts(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r)
      parts[static_cast<std::size_t>(r)] = gathered_.data() + static_cast<std::size_t>(r) * bytes;
    detail::reduce_in_rank_order(t_.raw_data(), parts.data(), size_, t_.numel(), t_.dtype(), op_);
    done_ = true;
  }

  MPI_Comm comm_;
  int size_;
  Tensor t_;
  ReduceOp op_;
  std::vector<unsigned char> gathered_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Work> MpiProcessGroup::all_reduce_async(Tensor t, ReduceOp op) {
  detail::check_reducible("all_reduce", t);
  return std::make_unique<MpiWork>(impl_->comm, impl_->size, std::move(t), op);
}

void MpiProcessGroup::barrier() { check(MPI_Barrier(impl_->comm), "barrier"); }

}  // namespace tapegrad::distributed
