// Trains logistic regression on two generated Gaussian blobs with plain graph code
// and exits non-zero unless it separates them. Built by tests/consumer/run.sh against
// an installed tapegrad (find_package) or its source tree (add_subdirectory).
#include <dlfcn.h>

#include <cstdlib>
#include <string_view>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

int fail(std::string_view what) {
  fmt::print(stderr, "consumer: FAILED: {}\n", what);
  return 1;
}

// OpenBLAS's own view of its thread count, looked up at run time so that this
// program needs no BLAS of its own (a shared libtapegrad hides it).
int openblas_threads() {
  using Fn = int (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : -1;
}

}  // namespace

int main() {
  if (tg::version() != TAPEGRAD_VERSION) return fail("version() differs from TAPEGRAD_VERSION");

  // TAPEGRAD_NUM_THREADS must have reached OpenBLAS before main, untouched by us.
  if (const char* env = std::getenv("TAPEGRAD_NUM_THREADS")) {
    if (openblas_threads() != std::atoi(env))
      return fail(fmt::format("TAPEGRAD_NUM_THREADS={} but OpenBLAS uses {} threads", env,
                              openblas_threads()));
  }

  // Data: m points in 2-D, one per column; class 1 centred at (+1.5, +1.5), class 0 at
  // (-1.5, -1.5).
  tg::manual_seed(7);
  const std::int64_t m = 400;
  auto Y = tg::randint(0, 2, {1, m});
  auto X = tg::randn({2, m}) + (Y * 3.0 - 1.5);

  // Parameters of sigmoid(W X + b).
  auto W = tg::zeros({1, 2}).requires_grad_();
  auto b = tg::zeros({1, 1}).requires_grad_();

  const double learning_rate = 0.5;
  double cost = 0;
  for (int step = 0; step < 200; ++step) {
    auto Z = tg::matmul(W, X) + b;  // (1, 2) x (2, m) + (1, 1) -> (1, m)
    auto loss = tg::binary_cross_entropy_with_logits(Z, Y);
    W.zero_grad();
    b.zero_grad();
    loss.backward();
    {
      tg::NoGradGuard no_grad;
      W -= learning_rate * W.grad();
      b -= learning_rate * b.grad();
    }
    cost = loss.item();
  }

  tg::NoGradGuard no_grad;
  auto predictions = tg::matmul(W, X) + b > 0.0;
  const double accuracy = tg::mean(tg::equal(predictions, Y)).item();
  fmt::print("consumer: tapegrad {}, cost {:.4f}, accuracy {:.3f}, W {}\n", tg::version(), cost,
             accuracy, W);

  // Exceptions cross the library boundary as their own types.
  try {
    tg::matmul(tg::zeros({3, 4}), tg::zeros({5, 2}));
    return fail("matmul accepted mismatched shapes");
  } catch (const tg::ShapeError&) {
  }

  if (accuracy < 0.95) return fail(fmt::format("accuracy {:.3f} below 0.95", accuracy));
  return 0;
}
