#include <numeric>
#include <tapegrad/distributed/sampler.hpp>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/graph/random.hpp>

namespace tapegrad::distributed {

DistributedSampler::DistributedSampler(std::int64_t size, int rank, int ranks,
                                       SamplerOptions options)
    : size_(size), rank_(rank), ranks_(ranks), options_(options) {
  if (size < 0 || ranks < 1 || rank < 0 || rank >= ranks)
    throw ValueError(fmt::format(
        "DistributedSampler: needs size >= 0, ranks >= 1 and 0 <= rank < ranks; got size {}, rank "
        "{}, ranks {}",
        size, rank, ranks));
  per_rank_ = options.drop_last ? size / ranks : (size + ranks - 1) / ranks;
}

std::vector<std::int64_t> DistributedSampler::indices() const {
  std::vector<std::int64_t> order;
  if (options_.shuffle) {
    Generator gen(options_.seed + static_cast<std::uint64_t>(epoch_));
    order = randperm(size_, gen);
  } else {
    order.resize(static_cast<std::size_t>(size_));
    std::iota(order.begin(), order.end(), std::int64_t{0});
  }
  const std::int64_t total = total_size();
  // Padding repeats the head of the order (more than once if size < ranks).
  for (std::int64_t i = size_; i < total; ++i)
    order.push_back(order[static_cast<std::size_t>(i % size_)]);
  std::vector<std::int64_t> mine;
  mine.reserve(static_cast<std::size_t>(per_rank_));
  for (std::int64_t i = rank_; i < total; i += ranks_)
    mine.push_back(order[static_cast<std::size_t>(i)]);
  return mine;
}

}  // namespace tapegrad::distributed
