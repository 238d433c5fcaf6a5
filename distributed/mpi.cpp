#include <mpi.h>

#include <memory>
#include <tapegrad/distributed/mpi.hpp>
#include <utility>
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

// Scratch buffers for the chunks a rank receives, kept between all-reduces: a training
// step reduces the same buckets every time, and a fresh buffer each time would be
// zeroed and faulted in again. Only MPI's thread uses it (FUNNELED), so no lock.
struct ScratchPool {
  std::vector<std::vector<unsigned char>> free;
  std::vector<unsigned char> take(std::size_t bytes) {
    std::vector<unsigned char> out;
    if (!free.empty()) {
      out = std::move(free.back());
      free.pop_back();
    }
    if (out.size() < bytes) out.resize(bytes);
    return out;
  }
  void give(std::vector<unsigned char> buffer) { free.push_back(std::move(buffer)); }
};

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
  std::uint64_t next_tag = 0;  // the all-reduces started so far
  std::shared_ptr<ScratchPool> scratch;
};

MpiProcessGroup::MpiProcessGroup() : impl_(std::make_unique<Impl>()) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized)
    throw DistributedError(
        "MpiProcessGroup: MPI is not initialized (make an MpiEnvironment first)");
  check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "MpiProcessGroup");
  impl_->scratch = std::make_shared<ScratchPool>();
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

// An all-reduce as a reduce-scatter followed by an all-gather, both point to point:
// element range q of the tensor belongs to rank q; every rank sends range q to rank q,
// rank q sums the n copies of its range in rank order and sends the sum to every rank.
// Each rank sends and receives 2 (n - 1) / n of the tensor, and sums 1 / n of it. The
// sum of an element is ((x_0 + x_1) + x_2) + ... whoever computes it, so the bits are
// those of every other backend. Messages carry the tag of their all-reduce and phase,
// so that works in flight may be tested and waited for in any order.
class MpiWork : public Work {
 public:
  MpiWork(MPI_Comm comm, int rank, int size, int tag, Tensor t, ReduceOp op,
          std::shared_ptr<ScratchPool> pool)
      : comm_(comm),
        rank_(rank),
        size_(size),
        tag_(tag),
        t_(std::move(t)),
        op_(op),
        pool_(std::move(pool)) {
    const std::int64_t count = t_.numel();
    for (int q = 0; q <= size_; ++q) offsets_.push_back(count * q / size_);
    elem_ = dtype_size(t_.dtype());
    mine_ = length(rank_);
    scratch_ =
        pool_->take(static_cast<std::size_t>(mine_) * elem_ * static_cast<std::size_t>(size_ - 1));
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      post_recv(slot(q), mine_, q, tag_);
      post_send(at(q), length(q), q, tag_);
    }
  }
  ~MpiWork() override {
    // A collective dropped unfinished must still finish before its buffers go.
    if (!done_) {
      MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), MPI_STATUSES_IGNORE);
    }
    pool_->give(std::move(scratch_));
  }
  bool test() override {
    while (!done_) {
      int flag = 0;
      statuses_.resize(requests_.size());
      check(MPI_Testall(static_cast<int>(requests_.size()), requests_.data(), &flag,
                        statuses_.data()),
            "all_reduce");
      if (!flag) return false;
      advance();
    }
    return true;
  }
  void wait() override {
    while (!done_) {
      statuses_.resize(requests_.size());
      check(MPI_Waitall(static_cast<int>(requests_.size()), requests_.data(), statuses_.data()),
            "all_reduce");
      advance();
    }
  }

 private:
  std::int64_t length(int q) const { return offsets_[q + 1] - offsets_[q]; }
  unsigned char* at(int q) {
    return static_cast<unsigned char*>(t_.raw_data()) +
           static_cast<std::size_t>(offsets_[q]) * elem_;
  }
  unsigned char* slot(int q) {
    const int index = q < rank_ ? q : q - 1;
    return scratch_.data() +
           static_cast<std::size_t>(index) * static_cast<std::size_t>(mine_) * elem_;
  }
  MPI_Datatype type() const { return mpi_type(t_.dtype()); }
  void post_recv(void* buffer, std::int64_t n, int from, int tag) {
    expected_.emplace_back(from, n);
    check(
        MPI_Irecv(buffer, static_cast<int>(n), type(), from, tag, comm_, &requests_.emplace_back()),
        "all_reduce");
  }
  void post_send(const void* buffer, std::int64_t n, int to, int tag) {
    expected_.emplace_back(-1, 0);
    check(MPI_Isend(buffer, static_cast<int>(n), type(), to, tag, comm_, &requests_.emplace_back()),
          "all_reduce");
  }
  // The requests of a phase are complete: check what arrived, then start the next phase.
  void advance() {
    for (std::size_t i = 0; i < expected_.size(); ++i) {
      const auto [from, n] = expected_[i];
      if (from < 0) continue;
      int got = 0;
      MPI_Get_count(&statuses_[i], type(), &got);
      if (got != n)
        throw DistributedError(fmt::format(
            "all_reduce: rank {} sent {} elements of its part, rank {} expected {} (the ranks' "
            "tensors differ in size)",
            from, got, rank_, n));
    }
    requests_.clear();
    expected_.clear();
    if (phase_ == 0) {
      std::vector<const void*> parts(static_cast<std::size_t>(size_));
      for (int q = 0; q < size_; ++q)
        parts[static_cast<std::size_t>(q)] = q == rank_ ? at(q) : slot(q);
      detail::reduce_in_rank_order(at(rank_), parts.data(), size_, mine_, t_.dtype(), op_);
      for (int q = 0; q < size_; ++q) {
        if (q == rank_) continue;
        post_recv(at(q), length(q), q, tag_ + 1);
        post_send(at(rank_), mine_, q, tag_ + 1);
      }
      phase_ = 1;
    } else {
      done_ = true;
    }
  }

  MPI_Comm comm_;
  int rank_, size_, tag_;
  Tensor t_;
  ReduceOp op_;
  std::shared_ptr<ScratchPool> pool_;
  std::vector<std::int64_t> offsets_;  // rank q's range: [offsets_[q], offsets_[q + 1])
  std::size_t elem_ = 0;
  std::int64_t mine_ = 0;               // this rank's range's length
  std::vector<unsigned char> scratch_;  // the other ranks' copies of this rank's range
  std::vector<MPI_Request> requests_;   // the phase's messages
  std::vector<MPI_Status> statuses_;
  std::vector<std::pair<int, std::int64_t>> expected_;  // per request: sender and count (recv)
  int phase_ = 0;
  bool done_ = false;
};

// A collective that needs no communication: one rank's sum (and mean) is its tensor.
class DoneWork : public Work {
 public:
  bool test() override { return true; }
  void wait() override {}
};

}  // namespace

std::unique_ptr<Work> MpiProcessGroup::all_reduce_async(Tensor t, ReduceOp op) {
  detail::check_reducible("all_reduce", t);
  if (impl_->size == 1) return std::make_unique<DoneWork>();
  // Two tags an all-reduce; MPI guarantees tags up to 32767.
  const int tag = static_cast<int>(impl_->next_tag++ % 16000) * 2;
  return std::make_unique<MpiWork>(impl_->comm, impl_->rank, impl_->size, tag, std::move(t), op,
                                   impl_->scratch);
}

void MpiProcessGroup::barrier() { check(MPI_Barrier(impl_->comm), "barrier"); }

}  // namespace tapegrad::distributed
