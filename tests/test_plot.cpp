// The examples' output helpers: SVG plots, the progress bar and the stopwatch.
#define BOOST_TEST_MODULE plot
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <tapegrad/tapegrad.hpp>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace tapegrad;

using test::TempDir;

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + part.size()))
    ++n;
  return n;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Only the file itself in its folder: no temporary left behind.
bool alone_in_folder(const fs::path& file) {
  return std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator{}) == 1;
}

}  // namespace

// ---- line plots ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(line_plot_writes_axes_titles_and_a_legend_for_several_series) {
  TempDir dir;
  const fs::path file = dir.path / "new" / "folder" / "costs.svg";
  plot::Options options;
  options.title = "Learning rate <0.01 & 0.1>";
  options.x_label = "iterations (per hundreds)";
  options.y_label = "cost";
  plot::line_plot(
      file, {{"lr = 0.01", {0.69, 0.5, 0.4, 0.35}}, {"lr = 0.1", {0.69, 0.3, 0.2, 0.15}}}, options);
  BOOST_REQUIRE(fs::exists(file));
  BOOST_TEST(alone_in_folder(file));
  const std::string svg = read_text(file);
  BOOST_TEST(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  BOOST_TEST(contains(svg, "</svg>"));
  BOOST_TEST(count(svg, "<polyline") == 2u);
  BOOST_TEST(contains(svg, "Learning rate &lt;0.01 &amp; 0.1&gt;"));  // escaped, not raw
  BOOST_TEST(!contains(svg, "<0.01"));
  BOOST_TEST(contains(svg, ">iterations (per hundreds)</text>"));
  BOOST_TEST(contains(svg, "rotate(-90)\" text-anchor=\"middle\">cost</text>"));
  BOOST_TEST(contains(svg, "class=\"legend\""));
  BOOST_TEST(contains(svg, ">lr = 0.01</text>"));
  BOOST_TEST(contains(svg, ">lr = 0.1</text>"));
  // Round ticks: x from 0 to 3, y around 0.15 .. 0.69.
  BOOST_TEST(contains(svg, ">0</text>"));
  BOOST_TEST(contains(svg, ">3</text>"));
  BOOST_TEST(contains(svg, ">0.5</text>"));
  BOOST_TEST(!contains(svg, "e-17"));
}

BOOST_AUTO_TEST_CASE(cost_curve_has_the_course_labels_and_no_legend) {
  TempDir dir;
  const fs::path file = dir.path / "cost.svg";
  plot::cost_curve(file, {0.7, 0.6, 0.5}, "Learning rate = 0.0075");
  const std::string svg = read_text(file);
  BOOST_TEST(contains(svg, ">Learning rate = 0.0075</text>"));
  BOOST_TEST(contains(svg, ">iterations (per hundreds)</text>"));
  BOOST_TEST(contains(svg, ">cost</text>"));
  BOOST_TEST(count(svg, "<polyline") == 1u);
  BOOST_TEST(!contains(svg, "legend"));
  // Overwriting goes through a temporary too.
  plot::cost_curve(file, {1, 2}, "again");
  BOOST_TEST(contains(read_text(file), ">again</text>"));
  BOOST_TEST(alone_in_folder(file));
}

BOOST_AUTO_TEST_CASE(non_finite_values_leave_a_gap) {
  TempDir dir;
  const fs::path file = dir.path / "gap.svg";
  plot::line_plot(file, {{"", {1, 2, NAN, 4, 5}}});
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<polyline") == 2u);
  BOOST_TEST(!contains(svg, "nan"));
}

BOOST_AUTO_TEST_CASE(constant_and_empty_series_still_draw) {
  TempDir dir;
  plot::line_plot(dir.path / "flat.svg", {{"", {2, 2, 2}}});
  BOOST_TEST(!contains(read_text(dir.path / "flat.svg"), "nan"));
  plot::line_plot(dir.path / "empty.svg", {});
  BOOST_TEST(contains(read_text(dir.path / "empty.svg"), "</svg>"));
}

BOOST_AUTO_TEST_CASE(curves_draws_named_functions_and_the_zero_axes) {
  TempDir dir;
  const fs::path file = dir.path / "activations.svg";
  std::vector<double> x, s, ds;
  for (int i = -40; i <= 40; ++i) {
    x.push_back(i / 10.0);
    s.push_back(std::tanh(i / 10.0));
    ds.push_back(1 - s.back() * s.back());
  }
  plot::curves(file, x, {{"tanh", s}, {"d tanh / dz", ds}}, {.title = "tanh"});
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<polyline") == 2u);
  BOOST_TEST(count(svg, "class=\"zero\"") == 2u);
  BOOST_TEST(contains(svg, ">d tanh / dz</text>"));
  BOOST_CHECK_THROW(plot::curves(file, x, {{"short", {1, 2}}}), ShapeError);
}

BOOST_AUTO_TEST_CASE(plot_into_an_unwritable_place_throws_io_error) {
  TempDir dir;
  std::ofstream(dir.path / "a_file") << "x";
  BOOST_CHECK_THROW(plot::cost_curve(dir.path / "a_file" / "cost.svg", {1}, "t"), IoError);
}

// ---- decision boundaries -------------------------------------------------------

BOOST_AUTO_TEST_CASE(decision_boundary_colours_regions_and_points_by_class) {
  TempDir dir;
  const fs::path file = dir.path / "boundary.svg";
  // Points on both sides of x = 0; the "model" says class 1 right of it.
  const Tensor X = tensor({-2, -1, 1, 2, 0, 1, 0, -1}, {2, 4});
  const Tensor Y = tensor({0, 0, 1, 1}, {1, 4});
  std::int64_t asked = 0;
  auto predict = [&](const Tensor& points) {
    BOOST_REQUIRE(points.dim() == 2);
    BOOST_REQUIRE(points.size(0) == 2);
    asked = points.size(1);
    std::vector<double> out;
    for (std::int64_t k = 0; k < points.size(1); ++k) out.push_back(points.at({0, k}) > 0);
    return tensor(out, {1, points.size(1)});
  };
  plot::Options options;
  options.title = "decision boundary";
  options.class_names = {"blue", "orange"};
  plot::decision_boundary(file, predict, X, Y, options, 40);
  const std::string svg = read_text(file);
  BOOST_TEST(asked >= 40 * 2);
  BOOST_TEST(count(svg, "<circle") == 4u + 2u);  // the points, and a dot per legend entry
  BOOST_TEST(count(svg, "fill=\"#1f77b4\"") == 2u + 1u);
  BOOST_TEST(count(svg, "fill=\"#ff7f0e\"") == 2u + 1u);
  BOOST_TEST(contains(svg, "class=\"regions\""));
  // Each grid row is two runs (left and right of x = 0), not 40 cells.
  const std::size_t rows = asked / 40;
  BOOST_TEST(count(svg, "<rect") <= 2 * rows + 3);  // + background, axes box, legend box
  BOOST_TEST(count(svg, "<rect") >= 2 * rows);
  BOOST_TEST(contains(svg, ">orange</text>"));
  BOOST_TEST(contains(svg, ">decision boundary</text>"));
}

BOOST_AUTO_TEST_CASE(decision_boundary_takes_class_scores_and_several_classes) {
  TempDir dir;
  const fs::path file = dir.path / "three.svg";
  const Tensor X = tensor({0, 1, 2, 0, 1, 2}, {2, 3}, float64);
  const Tensor Y = tensor({1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3}, float64);  // one-hot
  // Scores (3, k): the class whose centre is nearest along x.
  auto predict = [](const Tensor& points) {
    const std::int64_t k = points.size(1);
    std::vector<double> scores(static_cast<std::size_t>(3 * k));
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t j = 0; j < k; ++j)
        scores[static_cast<std::size_t>(c * k + j)] = -std::abs(points.at({0, j}) - c);
    return tensor(scores, {3, k}, float64);
  };
  plot::decision_boundary(file, predict, X, Y);
  const std::string svg = read_text(file);
  for (const char* name : {">class 0<", ">class 1<", ">class 2<"}) BOOST_TEST(contains(svg, name));
  BOOST_TEST(contains(svg, "fill=\"#2ca02c\""));
  BOOST_CHECK_THROW(plot::decision_boundary(file, predict, tensor({1, 2, 3}, {3, 1}), Y),
                    ShapeError);
}

// ---- progress ------------------------------------------------------------------

namespace {
/// What `write` printed to a FILE*.
template <class F>
std::string captured(F write) {
  std::FILE* f = std::tmpfile();
  BOOST_REQUIRE(f != nullptr);
  write(f);
  std::fflush(f);
  std::rewind(f);
  std::string text;
  for (int c; (c = std::fgetc(f)) != EOF;) text += static_cast<char>(c);
  std::fclose(f);
  return text;
}
}  // namespace

BOOST_AUTO_TEST_CASE(progress_in_a_log_prints_a_line_every_tenth) {
  const std::string log = captured([](std::FILE* f) {
    progress::Bar bar(1000, "train", f, progress::Bar::Mode::lines);
    for (int i = 1; i <= 1000; ++i) bar.update(i, 1.0 / i);
    bar.finish();
  });
  BOOST_TEST_MESSAGE(log);
  BOOST_TEST(count(log, "\n") == 10u);
  BOOST_TEST(!contains(log, "\r"));
  BOOST_TEST(contains(log, "train 100/1000  10% cost 0.010000 elapsed 0:00 eta"));
  BOOST_TEST(contains(log, "1000/1000 100% cost 0.001000"));
}

BOOST_AUTO_TEST_CASE(progress_that_stops_early_still_reports_where_it_stopped) {
  const std::string log = captured([](std::FILE* f) {
    progress::Bar bar(100, "", f, progress::Bar::Mode::lines);
    for (int i = 1; i <= 15; ++i) bar.update(i);
  });  // the destructor finishes
  BOOST_TEST(count(log, "\n") == 2u);
  BOOST_TEST(contains(log, "\n15/100  15%"));
  BOOST_TEST(!contains(log, "cost"));
}

BOOST_AUTO_TEST_CASE(progress_on_a_terminal_redraws_in_place_at_a_limited_rate) {
  const std::string out = captured([](std::FILE* f) {
    progress::Bar bar(200000, "fit", f, progress::Bar::Mode::redraw);
    for (int i = 1; i <= 200000; ++i) bar.update(i, 0.5);
    bar.finish();
  });
  BOOST_TEST(contains(out, "\rfit [========================] 200000/200000 100% cost 0.500000"));
  BOOST_TEST(out.ends_with("\n"));
  BOOST_TEST(count(out, "\n") == 1u);
  // 200000 updates in well under a second: a handful of redraws, not 200000.
  BOOST_TEST(count(out, "\r") <= 30u);
  BOOST_TEST(count(out, "\r") >= 2u);
}

BOOST_AUTO_TEST_CASE(stopwatch_measures_and_durations_read_like_clocks) {
  progress::Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double s = watch.seconds();
  BOOST_TEST(s >= 0.019);
  BOOST_TEST(s < 5.0);
  watch.reset();
  BOOST_TEST(watch.seconds() < s);
  BOOST_TEST(progress::format_duration(7.4) == "0:07");
  BOOST_TEST(progress::format_duration(754) == "12:34");
  BOOST_TEST(progress::format_duration(3723) == "1:02:03");
  BOOST_TEST(progress::format_duration(NAN) == "?");
}
