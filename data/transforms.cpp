#include <fmt/format.h>

#include <algorithm>
#include <tapegrad/data/transforms.hpp>
#include <tapegrad/graph/threads.hpp>

namespace tapegrad::data {

namespace {

/// out (k, m) = in (m, k) transposed; the layout change of `flatten`.
template <class T>
void transpose_into(const T* in, T* out, std::int64_t m, std::int64_t k) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t p = 0; p < k; ++p) out[p * m + i] = in[i * k + p];
}

}  // namespace

Tensor flatten(const Tensor& images) {
  if (images.dim() != 3 && images.dim() != 4)
    throw ShapeError(fmt::format("flatten: expected (m, h, w) or (m, h, w, c) images, got {}",
                                 shape_str(images.shape())));
  const std::int64_t m = images.size(0);
  const std::int64_t k = m == 0 ? 0 : images.numel() / m;
  Tensor out = Tensor::empty({k, m}, images.dtype());
  dispatch(images.dtype(), [&](auto t) {
    using T = decltype(t);
    transpose_into(images.data<T>(), out.data<T>(), m, k);
  });
  return out;
}

Tensor scale_pixels(const Tensor& pixels, double max_value) {
  if (!(max_value > 0))
    throw ValueError(fmt::format("scale_pixels: max_value must be > 0, got {}", max_value));
  Tensor out = pixels.detach().clone();
  out.mul_(1.0 / max_value);
  return out;
}

Tensor gather_columns(const Tensor& A, std::span<const std::int64_t> index) {
  if (A.dim() != 2)
    throw ShapeError(
        fmt::format("gather_columns: expected a 2-D tensor, got {}", shape_str(A.shape())));
  const std::int64_t n = A.size(0), m = A.size(1);
  const auto k = static_cast<std::int64_t>(index.size());
  for (std::int64_t j : index)
    if (j < 0 || j >= m)
      throw IndexError(fmt::format("gather_columns: column {} out of range for shape {}", j,
                                   shape_str(A.shape())));
  Tensor out = Tensor::empty({n, k}, A.dtype());
  dispatch(A.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* in = A.data<T>();
    T* o = out.data<T>();
    // Every read is a cache miss in a different place: split the rows over the pool.
    parallel_for(n, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(k, 1)),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r)
                     for (std::int64_t j = 0; j < k; ++j) o[r * k + j] = in[r * m + index[j]];
                 });
  });
  return out;
}

}  // namespace tapegrad::data
