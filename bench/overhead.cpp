// Per-op overhead: a chain of 10,000 tiny ops (y + c, y * c, tanh(y), in turn) on an
// S x S float32 tensor, forward with recording, backward, and forward under no-grad.
// The same work as ../shared/peers/torch_overhead.py and libtorch_overhead.cpp.
// Usage: overhead [n=10000] [size=4] [reps=21]
#include <cstdlib>
#include <tapegrad/graph/threads.hpp>
#include <tapegrad/tapegrad.hpp>

#include "bench_util.hpp"

namespace tg = tapegrad;

static tg::Tensor chain(tg::Tensor y, const tg::Tensor& c_add, const tg::Tensor& c_mul, int n) {
  for (int i = 0; i < n; ++i) {
    switch (i % 3) {
      case 0:
        y = y + c_add;
        break;
      case 1:
        y = y * c_mul;
        break;
      default:
        y = tg::tanh(y);
    }
  }
  return y;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int s = argc > 2 ? std::atoi(argv[2]) : 4;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 21;
  fmt::print(
      "# overhead: chain of {} ops (add, mul, tanh) on {}x{} float32, {} reps + 1 warm-up"
      "\n",
      n, s, s, reps);
  const tg::Tensor c_add = tg::full({s, s}, 0.01), c_mul = tg::full({s, s}, 0.99);
  std::vector<double> fwd, bwd, nograd;
  double check = 0;
  for (int r = 0; r <= reps; ++r) {
    tg::Tensor x = tg::full({s, s}, 0.5).requires_grad_();
    const double t0 = bench::now();
    tg::Tensor loss = tg::sum(chain(x, c_add, c_mul, n));
    const double t1 = bench::now();
    loss.backward();
    const double t2 = bench::now();
    check = tg::sum(x.grad()).item();
    loss = tg::Tensor();
    double t3, t4;
    {
      tg::NoGradGuard no_grad;
      t3 = bench::now();
      tg::Tensor z = chain(tg::full({s, s}, 0.5), c_add, c_mul, n);
      t4 = bench::now();
    }
    if (r == 0) continue;
    fwd.push_back(t1 - t0);
    bwd.push_back(t2 - t1);
    nograd.push_back(t4 - t3);
  }
  const double per_op = 1e6 / n;
  bench::line(fmt::format("tapegrad_fwd_s{}_median", s), bench::median(fwd) * per_op, "us/op");
  bench::line(fmt::format("tapegrad_bwd_s{}_median", s), bench::median(bwd) * per_op, "us/op");
  bench::line(fmt::format("tapegrad_fwd_nograd_s{}_median", s), bench::median(nograd) * per_op,
              "us/op");
  fmt::print("tapegrad_grad_check_s{}: {:.9g} sum(dloss/dx)\n", s, check);
}
