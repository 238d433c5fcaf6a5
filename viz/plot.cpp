#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/viz/plot.hpp>

namespace tapegrad::plot {

namespace fs = std::filesystem;

namespace {

// matplotlib's "tab10" colours, so the plots look like the course's.
constexpr std::array<std::string_view, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                       "#bcbd22", "#17becf"};

std::string_view color(std::size_t i) { return kPalette[i % kPalette.size()]; }

/// `hex` mixed with white: amount 0 keeps it, 1 gives white (decision-region fills).
std::string lighten(std::string_view hex, double amount) {
  unsigned rgb = 0;
  std::sscanf(std::string(hex.substr(1)).c_str(), "%x", &rgb);
  auto mix = [&](unsigned c) { return static_cast<unsigned>(std::lround(c + (255 - c) * amount)); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix((rgb >> 16) & 0xff), mix((rgb >> 8) & 0xff),
                     mix(rgb & 0xff));
}

/// Text made safe for SVG (XML) content and attributes.
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  /// A drawable range: never empty, never zero-width.
  Range usable() const {
    if (lo > hi) return {0, 1};
    if (lo == hi) {
      const double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
      return {lo - pad, hi + pad};
    }
    return *this;
  }
  Range padded(double fraction) const {
    const double pad = (hi - lo) * fraction;
    return {lo - pad, hi + pad};
  }
};

/// A round tick spacing (1, 2 or 5 times a power of ten) giving about `target` ticks.
double nice_step(double span, int target = 6) {
  const double raw = span / target;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / power;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * power;
}

std::vector<double> ticks(Range r) {
  const double step = nice_step(r.hi - r.lo);
  std::vector<double> out;
  for (double k = std::ceil(r.lo / step - 1e-9); k * step <= r.hi + step * 1e-9; ++k)
    out.push_back(std::abs(k) < 1e-9 ? 0.0 : k * step);  // an exact 0, never -1e-17
  return out;
}

/// The plot area inside the margins, and the data -> pixel maps.
struct Frame {
  Options options;
  Range x, y;
  double left = 72, right = 24, top = 44, bottom = 60;
  double width() const { return options.width - left - right; }
  double height() const { return options.height - top - bottom; }
  double px(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * width(); }
  double py(double v) const { return top + (y.hi - v) / (y.hi - y.lo) * height(); }
};

using Buffer = fmt::memory_buffer;

template <class... Args>
void put(Buffer& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

void open_svg(Buffer& out, const Options& o) {
  if (o.width < 200 || o.height < 150)
    throw ValueError(
        fmt::format("plot: size {}x{} is too small (at least 200x150)", o.width, o.height));
  put(out,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      o.width, o.height);
}

/// Grid lines, ticks with labels, the axes box and the three titles.
void draw_axes(Buffer& out, const Frame& f) {
  const double x0 = f.left, x1 = f.left + f.width(), y0 = f.top, y1 = f.top + f.height();
  put(out, "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">\n");
  for (double t : ticks(f.x))
    put(out, "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", f.px(t), y0,
        y1);
  for (double t : ticks(f.y))
    put(out, "<line x1=\"{1:.1f}\" y1=\"{0:.1f}\" x2=\"{2:.1f}\" y2=\"{0:.1f}\"/>\n", f.py(t), x0,
        x1);
  put(out, "</g>\n<g class=\"ticks\" fill=\"#333\">\n");
  for (double t : ticks(f.x))
    put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{:g}</text>\n", f.px(t),
        y1 + 16, t);
  for (double t : ticks(f.y))
    put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}</text>\n", x0 - 6,
        f.py(t) + 4, t);
  put(out, "</g>\n");
  put(out,
      "<rect class=\"axes\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"none\" stroke=\"#333\"/>\n",
      x0, y0, f.width(), f.height());
  const Options& o = f.options;
  if (!o.title.empty())
    put(out,
        "<text class=\"title\" x=\"{:.1f}\" y=\"26\" text-anchor=\"middle\" "
        "font-size=\"16\">{}</text>\n",
        x0 + f.width() / 2, escape(o.title));
  if (!o.x_label.empty())
    put(out, "<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        x0 + f.width() / 2, y1 + 40, escape(o.x_label));
  if (!o.y_label.empty())
    put(out,
        "<text class=\"ylabel\" transform=\"translate(18 {:.1f}) rotate(-90)\" "
        "text-anchor=\"middle\">{}</text>\n",
        y0 + f.height() / 2, escape(o.y_label));
}

struct LegendEntry {
  std::string name;
  std::string color;
  bool marker;  // a dot (classes) rather than a line sample (series)
};

/// A boxed legend in the top-right corner of the plot area.
void draw_legend(Buffer& out, const Frame& f, const std::vector<LegendEntry>& entries) {
  if (entries.empty()) return;
  std::size_t longest = 0;
  for (const auto& e : entries) longest = std::max(longest, e.name.size());
  const double w = 40 + 7.0 * static_cast<double>(longest), row = 18;
  const double x = f.left + f.width() - w - 8, y = f.top + 8;
  put(out,
      "<g class=\"legend\">\n<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n",
      x, y, w, row * static_cast<double>(entries.size()) + 8);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const double cy = y + 4 + row * (static_cast<double>(i) + 0.5);
    if (entries[i].marker)
      put(out,
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\" stroke=\"black\" "
          "stroke-width=\"0.5\"/>\n",
          x + 16, cy, entries[i].color);
    else
      put(out,
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-width=\"2\"/>\n",
          x + 6, cy, x + 26, cy, entries[i].color);
    put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x + 32, cy + 4,
        escape(entries[i].name));
  }
  put(out, "</g>\n");
}

/// Creates the folders above `file`, then writes it atomically: a reader sees the old
/// plot or the new one, never half of one.
void write_atomically(const fs::path& file, const Buffer& svg) {
  io::create_parent_folders(file, "plot");
  io::write_file_atomically(file, std::string_view(svg.data(), svg.size()), "plot");
}

/// A polyline per run of finite points (a NaN cost leaves a gap, not a spike).
void draw_series(Buffer& out, const Frame& f, const Series& s, std::string_view stroke) {
  bool open = false;
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    const double x = s.x.empty() ? static_cast<double>(i) : s.x[i];
    if (!std::isfinite(x) || !std::isfinite(s.y[i])) {
      if (open) put(out, "\"/>\n");
      open = false;
      continue;
    }
    if (!open)
      put(out, "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"", stroke);
    put(out, "{}{:.1f},{:.1f}", open ? " " : "", f.px(x), f.py(s.y[i]));
    open = true;
  }
  if (open) put(out, "\"/>\n");
}

void line_plot_impl(const fs::path& file, const std::vector<Series>& series, const Options& options,
                    bool zero_axes) {
  Range xr, yr;
  for (const Series& s : series) {
    if (!s.x.empty() && s.x.size() != s.y.size())
      throw ShapeError(fmt::format("line_plot: series '{}' has {} x values and {} y values", s.name,
                                   s.x.size(), s.y.size()));
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xr.add(s.x.empty() ? static_cast<double>(i) : s.x[i]);
      yr.add(s.y[i]);
    }
  }
  Frame f{options, xr.usable(), yr.usable().padded(0.05)};
  Buffer out;
  open_svg(out, options);
  draw_axes(out, f);
  if (zero_axes) {
    if (f.x.lo < 0 && f.x.hi > 0)
      put(out,
          "<line class=\"zero\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
          "stroke=\"#999\"/>\n",
          f.px(0), f.top, f.top + f.height());
    if (f.y.lo < 0 && f.y.hi > 0)
      put(out,
          "<line class=\"zero\" x1=\"{1:.1f}\" y1=\"{0:.1f}\" x2=\"{2:.1f}\" y2=\"{0:.1f}\" "
          "stroke=\"#999\"/>\n",
          f.py(0), f.left, f.left + f.width());
  }
  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < series.size(); ++i) {
    draw_series(out, f, series[i], color(i));
    if (!series[i].name.empty()) legend.push_back({series[i].name, std::string(color(i)), false});
  }
  // One unnamed curve needs no legend; several curves always get one.
  if (series.size() > 1 || !legend.empty()) draw_legend(out, f, legend);
  put(out, "</svg>\n");
  write_atomically(file, out);
}

/// Class index of each of `m` columns: from (1, m) or (m) indices, or (k, m) scores (argmax).
std::vector<int> class_indices(const Tensor& t, std::int64_t m, std::string_view what) {
  std::vector<int> out(static_cast<std::size_t>(m));
  const std::vector<double> v = t.to_vector();
  if (t.numel() == m) {
    for (std::int64_t i = 0; i < m; ++i) {
      const double c = v[static_cast<std::size_t>(i)];
      if (!(c >= 0) || c > 1e6)
        throw ValueError(fmt::format("decision_boundary: {} {} is not a class index", what, c));
      out[static_cast<std::size_t>(i)] = static_cast<int>(std::lround(c));
    }
  } else if (t.dim() == 2 && t.size(1) == m) {
    const std::int64_t k = t.size(0);
    for (std::int64_t i = 0; i < m; ++i) {
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < k; ++c)
        if (v[static_cast<std::size_t>(c * m + i)] > v[static_cast<std::size_t>(best * m + i)])
          best = c;
      out[static_cast<std::size_t>(i)] = static_cast<int>(best);
    }
  } else {
    throw ShapeError(fmt::format("decision_boundary: {} has shape {}, expected {} classes", what,
                                 shape_str(t.shape()), m));
  }
  return out;
}

}  // namespace

void line_plot(const fs::path& file, const std::vector<Series>& series, const Options& options) {
  line_plot_impl(file, series, options, false);
}

void cost_curve(const fs::path& file, const std::vector<double>& costs, const std::string& title,
                const std::string& x_label) {
  Options options;
  options.title = title;
  options.x_label = x_label;
  options.y_label = "cost";
  line_plot_impl(file, {Series{"", costs}}, options, false);
}

void curves(const fs::path& file, const std::vector<double>& x,
            const std::vector<std::pair<std::string, std::vector<double>>>& named_y,
            const Options& options) {
  std::vector<Series> series;
  for (const auto& [name, y] : named_y) {
    if (y.size() != x.size())
      throw ShapeError(
          fmt::format("curves: '{}' has {} values for {} x values", name, y.size(), x.size()));
    series.push_back({name, y, x});
  }
  line_plot_impl(file, series, options, true);
}

void decision_boundary(const fs::path& file, const Predict& predict, const Tensor& X,
                       const Tensor& Y, const Options& options, int resolution) {
  if (X.dim() != 2 || X.size(0) != 2)
    throw ShapeError(
        fmt::format("decision_boundary: X must be (2, m), got {}", shape_str(X.shape())));
  if (resolution < 2 || resolution > 2000)
    throw ValueError(
        fmt::format("decision_boundary: resolution must be in [2, 2000], got {}", resolution));
  const std::int64_t m = X.size(1);
  const std::vector<int> point_class = class_indices(Y, m, "Y");
  const std::vector<double> xv = X.to_vector();  // row 0: x coordinates, row 1: y coordinates
  Range xr, yr;
  for (std::int64_t i = 0; i < m; ++i) {
    xr.add(xv[static_cast<std::size_t>(i)]);
    yr.add(xv[static_cast<std::size_t>(m + i)]);
  }
  // Room around the points, as the course's "min - 1, max + 1" gives on its data.
  Frame f{options, xr.usable().padded(0.1), yr.usable().padded(0.1)};

  // Cells of about square pixels; predict once on all their centres, (2, nx * ny).
  const std::int64_t nx = resolution;
  const std::int64_t ny = std::max<std::int64_t>(
      2, std::lround(static_cast<double>(resolution) * f.height() / f.width()));
  const double cw = (f.x.hi - f.x.lo) / static_cast<double>(nx);
  const double ch = (f.y.hi - f.y.lo) / static_cast<double>(ny);
  std::vector<double> grid(static_cast<std::size_t>(2 * nx * ny));
  for (std::int64_t r = 0; r < ny; ++r)
    for (std::int64_t c = 0; c < nx; ++c) {
      const auto k = static_cast<std::size_t>(r * nx + c);
      grid[k] = f.x.lo + (static_cast<double>(c) + 0.5) * cw;
      grid[static_cast<std::size_t>(nx * ny) + k] = f.y.lo + (static_cast<double>(r) + 0.5) * ch;
    }
  Tensor predicted;
  {
    NoGradGuard no_grad;  // a plot needs no tape
    predicted = predict(tensor(grid, {2, nx * ny}, X.dtype()));
  }
  const std::vector<int> cell_class = class_indices(predicted, nx * ny, "prediction");

  Buffer out;
  open_svg(out, options);
  // Runs of equal cells in a row become one rectangle: a few hundred shapes, not 20000.
  put(out, "<g class=\"regions\" shape-rendering=\"crispEdges\">\n");
  for (std::int64_t r = 0; r < ny; ++r) {
    for (std::int64_t c0 = 0; c0 < nx;) {
      const int cls = cell_class[static_cast<std::size_t>(r * nx + c0)];
      std::int64_t c1 = c0 + 1;
      while (c1 < nx && cell_class[static_cast<std::size_t>(r * nx + c1)] == cls) ++c1;
      const double left = f.px(f.x.lo + static_cast<double>(c0) * cw);
      const double right = f.px(f.x.lo + static_cast<double>(c1) * cw);
      const double top = f.py(f.y.lo + static_cast<double>(r + 1) * ch);
      const double bottom = f.py(f.y.lo + static_cast<double>(r) * ch);
      put(out, "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n",
          left, top, right - left, bottom - top,
          lighten(color(static_cast<std::size_t>(cls)), 0.6));
      c0 = c1;
    }
  }
  put(out, "</g>\n");
  draw_axes(out, f);
  put(out, "<g class=\"points\" stroke=\"black\" stroke-width=\"0.5\">\n");
  int n_classes = 0;
  for (std::int64_t i = 0; i < m; ++i) {
    const int cls = point_class[static_cast<std::size_t>(i)];
    n_classes = std::max(n_classes, cls + 1);
    put(out, "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
        f.px(xv[static_cast<std::size_t>(i)]), f.py(xv[static_cast<std::size_t>(m + i)]),
        color(static_cast<std::size_t>(cls)));
  }
  put(out, "</g>\n");
  std::vector<LegendEntry> legend;
  legend.reserve(static_cast<std::size_t>(n_classes));
  for (int c = 0; c < n_classes; ++c)
    legend.push_back({static_cast<std::size_t>(c) < options.class_names.size()
                          ? options.class_names[static_cast<std::size_t>(c)]
                          : fmt::format("class {}", c),
                      std::string(color(static_cast<std::size_t>(c))), true});
  draw_legend(out, f, legend);
  put(out, "</svg>\n");
  write_atomically(file, out);
}

}  // namespace tapegrad::plot
