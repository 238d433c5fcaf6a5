// matmul forward + backward on square float32 matrices, against bare cblas_sgemm
// of the same shapes in the same process (the hardware's limit). One forward and
// backward is three products: C = A B, dA = G B^T, dB = A^T G.
// Usage: matmul [reps=7]
#include <cblas.h>

#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  fmt::print(
      "# matmul: square float32, forward + backward (3 products) vs 3 bare cblas_sgemm, "
      "median of {} reps, threads {}\n",
      reps, tg::num_threads());
  for (const std::int64_t n : {256, 1024, 2048}) {
    tg::manual_seed(0);
    const tg::Tensor A = tg::randn({n, n}).requires_grad_(), B = tg::randn({n, n}).requires_grad_();
    const tg::Tensor G = tg::randn({n, n});
    const double flops = 3 * 2.0 * n * n * n;
    // Enough inner repetitions that one timed sample lasts ~0.2 s.
    const int inner = std::max<int>(1, static_cast<int>(0.2 * 90e9 / flops));

    std::vector<float> c(n * n), ga(n * n), gb(n * n);
    const float* a = A.data<float>();
    const float* b = B.data<float>();
    const float* g = G.data<float>();
    std::vector<double> bare, ours;
    for (int r = 0; r <= reps; ++r) {
      // Bare sgemm gets OpenBLAS's own threads, as many as tapegrad has; tapegrad keeps
      // OpenBLAS at one thread and splits products over its pool.
      openblas_set_num_threads(tg::num_threads());
      double t0 = bench::now();
      for (int k = 0; k < inner; ++k) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c.data(),
                    n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, g, n, b, n, 0, ga.data(),
                    n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1, a, n, g, n, 0, gb.data(),
                    n);
      }
      const double t_bare = (bench::now() - t0) / inner;
      openblas_set_num_threads(1);
      t0 = bench::now();
      for (int k = 0; k < inner; ++k) {
        tg::Tensor C = tg::matmul(A, B);
        C.backward(G);
        tg::NoGradGuard no_grad;
        A.impl().autograd->grad = tg::Tensor();  // set to none, as an optimizer's zero_grad would
        B.impl().autograd->grad = tg::Tensor();
      }
      const double t_ours = (bench::now() - t0) / inner;
      if (r == 0) continue;  // warm-up
      bare.push_back(t_bare);
      ours.push_back(t_ours);
    }
    const double gf_bare = flops / bench::median(bare) / 1e9,
                 gf_ours = flops / bench::median(ours) / 1e9;
    bench::line(fmt::format("sgemm_fwd_bwd_{}_gflops", n), gf_bare, "GFLOP/s");
    bench::line(fmt::format("tapegrad_matmul_fwd_bwd_{}_gflops", n), gf_ours, "GFLOP/s");
    bench::line(fmt::format("tapegrad_matmul_fwd_bwd_{}_ratio", n), gf_ours / gf_bare, "x");
  }
}
