// The course's toy data sets: moons, circles and blobs with label noise.
#define BOOST_TEST_MODULE toy_data
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <vector>

using namespace tapegrad;
using data::ToySet;

namespace {

/// The points of a set as (x, y, label) rows.
struct Point {
  double x, y;
  int label;
};

std::vector<Point> points(const ToySet& set) {
  const std::int64_t m = set.X.size(1);
  const std::vector<double> X = set.X.to_vector(), Y = set.Y.to_vector();
  std::vector<Point> out;
  for (std::int64_t i = 0; i < m; ++i) {
    const auto k = static_cast<std::size_t>(i);
    out.push_back({X[k], X[static_cast<std::size_t>(m) + k], static_cast<int>(Y[k])});
  }
  return out;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.raw_data(), b.raw_data(), static_cast<std::size_t>(a.numel()) * 4) == 0;
}

bool same_set(const ToySet& a, const ToySet& b) {
  return same_bits(a.X, b.X) && same_bits(a.Y, b.Y);
}

/// Runs f, which must throw ValueError with exactly `message`.
void expect_value_error(const std::function<void()>& f, const std::string& message) {
  try {
    f();
    BOOST_ERROR("no ValueError, expected: " << message);
  } catch (const ValueError& e) {
    BOOST_TEST(std::string(e.what()) == message);
  }
}

using Maker = std::function<ToySet(std::int64_t, Generator&)>;
const std::vector<std::pair<std::string, Maker>> kMakers = {
    {"moons", [](std::int64_t m, Generator& g) { return data::make_moons(m, 0.2, g); }},
    {"circles", [](std::int64_t m, Generator& g) { return data::make_circles(m, 0.1, 0.5, g); }},
    {"blobs", [](std::int64_t m, Generator& g) { return data::make_blobs(m, 1.0, 0.0, g); }},
};

}  // namespace

BOOST_AUTO_TEST_CASE(toy_sets_are_in_the_course_layout_with_class_0_first) {
  for (const auto& [name, make] : kMakers) {
    BOOST_TEST_CONTEXT(name) {
      for (std::int64_t m : {2, 7, 100}) {
        Generator gen(1);
        const ToySet set = make(m, gen);
        BOOST_TEST(set.X.shape() == (Shape{2, m}));
        BOOST_TEST(set.Y.shape() == (Shape{1, m}));
        BOOST_TEST((set.X.dtype() == float32));
        BOOST_TEST((set.Y.dtype() == float32));
        // An odd m: class 0 gets m / 2 rounded down, class 1 the rest, as sklearn.
        const std::vector<double> Y = set.Y.to_vector();
        for (std::int64_t i = 0; i < m; ++i)
          BOOST_TEST(Y[static_cast<std::size_t>(i)] == (i < m / 2 ? 0.0 : 1.0));
        for (double v : set.X.to_vector()) BOOST_TEST(std::isfinite(v));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(toy_sets_repeat_with_a_seed_and_differ_with_another) {
  for (const auto& [name, make] : kMakers) {
    BOOST_TEST_CONTEXT(name) {
      Generator a(42), b(42), c(43);
      const ToySet first = make(200, a);
      BOOST_TEST(same_set(first, make(200, b)));
      BOOST_TEST(!same_bits(first.X, make(200, c).X));
      // The default generator is the thread's, seeded by manual_seed.
      manual_seed(42);
      const ToySet by_default = name == "moons"     ? data::make_moons(200, 0.2)
                                : name == "circles" ? data::make_circles(200, 0.1)
                                                    : data::make_blobs(200, 1.0, 0.0);
      BOOST_TEST(same_set(first, by_default));
    }
  }
}

BOOST_AUTO_TEST_CASE(moons_without_noise_lie_on_sklearns_two_half_circles) {
  Generator gen(0);
  const ToySet set = data::make_moons(101, 0.0, gen);
  const std::vector<Point> p = points(set);
  for (const Point& q : p) {
    if (q.label == 0) {  // upper half of the unit circle at (0, 0)
      BOOST_TEST(std::hypot(q.x, q.y) == 1.0, boost::test_tools::tolerance(1e-6));
      BOOST_TEST(q.y >= -1e-6);
    } else {  // lower half of the unit circle at (1, 0.5)
      BOOST_TEST(std::hypot(q.x - 1, q.y - 0.5) == 1.0, boost::test_tools::tolerance(1e-6));
      BOOST_TEST(q.y <= 0.5 + 1e-6);
    }
  }
  // Evenly spaced from tip to tip: class 0 runs from (1, 0) to (-1, 0) through (0, 1),
  // class 1 from (0, 0.5) to (2, 0.5) through (1, -0.5).
  auto near = [](const Point& q, double x, double y) {
    return std::abs(q.x - x) < 1e-6 && std::abs(q.y - y) < 1e-6;
  };
  BOOST_TEST(near(p[0], 1, 0));
  BOOST_TEST(near(p[49], -1, 0));
  BOOST_TEST(near(p[50], 0, 0.5));
  BOOST_TEST(near(p[75], 1, -0.5));
  BOOST_TEST(near(p[100], 2, 0.5));
  // No noise: the seed does not matter.
  Generator other(99);
  BOOST_TEST(same_set(set, data::make_moons(101, 0.0, other)));
}

BOOST_AUTO_TEST_CASE(moons_noise_is_gaussian_of_the_given_spread) {
  Generator gen(7);
  const double noise = 0.1;
  const ToySet set = data::make_moons(4000, noise, gen);
  // The distance to a point's circle varies as the noise's radial part, N(0, noise^2).
  double sum = 0, sum2 = 0;
  for (const Point& q : points(set)) {
    const double r = q.label == 0 ? std::hypot(q.x, q.y) : std::hypot(q.x - 1, q.y - 0.5);
    sum += r - 1;
    sum2 += (r - 1) * (r - 1);
  }
  const double mean = sum / 4000, rms = std::sqrt(sum2 / 4000);
  BOOST_TEST(std::abs(mean) < 0.02);
  BOOST_TEST(rms > 0.09);
  BOOST_TEST(rms < 0.11);
}

BOOST_AUTO_TEST_CASE(circles_without_noise_have_radii_1_and_factor) {
  Generator gen(0);
  const double factor = 0.3;
  const ToySet set = data::make_circles(40, 0.0, factor, gen);
  const std::vector<Point> p = points(set);
  for (const Point& q : p)
    BOOST_TEST(std::hypot(q.x, q.y) == (q.label == 0 ? 1.0 : factor),
               boost::test_tools::tolerance(1e-6));
  // Evenly spaced angles from 0, the end not repeating the start: 20 a circle, 18 degrees apart.
  BOOST_TEST(p[0].x == 1.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(std::abs(p[0].y) < 1e-6);
  BOOST_TEST(std::abs(p[5].x) < 1e-6);  // 90 degrees
  BOOST_TEST(p[5].y == 1.0, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(p[20].x == factor, boost::test_tools::tolerance(1e-6));
  BOOST_TEST(std::atan2(p[19].y, p[19].x) == -2 * M_PI / 20, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(blobs_are_centred_at_minus_1_and_1_with_the_given_spread) {
  Generator gen(3);
  const double spread = 0.5;
  const ToySet set = data::make_blobs(6000, spread, 0.0, gen);
  double sx[2] = {0, 0}, sy[2] = {0, 0}, sxx[2] = {0, 0};
  for (const Point& q : points(set)) {
    sx[q.label] += q.x;
    sy[q.label] += q.y;
    sxx[q.label] += q.x * q.x;
  }
  for (int c : {0, 1}) {
    const double mx = sx[c] / 3000, my = sy[c] / 3000;
    BOOST_TEST(mx == (c == 0 ? -1.0 : 1.0), boost::test_tools::tolerance(0.05));
    BOOST_TEST(std::abs(my) < 0.05);
    BOOST_TEST(std::sqrt(sxx[c] / 3000 - mx * mx) == spread, boost::test_tools::tolerance(0.05));
  }
}

BOOST_AUTO_TEST_CASE(blobs_flip_the_asked_share_of_labels_at_random_places) {
  for (double flip : {0.0, 0.1, 0.25, 1.0}) {
    BOOST_TEST_CONTEXT("flip " << flip) {
      Generator gen(5);
      const std::int64_t m = 10001;
      const ToySet set = data::make_blobs(m, 1.0, flip, gen);
      const std::vector<double> Y = set.Y.to_vector();
      std::int64_t flipped = 0, flipped_in_first_half = 0;
      for (std::int64_t i = 0; i < m; ++i) {
        const bool wrong = Y[static_cast<std::size_t>(i)] != (i < m / 2 ? 0.0 : 1.0);
        flipped += wrong;
        flipped_in_first_half += wrong && i < m / 2;
      }
      BOOST_TEST(flipped == std::llround(flip * m));
      // Spread over both classes, not the first k points.
      if (flip > 0 && flip < 1) {
        BOOST_TEST(flipped_in_first_half > flipped * 4 / 10);
        BOOST_TEST(flipped_in_first_half < flipped * 6 / 10);
      }
    }
  }
  // The points are the ones flip = 0 gives: only labels change.
  Generator a(8), b(8);
  BOOST_TEST(same_bits(data::make_blobs(50, 1.0, 0.0, a).X, data::make_blobs(50, 1.0, 0.3, b).X));
}

BOOST_AUTO_TEST_CASE(toy_sets_reject_bad_arguments_with_the_function_name) {
  Generator gen(0);
  expect_value_error([&] { data::make_moons(1, 0.1, gen); },
                     "make_moons: m must be at least 2, got 1");
  expect_value_error([&] { data::make_moons(-5, 0.1, gen); },
                     "make_moons: m must be at least 2, got -5");
  expect_value_error([&] { data::make_moons(10, -0.1, gen); },
                     "make_moons: noise must be a finite number >= 0, got -0.1");
  expect_value_error([&] { data::make_moons(10, NAN, gen); },
                     "make_moons: noise must be a finite number >= 0, got nan");
  expect_value_error([&] { data::make_circles(0, 0.1, 0.5, gen); },
                     "make_circles: m must be at least 2, got 0");
  expect_value_error([&] { data::make_circles(10, -1, 0.5, gen); },
                     "make_circles: noise must be a finite number >= 0, got -1");
  expect_value_error([&] { data::make_circles(10, 0.1, 1.0, gen); },
                     "make_circles: factor must be in (0, 1), got 1");
  expect_value_error([&] { data::make_circles(10, 0.1, 0.0, gen); },
                     "make_circles: factor must be in (0, 1), got 0");
  expect_value_error([&] { data::make_blobs(1, 1.0, 0.1, gen); },
                     "make_blobs: m must be at least 2, got 1");
  expect_value_error([&] { data::make_blobs(10, -2, 0.1, gen); },
                     "make_blobs: spread must be a finite number >= 0, got -2");
  expect_value_error([&] { data::make_blobs(10, INFINITY, 0.1, gen); },
                     "make_blobs: spread must be a finite number >= 0, got inf");
  expect_value_error([&] { data::make_blobs(10, 1.0, 1.5, gen); },
                     "make_blobs: flip must be in [0, 1], got 1.5");
  expect_value_error([&] { data::make_blobs(10, 1.0, -0.1, gen); },
                     "make_blobs: flip must be in [0, 1], got -0.1");
}
