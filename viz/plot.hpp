#pragma once
/// \file
/// SVG plots: cost curves, activation curves and decision boundaries, written without
/// any plotting dependency. Each function creates the file's parent folders and writes
/// it atomically (io/atomic_file.hpp), so a reader never sees half a plot. Failures
/// throw tapegrad::IoError.
#include <filesystem>
#include <functional>
#include <string>
#include <tapegrad/graph/export.hpp>
#include <tapegrad/graph/tensor.hpp>
#include <utility>
#include <vector>

namespace tapegrad::plot {

/// One curve: y values at x (x empty: 0, 1, 2, ...). Non-finite values leave a gap.
struct Series {
  std::string name = {};       ///< legend entry (empty: none)
  std::vector<double> y = {};  ///< the values
  std::vector<double> x = {};  ///< where they are (empty: 0, 1, 2, ...)
};

/// Titles and size of a plot, in SVG pixels.
struct Options {
  std::string title = {};    ///< above the plot
  std::string x_label = {};  ///< below the x axis
  std::string y_label = {};  ///< beside the y axis
  int width = 720;           ///< SVG pixels
  int height = 480;          ///< SVG pixels
  /// decision_boundary only: legend names by class index (default "class 0", ...).
  std::vector<std::string> class_names = {};
};

/// Lines for one or more series with axes, ticks, titles, and a legend for named series.
TAPEGRAD_API void line_plot(const std::filesystem::path& file, const std::vector<Series>& series,
                            const Options& options = {});

/// The course's cost plot: one cost per recorded step, x axis "iterations (per hundreds)".
TAPEGRAD_API void cost_curve(const std::filesystem::path& file, const std::vector<double>& costs,
                             const std::string& title,
                             const std::string& x_label = "iterations (per hundreds)");

/// Several named curves over one x (activations and their derivatives), with the x = 0
/// and y = 0 axes drawn; every curve has x.size() values.
TAPEGRAD_API void curves(const std::filesystem::path& file, const std::vector<double>& x,
                         const std::vector<std::pair<std::string, std::vector<double>>>& named_y,
                         const Options& options = {});

/// Maps grid points (2, k) to k predicted classes, as (1, k), (k) or scores (classes, k).
using Predict = std::function<Tensor(const Tensor&)>;

/// The classes `predict` gives over a grid around the points X (2, m), as coloured cells,
/// with the points on top coloured by Y: (1, m) class indices or (classes, m) one-hot.
/// `resolution` is the number of cells across.
TAPEGRAD_API void decision_boundary(const std::filesystem::path& file, const Predict& predict,
                                    const Tensor& X, const Tensor& Y, const Options& options = {},
                                    int resolution = 150);

}  // namespace tapegrad::plot
