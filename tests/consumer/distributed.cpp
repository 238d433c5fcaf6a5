// What a user's project does with the installed tapegrad::distributed (built when
// tapegrad found MPI): two ranks, here threads of one process (the in-process backend,
// no mpirun), each train a copy of one model on its own examples under DataParallel;
// after a few steps both hold the same parameters, and those differ from the start.
// Exits non-zero unless they do. Built by tests/consumer/run.sh when the package has the
// component `distributed`.
#include <fmt/format.h>

#include <cstdio>
#include <tapegrad/distributed.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;

int main() {
  std::vector<std::vector<double>> trained(2);
  std::vector<double> initial;
  try {
    dist::run_threads(2, [&](dist::ProcessGroup& group) {
      tg::Generator gen(static_cast<std::uint64_t>(group.rank()));  // different on each rank
      tg::nn::MLP model({4, 8, 2}, tg::nn::ReLU(), {.gen = &gen});
      dist::DataParallel ddp(group, model);  // rank 0's parameters everywhere
      if (group.rank() == 0) initial = model.parameters()[0].to_vector();
      tg::optim::SGD opt(model.parameters(), 0.1);
      for (int step = 0; step < 5; ++step) {
        const tg::Tensor X = tg::randn({4, 16}, tg::float32, gen);  // this rank's batch
        const tg::Tensor Y = tg::full({1, 16}, group.rank());
        opt.zero_grad();
        tg::softmax_cross_entropy(model(X), Y, 0).backward();
        ddp.finish();
        opt.step();
      }
      trained[static_cast<std::size_t>(group.rank())] = model.parameters()[0].to_vector();
    });
  } catch (const std::exception& e) {
    fmt::print(stderr, "consumer: FAILED: distributed training threw: {}\n", e.what());
    return 1;
  }
  if (trained[0] != trained[1]) {
    fmt::print(stderr, "consumer: FAILED: the ranks' parameters differ after DataParallel\n");
    return 1;
  }
  if (trained[0] == initial) {
    fmt::print(stderr, "consumer: FAILED: DataParallel training changed nothing\n");
    return 1;
  }
  fmt::print("consumer: tapegrad::distributed: 2 ranks, 5 steps, identical parameters\n");
  return 0;
}
