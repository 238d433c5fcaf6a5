#include <tapegrad/distributed/process_group.hpp>

namespace tapegrad::distributed::detail {
namespace {

template <class T>
void reduce_typed(T* dst, const void* const* parts, int n, std::int64_t count, ReduceOp op) {
  // Element by element, ranks in order: ((x_0 + x_1) + x_2) + ...; vectorizing over i
  // keeps that order for every element, so every rank computes the same bits.
  const T* first = static_cast<const T*>(parts[0]);
  for (std::int64_t i = 0; i < count; ++i) dst[i] = first[i];
  for (int r = 1; r < n; ++r) {
    const T* p = static_cast<const T*>(parts[r]);
    for (std::int64_t i = 0; i < count; ++i) dst[i] += p[i];
  }
  if (op == ReduceOp::mean) {
    const T ranks = static_cast<T>(n);
    for (std::int64_t i = 0; i < count; ++i) dst[i] /= ranks;
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
