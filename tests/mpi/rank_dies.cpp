// A rank that dies in the middle of data-parallel training (tests/mpi/rank_dies.sh):
//   rank_dies train <checkpoint>   trains, rank 0 saving a checkpoint after every step;
//                                  the last rank kills itself (SIGKILL) after step 3
//   rank_dies resume <checkpoint>  loads the checkpoint on however many ranks run it,
//                                  checks it is whole and where training stood, trains on
// Exit status 0 when the mode did what it should; the script checks the rest.
#include <signal.h>

#include <cstdlib>
#include <tapegrad/distributed.hpp>
#include <tapegrad/tapegrad.hpp>

#include "../support/data_parallel_run.hpp"

using namespace tapegrad;
using namespace tapegrad::distributed;

namespace {

void step(ProcessGroup& group, DataParallel& ddp, nn::MLP& model, optim::SGD& opt,
          const test::DataParallelProblem& p, int s) {
  const auto idx = test::shard_of_step(p, group.rank(), group.size(), s);
  opt.zero_grad();
  softmax_cross_entropy(model(index_select(test::problem_inputs(p), 1, idx)),
                        index_select(test::problem_labels(p), 0, idx), 0)
      .backward();
  ddp.finish();
  opt.step();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fmt::print(stderr, "usage: rank_dies train|resume <checkpoint>\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::filesystem::path path = argv[2];
  MpiEnvironment env(&argc, &argv);
  MpiProcessGroup group;
  test::DataParallelProblem p;
  p.examples = 240;
  p.batch_per_rank = 2;
  nn::MLP model = test::problem_model(p, 100 + static_cast<std::uint64_t>(group.rank()));
  optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  TrainingState state;
  if (mode == "resume") distributed::load_checkpoint(group, path, model, opt, state);
  DataParallel ddp(group, model);
  if (mode == "resume") {
    if (state.step < 3) {
      fmt::print(stderr, "rank_dies: resumed at step {}, expected 3 or more\n", state.step);
      return 1;
    }
    for (int s = 0; s < 3; ++s) step(group, ddp, model, opt, p, static_cast<int>(state.step) + s);
    if (group.rank() == 0)
      fmt::print("rank_dies: resumed at step {} on {} rank(s) and trained 3 more\n", state.step,
                 group.size());
    return 0;
  }
  for (int s = 0;; ++s) {
    step(group, ddp, model, opt, p, s);
    state.step = s + 1;
    distributed::save_checkpoint(group, path, model, opt, state);
    if (state.step == 3 && group.rank() == group.size() - 1) {
      fmt::print("rank_dies: rank {} kills itself after step 3\n", group.rank());
      std::fflush(stdout);
      ::raise(SIGKILL);
    }
    if (state.step > 10000) return 1;  // never: the survivors must be stopped
  }
}
