// The examples' output helpers: SVG plots, the progress bar and the stopwatch.
#define BOOST_TEST_MODULE plot
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
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

// ---- several decision boundaries side by side ----------------------------------

namespace {

/// Runs f, which must throw E with exactly `message`.
template <class E, class F>
void expect_error(F f, const std::string& message) {
  try {
    f();
    BOOST_ERROR("nothing thrown, expected: " << message);
  } catch (const E& e) {
    BOOST_TEST(std::string(e.what()) == message);
  }
}

/// A model that gives every grid point `cls`, and remembers the grid it was shown.
plot::Predict constant(double cls, std::vector<double>* seen = nullptr) {
  return [cls, seen](const Tensor& points) {
    if (seen) *seen = points.to_vector();
    return full({1, points.size(1)}, cls);
  };
}

/// The parts of an SVG between its <g class="panel"> elements: [0] before the first.
std::vector<std::string> panels_of(const std::string& svg) {
  std::vector<std::string> parts;
  std::size_t from = 0;
  for (auto at = svg.find("<g class=\"panel\""); at != std::string::npos;
       at = svg.find("<g class=\"panel\"", at + 1)) {
    parts.push_back(svg.substr(from, at - from));
    from = at;
  }
  parts.push_back(svg.substr(from));
  return parts;
}

// Region fills: tab10's blue and orange mixed 60% with white.
const std::string kBlueRegion = "fill=\"#a5c9e1\"";
const std::string kOrangeRegion = "fill=\"#ffcc9f\"";

}  // namespace

BOOST_AUTO_TEST_CASE(decision_boundaries_draws_a_panel_per_setting_on_one_grid) {
  TempDir dir;
  const fs::path file = dir.path / "compare.svg";
  const Tensor X = tensor({-2, -1, 1, 2, 0, 1, 0, -1}, {2, 4});
  const Tensor Y = tensor({0, 0, 1, 1}, {1, 4});
  std::vector<double> grid_a, grid_b, grid_c;
  plot::Options options;
  options.title = "regularization";
  options.width = 300;
  options.height = 200;
  options.class_names = {"red dots", "blue dots"};
  plot::decision_boundaries(file,
                            {{"lambd = 0", constant(0, &grid_a)},
                             {"lambd = 0.7", constant(1, &grid_b)},
                             {"keep_prob = 0.86", constant(0, &grid_c)}},
                            X, Y, options, 2, 30);
  BOOST_TEST(alone_in_folder(file));
  const std::string svg = read_text(file);
  // Two columns of 300 x 200 panels, two rows, under a 36-pixel title band.
  BOOST_TEST(
      svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"600\" "
                      "height=\"436\""));
  BOOST_TEST(count(svg, "<g class=\"panel\"") == 3u);
  BOOST_TEST(contains(svg, "<g class=\"panel\" transform=\"translate(0 36)\">"));
  BOOST_TEST(contains(svg, "<g class=\"panel\" transform=\"translate(300 36)\">"));
  BOOST_TEST(contains(svg, "<g class=\"panel\" transform=\"translate(0 236)\">"));
  BOOST_TEST(count(svg, "class=\"suptitle\"") == 1u);
  BOOST_TEST(contains(svg, ">regularization</text>"));
  for (const char* title : {">lambd = 0</text>", ">lambd = 0.7</text>", ">keep_prob = 0.86</text>"})
    BOOST_TEST(contains(svg, title));
  // One legend, in the first panel; the same grid asked of every model.
  BOOST_TEST(count(svg, "class=\"legend\"") == 1u);
  BOOST_TEST(contains(svg, ">blue dots</text>"));
  BOOST_TEST(!grid_a.empty());
  BOOST_TEST(grid_a == grid_b);
  BOOST_TEST(grid_a == grid_c);
  // Each panel coloured by its own model.
  const std::vector<std::string> parts = panels_of(svg);
  BOOST_REQUIRE(parts.size() == 4u);
  BOOST_TEST(!contains(parts[0], "<circle"));
  BOOST_TEST(contains(parts[1], kBlueRegion));
  BOOST_TEST(!contains(parts[1], kOrangeRegion));
  BOOST_TEST(contains(parts[2], kOrangeRegion));
  BOOST_TEST(!contains(parts[2], kBlueRegion));
  BOOST_TEST(contains(parts[3], kBlueRegion));
  for (std::size_t i = 1; i < 4; ++i) BOOST_TEST(count(parts[i], "<circle") >= 4u);
}

BOOST_AUTO_TEST_CASE(decision_boundaries_puts_every_panel_in_one_row_by_default) {
  TempDir dir;
  const fs::path file = dir.path / "row.svg";
  const Tensor X = tensor({0, 1, 0, 1}, {2, 2});
  const Tensor Y = tensor({0, 1}, {1, 2});
  plot::Options options;
  options.width = 250;
  options.height = 180;
  plot::decision_boundaries(file, {{"a", constant(0)}, {"b", constant(1)}}, X, Y, options);
  std::string svg = read_text(file);
  BOOST_TEST(
      svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"500\" "
                      "height=\"180\""));  // no title: no band
  BOOST_TEST(contains(svg, "translate(250 0)"));
  BOOST_TEST(!contains(svg, "suptitle"));
  // More columns than panels: still one row of two.
  plot::decision_boundaries(file, {{"a", constant(0)}, {"b", constant(1)}}, X, Y, options, 5);
  svg = read_text(file);
  BOOST_TEST(contains(svg, "width=\"500\" height=\"180\""));
}

BOOST_AUTO_TEST_CASE(decision_boundary_is_one_panel_of_the_same_drawing) {
  TempDir dir;
  const Tensor X = tensor({-1, 1, 0, 1}, {2, 2});
  const Tensor Y = tensor({0, 1}, {1, 2});
  plot::Options options;
  options.title = "t";
  plot::decision_boundary(dir.path / "one.svg", constant(1), X, Y, options, 20);
  plot::Options figure = options;
  figure.title = "";
  plot::decision_boundaries(dir.path / "many.svg", {{"t", constant(1)}}, X, Y, figure, 0, 20);
  const std::string one = read_text(dir.path / "one.svg");
  const std::vector<std::string> parts = panels_of(read_text(dir.path / "many.svg"));
  BOOST_REQUIRE(parts.size() == 2u);
  // The panel's body is the single plot's, byte for byte.
  const std::string body = parts[1].substr(parts[1].find('\n') + 1);
  const std::string one_body = one.substr(one.find("<g class=\"regions\""));
  BOOST_TEST(body.substr(0, body.rfind("</g>\n</svg>")) ==
             one_body.substr(0, one_body.rfind("</svg>")));
}

BOOST_AUTO_TEST_CASE(decision_boundaries_rejects_bad_panels_naming_them) {
  TempDir dir;
  const fs::path file = dir.path / "bad.svg";
  const Tensor X = tensor({0, 1, 0, 1}, {2, 2});
  const Tensor Y = tensor({0, 1}, {1, 2});
  expect_error<ValueError>([&] { plot::decision_boundaries(file, {}, X, Y); },
                           "decision_boundaries: no panels to draw");
  expect_error<ValueError>(
      [&] {
        plot::decision_boundaries(file, {{"a", constant(0)}}, X, Y, {}, -1);
      },
      "decision_boundaries: columns must be >= 0, got -1");
  expect_error<ValueError>(
      [&] {
        plot::decision_boundaries(file, {{"a", constant(0)}, {"b", nullptr}}, X, Y);
      },
      "decision_boundaries: panel 1 ('b') has no predict function");
  expect_error<ShapeError>(
      [&] {
        plot::decision_boundaries(file, {{"a", constant(0)}}, tensor({1, 2, 3}, {3, 1}), Y);
      },
      "decision_boundaries: X must be (2, m), got [3, 1]");
  // 10 cells across a 300 x 200 panel's 204 x 96 plot area: 5 rows, 50 cells.
  auto three = [](const Tensor&) { return tensor({0, 1, 0}); };
  plot::Options small;
  small.width = 300;
  small.height = 200;
  expect_error<ShapeError>(
      [&] {
        plot::decision_boundaries(file, {{"a", constant(0)}, {"b", three}}, X, Y, small, 0, 10);
      },
      "decision_boundaries: prediction of panel 1 ('b') has shape [3], expected 50 class indices "
      "or (classes, 50)");
  BOOST_TEST(!fs::exists(file));
}

// ---- scatter plots -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(scatter_plot_draws_named_sets_with_hover_labels_and_skips_nan) {
  TempDir dir;
  const fs::path file = dir.path / "search.svg";
  plot::scatter_plot(file,
                     {{"train", {1, 2, 3}, {0.5, NAN, 0.7}, {"run <1>", "run 2", "run 3"}},
                      {"dev", {1, 2}, {0.4, 0.6}}},
                     {.title = "random search", .x_label = "units", .y_label = "accuracy"});
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<g class=\"scatter\"") == 2u);
  BOOST_TEST(count(svg, "<circle") == 2u + 2u + 2u);  // the finite points, a legend dot per set
  BOOST_TEST(count(svg, "<title>") == 2u);
  BOOST_TEST(contains(svg, "<title>run &lt;1&gt;</title>"));
  BOOST_TEST(!contains(svg, "run 2"));  // its point has no y
  BOOST_TEST(contains(svg, "<g class=\"scatter\" fill=\"#1f77b4\""));
  BOOST_TEST(contains(svg, "<g class=\"scatter\" fill=\"#ff7f0e\""));
  BOOST_TEST(contains(svg, ">train</text>"));
  BOOST_TEST(contains(svg, ">dev</text>"));
  BOOST_TEST(contains(svg, ">random search</text>"));
  BOOST_TEST(contains(svg, ">accuracy</text>"));
  BOOST_TEST(!contains(svg, "nan"));
  BOOST_TEST(!contains(svg, "minor-grid"));
}

BOOST_AUTO_TEST_CASE(scatter_plot_log_x_has_a_tick_at_every_decade) {
  TempDir dir;
  const fs::path file = dir.path / "lr.svg";
  plot::scatter_plot(file, {{"", {1e-4, 1e-3, 0.05, 1, -1, 0}, {1, 2, 3, 4, 5, 6}}}, {}, true);
  std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<circle") == 4u);  // x <= 0 has no place on a log axis
  for (const char* tick :
       {">0.0001</text>", ">0.001</text>", ">0.01</text>", ">0.1</text>", ">1</text>"})
    BOOST_TEST(contains(svg, tick));
  BOOST_TEST(!contains(svg, ">10</text>"));
  BOOST_TEST(contains(svg, "class=\"minor-grid\""));
  BOOST_TEST(!contains(svg, "legend"));
  // Within one decade: widened to the decades around it, so two ticks to read by.
  plot::scatter_plot(file, {{"", {0.2, 0.5}, {1, 2}}}, {}, true);
  svg = read_text(file);
  BOOST_TEST(contains(svg, ">0.1</text>"));
  BOOST_TEST(contains(svg, ">1</text>"));
  // Twenty decades: every fifth labelled, far ones as powers.
  plot::scatter_plot(file, {{"", {1e-10, 1e10}, {1, 2}}}, {}, true);
  svg = read_text(file);
  for (const char* tick :
       {">1e-10</text>", ">1e-5</text>", ">1</text>", ">1e5</text>", ">1e10</text>"})
    BOOST_TEST(contains(svg, tick));
  BOOST_TEST(!contains(svg, ">1e-9</text>"));
}

BOOST_AUTO_TEST_CASE(scatter_plot_rejects_sets_of_unequal_lengths) {
  TempDir dir;
  const fs::path file = dir.path / "bad.svg";
  expect_error<ShapeError>(
      [&] {
        plot::scatter_plot(file, {{"a", {1, 2, 3}, {1, 2}}});
      },
      "scatter_plot: set 'a' has 3 x values and 2 y values");
  expect_error<ShapeError>(
      [&] {
        plot::scatter_plot(file, {{"b", {1, 2}, {1, 2}, {"one"}}});
      },
      "scatter_plot: set 'b' has 1 labels for 2 points");
  expect_error<ValueError>(
      [&] {
        plot::scatter_plot(file, {{"c", {1}, {1}}}, {.width = 100});
      },
      "scatter_plot: size 100x480 is too small (at least 200x150)");
  BOOST_TEST(!fs::exists(file));
}

// ---- confusion matrices --------------------------------------------------------

BOOST_AUTO_TEST_CASE(confusion_matrix_writes_counts_names_and_row_accuracies) {
  TempDir dir;
  const fs::path file = dir.path / "confusion.svg";
  // Rows are true classes: 8 of 10 cats right, 9 of 10 dogs, 3 of 4 birds.
  plot::confusion_matrix(file, {{8, 2, 0}, {1, 9, 0}, {0, 1, 3}}, {"cat", "dog", "bird & co"},
                         {.title = "test set"});
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "class=\"cell\"") == 9u);
  BOOST_TEST(count(svg, "class=\"count\"") == 9u);
  BOOST_TEST(count(svg, "class=\"row-name\"") == 3u);
  BOOST_TEST(count(svg, "class=\"column-name\"") == 3u);
  BOOST_TEST(count(svg, ">cat</text>") == 2u);  // a row and a column
  BOOST_TEST(count(svg, ">bird &amp; co</text>") == 2u);
  BOOST_TEST(contains(svg, "<title>true cat, predicted dog: 2</title>"));
  BOOST_TEST(contains(svg, "<title>true bird &amp; co, predicted dog: 1</title>"));
  BOOST_TEST(contains(svg, ">9</text>"));
  BOOST_TEST(count(svg, "class=\"row-accuracy\"") == 3u);
  for (const char* accuracy : {">80.0%</text>", ">90.0%</text>", ">75.0%</text>"})
    BOOST_TEST(contains(svg, accuracy));
  BOOST_TEST(contains(svg, ">all 83.3%</text>"));  // 20 of 24
  BOOST_TEST(contains(svg, ">test set</text>"));
  BOOST_TEST(contains(svg, ">predicted class</text>"));
  BOOST_TEST(contains(svg, ">true class</text>"));
  // The shade is the share of the row: a whole row in one cell is full blue, none white.
  plot::confusion_matrix(file, {{5, 0}, {0, 0}}, {});
  const std::string pure = read_text(file);
  BOOST_TEST(count(pure, "fill=\"#1f77b4\"") == 1u);
  BOOST_TEST(count(pure, "fill=\"#ffffff\"") == 3u);
  BOOST_TEST(contains(pure, ">100.0%</text>"));
  BOOST_TEST(contains(pure, ">\u2014</text>"));  // a class with no examples has no accuracy
  BOOST_TEST(contains(pure, "class=\"row-name\" x="));
  BOOST_TEST(contains(pure, "text-anchor=\"end\">1</text>"));  // default names: the indices
}

BOOST_AUTO_TEST_CASE(confusion_matrix_slants_long_column_names) {
  TempDir dir;
  const fs::path file = dir.path / "fashion.svg";
  std::vector<std::vector<std::int64_t>> counts(10, std::vector<std::int64_t>(10, 1));
  const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                          "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                          "Bag",         "Ankle boot"};
  plot::confusion_matrix(file, counts, names);
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "class=\"cell\"") == 100u);
  BOOST_TEST(count(svg, "rotate(-40") == 10u);
  BOOST_TEST(contains(svg, ">Ankle boot</text>"));
  plot::confusion_matrix(file, {{1, 0}, {0, 1}}, {"a", "b"});
  BOOST_TEST(!contains(read_text(file), "rotate(-40"));
}

BOOST_AUTO_TEST_CASE(confusion_matrix_rejects_a_matrix_that_is_not_square) {
  TempDir dir;
  const fs::path file = dir.path / "bad.svg";
  expect_error<ShapeError>(
      [&] {
        plot::confusion_matrix(file, {{1, 2, 3}, {4, 5}, {6, 7, 8}}, {});
      },
      "confusion_matrix: counts must be square, row 1 has 2 values for 3 rows");
  expect_error<ShapeError>(
      [&] {
        plot::confusion_matrix(file, {{1, 2, 3}, {4, 5, 6}, {6, 7, 8}}, {"a", "b"});
      },
      "confusion_matrix: 2 class names for a 3x3 matrix");
  expect_error<ValueError>(
      [&] {
        plot::confusion_matrix(file, {{1, -1}, {0, 1}}, {});
      },
      "confusion_matrix: count [0][1] is negative, got -1");
  expect_error<ValueError>([&] { plot::confusion_matrix(file, {}, {}); },
                           "confusion_matrix: no classes (an empty matrix)");
  BOOST_TEST(!fs::exists(file));
}

// ---- heat maps -----------------------------------------------------------------

namespace {

/// The SVG parses as XML as far as the plots need: every element closed in order, no
/// '<' or '>' or stray '&' in text, and no control character or line break inside an
/// element's text (XML 1.0 cannot hold most of them; a label's "\n" must be a symbol).
/// Returns what is wrong, or "" for a well-formed document.
std::string xml_problem(const std::string& svg) {
  std::vector<std::string> open;
  std::size_t at = 0;
  while (at < svg.size()) {
    const std::size_t lt = svg.find('<', at);
    const std::string text = svg.substr(at, lt == std::string::npos ? std::string::npos : lt - at);
    if (text.find('>') != std::string::npos) return "a '>' in text: " + text;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text[i]);
      if (byte < 0x20 && !(text[i] == '\n' && text.find_first_not_of("\n ") == std::string::npos))
        return "a control character in text: " + text;
      if (text[i] == '&') {
        const std::string rest = text.substr(i);
        if (!rest.starts_with("&amp;") && !rest.starts_with("&lt;") && !rest.starts_with("&gt;") &&
            !rest.starts_with("&quot;"))
          return "a bare '&' in text: " + text;
      }
    }
    if (lt == std::string::npos) break;
    const std::size_t gt = svg.find('>', lt);
    if (gt == std::string::npos) return "an unclosed tag";
    const std::string tag = svg.substr(lt + 1, gt - lt - 1);
    if (tag.find('<') != std::string::npos) return "a '<' in tag: " + tag;
    if (tag.starts_with("/")) {
      if (open.empty() || open.back() != tag.substr(1)) return "a stray </" + tag.substr(1) + ">";
      open.pop_back();
    } else if (!tag.ends_with("/")) {
      open.push_back(tag.substr(0, tag.find(' ')));
    }
    at = gt + 1;
  }
  if (!open.empty()) return "<" + open.back() + "> not closed";
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(xml_problem_finds_what_a_parser_would_reject) {
  BOOST_TEST(xml_problem("<svg><g><text>a &amp; b</text></g><rect/></svg>\n") == "");
  BOOST_TEST(xml_problem("<svg><g></svg>") != "");
  BOOST_TEST(xml_problem("<svg><text>a & b</text></svg>") != "");
  BOOST_TEST(xml_problem("<svg><text>a <b</text></svg>") != "");
  BOOST_TEST(xml_problem("<svg><text>\n</text></svg>") == "");  // only layout whitespace
  BOOST_TEST(xml_problem("<svg><text>a\n</text></svg>") != "");
  BOOST_TEST(xml_problem("<svg><text>a\tb</text></svg>") != "");
  BOOST_TEST(xml_problem("<svg><g>") != "");
}

BOOST_AUTO_TEST_CASE(heat_map_draws_a_cell_per_value_with_labels_and_a_colour_bar) {
  TempDir dir;
  const fs::path file = dir.path / "new" / "attention.svg";
  // Attention of a word's 3 characters (queries) over 4 keys, rows summing to 1.
  const Tensor weights = tensor({0.5, 0.25, 0.125, 0.125,  //
                                 0.1, 0.5, 0.25, 0.15,     //
                                 0.25, 0.25, 0.25, 0.25},
                                {3, 4});
  plot::heat_map(file, weights, {"h", "<e>", "\n"}, {"a & b", " ", "\t", "\"q\""},
                 {.title = "attention <head 0>", .x_label = "key", .y_label = "query"});
  BOOST_REQUIRE(fs::exists(file));
  BOOST_TEST(alone_in_folder(file));
  const std::string svg = read_text(file);
  BOOST_TEST(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  BOOST_TEST(svg.ends_with("</svg>\n"));
  BOOST_TEST(xml_problem(svg) == "");
  BOOST_TEST(count(svg, "class=\"cell\"") == 12u);
  BOOST_TEST(count(svg, "class=\"row-label\"") == 3u);
  BOOST_TEST(count(svg, "class=\"column-label\"") == 4u);
  // Labels escaped for XML, control characters and spaces as symbols.
  BOOST_TEST(contains(svg, ">&lt;e&gt;</text>"));
  BOOST_TEST(contains(svg, ">a &amp; b</text>"));
  BOOST_TEST(contains(svg, ">&quot;q&quot;</text>"));
  BOOST_TEST(contains(svg, ">\u23ce</text>"));  // "\n"
  BOOST_TEST(contains(svg, ">\u2423</text>"));  // " "
  BOOST_TEST(contains(svg, ">\u21e5</text>"));  // "\t"
  BOOST_TEST(!contains(svg, "<e>"));
  BOOST_TEST(contains(svg, ">attention &lt;head 0&gt;</text>"));
  BOOST_TEST(contains(svg, "class=\"xlabel\""));
  BOOST_TEST(contains(svg, ">key</text>"));
  BOOST_TEST(contains(svg, "rotate(-90)\" text-anchor=\"middle\">query</text>"));
  // Hover names the axes, the labels and the value.
  BOOST_TEST(contains(svg, "<title>query &lt;e&gt;, key \u2423: 0.5</title>"));
  BOOST_TEST(contains(svg, "<title>query \u23ce, key a &amp; b: 0.25</title>"));
  // No value is negative: the scale is [0, 0.5], so 0.25 is half blue though the least
  // weight is 0.1, and the largest is full blue.
  BOOST_TEST(count(svg, "fill=\"#1f77b4\"") == 2u);  // 0.5 twice
  BOOST_TEST(count(svg, "fill=\"#8fbbda\"") == 6u);  // 0.25, blue mixed half with white
  BOOST_TEST(contains(svg, "class=\"colour-bar\""));
  BOOST_TEST(contains(svg, "<stop offset=\"1\" stop-color=\"#1f77b4\"/>"));
  BOOST_TEST(contains(svg, "class=\"tick\""));
  for (const char* tick : {">0</text>", ">0.2</text>", ">0.5</text>"})
    BOOST_TEST(contains(svg, tick));
  BOOST_TEST(!contains(svg, "class=\"value\""));  // values only when asked
  BOOST_TEST(!contains(svg, "nan"));              // no NaN key without a NaN
}

BOOST_AUTO_TEST_CASE(heat_map_shades_from_the_minimum_when_a_value_is_negative) {
  TempDir dir;
  const fs::path file = dir.path / "scores.svg";
  plot::heat_map(file, tensor({-1, 3, 1, 0}, {2, 2}), {}, {});
  const std::string svg = read_text(file);
  BOOST_TEST(xml_problem(svg) == "");
  BOOST_TEST(count(svg, "fill=\"#ffffff\"") == 1u);  // -1, the minimum
  BOOST_TEST(count(svg, "fill=\"#1f77b4\"") == 1u);  // 3, the maximum
  BOOST_TEST(count(svg, "fill=\"#8fbbda\"") == 1u);  // 1, halfway
  BOOST_TEST(contains(svg, ">-1</text>"));
  BOOST_TEST(contains(svg, ">3</text>"));
  // Default labels are the indices, default axis names row and column.
  BOOST_TEST(contains(svg, "text-anchor=\"end\">1</text>"));
  BOOST_TEST(contains(svg, "<title>row 1, column 0: 1</title>"));
  BOOST_TEST(!contains(svg, "class=\"xlabel\""));
  BOOST_TEST(!contains(svg, "class=\"ylabel\""));
  BOOST_TEST(!contains(svg, "class=\"title\""));
}

BOOST_AUTO_TEST_CASE(heat_map_marks_nan_cells_and_puts_infinities_at_the_ends) {
  TempDir dir;
  const fs::path file = dir.path / "nan.svg";
  const double inf = std::numeric_limits<double>::infinity();
  plot::heat_map(file, tensor({0.2, NAN, 0.4, inf, -inf, NAN}, {2, 3}, float64), {}, {});
  const std::string svg = read_text(file);
  BOOST_TEST(xml_problem(svg) == "");
  BOOST_TEST(count(svg, "class=\"cell\"") == 6u);
  BOOST_TEST(count(svg, "class=\"nan\"") == 2u);          // a cross on each NaN cell
  BOOST_TEST(count(svg, "fill=\"#d0d0d0\"") == 2u + 1u);  // and the key's swatch
  BOOST_TEST(contains(svg, "class=\"nan-key\""));
  BOOST_TEST(contains(svg, ">NaN</text>"));
  BOOST_TEST(contains(svg, "<title>row 0, column 1: NaN</title>"));
  BOOST_TEST(contains(svg, "<title>row 1, column 2: NaN</title>"));
  // The range is the finite values' [0, 0.4]: inf is full blue with 0.4, -inf white.
  BOOST_TEST(count(svg, "fill=\"#1f77b4\"") == 2u);
  BOOST_TEST(count(svg, "fill=\"#ffffff\"") == 1u);
  BOOST_TEST(contains(svg, "<title>row 1, column 0: inf</title>"));
  BOOST_TEST(contains(svg, ">0.4</text>"));
  // All NaN still draws: every cell crossed.
  plot::heat_map(file, full({2, 2}, NAN), {}, {});
  const std::string all_nan = read_text(file);
  BOOST_TEST(xml_problem(all_nan) == "");
  BOOST_TEST(count(all_nan, "class=\"nan\"") == 4u);
}

BOOST_AUTO_TEST_CASE(heat_map_writes_values_in_cells_large_enough_to_hold_them) {
  TempDir dir;
  const fs::path file = dir.path / "values.svg";
  const Tensor weights = tensor({0.75, 0.25, 0.125, 0.875}, {2, 2});
  plot::heat_map(file, weights, {"a", "b"}, {"a", "b"}, {}, true);
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "class=\"value\"") == 4u);
  for (const char* value : {">0.75</text>", ">0.25</text>", ">0.12</text>", ">0.88</text>"})
    BOOST_TEST(contains(svg, value));
  // float64 draws the same picture as float32.
  const fs::path wide = dir.path / "float64.svg";
  plot::heat_map(wide, weights.to(float64), {"a", "b"}, {"a", "b"}, {}, true);
  BOOST_TEST(read_text(wide) == svg);
  // 40 x 40 cells of about 11 pixels: no room for values, and every second label (the
  // labels 13 pixels apart at least), the column labels slanted.
  plot::heat_map(file, full({40, 40}, 0.025), {}, {}, {}, true);
  const std::string big = read_text(file);
  BOOST_TEST(xml_problem(big) == "");
  BOOST_TEST(count(big, "class=\"cell\"") == 1600u);
  BOOST_TEST(!contains(big, "class=\"value\""));
  BOOST_TEST(count(big, "class=\"row-label\"") == 20u);
  BOOST_TEST(count(big, "class=\"column-label\"") == 20u);
  BOOST_TEST(count(big, "rotate(-40") == 20u);
  BOOST_TEST(contains(big, "text-anchor=\"end\">38</text>"));
  BOOST_TEST(!contains(big, "text-anchor=\"end\">39</text>"));
}

BOOST_AUTO_TEST_CASE(heat_map_rejects_shapes_and_labels_it_cannot_draw) {
  TempDir dir;
  const fs::path file = dir.path / "bad.svg";
  expect_error<ShapeError>(
      [&] {
        plot::heat_map(file, zeros({2, 3, 4}), {}, {});
      },
      "heat_map: values must be (rows, columns), got [2, 3, 4]");
  expect_error<ShapeError>([&] { plot::heat_map(file, zeros({3}), {}, {}); },
                           "heat_map: values must be (rows, columns), got [3]");
  expect_error<ValueError>(
      [&] {
        plot::heat_map(file, zeros({0, 3}), {}, {"a", "b", "c"});
      },
      "heat_map: no values to draw in [0, 3]");
  expect_error<ValueError>([&] { plot::heat_map(file, Tensor(), {}, {}); },
                           "heat_map: values is an undefined tensor");
  expect_error<ShapeError>(
      [&] {
        plot::heat_map(file, zeros({2, 3}), {"a", "b", "c"}, {});
      },
      "heat_map: 3 row labels for values [2, 3]");
  expect_error<ShapeError>(
      [&] {
        plot::heat_map(file, zeros({2, 3}), {}, {"a", "b"});
      },
      "heat_map: 2 column labels for values [2, 3]");
  expect_error<ValueError>(
      [&] {
        plot::heat_map(file, zeros({2, 3}), {}, {}, {.width = 100});
      },
      "heat_map: size 100x480 is too small (at least 200x150)");
  BOOST_TEST(!fs::exists(file));
}

// ---- image grids ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(image_grid_draws_each_image_with_its_caption) {
  TempDir dir;
  const fs::path file = dir.path / "images.svg";
  // Five 4 x 3 images: image i has pixel 0 at i / 4 and the rest 0.
  std::vector<double> pixels(5 * 12, 0.0);
  for (int i = 0; i < 5; ++i) pixels[static_cast<std::size_t>(i * 12)] = i / 4.0;
  const Tensor images = tensor(pixels, {5, 4, 3});
  plot::image_grid(file, images, {"a", "b", "c", "d", "e & f"}, 2, 0, {.title = "samples"});
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<g class=\"image\"") == 5u);
  BOOST_TEST(count(svg, "class=\"caption\"") == 5u);
  BOOST_TEST(contains(svg, ">e &amp; f</text>"));
  BOOST_TEST(contains(svg, ">samples</text>"));
  // Black background, pixel 0 grey: 1 / 4 -> 64, 1 / 2 -> 128, 1 -> 255.
  BOOST_TEST(count(svg, "fill=\"#000000\"") == 5u);
  BOOST_TEST(contains(svg, "<path fill=\"#404040\" d=\"M0 0h1v1h-1z\"/>"));
  BOOST_TEST(contains(svg, "<path fill=\"#808080\" d=\"M0 0h1v1h-1z\"/>"));
  BOOST_TEST(contains(svg, "<path fill=\"#ffffff\" d=\"M0 0h1v1h-1z\"/>"));
  BOOST_TEST(count(svg, "<path") == 4u);  // image 0 is all background
  // Two columns: the third image starts a new row, under the first.
  std::vector<std::string> places;  // "x y" of each image
  const std::string group = "<g class=\"image\" transform=\"translate(";
  for (auto at = svg.find(group); at != std::string::npos; at = svg.find(group, at + 1)) {
    const auto from = at + group.size();
    places.push_back(svg.substr(from, svg.find(')', from) - from));
  }
  BOOST_REQUIRE(places.size() == 5u);
  auto x_of = [](const std::string& p) { return p.substr(0, p.find(' ')); };
  auto y_of = [](const std::string& p) { return p.substr(p.find(' ') + 1); };
  BOOST_TEST(x_of(places[0]) == x_of(places[2]));
  BOOST_TEST(x_of(places[1]) == x_of(places[3]));
  BOOST_TEST(x_of(places[0]) != x_of(places[1]));
  BOOST_TEST(y_of(places[0]) == y_of(places[1]));
  BOOST_TEST(y_of(places[0]) != y_of(places[2]));
  BOOST_TEST(y_of(places[2]) != y_of(places[4]));
  // The same pictures from (k, h * w) with the height, from (k, 1, h, w), or as bytes.
  const fs::path flat = dir.path / "flat.svg", nchw = dir.path / "nchw.svg",
                 bytes = dir.path / "bytes.svg";
  const std::vector<std::string> captions = {"a", "b", "c", "d", "e & f"};
  const plot::Options options{.title = "samples"};
  plot::image_grid(flat, images.reshape({5, 12}), captions, 2, 4, options);
  plot::image_grid(nchw, images.reshape({5, 1, 4, 3}), captions, 2, 0, options);
  std::vector<double> raw = pixels;
  for (double& p : raw) p *= 255;
  plot::image_grid(bytes, tensor(raw, {5, 4, 3}), captions, 2, 0, options);
  BOOST_TEST(read_text(flat) == svg);
  BOOST_TEST(read_text(nchw) == svg);
  BOOST_TEST(read_text(bytes) == svg);
}

BOOST_AUTO_TEST_CASE(image_grid_merges_equal_pixels_of_a_row_into_one_run) {
  TempDir dir;
  const fs::path file = dir.path / "runs.svg";
  // Rows 0 0 1 1 / 1 1 1 1: white background, one black run of two.
  plot::image_grid(file, tensor({0, 0, 1, 1, 1, 1, 1, 1}, {1, 2, 4}), {});
  const std::string svg = read_text(file);
  BOOST_TEST(contains(svg, "<rect width=\"4\" height=\"2\" fill=\"#ffffff\"/>"));
  BOOST_TEST(contains(svg, "<path fill=\"#000000\" d=\"M0 0h2v1h-2z\"/>"));
  BOOST_TEST(count(svg, "<path") == 1u);
  BOOST_TEST(!contains(svg, "caption"));
  // A 28 x 28 image with a square square of 100 grey levels stays small.
  std::vector<double> picture(28 * 28 * 16);
  for (std::size_t p = 0; p < picture.size(); ++p) picture[p] = static_cast<double>(p % 100) / 99;
  plot::image_grid(file, tensor(picture, {16, 784}), {}, 8);
  BOOST_TEST(fs::file_size(file) < 400000u);
}

BOOST_AUTO_TEST_CASE(image_grid_shortens_long_captions_and_keeps_them_on_hover) {
  TempDir dir;
  const fs::path file = dir.path / "captions.svg";
  const std::string caption = "predicted Ankle boot, true Sneaker";
  plot::image_grid(file, zeros({2, 3, 3}), {caption, "ok"}, 8, 0, {.width = 300});
  const std::string svg = read_text(file);
  BOOST_TEST(contains(svg, "<title>" + caption + "</title>"));
  BOOST_TEST(contains(svg, "\u2026"));
  BOOST_TEST(!contains(svg, "font-size=\"11\">" + caption));
  BOOST_TEST(contains(svg, ">ok</text>"));
}

BOOST_AUTO_TEST_CASE(image_grid_rejects_shapes_captions_and_values_it_cannot_draw) {
  TempDir dir;
  const fs::path file = dir.path / "bad.svg";
  const Tensor images = zeros({5, 4, 3});
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, images, {"a", "b", "c"});
      },
      "image_grid: 3 captions for 5 images [5, 4, 3]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({5, 12}), {}, 8, 5);
      },
      "image_grid: images [5, 12] with height 5: 12 pixels are not whole rows");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({5, 12}), {});
      },
      "image_grid: images [5, 12] of 12 pixels are not square: give their height");
  expect_error<ShapeError>([&] { plot::image_grid(file, images, {}, 8, 3); },
                           "image_grid: height 3 differs from the images' 4: [5, 4, 3]");
  const std::string expected =
      "image_grid: images must be grey (k, h, w), (k, h * w), (k, 1, h, w), (k, h, w, 1) or "
      "colour (k, 3, h, w), (k, h, w, 3), got ";
  expect_error<ShapeError>([&] { plot::image_grid(file, zeros({4}), {}); }, expected + "[4]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({2, 4, 4, 4}), {});
      },
      expected + "[2, 4, 4, 4]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({2, 2, 4, 2}), {});
      },
      expected + "[2, 2, 4, 2]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({1, 3, 4, 4, 1}), {});
      },
      expected + "[1, 3, 4, 4, 1]");
  expect_error<ValueError>([&] { plot::image_grid(file, images, {}, 0); },
                           "image_grid: columns must be >= 1, got 0");
  expect_error<ValueError>(
      [&] {
        plot::image_grid(file, tensor({0, 0, 0, 0, NAN, 0, 0, 0}, {2, 2, 2}), {});
      },
      "image_grid: image 1 has a non-finite value nan");
  BOOST_TEST(!fs::exists(file));
}

// ---- colour image grids: PNG data URIs ------------------------------------------------

namespace {

/// The PNG of each colour image of an image_grid SVG, from its data URI.
std::vector<std::string> embedded_pngs(const std::string& svg) {
  const std::string prefix = "href=\"data:image/png;base64,";
  std::vector<std::string> out;
  for (auto at = svg.find(prefix); at != std::string::npos; at = svg.find(prefix, at + 1)) {
    const auto from = at + prefix.size();
    const auto to = svg.find('"', from);
    BOOST_REQUIRE(to != std::string::npos);
    const std::string text = svg.substr(from, to - from);
    // Base64 decoding, strict: groups of four digits, padding only at the end.
    BOOST_REQUIRE(text.size() % 4 == 0);
    const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes;
    for (std::size_t i = 0; i < text.size(); i += 4) {
      std::uint32_t v = 0;
      int pad = 0;
      for (std::size_t j = 0; j < 4; ++j) {
        const char c = text[i + j];
        if (c == '=') {
          BOOST_REQUIRE(i + 4 == text.size());
          BOOST_REQUIRE(j >= 2);
          ++pad;
          v <<= 6;
          continue;
        }
        BOOST_REQUIRE(pad == 0);
        const auto d = digits.find(c);
        BOOST_REQUIRE(d != std::string::npos);
        v = v << 6 | static_cast<std::uint32_t>(d);
      }
      bytes.push_back(static_cast<char>(v >> 16));
      if (pad < 2) bytes.push_back(static_cast<char>((v >> 8) & 0xff));
      if (pad < 1) bytes.push_back(static_cast<char>(v & 0xff));
    }
    out.push_back(bytes);
  }
  return out;
}

std::uint32_t big_endian(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(s[at + i]);
  return v;
}

/// A PNG read back: the header's fields and the inflated image data (with filter bytes).
struct DecodedPng {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, colour_type = 0, compression = 0, filter = 0, interlace = 0;
  std::vector<std::string> chunk_types;
  std::string data;  // height rows of 1 filter byte + width * 3 bytes
};

/// Parses `png` chunk by chunk, checking each CRC with zlib's crc32, and inflates its
/// IDAT data with zlib's uncompress.
DecodedPng decode_png(const std::string& png) {
  DecodedPng d;
  BOOST_REQUIRE(png.size() > 8);
  BOOST_REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n"));
  std::string idat;
  for (std::size_t at = 8; at < png.size();) {
    BOOST_REQUIRE(at + 12 <= png.size());
    const std::uint32_t length = big_endian(png, at);
    BOOST_REQUIRE(at + 12 + length <= png.size());
    const std::string type = png.substr(at + 4, 4);
    const std::string body = png.substr(at + 8, length);
    const std::uint32_t crc = big_endian(png, at + 8 + length);
    const auto zlib_crc = ::crc32(::crc32(0L, Z_NULL, 0),
                                  reinterpret_cast<const Bytef*>(png.data() + at + 4), length + 4);
    BOOST_TEST(crc == zlib_crc, "the CRC of chunk " << type);
    d.chunk_types.push_back(type);
    if (type == "IHDR") {
      BOOST_REQUIRE(length == 13u);
      d.width = big_endian(body, 0);
      d.height = big_endian(body, 4);
      d.bit_depth = static_cast<unsigned char>(body[8]);
      d.colour_type = static_cast<unsigned char>(body[9]);
      d.compression = static_cast<unsigned char>(body[10]);
      d.filter = static_cast<unsigned char>(body[11]);
      d.interlace = static_cast<unsigned char>(body[12]);
    } else if (type == "IDAT") {
      idat += body;
    } else if (type == "IEND") {
      BOOST_TEST(length == 0u);
      BOOST_TEST(at + 12 == png.size());  // nothing after IEND
    }
    at += 12 + length;
  }
  const std::size_t expected = d.height * (1 + 3 * static_cast<std::size_t>(d.width));
  d.data.assign(expected + 16, '\0');  // room for more, to see that there is none
  uLongf size = d.data.size();
  BOOST_REQUIRE(uncompress(reinterpret_cast<Bytef*>(d.data.data()), &size,
                           reinterpret_cast<const Bytef*>(idat.data()), idat.size()) == Z_OK);
  BOOST_TEST(size == expected);
  d.data.resize(size);
  return d;
}

/// Pixel (r, c) channel ch of a decoded RGB PNG.
int png_byte(const DecodedPng& d, std::size_t r, std::size_t c, std::size_t ch) {
  return static_cast<unsigned char>(d.data[r * (1 + 3 * d.width) + 1 + 3 * c + ch]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(crc32_is_zlibs_the_one_png_chunks_need) {
  const std::string check = "123456789";
  BOOST_TEST(tapegrad::crc32(check.data(), check.size()) == 0xCBF43926u);
  std::vector<unsigned char> bytes(1000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 37 + 11);
  const auto zlib = ::crc32(::crc32(0L, Z_NULL, 0), bytes.data(), 1000);
  BOOST_TEST(tapegrad::crc32(bytes.data(), bytes.size()) == zlib);
  // Continuing from an earlier CRC, as zlib's does.
  const std::uint32_t head = tapegrad::crc32(bytes.data(), 400);
  BOOST_TEST(tapegrad::crc32(bytes.data() + 400, 600, head) == zlib);
  BOOST_TEST(tapegrad::crc32(bytes.data(), 0) == ::crc32(0L, Z_NULL, 0));
}

BOOST_AUTO_TEST_CASE(image_grid_embeds_a_colour_image_as_a_png_that_decodes_back) {
  TempDir dir;
  const fs::path file = dir.path / "colour.svg";
  // Two 2 x 5 (h x w) colour images, channels last: value (r * 5 + c) * 3 + ch + 50 * i
  // over 255, so pixel (r, c) of image i has bytes (r * 5 + c) * 3 + ch + 50 * i.
  const std::size_t k = 2, h = 2, w = 5;
  std::vector<double> hwc(k * h * w * 3);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t p = 0; p < h * w; ++p)
      for (std::size_t ch = 0; ch < 3; ++ch)
        hwc[(i * h * w + p) * 3 + ch] = static_cast<double>(p * 3 + ch + 50 * i) / 255;
  plot::image_grid(file, tensor(hwc, {2, 2, 5, 3}), {"first", "second"}, 2, 0, {.title = "colour"});
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<image class=\"image\"") == 2u);
  BOOST_TEST(count(svg, "preserveAspectRatio=\"none\"") == 2u);
  BOOST_TEST(count(svg, "style=\"image-rendering:pixelated\"") == 2u);
  BOOST_TEST(!contains(svg, "<path"));  // no grey shapes
  BOOST_TEST(count(svg, "class=\"caption\"") == 2u);
  BOOST_TEST(contains(svg, ">second</text>"));
  BOOST_TEST(contains(svg, ">colour</text>"));
  // The image element has the cell's size: w = 5 pixels across, h = 2 down.
  const auto at = svg.find("<image class=\"image\"");
  const std::string element = svg.substr(at, svg.find("/>", at) - at);
  auto attribute = [&](const std::string& name) {
    const auto from = element.find(" " + name + "=\"") + name.size() + 3;
    return std::stod(element.substr(from, element.find('"', from) - from));
  };
  BOOST_TEST(attribute("width") / attribute("height") == 5.0 / 2.0,
             boost::test_tools::tolerance(1e-3));

  const std::vector<std::string> pngs = embedded_pngs(svg);
  BOOST_REQUIRE(pngs.size() == 2u);
  for (std::size_t i = 0; i < k; ++i) {
    const DecodedPng d = decode_png(pngs[i]);
    BOOST_TEST(d.chunk_types == (std::vector<std::string>{"IHDR", "IDAT", "IEND"}),
               boost::test_tools::per_element());
    BOOST_TEST(d.width == w);
    BOOST_TEST(d.height == h);
    BOOST_TEST(d.bit_depth == 8);
    BOOST_TEST(d.colour_type == 2);  // RGB
    BOOST_TEST(d.compression == 0);
    BOOST_TEST(d.filter == 0);
    BOOST_TEST(d.interlace == 0);
    for (std::size_t r = 0; r < h; ++r) {
      BOOST_TEST(d.data[r * (1 + 3 * w)] == '\0', "the filter byte of row " << r);
      for (std::size_t c = 0; c < w; ++c)
        for (std::size_t ch = 0; ch < 3; ++ch)
          BOOST_TEST(png_byte(d, r, c, ch) == static_cast<int>((r * w + c) * 3 + ch + 50 * i),
                     "image " << i << " pixel " << r << ", " << c << " channel " << ch);
    }
  }
  // Known pixels: image 1's last is 50 + 27, 28, 29; image 0's first is 0, 1, 2.
  const DecodedPng second = decode_png(pngs[1]);
  BOOST_TEST(png_byte(second, 1, 4, 0) == 77);
  BOOST_TEST(png_byte(second, 1, 4, 2) == 79);
  BOOST_TEST(png_byte(decode_png(pngs[0]), 0, 0, 1) == 1);
}

BOOST_AUTO_TEST_CASE(image_grid_reads_nchw_and_hwc_colour_images_alike) {
  TempDir dir;
  // Three 5 x 7 pictures, as (k, h, w, 3) and as the same pictures (k, 3, h, w).
  const std::size_t k = 3, h = 5, w = 7;
  std::vector<double> hwc(k * h * w * 3), nchw(hwc.size());
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t p = 0; p < h * w; ++p)
      for (std::size_t ch = 0; ch < 3; ++ch) {
        const double value = std::fmod(0.37 * static_cast<double>(i * 101 + p * 7 + ch * 13), 1.0);
        hwc[(i * h * w + p) * 3 + ch] = value;
        nchw[(i * 3 + ch) * h * w + p] = value;
      }
  const fs::path a = dir.path / "hwc.svg", b = dir.path / "nchw.svg";
  const std::vector<std::string> captions = {"x", "y", "z"};
  plot::image_grid(a, tensor(hwc, {3, 5, 7, 3}), captions, 2);
  plot::image_grid(b, tensor(nchw, {3, 3, 5, 7}), captions, 2, /*height=*/5);
  const std::string svg = read_text(a);
  BOOST_TEST(count(svg, "<image class=\"image\"") == 3u);
  BOOST_TEST(read_text(b) == svg);
  const std::vector<std::string> pngs = embedded_pngs(svg);
  BOOST_REQUIRE(pngs.size() == 3u);
  BOOST_TEST(pngs[0] != pngs[1]);
  const DecodedPng d = decode_png(pngs[2]);
  BOOST_TEST(d.width == w);
  BOOST_TEST(d.height == h);
  for (std::size_t r = 0; r < h; ++r)
    for (std::size_t c = 0; c < w; ++c)
      for (std::size_t ch = 0; ch < 3; ++ch)
        BOOST_TEST(png_byte(d, r, c, ch) ==  // of the float32 value, as the tensor holds it
                   std::lround(static_cast<float>(hwc[((2 * h + r) * w + c) * 3 + ch]) * 255.0));
  // Axis 1 of 3 is channels first even when the last axis is 3 too: (1, 3, 2, 3) is one
  // 2 x 3 picture.
  plot::image_grid(a, zeros({1, 3, 2, 3}), {});
  const DecodedPng square = decode_png(embedded_pngs(read_text(a)).at(0));
  BOOST_TEST(square.width == 3u);
  BOOST_TEST(square.height == 2u);
}

BOOST_AUTO_TEST_CASE(image_grid_scales_raw_colour_bytes_and_clamps_like_grey) {
  TempDir dir;
  const fs::path file = dir.path / "bytes.svg";
  // One 2 x 3 picture of raw bytes (the largest is above 1): 300 shows as 255, -4 as 0.
  plot::image_grid(
      file,
      tensor({255, 0, 0, 300, 128, -4, 0, 1, 64, 7, 7, 7, 1, 2, 3, 250, 251, 252}, {1, 2, 3, 3}),
      {});
  const DecodedPng d = decode_png(embedded_pngs(read_text(file)).at(0));
  const std::vector<int> expected = {255, 0, 0, 255, 128, 0, 0,   1,   64,
                                     7,   7, 7, 1,   2,   3, 250, 251, 252};
  for (std::size_t p = 0; p < 18; ++p)
    BOOST_TEST(png_byte(d, p / 9, p / 3 % 3, p % 3) == expected[p]);
  // In [0, 1], below 0 shows as 0.
  plot::image_grid(file, tensor({1, 0.5, -0.25}, {1, 3, 1, 1}), {});
  const DecodedPng unit = decode_png(embedded_pngs(read_text(file)).at(0));
  BOOST_TEST(png_byte(unit, 0, 0, 0) == 255);
  BOOST_TEST(png_byte(unit, 0, 0, 1) == 128);
  BOOST_TEST(png_byte(unit, 0, 0, 2) == 0);
  // A grey image with its one channel last is the grey image itself.
  std::vector<double> grey(24);  // 2 images of 4 x 3
  for (std::size_t p = 0; p < grey.size(); ++p) grey[p] = static_cast<double>(p % 5) / 4;
  const fs::path a = dir.path / "grey.svg", b = dir.path / "grey_hw1.svg";
  plot::image_grid(a, tensor(grey, {2, 4, 3}), {"a", "b"});
  plot::image_grid(b, tensor(grey, {2, 4, 3, 1}), {"a", "b"});
  BOOST_TEST(read_text(b) == read_text(a));
  BOOST_TEST(!contains(read_text(a), "<image"));
}

BOOST_AUTO_TEST_CASE(image_grid_draws_a_page_of_64_by_64_colour_pictures_compactly) {
  TempDir dir;
  const fs::path file = dir.path / "cats.svg";
  // Ten 64 x 64 pictures of smooth colours with some noise, as photographs are.
  std::vector<double> pixels(std::size_t{10} * 64 * 64 * 3);
  std::uint32_t state = 12345;
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    const std::size_t p = i / 3 % 4096, r = p / 64, c = p % 64;  // pixel p at (r, c)
    const double smooth = static_cast<double>(r + c + 40 * (i % 3)) / 256;
    pixels[i] = std::clamp(smooth + static_cast<double>(state >> 24) / 2560.0, 0.0, 1.0);
  }
  plot::image_grid(file, tensor(pixels, {10, 64, 64, 3}), {}, 5);
  const std::string svg = read_text(file);
  BOOST_TEST(count(svg, "<image class=\"image\"") == 10u);
  BOOST_TEST(!contains(svg, "<path"));
  BOOST_TEST(count(svg, "<rect") == 11u);  // the background and one frame an image
  // At most 4 / 3 of the raw bytes (12288 + 64 filter bytes an image) plus a little.
  BOOST_TEST_MESSAGE("10 colour 64 x 64 images: " << svg.size() << " bytes");
  BOOST_TEST(svg.size() < 10u * (12352u * 4 / 3 + 300) + 1000);
  BOOST_TEST(decode_png(embedded_pngs(svg).at(9)).width == 64u);
}

BOOST_AUTO_TEST_CASE(image_grid_rejects_colour_images_it_cannot_draw) {
  TempDir dir;
  const fs::path file = dir.path / "bad.svg";
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({2, 3, 4, 4}), {}, 8, 5);
      },
      "image_grid: height 5 differs from the images' 4: [2, 3, 4, 4]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({2, 6, 5, 3}), {}, 8, 4);
      },
      "image_grid: height 4 differs from the images' 6: [2, 6, 5, 3]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({2, 3, 4, 4}), {"a"});
      },
      "image_grid: 1 captions for 2 images [2, 3, 4, 4]");
  expect_error<ShapeError>(
      [&] {
        plot::image_grid(file, zeros({0, 4, 4, 3}), {});
      },
      "image_grid: no pixels to draw in images [0, 4, 4, 3]");
  std::vector<double> values(24, 0.5);  // 2 images of 2 x 2 x 3
  values[2 * 2 * 3 + 5] = INFINITY;     // in image 1
  expect_error<ValueError>(
      [&] {
        plot::image_grid(file, tensor(values, {2, 2, 2, 3}), {});
      },
      "image_grid: image 1 has a non-finite value inf");
  BOOST_TEST(!fs::exists(file));
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
