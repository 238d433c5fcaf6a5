#define BOOST_TEST_MODULE distributed
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <tapegrad/distributed.hpp>
#include <tapegrad/tapegrad.hpp>
#include <vector>

#include "support/data_parallel_run.hpp"
#include "support/expect_error.hpp"
#include "support/temp_dir.hpp"

using namespace tapegrad;
using namespace tapegrad::distributed;
using test::DataParallelProblem;

namespace {

// f must throw E with a message holding every fragment.
template <class E>
void expect_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  const std::string msg = test::message_of<E>(f);
  for (const auto& part : fragments)
    BOOST_TEST(msg.find(part) != std::string::npos,
               "expected '" << part << "' in the message, got: " << msg);
}

}  // namespace

// ---- collectives on the thread backend ---------------------------------------------

BOOST_AUTO_TEST_CASE(all_reduce_sums_in_rank_order) {
  // In float32, (1e8 + 1) - 1e8 is 0 but (1e8 - 1e8) + 1 is 1: only the rank order
  // ((x0 + x1) + x2) gives 0, so a reordered sum fails this test.
  const std::vector<double> values{1e8, 1.0, -1e8};
  std::vector<double> sums(3), means(3);
  run_threads(3, [&](ProcessGroup& group) {
    Tensor t = full({4}, values[static_cast<std::size_t>(group.rank())]);
    group.all_reduce(t, ReduceOp::sum);
    sums[static_cast<std::size_t>(group.rank())] = t.at({3});
    Tensor m = full({2}, static_cast<double>(group.rank() + 1), float64);
    group.all_reduce(m, ReduceOp::mean);
    means[static_cast<std::size_t>(group.rank())] = m.at({0});
  });
  for (int r = 0; r < 3; ++r) {
    BOOST_TEST(sums[static_cast<std::size_t>(r)] == 0.0);
    BOOST_TEST(means[static_cast<std::size_t>(r)] == 2.0);  // (1 + 2 + 3) / 3
  }
}

BOOST_AUTO_TEST_CASE(all_reduce_async_overlaps_other_collectives) {
  std::vector<double> got(2);
  run_threads(2, [&](ProcessGroup& group) {
    Tensor a = full({3}, group.rank() + 1.0, float64);
    Tensor b = full({5}, 10.0 * (group.rank() + 1), float64);
    auto wa = group.all_reduce_async(a);
    auto wb = group.all_reduce_async(b);
    wb->wait();
    wa->wait();
    wa->wait();  // a second wait does nothing
    got[static_cast<std::size_t>(group.rank())] = a.at({0}) + b.at({4});
  });
  BOOST_TEST(got[0] == 33.0);
  BOOST_TEST(got[1] == 33.0);
}

BOOST_AUTO_TEST_CASE(broadcast_copies_the_root_tensor_everywhere) {
  std::vector<std::vector<double>> got(3);
  run_threads(3, [&](ProcessGroup& group) {
    Tensor t = full({2, 2}, group.rank() * 10.0, float64);
    group.broadcast(t, 1);
    group.barrier();
    got[static_cast<std::size_t>(group.rank())] = t.to_vector();
  });
  for (const auto& g : got)
    BOOST_TEST(g == std::vector<double>(4, 10.0), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(all_reduce_rejects_ranks_with_different_sizes) {
  expect_error<DistributedError>(
      [] {
        run_threads(2, [](ProcessGroup& group) {
          Tensor t = zeros({group.rank() + 2});
          group.all_reduce(t);
        });
      },
      {"all_reduce", "has 2 elements of float32", "has 3 elements of float32"});
}

BOOST_AUTO_TEST_CASE(a_rank_that_throws_stops_the_others_instead_of_hanging) {
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<int> others_failed{0};
  expect_error<ValueError>(
      [&] {
        run_threads(3, [&](ProcessGroup& group) {
          if (group.rank() == 1) throw ValueError("rank 1 gave up");
          try {
            Tensor t = zeros({3});
            group.all_reduce(t);
          } catch (const DistributedError& e) {
            ++others_failed;
            throw;
          }
        });
      },
      {"rank 1 gave up"});
  BOOST_TEST(others_failed.load() == 2);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)));
}

BOOST_AUTO_TEST_CASE(a_rank_that_never_arrives_times_out_with_a_clear_error) {
  expect_error<DistributedError>(
      [] {
        run_threads(
            2,
            [](ProcessGroup& group) {
              if (group.rank() == 0) group.barrier();  // rank 1 returns without it
            },
            std::chrono::milliseconds(200));
      },
      {"barrier", "rank 0 of 2", "never arrived"});
}

// ---- the engine's post-accumulate-grad hook -----------------------------------------

BOOST_AUTO_TEST_CASE(grad_hook_fires_once_after_the_last_contribution) {
  Tensor w = tensor({1.0, 2.0}, float64).requires_grad_();
  Tensor x = tensor({3.0, 4.0}, float64);
  std::vector<std::vector<double>> seen;
  register_post_accumulate_grad_hook(w, [&](const Tensor& g) { seen.push_back(g.to_vector()); });
  // w is read twice: d/dw sum(w * x + w * w) = x + 2 w.
  (w * x + w * w).sum().backward();
  BOOST_TEST_REQUIRE(seen.size() == 1u);
  BOOST_TEST(seen[0] == (std::vector<double>{5.0, 8.0}), boost::test_tools::per_element());
  (w * x).sum().backward();  // grads accumulate: x + 2 w + x
  BOOST_TEST_REQUIRE(seen.size() == 2u);
  BOOST_TEST(seen[1] == (std::vector<double>{8.0, 12.0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(grad_hook_fires_while_backward_still_runs) {
  // The last layer's weight is final before the first layer's gradient exists: that
  // is what lets data-parallel training communicate during backward.
  Tensor W1 = randn({4, 3}, float64).requires_grad_();
  Tensor W2 = randn({2, 4}, float64).requires_grad_();
  Tensor x = randn({3, 5}, float64);
  bool w1_grad_at_w2_hook = true;
  int w1_calls = 0;
  register_post_accumulate_grad_hook(
      W2, [&](const Tensor&) { w1_grad_at_w2_hook = W1.grad().defined(); });
  const auto id = register_post_accumulate_grad_hook(W1, [&](const Tensor&) { ++w1_calls; });
  matmul(W2, relu(matmul(W1, x))).sum().backward();
  BOOST_TEST(!w1_grad_at_w2_hook);
  BOOST_TEST(w1_calls == 1);
  remove_post_accumulate_grad_hook(W1, id);
  matmul(W2, relu(matmul(W1, x))).sum().backward();
  BOOST_TEST(w1_calls == 1);
}

BOOST_AUTO_TEST_CASE(grad_hook_does_not_fire_for_a_leaf_the_pass_does_not_reach) {
  Tensor a = tensor({1.0}, float64).requires_grad_();
  Tensor b = tensor({1.0}, float64).requires_grad_();
  int calls = 0;
  register_post_accumulate_grad_hook(b, [&](const Tensor&) { ++calls; });
  (a * 2.0).sum().backward();
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(grad_hook_rejects_a_non_leaf_and_a_tensor_without_grad) {
  Tensor a = tensor({1.0}).requires_grad_();
  expect_error<GraphError>(
      [&] { register_post_accumulate_grad_hook(a * 2.0, [](const Tensor&) {}); },
      {"register_post_accumulate_grad_hook", "[1]", "not a leaf"});
  expect_error<GraphError>(
      [&] { register_post_accumulate_grad_hook(tensor({1.0}), [](const Tensor&) {}); },
      {"register_post_accumulate_grad_hook", "not requiring grad"});
}

// ---- data-parallel training ---------------------------------------------------------

namespace {

// Trains the problem on `ranks` threads; returns every rank's final parameters.
std::vector<std::vector<Tensor>> train_on_threads(const DataParallelProblem& p, int ranks,
                                                  DataParallelOptions options = {}) {
  std::vector<std::vector<Tensor>> out(static_cast<std::size_t>(ranks));
  run_threads(ranks, [&](ProcessGroup& group) {
    out[static_cast<std::size_t>(group.rank())] = test::train_data_parallel(group, p, options);
  });
  return out;
}

void check_matches_one_process(Dtype dtype, double tolerance, DataParallelOptions options) {
  DataParallelProblem p;
  p.dtype = dtype;
  const auto ranks = train_on_threads(p, 2, options);
  BOOST_TEST(test::same_bits(ranks[0], ranks[1]));
  const auto single = test::train_single_process(p, 2);
  const double rel = test::max_relative_difference(ranks[0], single);
  BOOST_TEST_MESSAGE(
      fmt::format("data parallel vs one process, {}: {:.3g}", dtype_name(dtype), rel));
  BOOST_TEST(rel < tolerance);
  // The test can fail: one process on a different global batch ends elsewhere.
  DataParallelProblem other = p;
  other.sampler_seed = 6;
  BOOST_TEST(test::max_relative_difference(ranks[0], test::train_single_process(other, 2)) >
             100 * tolerance);
  // Same run again: same bits.
  BOOST_TEST(test::same_bits(train_on_threads(p, 2, options)[1], ranks[1]));
}

}  // namespace

BOOST_AUTO_TEST_CASE(data_parallel_float64_matches_one_process_on_the_global_batches) {
  check_matches_one_process(float64, 1e-12, {});
  check_matches_one_process(float64, 1e-12, {.bucket_bytes = 64});  // a bucket per tensor or so
}

BOOST_AUTO_TEST_CASE(data_parallel_float32_matches_one_process_on_the_global_batches) {
  check_matches_one_process(float32, 1e-5, {.bucket_bytes = 256});
}

BOOST_AUTO_TEST_CASE(data_parallel_without_overlap_gives_the_same_bits) {
  DataParallelProblem p;
  p.dtype = float64;
  const auto overlapped = train_on_threads(p, 2, {.bucket_bytes = 64});
  const auto blocking = train_on_threads(p, 2, {.bucket_bytes = 64, .overlap = false});
  BOOST_TEST(test::same_bits(overlapped[0], blocking[0]));
  BOOST_TEST(test::same_bits(overlapped[1], blocking[1]));
}

// From the first finish() on a gradient is a view of its bucket; whatever the user does
// to grad() between steps (zero it, reset it, replace it), finish() leaves the mean there.
BOOST_AUTO_TEST_CASE(data_parallel_leaves_the_mean_in_grad_whatever_the_user_did_to_it) {
  std::vector<std::vector<double>> seen(2);
  run_threads(2, [&](ProcessGroup& group) {
    Tensor w = zeros({3}, float64).requires_grad_();
    Tensor b = zeros({2}, float64).requires_grad_();
    DataParallel ddp(group, {w, b}, {.bucket_bytes = 8});  // a bucket each
    const double c = group.rank() == 0 ? 1.0 : 3.0;        // the mean gradient: 2 and 4
    auto step = [&] {
      (mul(w, full({3}, c, float64)).sum() + mul(b, full({2}, 2 * c, float64)).sum()).backward();
      ddp.finish();
      for (const Tensor& t : {w, b})
        for (double v : t.grad().to_vector())
          seen[static_cast<std::size_t>(group.rank())].push_back(v);
    };
    step();  // the first gradients are fresh buffers, copied into the buckets
    w.zero_grad();
    b.zero_grad();
    step();  // now views: backward accumulates into the buckets
    w.set_grad(Tensor());
    b.set_grad(zeros({2}, float64));
    step();  // reset and replaced
    const Tensor kept = w.grad();
    w.zero_grad();
    b.zero_grad();
    step();
    BOOST_TEST(kept.raw_data() == w.grad().raw_data());  // the same view, refilled
  });
  const std::vector<double> one = {2, 2, 2, 4, 4};
  std::vector<double> want;
  for (int i = 0; i < 4; ++i) want.insert(want.end(), one.begin(), one.end());
  BOOST_TEST(seen[0] == want, boost::test_tools::per_element());
  BOOST_TEST(seen[1] == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(data_parallel_starts_every_rank_from_rank_0s_parameters) {
  DataParallelProblem p;
  std::vector<std::vector<Tensor>> start(2);
  run_threads(2, [&](ProcessGroup& group) {
    nn::MLP model = test::problem_model(p, 100 + static_cast<std::uint64_t>(group.rank()));
    DataParallel ddp(group, model);
    start[static_cast<std::size_t>(group.rank())] = test::copies(model.parameters());
  });
  BOOST_TEST(test::same_bits(start[0], start[1]));
  BOOST_TEST(test::same_bits(start[0], test::copies(test::problem_model(p, 100).parameters())));
}

BOOST_AUTO_TEST_CASE(data_parallel_buckets_go_last_layer_first) {
  DataParallelProblem p;  // dims 6-16-8-3: weights of 96, 128, 24 elements
  nn::MLP model = test::problem_model(p, 1);
  run_threads(1, [&](ProcessGroup& group) {
    DataParallel ddp(group, model, {.bucket_bytes = 8 * 24});
    const auto& b = ddp.buckets();
    BOOST_TEST_REQUIRE(b.size() >= 2u);
    BOOST_TEST(b.front().front() == model.parameters().size() - 1);  // the last bias first
    BOOST_TEST(b.back().back() == 0u);                               // the first weight last
  });
}

BOOST_AUTO_TEST_CASE(data_parallel_refuses_two_backwards_without_finish) {
  expect_error<GraphError>(
      [] {
        run_threads(1, [](ProcessGroup& group) {
          DataParallelProblem p;
          nn::MLP model = test::problem_model(p, 1);
          DataParallel ddp(group, model);
          const Tensor X = test::problem_inputs(p);
          model(X).sum().backward();
          model(X).sum().backward();
        });
      },
      {"DataParallel", "came twice before finish()"});
}

// ---- sharded sampling ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(sampler_covers_every_example_once_per_epoch) {
  for (std::int64_t epoch : {0, 1, 2}) {
    std::vector<int> count(12, 0);
    for (int r = 0; r < 3; ++r) {
      DistributedSampler s(12, r, 3, {.seed = 9});
      s.set_epoch(epoch);
      const auto idx = s.indices();
      BOOST_TEST(static_cast<std::int64_t>(idx.size()) == s.num_samples());
      for (auto i : idx) ++count[static_cast<std::size_t>(i)];
    }
    BOOST_TEST(count == std::vector<int>(12, 1), boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(sampler_pads_by_repeating_the_head_or_drops_the_tail) {
  // 10 examples on 4 ranks: padded to 12 (each rank 3), or cut to 8 (each rank 2).
  std::vector<int> count(10, 0);
  for (int r = 0; r < 4; ++r) {
    DistributedSampler s(10, r, 4, {.seed = 3});
    BOOST_TEST(s.num_samples() == 3);
    for (auto i : s.indices()) ++count[static_cast<std::size_t>(i)];
  }
  BOOST_TEST(std::count(count.begin(), count.end(), 0) == 0);
  BOOST_TEST(std::count(count.begin(), count.end(), 2) == 2);  // the two padded
  std::set<std::int64_t> kept;
  for (int r = 0; r < 4; ++r) {
    DistributedSampler s(10, r, 4, {.seed = 3, .drop_last = true});
    BOOST_TEST(s.num_samples() == 2);
    for (auto i : s.indices()) kept.insert(i);
  }
  BOOST_TEST(kept.size() == 8u);
}

BOOST_AUTO_TEST_CASE(sampler_order_depends_on_seed_and_epoch_only) {
  DistributedSampler a(50, 1, 2, {.seed = 4});
  DistributedSampler b(50, 1, 2, {.seed = 4});
  BOOST_TEST(a.indices() == b.indices(), boost::test_tools::per_element());
  const auto first = a.indices();
  a.set_epoch(1);
  BOOST_TEST(a.indices() != first);
  DistributedSampler plain(6, 1, 2, {.shuffle = false});
  BOOST_TEST(plain.indices() == (std::vector<std::int64_t>{1, 3, 5}),
             boost::test_tools::per_element());
  expect_error<ValueError>([] { DistributedSampler(5, 2, 2); },
                           {"DistributedSampler", "rank 2", "ranks 2"});
}

// ---- checkpoints: rank 0 writes, every rank reads -------------------------------------

BOOST_AUTO_TEST_CASE(checkpoint_written_by_rank_0_resumes_on_a_different_number_of_ranks) {
  test::TempDir tmp;
  const auto path = tmp / "run.tg";
  DataParallelProblem two;  // one step on 2 ranks, each on its half of the data
  std::vector<std::vector<Tensor>> saved(2);
  run_threads(2, [&](ProcessGroup& group) {
    nn::MLP model = test::problem_model(two, 100 + static_cast<std::uint64_t>(group.rank()));
    DataParallel ddp(group, model);
    optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    const auto idx = test::shard_of_step(two, group.rank(), group.size(), 0);
    opt.zero_grad();
    softmax_cross_entropy(model(index_select(test::problem_inputs(two), 1, idx)),
                          index_select(test::problem_labels(two), 0, idx), 0)
        .backward();
    ddp.finish();
    opt.step();
    distributed::save_checkpoint(group, path, model, opt,
                                 {.epoch = 1, .step = 1, .generators = {}});
    saved[static_cast<std::size_t>(group.rank())] = test::copies(model.parameters());
  });
  BOOST_TEST(test::same_bits(saved[0], saved[1]));
  // Resume on 3 ranks: every rank loads what rank 0 wrote.
  std::vector<std::vector<Tensor>> loaded(3);
  std::vector<std::int64_t> steps(3);
  run_threads(3, [&](ProcessGroup& group) {
    nn::MLP model = test::problem_model(two, 500 + static_cast<std::uint64_t>(group.rank()));
    optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    TrainingState state;
    distributed::load_checkpoint(group, path, model, opt, state);
    steps[static_cast<std::size_t>(group.rank())] = state.step;
    loaded[static_cast<std::size_t>(group.rank())] = test::copies(model.parameters());
  });
  for (int r = 0; r < 3; ++r) {
    BOOST_TEST(steps[static_cast<std::size_t>(r)] == 1);
    BOOST_TEST(test::same_bits(loaded[static_cast<std::size_t>(r)], saved[0]));
  }
}

BOOST_AUTO_TEST_CASE(checkpoint_that_rank_0_cannot_write_fails_on_every_rank) {
  std::atomic<int> failures{0};
  std::mutex m;
  std::vector<std::string> messages;
  try {
    run_threads(2, [&](ProcessGroup& group) {
      nn::MLP model = test::problem_model(DataParallelProblem{}, 1);
      optim::SGD opt(model.parameters(), 0.1);
      try {
        distributed::save_checkpoint(group, "/nonexistent-dir/x/run.tg", model, opt);
      } catch (const Error& e) {
        ++failures;
        std::lock_guard lock(m);
        messages.push_back(e.what());
        throw;
      }
    });
  } catch (const Error&) {
  }
  BOOST_TEST(failures.load() == 2);
  BOOST_TEST(std::any_of(messages.begin(), messages.end(), [](const std::string& s) {
    return s.find("save_checkpoint: rank 0 failed to write") != std::string::npos;
  }));
}
