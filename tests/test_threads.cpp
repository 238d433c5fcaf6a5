// Thread control: set_num_threads / num_threads and TAPEGRAD_NUM_THREADS reach OpenBLAS.
#define BOOST_TEST_MODULE threads
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <string>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

// OpenBLAS's own view, independent of tapegrad's wrapper.
extern "C" int openblas_get_num_threads(void);
extern "C" int openblas_get_parallel(void);

namespace {
// What OpenBLAS can honour: a sequential build stays at one thread.
int expected_threads(int asked) { return openblas_get_parallel() == 0 ? 1 : asked; }
}  // namespace

BOOST_AUTO_TEST_CASE(set_num_threads_reaches_openblas) {
  for (int n : {1, 2, 1}) {
    tg::set_num_threads(n);
    BOOST_TEST(openblas_get_num_threads() == expected_threads(n));
    BOOST_TEST(tg::num_threads() == openblas_get_num_threads());
  }
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
  BOOST_TEST(worst < 1e-9);
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
  BOOST_TEST(openblas_get_num_threads() == expected_threads(asked));
  BOOST_TEST(tg::num_threads() == expected_threads(asked));
}
