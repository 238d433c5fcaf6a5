#include <algorithm>
#include <tapegrad/distributed/process_group.hpp>

namespace tapegrad::distributed::detail {
namespace {

template <class T>
void reduce_typed(T* dst, const void* const* parts, int n, std::int64_t count, ReduceOp op) {
  // Element by element, ranks in order: ((x_0 + x_1) + x_2) + ..., so every rank and
  // every backend computes the same bits. A block of elements at a time is summed in a
  // small accumulator and then stored: one pass over dst, and dst may be one of the
  // parts (the MPI backend reduces its own range in place).
  constexpr std::int64_t kBlock = 256;
  T acc[kBlock];
  const T ranks = static_cast<T>(n);
  for (std::int64_t start = 0; start < count; start += kBlock) {
    const std::int64_t len = std::min(kBlock, count - start);
    const T* first = static_cast<const T*>(parts[0]) + start;
    for (std::int64_t i = 0; i < len; ++i) acc[i] = first[i];
    for (int r = 1; r < n; ++r) {
      const T* p = static_cast<const T*>(parts[r]) + start;
      for (std::int64_t i = 0; i < len; ++i) acc[i] += p[i];
    }
    if (op == ReduceOp::mean)
      for (std::int64_t i = 0; i < len; ++i) acc[i] /= ranks;
    for (std::int64_t i = 0; i < len; ++i) dst[start + i] = acc[i];
  }
}

}  // namespace

void check_reducible(const char* op, const Tensor& t) {
  if (!t.defined()) throw ValueError(fmt::format("{}: the tensor is undefined", op));
}

void reduce_in_rank_order(void* dst, const void* const* parts, int n, std::int64_t count,
                          Dtype dtype, ReduceOp op) {
  if (dtype == Dtype::float64)
    reduce_typed(static_cast<double*>(dst), parts, n, count, op);
  else
    reduce_typed(static_cast<float*>(dst), parts, n, count, op);
}

}  // namespace tapegrad::distributed::detail
