// Thread control: set_num_threads / num_threads and TAPEGRAD_NUM_THREADS size tapegrad's
// pool; OpenBLAS is kept at one thread; parallel_for splits work exactly once.
#define BOOST_TEST_MODULE threads
#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

namespace tg = tapegrad;

// OpenBLAS's own view, independent of tapegrad's wrapper.
extern "C" int openblas_get_num_threads(void);

BOOST_AUTO_TEST_CASE(set_num_threads_sizes_the_pool_and_keeps_openblas_at_one) {
  for (int n : {1, 2, 3, 1, 2}) {
    tg::set_num_threads(n);
    BOOST_TEST(tg::num_threads() == n);
    BOOST_TEST(openblas_get_num_threads() == 1);  // tapegrad splits products itself
  }
}

BOOST_AUTO_TEST_CASE(parallel_for_covers_every_index_exactly_once) {
  for (int threads : {1, 2, 3}) {
    tg::set_num_threads(threads);
    for (std::int64_t n : {0, 1, 7, 1000, 100003}) {
      std::vector<int> hits(static_cast<std::size_t>(n), 0);
      std::atomic<int> ranges{0}, bad_ranges{0};
      // Boost.Test's assertions are not thread-safe: workers only count, the test asserts.
      tg::parallel_for(n, 100, [&](std::int64_t b, std::int64_t e) {
        if (!(0 <= b && b < e && e <= n)) {
          ++bad_ranges;
          return;
        }
        ++ranges;
        for (std::int64_t i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
      });
      BOOST_TEST(bad_ranges.load() == 0);
      BOOST_TEST(std::count(hits.begin(), hits.end(), 1) == n);
      BOOST_TEST(ranges.load() <= std::max(1, threads));
    }
  }
}

BOOST_AUTO_TEST_CASE(parallel_for_uses_several_threads_for_large_loops) {
  tg::set_num_threads(2);
  std::mutex m;
  std::set<std::thread::id> ids;
  tg::parallel_for(1 << 20, 1024, [&](std::int64_t, std::int64_t) {
    std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the other must join in
  });
  BOOST_TEST(ids.size() == 2u);
}

BOOST_AUTO_TEST_CASE(nested_parallel_for_runs_inline) {
  tg::set_num_threads(2);
  std::atomic<std::int64_t> total{0};
  tg::parallel_for(4, 1, [&](std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i)
      tg::parallel_for(1000, 10, [&](std::int64_t b2, std::int64_t e2) { total += e2 - b2; });
  });
  BOOST_TEST(total.load() == 4000);
}

BOOST_AUTO_TEST_CASE(parallel_for_passes_an_exception_to_the_caller) {
  tg::set_num_threads(2);
  BOOST_CHECK_THROW(tg::parallel_for(1000, 10,
                                     [&](std::int64_t b, std::int64_t) {
                                       if (b > 0) throw tg::ValueError("from the worker");
                                     }),
                    tg::ValueError);
  // The pool still works afterwards.
  std::atomic<std::int64_t> total{0};
  tg::parallel_for(1000, 10, [&](std::int64_t b, std::int64_t e) { total += e - b; });
  BOOST_TEST(total.load() == 1000);
}

BOOST_AUTO_TEST_CASE(two_user_threads_share_the_pool_safely) {
  tg::set_num_threads(2);
  auto work = [](double* out) {
    tg::manual_seed(11);
    auto A = tg::randn({300, 200}, tg::float64), B = tg::randn({200, 150}, tg::float64);
    double s = 0;
    for (int i = 0; i < 20; ++i) s += tg::sum(tg::relu(tg::matmul(A, B)) + 1.0).item();
    *out = s;
  };
  double alone = 0, first = 0, second = 0;
  work(&alone);
  std::thread t1(work, &first), t2(work, &second);
  t1.join();
  t2.join();
  BOOST_TEST(first == alone);
  BOOST_TEST(second == alone);
}

BOOST_AUTO_TEST_CASE(element_ops_give_identical_results_on_one_and_two_threads) {
  tg::manual_seed(5);
  auto x = tg::randn({700, 300}), b = tg::randn({700, 1});
  auto run = [&] {
    auto y = tg::sigmoid(x * 1.5 + b);
    return std::make_pair(y.to_vector(), tg::sum(y, 1).to_vector());
  };
  tg::set_num_threads(1);
  const auto one = run();
  tg::set_num_threads(2);
  const auto two = run();
  BOOST_TEST(one.first == two.first);
  BOOST_TEST(one.second == two.second);
}

BOOST_AUTO_TEST_CASE(matmul_is_right_with_one_and_two_threads) {
  tg::manual_seed(3);
  auto A = tg::randn({200, 150}, tg::float64);
  auto B = tg::randn({150, 120}, tg::float64);
  tg::set_num_threads(1);
  const auto one = tg::matmul(A, B).to_vector();
  tg::set_num_threads(2);
  const auto two = tg::matmul(A, B).to_vector();
  BOOST_TEST_REQUIRE(one.size() == two.size());
  double worst = 0;
  for (std::size_t i = 0; i < one.size(); ++i) worst = std::max(worst, std::abs(one[i] - two[i]));
  BOOST_TEST(worst == 0.0);  // disjoint blocks, no reordered sums: bit-identical
}

BOOST_AUTO_TEST_CASE(set_num_threads_rejects_less_than_one) {
  tg::set_num_threads(1);
  BOOST_CHECK_THROW(tg::set_num_threads(0), tg::ValueError);
  BOOST_CHECK_THROW(tg::set_num_threads(-3), tg::ValueError);
  BOOST_TEST(tg::num_threads() == 1);  // unchanged by the refused calls
}

// Run by ctest with TAPEGRAD_NUM_THREADS set (tests/CMakeLists.txt: threads_env_*):
// the variable must be in effect before anything calls set_num_threads.
BOOST_AUTO_TEST_CASE(environment_variable_sets_the_count_at_startup,
                     *boost::unit_test::disabled()) {
  const char* env = std::getenv("TAPEGRAD_NUM_THREADS");
  BOOST_TEST_REQUIRE(env != nullptr, "run with TAPEGRAD_NUM_THREADS set");
  const int asked = std::stoi(env);
  BOOST_TEST(tg::num_threads() == asked);
  BOOST_TEST(openblas_get_num_threads() == 1);
}

BOOST_AUTO_TEST_CASE(blas_kernels_use_the_instructions_the_cpu_has) {
  // OpenBLAS 0.3.21 falls back to "Prescott" on CPUs newer than itself; tapegrad has it
  // choose again (threads.hpp). A user's OPENBLAS_CORETYPE is kept as it is.
  const std::string kernels = tapegrad::blas_kernels();
  BOOST_TEST_MESSAGE("OpenBLAS kernels: " << kernels);
  BOOST_TEST(!kernels.empty());
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma"))
    BOOST_TEST(kernels != "Prescott");
}
