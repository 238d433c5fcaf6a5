#pragma once
/// \file
/// SVG plots: cost curves, activation curves, decision boundaries (one or several side
/// by side), scatter plots, confusion matrices, heat maps and image grids, written without
/// any plotting dependency. Each function creates the file's parent folders and writes
/// it atomically (io/atomic_file.hpp), so a reader never sees half a plot. Failures
/// throw tapegrad::IoError.
#include <cstdint>
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
  /// decision_boundary and decision_boundaries only: legend names by class index
  /// (default "class 0", ...).
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

/// One panel of a side-by-side figure of decision boundaries: its title and its model.
struct BoundaryPanel {
  std::string title = {};  ///< above the panel (the compared setting, e.g. "lambd = 0.7")
  Predict predict = {};    ///< grid points (2, k) -> classes, as for decision_boundary
};

/// Several decision boundaries over the same points X (2, m) coloured by Y, side by side
/// in one SVG: one panel per compared setting, `columns` panels a row (0: all in one
/// row). Every panel has the same grid range, cells and class colours, so the panels
/// compare at a glance; the class legend is drawn in the first. options.width and
/// options.height are the size of one panel; options.title is the figure's title above
/// them all, x_label and y_label label every panel. ValueError for no panels, a panel
/// without a predict function, or columns < 0.
TAPEGRAD_API void decision_boundaries(const std::filesystem::path& file,
                                      const std::vector<BoundaryPanel>& panels, const Tensor& X,
                                      const Tensor& Y, const Options& options = {}, int columns = 0,
                                      int resolution = 100);

/// A set of points for scatter_plot.
struct Scatter {
  std::string name = {};                 ///< legend entry (empty: none)
  std::vector<double> x = {};            ///< the points' x coordinates
  std::vector<double> y = {};            ///< their y coordinates, as many as x
  std::vector<std::string> labels = {};  ///< labels[i] shown on hover over point i (or none)
};

/// Points as dots, one colour a set, with a legend for named sets. With log_x the x axis
/// is log10, spanning whole decades with a tick at each (0.001, 0.01, ...): the plot of a
/// random search over learning rates. A point with a non-finite coordinate (or, with
/// log_x, an x <= 0) cannot be placed and is left out, as line_plot leaves a gap.
/// ShapeError for a set whose x, y (or non-empty labels) differ in length.
TAPEGRAD_API void scatter_plot(const std::filesystem::path& file, const std::vector<Scatter>& sets,
                               const Options& options = {}, bool log_x = false);

/// The confusion matrix: counts[t][p] examples of true class t predicted as p, as a heat
/// map with the counts written in the cells and class names on both axes (rows: true
/// class, columns: predicted). A cell's shade is its share of its row, so classes of
/// different sizes read alike; a column at the right gives each row's accuracy
/// (the diagonal over the row's total) and the overall accuracy under it. class_names
/// empty: "0", "1", ...; options.x_label and y_label default to "predicted class" and
/// "true class". ShapeError for a matrix that is not square or names of another count,
/// ValueError for no classes or a negative count.
TAPEGRAD_API void confusion_matrix(const std::filesystem::path& file,
                                   const std::vector<std::vector<std::int64_t>>& counts,
                                   const std::vector<std::string>& class_names,
                                   const Options& options = {});

/// A matrix of values (R, C) as a heat map: a cell a value, row labels at the left, column
/// labels below and a colour bar at the right giving the range. Made for attention
/// weights, query positions as rows and key positions as columns. A cell's shade is its
/// value's place in [min, max] of the finite values (min white, max full blue), or in
/// [0, max] when none is negative, so that 0 is white; a range of one value v is
/// [v, v + 1] (zeros are white). -inf and inf take the ends of the range; a NaN is a grey
/// cell with a cross, keyed "NaN" under the colour bar. Hovering over a cell gives its
/// labels and value. Every cell is an SVG element: meant for tens of rows, not thousands.
///
/// Labels are UTF-8. A control character, which XML cannot hold and a reader cannot see,
/// shows as a symbol ("\n" as ⏎, "\t" as ⇥, others as ␀ ... ␟), and a label of spaces as
/// ␣, so a character model's "\n" and " " can be read. row_labels and column_labels: R
/// and C of them, or none ("0", "1", ...). One longer than 24 bytes is shortened (in full
/// on hover); when there are too many to read at the cells' size, every k-th is shown.
/// show_values writes each value in its cell with 2 decimals where the cells are large
/// enough. options.title is above the map; x_label (under the column labels) and y_label
/// (beside the row labels) are drawn when given, none by default. ShapeError for values
/// that are not 2-D or labels of another count; ValueError for an undefined tensor, one
/// without values, or a size under 200x150. The messages start "heat_map: " and give
/// the shape.
TAPEGRAD_API void heat_map(const std::filesystem::path& file, const Tensor& values,
                           const std::vector<std::string>& row_labels,
                           const std::vector<std::string>& column_labels,
                           const Options& options = {}, bool show_values = false);

/// Images in a grid, `columns` a row, with a caption under each: grey images (0 black,
/// 1 white) or colour images (RGB).
///
/// The shape says which:
/// - grey: (k, h, w), (k, 1, h, w), (k, h, w, 1), or (k, h * w) with `height` = h given
///   (0: a square h * w);
/// - colour: (k, 3, h, w), channels first as PyTorch's NCHW, or (k, h, w, 3), channels
///   last as the course's and h5py's pictures (`x[i]` of train_catvnoncat.h5).
///
/// A 4-D tensor whose axis 1 is 1 or 3 is channels first; otherwise one whose last axis
/// is 1 or 3 is channels last. So a channels-last image 1 or 3 pixels high, (k, 3, w, 3),
/// reads as channels first (PyTorch's layout, as everywhere in tapegrad): permute it to
/// (k, 3, h, w) first. One colour image is (1, 3, h, w) or (1, h, w, 3); (3, h, w) is
/// three grey images.
///
/// Values in [0, 1], or in [0, 255] when the largest of all images is above 1 (raw
/// pixels); a value below the range shows as 0 (black), above it as full intensity
/// (white), in each channel alike. A grey image is drawn as SVG shapes: one rectangle for
/// its commonest grey, one path per other grey. A colour image is embedded as an 8-bit
/// RGB PNG in a data URI, `<image ... preserveAspectRatio="none"
/// style="image-rendering:pixelated" href="data:image/png;base64,..."/>`, scaled up
/// without smoothing: about 4 / 3 of its h * w * 3 bytes at most, so a 64 x 64 picture
/// costs some 16 kB.
///
/// captions: one per image, or none. options.width is the figure's width and sets the
/// size of the images; its height follows from the rows (options.height is not used).
/// ShapeError for another shape, a `height` other than 0 or h of a 3-D or 4-D tensor, a
/// height that does not divide h * w, or captions of another count; ValueError for
/// columns < 1 or a non-finite value. The messages name image_grid and the shape.
TAPEGRAD_API void image_grid(const std::filesystem::path& file, const Tensor& images,
                             const std::vector<std::string>& captions, int columns = 8,
                             std::int64_t height = 0, const Options& options = {});

}  // namespace tapegrad::plot
