// tapegrad::distributed over MPI: ctest runs this under mpirun -np 2. Every rank runs
// every test case; each check is agreed on by all ranks (an all-reduce of the failures),
// so that the ranks never part ways in their collectives.
#define BOOST_TEST_MODULE distributed_mpi
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <tapegrad/distributed.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "../support/data_parallel_run.hpp"
#include "../support/temp_dir.hpp"

using namespace tapegrad;
using namespace tapegrad::distributed;
using test::DataParallelProblem;

namespace {

struct Mpi {
  MpiEnvironment env;
};
BOOST_TEST_GLOBAL_FIXTURE(Mpi);

MpiProcessGroup& world() {
  static MpiProcessGroup group;
  return group;
}

// True on every rank when `ok` holds on every rank.
bool on_every_rank(bool ok) {
  Tensor failed = scalar(ok ? 0.0 : 1.0, float64);
  world().all_reduce(failed);
  return failed.item() == 0.0;
}

// True on every rank when rank 0's parameters have the same bits as every rank's.
bool same_as_rank_0(const std::vector<Tensor>& params) {
  auto theirs = test::copies(params);
  for (auto& t : theirs) world().broadcast(t, 0);
  return on_every_rank(test::same_bits(theirs, params));
}

void check_training(Dtype dtype, double tolerance) {
  DataParallelProblem p;
  p.dtype = dtype;
  const auto mine = test::train_data_parallel(world(), p, {.bucket_bytes = 256});
  BOOST_TEST(same_as_rank_0(mine));
  const double rel =
      test::max_relative_difference(mine, test::train_single_process(p, world().size()));
  if (world().rank() == 0)
    BOOST_TEST_MESSAGE(
        fmt::format("{} ranks vs one process, {}: {:.3g}", world().size(), dtype_name(dtype), rel));
  BOOST_TEST(on_every_rank(rel < tolerance));
  const auto again = test::train_data_parallel(world(), p, {.bucket_bytes = 256});
  BOOST_TEST(on_every_rank(test::same_bits(again, mine)));
}

}  // namespace

BOOST_AUTO_TEST_CASE(runs_on_several_ranks) {
  BOOST_TEST(world().size() >= 2);
  BOOST_TEST(world().backend() == "mpi");
}

BOOST_AUTO_TEST_CASE(all_reduce_sums_and_averages) {
  Tensor t = full({1000}, world().rank() + 1.0, float64);
  Tensor m = full({3}, 2.0 * (world().rank() + 1));
  auto wt = world().all_reduce_async(t, ReduceOp::sum);
  auto wm = world().all_reduce_async(m, ReduceOp::mean);
  wm->wait();
  wt->wait();
  const double n = world().size();
  BOOST_TEST(on_every_rank(t.at({999}) == n * (n + 1) / 2));
  BOOST_TEST(on_every_rank(m.at({2}) == n + 1));
}

BOOST_AUTO_TEST_CASE(data_parallel_float64_matches_one_process_bit_identical_on_every_rank) {
  check_training(float64, 1e-12);
}

BOOST_AUTO_TEST_CASE(data_parallel_float32_matches_one_process_bit_identical_on_every_rank) {
  check_training(float32, 1e-5);
}

BOOST_AUTO_TEST_CASE(sampler_covers_every_example_once_per_epoch_across_ranks) {
  const std::int64_t n = 37 * world().size();
  for (std::int64_t epoch : {0, 1}) {
    DistributedSampler s(n, world().rank(), world().size(), {.seed = 11});
    s.set_epoch(epoch);
    Tensor count = zeros({n}, float64);
    for (auto i : s.indices()) count.data<double>()[i] += 1.0;
    world().all_reduce(count);
    const auto c = count.to_vector();
    BOOST_TEST(on_every_rank(std::all_of(c.begin(), c.end(), [](double v) { return v == 1.0; })));
  }
}

BOOST_AUTO_TEST_CASE(checkpoint_by_rank_0_is_read_by_every_rank) {
  // One file for the run: named after rank 0's pid, which it broadcasts.
  Tensor pid = scalar(static_cast<double>(::getpid()), float64);
  world().broadcast(pid, 0);
  const auto path = std::filesystem::temp_directory_path() /
                    fmt::format("tapegrad_mpi_{}.tg", static_cast<long>(pid.item()));
  DataParallelProblem p;
  nn::MLP model = test::problem_model(p, 100 + static_cast<std::uint64_t>(world().rank()));
  DataParallel ddp(world(), model);
  optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
  distributed::save_checkpoint(world(), path, model, opt,
                               {.epoch = 2, .step = 7, .generators = {}});
  nn::MLP fresh = test::problem_model(p, 900 + static_cast<std::uint64_t>(world().rank()));
  optim::SGD fresh_opt(fresh.parameters(), {.lr = 0.1, .momentum = 0.9});
  TrainingState state;
  distributed::load_checkpoint(world(), path, fresh, fresh_opt, state);
  BOOST_TEST(on_every_rank(state.step == 7 && state.epoch == 2));
  BOOST_TEST(on_every_rank(
      test::same_bits(test::copies(fresh.parameters()), test::copies(model.parameters()))));
  world().barrier();
  if (world().rank() == 0) std::filesystem::remove(path);
}
