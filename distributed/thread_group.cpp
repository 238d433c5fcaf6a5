#include <condition_variable>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <tapegrad/distributed/thread_group.hpp>
#include <thread>
#include <vector>

namespace tapegrad::distributed {

struct ThreadWorld::State {
  struct Op {
    std::vector<std::vector<unsigned char>> parts;  // by rank
    int posted = 0;
    int collected = 0;
  };
  std::mutex mutex;
  std::condition_variable arrived;
  std::map<std::uint64_t, Op> ops;
  std::string aborted;  // non-empty once a rank failed
};

ThreadWorld::ThreadWorld(int size, std::chrono::milliseconds timeout)
    : size_(size), timeout_(timeout), state_(std::make_unique<State>()) {
  if (size < 1) throw ValueError(fmt::format("ThreadWorld: size must be at least 1, got {}", size));
}

ThreadWorld::~ThreadWorld() = default;

void ThreadWorld::abort(const std::string& why) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->aborted.empty()) state_->aborted = why;
  }
  state_->arrived.notify_all();
}

void ThreadWorld::post(std::uint64_t op, int rank, const void* bytes, std::size_t n) {
  {
    std::lock_guard lock(state_->mutex);
    auto& entry = state_->ops[op];
    if (entry.parts.empty()) entry.parts.resize(static_cast<std::size_t>(size_));
    const auto* p = static_cast<const unsigned char*>(bytes);
    entry.parts[static_cast<std::size_t>(rank)].assign(p, p + n);
    ++entry.posted;
  }
  state_->arrived.notify_all();
}

void ThreadWorld::collect(std::uint64_t op, int rank, const char* what,
                          const std::function<void(const void* const* parts)>& use) {
  std::unique_lock lock(state_->mutex);
  const bool complete = state_->arrived.wait_for(
      lock, timeout_, [&] { return !state_->aborted.empty() || state_->ops[op].posted == size_; });
  // A collective every rank joined completes, even if a rank failed afterwards.
  if (state_->ops[op].posted < size_ && !state_->aborted.empty())
    throw DistributedError(fmt::format("{}: rank {} of {}: the group was aborted: {}", what, rank,
                                       size_, state_->aborted));
  if (!complete) {
    std::vector<int> missing;
    const auto& parts = state_->ops[op].parts;
    for (int r = 0; r < size_; ++r)
      if (parts.empty() || parts[static_cast<std::size_t>(r)].empty()) missing.push_back(r);
    throw DistributedError(fmt::format(
        "{}: rank {} of {} waited {} ms for {} rank(s) that never arrived (collective #{})", what,
        rank, size_, timeout_.count(), missing.size(), op));
  }
  auto& entry = state_->ops[op];
  std::vector<const void*> parts;
  for (auto& part : entry.parts) parts.push_back(part.data());
  // The parts stay put until every rank has collected: only then is the entry erased,
  // so the sum may run outside the lock.
  lock.unlock();
  use(parts.data());
  lock.lock();
  if (++state_->ops[op].collected == size_) state_->ops.erase(op);
}

ThreadProcessGroup::ThreadProcessGroup(std::shared_ptr<ThreadWorld> world, int rank)
    : world_(std::move(world)), rank_(rank) {
  if (rank < 0 || rank >= world_->size())
    throw ValueError(
        fmt::format("ThreadProcessGroup: rank {} is outside 0 .. {}", rank, world_->size() - 1));
}

int ThreadProcessGroup::size() const { return world_->size(); }

namespace {

// A contribution of n bytes plus a header that lets each rank check the others agree.
struct Header {
  std::int64_t numel;
  int dtype;
  int root;
};

std::vector<unsigned char> with_header(const Header& h, const void* data, std::size_t n) {
  std::vector<unsigned char> out(sizeof(Header) + n);
  std::memcpy(out.data(), &h, sizeof(Header));
  if (n) std::memcpy(out.data() + sizeof(Header), data, n);
  return out;
}

void check_headers(const char* what, const void* const* parts, int n, const Header& mine,
                   int rank) {
  for (int r = 0; r < n; ++r) {
    Header h;
    std::memcpy(&h, parts[r], sizeof(Header));
    if (h.numel != mine.numel || h.dtype != mine.dtype)
      throw DistributedError(
          fmt::format("{}: rank {} has {} elements of {}, rank {} has {} elements of {}", what,
                      rank, mine.numel, dtype_name(static_cast<Dtype>(mine.dtype)), r, h.numel,
                      dtype_name(static_cast<Dtype>(h.dtype))));
    if (h.root != mine.root)
      throw DistributedError(fmt::format("{}: rank {} has root {}, rank {} has root {}", what, rank,
                                         mine.root, r, h.root));
  }
}

class ThreadWork : public Work {
 public:
  ThreadWork(std::shared_ptr<ThreadWorld> world, std::uint64_t op, int rank, Tensor t,
             ReduceOp reduce)
      : world_(std::move(world)), op_(op), rank_(rank), t_(std::move(t)), reduce_(reduce) {}
  bool test() override { return done_; }
  void wait() override {
    if (done_) return;
    const Header mine{t_.numel(), static_cast<int>(t_.dtype()), -1};
    const int n = world_->size();
    world_->collect(op_, rank_, "all_reduce", [&](const void* const* parts) {
      check_headers("all_reduce", parts, n, mine, rank_);
      std::vector<const void*> data(static_cast<std::size_t>(n));
      for (int r = 0; r < n; ++r)
        data[static_cast<std::size_t>(r)] =
            static_cast<const unsigned char*>(parts[r]) + sizeof(Header);
      detail::reduce_in_rank_order(t_.raw_data(), data.data(), n, t_.numel(), t_.dtype(), reduce_);
    });
    done_ = true;
  }

 private:
  std::shared_ptr<ThreadWorld> world_;
  std::uint64_t op_;
  int rank_;
  Tensor t_;
  ReduceOp reduce_;
  bool done_ = false;
};

}  // namespace

void ThreadProcessGroup::broadcast(Tensor& t, int root) {
  detail::check_reducible("broadcast", t);
  if (root < 0 || root >= size())
    throw ValueError(fmt::format("broadcast: root {} is outside 0 .. {}", root, size() - 1));
  const Header mine{t.numel(), static_cast<int>(t.dtype()), root};
  const std::size_t bytes =
      rank_ == root ? static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()) : 0;
  const auto part = with_header(mine, t.raw_data(), bytes);
  const std::uint64_t op = next_op_++;
  world_->post(op, rank_, part.data(), part.size());
  world_->collect(op, rank_, "broadcast", [&](const void* const* parts) {
    check_headers("broadcast", parts, size(), mine, rank_);
    if (rank_ != root)
      std::memcpy(t.raw_data(), static_cast<const unsigned char*>(parts[root]) + sizeof(Header),
                  static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  });
}

std::unique_ptr<Work> ThreadProcessGroup::all_reduce_async(Tensor t, ReduceOp op) {
  detail::check_reducible("all_reduce", t);
  const Header mine{t.numel(), static_cast<int>(t.dtype()), -1};
  const auto part =
      with_header(mine, t.raw_data(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  const std::uint64_t id = next_op_++;
  world_->post(id, rank_, part.data(), part.size());
  return std::make_unique<ThreadWork>(world_, id, rank_, std::move(t), op);
}

void ThreadProcessGroup::barrier() {
  const Header mine{0, 0, -1};
  const auto part = with_header(mine, nullptr, 0);
  const std::uint64_t op = next_op_++;
  world_->post(op, rank_, part.data(), part.size());
  world_->collect(op, rank_, "barrier", [&](const void* const*) {});
}

void run_threads(int size, const std::function<void(ProcessGroup& group)>& fn,
                 std::chrono::milliseconds timeout) {
  auto world = std::make_shared<ThreadWorld>(size, timeout);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(size));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(size));
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] {
      try {
        ThreadProcessGroup group(world, r);
        fn(group);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        world->abort(fmt::format("rank {} threw: {}", r, e.what()));
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        world->abort(fmt::format("rank {} threw", r));
      }
    });
  for (auto& t : threads) t.join();
  // The first rank that failed on its own, not one that failed because of it.
  for (auto& e : errors)
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const DistributedError&) {
        continue;
      } catch (...) {
        throw;
      }
    }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace tapegrad::distributed
