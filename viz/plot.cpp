#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/crc32.hpp>
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

/// A labelled tick: where it is on its axis and what it says.
struct Tick {
  double at;
  std::string label;
};

std::vector<Tick> linear_ticks(Range r) {
  const double step = nice_step(r.hi - r.lo);
  std::vector<Tick> out;
  for (double k = std::ceil(r.lo / step - 1e-9); k * step <= r.hi + step * 1e-9; ++k) {
    const double t = std::abs(k) < 1e-9 ? 0.0 : k * step;  // an exact 0, never -1e-17
    out.push_back({t, fmt::format("{:g}", t)});
  }
  return out;
}

/// The ticks of a log10 axis, whose range r is in decades: one at each power of ten
/// (every second or fifth one over a wide range), labelled 0.001 ... 1000, else 1e-5.
std::vector<Tick> decade_ticks(Range r) {
  const double span = r.hi - r.lo;
  const int every = span <= 8 ? 1 : span <= 16 ? 2 : 5;
  std::vector<Tick> out;
  for (auto k = static_cast<int>(std::ceil(r.lo - 1e-9)); k <= r.hi + 1e-9; ++k) {
    if (k % every != 0) continue;
    out.push_back({static_cast<double>(k), k >= -4 && k <= 4
                                               ? fmt::format("{:g}", std::pow(10.0, k))
                                               : fmt::format("1e{}", k)});
  }
  return out;
}

/// The plot area inside the margins, and the data -> pixel maps.
struct Frame {
  Options options;
  Range x, y;
  double left = 72, right = 24, top = 44, bottom = 60;
  bool log_x = false;  // x is log10 of the data: ticks at the decades
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

/// The smallest plot (or panel) a reader can read: axes, ticks and titles need room.
void check_size(const Options& o, std::string_view fn) {
  if (o.width < 200 || o.height < 150)
    throw ValueError(
        fmt::format("{}: size {}x{} is too small (at least 200x150)", fn, o.width, o.height));
}

/// The <svg> element of a figure of width x height pixels, on a white background.
void start_svg(Buffer& out, double width, double height) {
  put(out,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0:g}\" height=\"{1:g}\" "
      "viewBox=\"0 0 {0:g} {1:g}\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      width, height);
}

void open_svg(Buffer& out, const Options& o, std::string_view fn = "plot") {
  check_size(o, fn);
  start_svg(out, o.width, o.height);
}

/// A figure's title, centred above everything at the top of a figure `width` wide.
void draw_figure_title(Buffer& out, double width, const std::string& title) {
  put(out,
      "<text class=\"suptitle\" x=\"{:.1f}\" y=\"24\" text-anchor=\"middle\" "
      "font-size=\"17\" font-weight=\"bold\">{}</text>\n",
      width / 2, escape(title));
}

/// Grid lines, ticks with labels, the axes box and the three titles.
void draw_axes(Buffer& out, const Frame& f) {
  const double x0 = f.left, x1 = f.left + f.width(), y0 = f.top, y1 = f.top + f.height();
  const std::vector<Tick> x_ticks = f.log_x ? decade_ticks(f.x) : linear_ticks(f.x);
  const std::vector<Tick> y_ticks = linear_ticks(f.y);
  if (f.log_x && f.x.hi - f.x.lo <= 8) {  // fainter lines at 2, 3, ... 9 times each decade
    put(out, "<g class=\"minor-grid\" stroke=\"#f2f2f2\" stroke-width=\"1\">\n");
    for (double k = std::floor(f.x.lo); k < f.x.hi; ++k)
      for (int j = 2; j <= 9; ++j) {
        const double t = k + std::log10(j);
        if (t > f.x.lo && t < f.x.hi)
          put(out, "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", f.px(t),
              y0, y1);
      }
    put(out, "</g>\n");
  }
  put(out, "<g class=\"grid\" stroke=\"#e5e5e5\" stroke-width=\"1\">\n");
  for (const Tick& t : x_ticks)
    put(out, "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n", f.px(t.at),
        y0, y1);
  for (const Tick& t : y_ticks)
    put(out, "<line x1=\"{1:.1f}\" y1=\"{0:.1f}\" x2=\"{2:.1f}\" y2=\"{0:.1f}\"/>\n", f.py(t.at),
        x0, x1);
  put(out, "</g>\n<g class=\"ticks\" fill=\"#333\">\n");
  for (const Tick& t : x_ticks)
    put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", f.px(t.at),
        y1 + 16, t.label);
  for (const Tick& t : y_ticks)
    put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", x0 - 6,
        f.py(t.at) + 4, t.label);
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
std::vector<int> class_indices(const Tensor& t, std::int64_t m, std::string_view what,
                               std::string_view fn) {
  std::vector<int> out(static_cast<std::size_t>(m));
  if (!t.defined()) throw ValueError(fmt::format("{}: {} is an undefined tensor", fn, what));
  const std::vector<double> v = t.to_vector();
  if (t.numel() == m) {
    for (std::int64_t i = 0; i < m; ++i) {
      const double c = v[static_cast<std::size_t>(i)];
      if (!(c >= 0) || c > 1e6)
        throw ValueError(fmt::format("{}: {} {} is not a class index", fn, what, c));
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
    throw ShapeError(fmt::format("{}: {} has shape {}, expected {} class indices or (classes, {})",
                                 fn, what, shape_str(t.shape()), m, m));
  }
  return out;
}

/// What every panel of a decision-boundary figure shares: the points and their classes,
/// the plot area around them, and the grid of cells each model classifies.
struct BoundaryScene {
  std::int64_t m = 0;
  std::vector<double> xv;  // row 0: x coordinates, row 1: y coordinates
  std::vector<int> point_class;
  int n_classes = 0;  // of the points: the legend's entries
  Frame frame;
  std::int64_t nx = 0, ny = 0;  // cells across and down
  double cw = 0, ch = 0;        // a cell's size in data units
  Tensor grid;                  // (2, nx * ny) cell centres, row by row from the bottom
};

BoundaryScene boundary_scene(const Tensor& X, const Tensor& Y, const Options& panel, int resolution,
                             std::string_view fn) {
  if (X.dim() != 2 || X.size(0) != 2)
    throw ShapeError(fmt::format("{}: X must be (2, m), got {}", fn, shape_str(X.shape())));
  if (resolution < 2 || resolution > 2000)
    throw ValueError(fmt::format("{}: resolution must be in [2, 2000], got {}", fn, resolution));
  BoundaryScene s;
  s.m = X.size(1);
  s.point_class = class_indices(Y, s.m, "Y", fn);
  for (int c : s.point_class) s.n_classes = std::max(s.n_classes, c + 1);
  s.xv = X.to_vector();
  Range xr, yr;
  for (std::int64_t i = 0; i < s.m; ++i) {
    xr.add(s.xv[static_cast<std::size_t>(i)]);
    yr.add(s.xv[static_cast<std::size_t>(s.m + i)]);
  }
  // Room around the points, as the course's "min - 1, max + 1" gives on its data.
  s.frame = Frame{panel, xr.usable().padded(0.1), yr.usable().padded(0.1)};
  const Frame& f = s.frame;

  // Cells of about square pixels; predict once on all their centres, (2, nx * ny).
  s.nx = resolution;
  s.ny = std::max<std::int64_t>(
      2, std::lround(static_cast<double>(resolution) * f.height() / f.width()));
  s.cw = (f.x.hi - f.x.lo) / static_cast<double>(s.nx);
  s.ch = (f.y.hi - f.y.lo) / static_cast<double>(s.ny);
  const std::int64_t cells = s.nx * s.ny;
  std::vector<double> grid(static_cast<std::size_t>(2 * cells));
  for (std::int64_t r = 0; r < s.ny; ++r)
    for (std::int64_t c = 0; c < s.nx; ++c) {
      const auto k = static_cast<std::size_t>(r * s.nx + c);
      grid[k] = f.x.lo + (static_cast<double>(c) + 0.5) * s.cw;
      grid[static_cast<std::size_t>(cells) + k] = f.y.lo + (static_cast<double>(r) + 0.5) * s.ch;
    }
  s.grid = tensor(grid, {2, cells}, X.dtype());
  return s;
}

/// One decision-boundary panel at the origin: the cells coloured by the class `predict`
/// gives them, the axes and `title`, the points on top, and the legend if asked.
void draw_boundary_panel(Buffer& out, const BoundaryScene& s, const Predict& predict,
                         const std::string& title, bool legend, std::string_view what,
                         std::string_view fn) {
  Frame f = s.frame;
  f.options.title = title;
  Tensor predicted;
  {
    NoGradGuard no_grad;  // a plot needs no tape
    predicted = predict(s.grid);
  }
  const std::vector<int> cell_class = class_indices(predicted, s.nx * s.ny, what, fn);

  // Runs of equal cells in a row become one rectangle: a few hundred shapes, not 20000.
  put(out, "<g class=\"regions\" shape-rendering=\"crispEdges\">\n");
  for (std::int64_t r = 0; r < s.ny; ++r) {
    for (std::int64_t c0 = 0; c0 < s.nx;) {
      const int cls = cell_class[static_cast<std::size_t>(r * s.nx + c0)];
      std::int64_t c1 = c0 + 1;
      while (c1 < s.nx && cell_class[static_cast<std::size_t>(r * s.nx + c1)] == cls) ++c1;
      const double left = f.px(f.x.lo + static_cast<double>(c0) * s.cw);
      const double right = f.px(f.x.lo + static_cast<double>(c1) * s.cw);
      const double top = f.py(f.y.lo + static_cast<double>(r + 1) * s.ch);
      const double bottom = f.py(f.y.lo + static_cast<double>(r) * s.ch);
      put(out, "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n",
          left, top, right - left, bottom - top,
          lighten(color(static_cast<std::size_t>(cls)), 0.6));
      c0 = c1;
    }
  }
  put(out, "</g>\n");
  draw_axes(out, f);
  put(out, "<g class=\"points\" stroke=\"black\" stroke-width=\"0.5\">\n");
  for (std::int64_t i = 0; i < s.m; ++i)
    put(out, "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n",
        f.px(s.xv[static_cast<std::size_t>(i)]), f.py(s.xv[static_cast<std::size_t>(s.m + i)]),
        color(static_cast<std::size_t>(s.point_class[static_cast<std::size_t>(i)])));
  put(out, "</g>\n");
  if (!legend) return;
  const std::vector<std::string>& names = f.options.class_names;
  std::vector<LegendEntry> entries;
  entries.reserve(static_cast<std::size_t>(s.n_classes));
  for (int c = 0; c < s.n_classes; ++c)
    entries.push_back({static_cast<std::size_t>(c) < names.size()
                           ? names[static_cast<std::size_t>(c)]
                           : fmt::format("class {}", c),
                       std::string(color(static_cast<std::size_t>(c))), true});
  draw_legend(out, f, entries);
}

/// `text` cut to at most `limit` bytes (at a character boundary, UTF-8) with an ellipsis.
std::string shortened(const std::string& text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t cut = limit > 1 ? limit - 1 : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return text.substr(0, cut) + "\u2026";
}

/// Approximate width of `text` in pixels at font size 12 (no font metrics at hand): a
/// width per UTF-8 character, not per byte.
double text_width(std::string_view text, double font_size = 12) {
  const auto chars = std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xc0) != 0x80;  // not a continuation byte
  });
  return static_cast<double>(chars) * font_size * 0.6;
}

/// A label a reader can see: a control character, which XML 1.0 cannot hold, as its
/// symbol ("\n" as ⏎, "\t" as ⇥, others from U+2400 on), and a label of spaces as ␣, since a
/// character model's " " would otherwise label its row with nothing.
std::string visible(std::string_view label) {
  std::string out;
  if (!label.empty() && label.find_first_not_of(' ') == std::string_view::npos) {
    for (std::size_t i = 0; i < label.size(); ++i) out += "\u2423";
    return out;
  }
  for (char c : label) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\u23ce";
    else if (c == '\t')
      out += "\u21e5";
    else if (byte < 0x20) {  // U+2400 + byte, in UTF-8: E2 90 (80 + byte)
      out += "\xe2\x90";
      out += static_cast<char>(0x80 + byte);
    } else if (byte == 0x7f)
      out += "\u2421";
    else
      out += c;
  }
  return out;
}

// ---- colour images as PNG data URIs --------------------------------------------------

/// Appends `v` in PNG's byte order (big-endian).
void put_u32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xffu));
}

/// One PNG chunk: the length of `data`, the type, `data`, and the CRC-32 of type and data.
void put_chunk(std::string& png, std::string_view type, std::string_view data) {
  put_u32(png, static_cast<std::uint32_t>(data.size()));
  const std::size_t from = png.size();
  png.append(type);
  png.append(data);
  put_u32(png, tapegrad::crc32(png.data() + from, png.size() - from));
}

/// An 8-bit RGB PNG (colour type 2, no interlace) of `rgb`: h rows of w pixels of three
/// bytes each. Every row has filter 0 (none); the rows go through zlib in one IDAT chunk.
std::string png_rgb(const std::vector<std::uint8_t>& rgb, std::int64_t h, std::int64_t w,
                    std::string_view fn) {
  const auto row = static_cast<std::size_t>(3 * w);
  std::string raw;
  raw.reserve(static_cast<std::size_t>(h) * (row + 1));
  for (std::int64_t r = 0; r < h; ++r) {
    raw.push_back('\0');  // filter type 0: the row as it is
    raw.append(reinterpret_cast<const char*>(rgb.data()) + static_cast<std::size_t>(r) * row, row);
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  const int rc = compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
                           reinterpret_cast<const Bytef*>(raw.data()),
                           static_cast<uLong>(raw.size()), Z_BEST_COMPRESSION);
  if (rc != Z_OK)
    throw IoError(
        fmt::format("{}: zlib could not compress a {}x{} image (error {})", fn, w, h, rc));
  packed.resize(packed_size);

  std::string header;  // IHDR: width, height, bit depth 8, colour type 2 (RGB), 0, 0, 0
  put_u32(header, static_cast<std::uint32_t>(w));
  put_u32(header, static_cast<std::uint32_t>(h));
  header += std::string_view("\x08\x02\x00\x00\x00", 5);
  std::string png = "\x89PNG\r\n\x1a\n";
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", packed);
  put_chunk(png, "IEND", {});
  return png;
}

/// `bytes` in base64 (RFC 4648, with = padding), as a data URI holds them.
std::string base64(std::string_view bytes) {
  constexpr std::string_view kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kDigits[(v >> shift) & 63u]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    const std::uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0u);
    out.push_back(kDigits[(v >> 18) & 63u]);
    out.push_back(kDigits[(v >> 12) & 63u]);
    out.push_back(rest == 2 ? kDigits[(v >> 6) & 63u] : '=');
    out.push_back('=');
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
  const BoundaryScene scene = boundary_scene(X, Y, options, resolution, "decision_boundary");
  Buffer out;
  open_svg(out, options, "decision_boundary");
  draw_boundary_panel(out, scene, predict, options.title, true, "prediction", "decision_boundary");
  put(out, "</svg>\n");
  write_atomically(file, out);
}

void decision_boundaries(const fs::path& file, const std::vector<BoundaryPanel>& panels,
                         const Tensor& X, const Tensor& Y, const Options& options, int columns,
                         int resolution) {
  constexpr std::string_view fn = "decision_boundaries";
  if (panels.empty()) throw ValueError(fmt::format("{}: no panels to draw", fn));
  if (columns < 0) throw ValueError(fmt::format("{}: columns must be >= 0, got {}", fn, columns));
  for (std::size_t i = 0; i < panels.size(); ++i)
    if (!panels[i].predict)
      throw ValueError(
          fmt::format("{}: panel {} ('{}') has no predict function", fn, i, panels[i].title));
  check_size(options, fn);
  const auto n = static_cast<int>(panels.size());
  const int cols = columns == 0 ? n : std::min(columns, n);
  const int rows = (n + cols - 1) / cols;
  const double band = options.title.empty() ? 0 : 36;  // the figure's title above the panels
  const double width = static_cast<double>(cols) * options.width;
  const double height = band + static_cast<double>(rows) * options.height;
  // One scene for every panel: the same grid, range and colours.
  const BoundaryScene scene = boundary_scene(X, Y, options, resolution, fn);

  Buffer out;
  start_svg(out, width, height);
  if (!options.title.empty()) draw_figure_title(out, width, options.title);
  for (int i = 0; i < n; ++i) {
    const BoundaryPanel& panel = panels[static_cast<std::size_t>(i)];
    const int row = i / cols, column = i % cols;
    put(out, "<g class=\"panel\" transform=\"translate({:g} {:g})\">\n",
        static_cast<double>(column * options.width),
        band + static_cast<double>(row * options.height));
    draw_boundary_panel(out, scene, panel.predict, panel.title, i == 0,
                        fmt::format("prediction of panel {} ('{}')", i, panel.title), fn);
    put(out, "</g>\n");
  }
  put(out, "</svg>\n");
  write_atomically(file, out);
}

void scatter_plot(const fs::path& file, const std::vector<Scatter>& sets, const Options& options,
                  bool log_x) {
  constexpr std::string_view fn = "scatter_plot";
  for (const Scatter& s : sets) {
    if (s.x.size() != s.y.size())
      throw ShapeError(fmt::format("{}: set '{}' has {} x values and {} y values", fn, s.name,
                                   s.x.size(), s.y.size()));
    if (!s.labels.empty() && s.labels.size() != s.x.size())
      throw ShapeError(fmt::format("{}: set '{}' has {} labels for {} points", fn, s.name,
                                   s.labels.size(), s.x.size()));
  }
  check_size(options, fn);
  // Where a value sits on the x axis: log10(x) on a log axis (NaN for x <= 0: left out).
  auto axis_x = [&](double x) {
    return !log_x ? x : x > 0 ? std::log10(x) : std::numeric_limits<double>::quiet_NaN();
  };
  Range xr, yr;
  for (const Scatter& s : sets)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double x = axis_x(s.x[i]);
      if (!std::isfinite(x) || !std::isfinite(s.y[i])) continue;
      xr.add(x);
      yr.add(s.y[i]);
    }
  Range x_range = xr.usable().padded(0.05);
  // A log axis shows at least two decades, so it always has two ticks to read it by.
  if (log_x && std::floor(x_range.hi) < std::ceil(x_range.lo) + 1)
    x_range = {std::floor(x_range.lo), std::ceil(x_range.hi)};
  Frame f{options, x_range, yr.usable().padded(0.05)};
  f.log_x = log_x;

  Buffer out;
  open_svg(out, options, fn);
  draw_axes(out, f);
  std::vector<LegendEntry> legend;
  for (std::size_t k = 0; k < sets.size(); ++k) {
    const Scatter& s = sets[k];
    put(out,
        "<g class=\"scatter\" fill=\"{}\" fill-opacity=\"0.8\" stroke=\"#333\" "
        "stroke-width=\"0.5\">\n",
        color(k));
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      const double x = axis_x(s.x[i]);
      if (!std::isfinite(x) || !std::isfinite(s.y[i])) continue;
      put(out, "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\"", f.px(x), f.py(s.y[i]));
      if (s.labels.empty())
        put(out, "/>\n");
      else
        put(out, "><title>{}</title></circle>\n", escape(s.labels[i]));
    }
    put(out, "</g>\n");
    if (!s.name.empty()) legend.push_back({s.name, std::string(color(k)), true});
  }
  draw_legend(out, f, legend);
  put(out, "</svg>\n");
  write_atomically(file, out);
}

void confusion_matrix(const fs::path& file, const std::vector<std::vector<std::int64_t>>& counts,
                      const std::vector<std::string>& class_names, const Options& options) {
  constexpr std::string_view fn = "confusion_matrix";
  const std::size_t n = counts.size();
  if (n == 0) throw ValueError(fmt::format("{}: no classes (an empty matrix)", fn));
  for (std::size_t t = 0; t < n; ++t) {
    if (counts[t].size() != n)
      throw ShapeError(fmt::format("{}: counts must be square, row {} has {} values for {} rows",
                                   fn, t, counts[t].size(), n));
    for (std::size_t p = 0; p < n; ++p)
      if (counts[t][p] < 0)
        throw ValueError(
            fmt::format("{}: count [{}][{}] is negative, got {}", fn, t, p, counts[t][p]));
  }
  if (!class_names.empty() && class_names.size() != n)
    throw ShapeError(
        fmt::format("{}: {} class names for a {}x{} matrix", fn, class_names.size(), n, n));
  check_size(options, fn);
  std::vector<std::string> names = class_names;
  for (std::size_t c = names.size(); c < n; ++c) names.push_back(fmt::format("{}", c));
  double longest = 0;
  for (const auto& name : names) longest = std::max(longest, text_width(name));

  // Square cells as large as fit between the row names (left), the accuracy column
  // (right), the title (top) and the column names (below, slanted when wide).
  const auto nd = static_cast<double>(n);
  const double accuracy_width = 70, top = 56;
  const double left = 30 + longest + 8;
  const double room_w = options.width - left - accuracy_width - 12;
  double cell = room_w / nd;
  const bool slanted = longest > std::min(cell, (options.height - top - 60) / nd) - 6;
  const double below = (slanted ? 14 + longest * 0.72 : 22) + 26;
  cell = std::max(4.0, std::min(cell, (options.height - top - below) / nd));
  const double x0 = left + std::max(0.0, (room_w - cell * nd) / 2), y0 = top;
  const double size = cell * nd;
  const double font = std::clamp(cell * 0.3, 7.0, 14.0);

  std::int64_t total = 0, correct = 0;
  std::vector<std::int64_t> row_total(n, 0);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::int64_t c : counts[t]) row_total[t] += c;
    total += row_total[t];
    correct += counts[t][t];
  }
  auto percent = [](std::int64_t part, std::int64_t whole) {
    return whole == 0 ? std::string("\u2014") : fmt::format("{:.1f}%", 100.0 * part / whole);
  };

  Buffer out;
  open_svg(out, options, fn);
  if (!options.title.empty())
    put(out,
        "<text class=\"title\" x=\"{:.1f}\" y=\"26\" text-anchor=\"middle\" "
        "font-size=\"16\">{}</text>\n",
        x0 + size / 2, escape(options.title));
  put(out, "<g class=\"cells\" font-size=\"{:.1f}\" text-anchor=\"middle\">\n", font);
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t p = 0; p < n; ++p) {
      const double share =
          row_total[t] == 0 ? 0.0
                            : static_cast<double>(counts[t][p]) / static_cast<double>(row_total[t]);
      const double x = x0 + static_cast<double>(p) * cell, y = y0 + static_cast<double>(t) * cell;
      put(out,
          "<rect class=\"cell\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
          "fill=\"{}\" stroke=\"white\"><title>true {}, predicted {}: {}</title></rect>\n",
          x, y, cell, cell, lighten(color(0), 1 - share), escape(names[t]), escape(names[p]),
          counts[t][p]);
      put(out, "<text class=\"count\" x=\"{:.1f}\" y=\"{:.1f}\" fill=\"{}\">{}</text>\n",
          x + cell / 2, y + cell / 2 + font * 0.35, share > 0.55 ? "white" : "#222", counts[t][p]);
    }
  put(out, "</g>\n");
  put(out,
      "<rect class=\"axes\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"none\" stroke=\"#333\"/>\n",
      x0, y0, size, size);
  // Class names: rows (true) at the left, columns (predicted) below.
  put(out, "<g class=\"class-names\" fill=\"#333\">\n");
  for (std::size_t c = 0; c < n; ++c) {
    const double mid = static_cast<double>(c) * cell + cell / 2;
    put(out, "<text class=\"row-name\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        x0 - 6, y0 + mid + 4, escape(names[c]));
    if (slanted)
      put(out,
          "<text class=\"column-name\" x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"end\" "
          "transform=\"rotate(-40 {0:.1f} {1:.1f})\">{2}</text>\n",
          x0 + mid + 4, y0 + size + 14, escape(names[c]));
    else
      put(out,
          "<text class=\"column-name\" x=\"{:.1f}\" y=\"{:.1f}\" "
          "text-anchor=\"middle\">{}</text>\n",
          x0 + mid, y0 + size + 16, escape(names[c]));
  }
  put(out, "</g>\n");
  // Each row's accuracy: the diagonal over the row (the class's recall); all classes under it.
  const double ax = x0 + size + accuracy_width / 2 + 6;
  put(out, "<g class=\"accuracy\" text-anchor=\"middle\" fill=\"#333\">\n");
  put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\" font-weight=\"bold\">accuracy</text>\n", ax, y0 - 8);
  for (std::size_t t = 0; t < n; ++t)
    put(out, "<text class=\"row-accuracy\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", ax,
        y0 + static_cast<double>(t) * cell + cell / 2 + 4, percent(counts[t][t], row_total[t]));
  put(out,
      "<text class=\"overall-accuracy\" x=\"{:.1f}\" y=\"{:.1f}\" font-weight=\"bold\">all "
      "{}</text>\n",
      ax, y0 + size + 16, percent(correct, total));
  put(out, "</g>\n");
  const std::string x_label = options.x_label.empty() ? "predicted class" : options.x_label;
  const std::string y_label = options.y_label.empty() ? "true class" : options.y_label;
  put(out, "<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
      x0 + size / 2, y0 + size + below - 8, escape(x_label));
  put(out,
      "<text class=\"ylabel\" transform=\"translate({:.1f} {:.1f}) rotate(-90)\" "
      "text-anchor=\"middle\">{}</text>\n",
      std::max(18.0, x0 - longest - 20), y0 + size / 2, escape(y_label));
  put(out, "</svg>\n");
  write_atomically(file, out);
}

void heat_map(const fs::path& file, const Tensor& values,
              const std::vector<std::string>& row_labels,
              const std::vector<std::string>& column_labels, const Options& options,
              bool show_values) {
  constexpr std::string_view fn = "heat_map";
  if (!values.defined()) throw ValueError(fmt::format("{}: values is an undefined tensor", fn));
  const Shape& shape = values.shape();
  if (values.dim() != 2)
    throw ShapeError(
        fmt::format("{}: values must be (rows, columns), got {}", fn, shape_str(shape)));
  const std::int64_t rows = shape[0], cols = shape[1];
  if (rows == 0 || cols == 0)
    throw ValueError(fmt::format("{}: no values to draw in {}", fn, shape_str(shape)));
  if (!row_labels.empty() && static_cast<std::int64_t>(row_labels.size()) != rows)
    throw ShapeError(
        fmt::format("{}: {} row labels for values {}", fn, row_labels.size(), shape_str(shape)));
  if (!column_labels.empty() && static_cast<std::int64_t>(column_labels.size()) != cols)
    throw ShapeError(fmt::format("{}: {} column labels for values {}", fn, column_labels.size(),
                                 shape_str(shape)));
  check_size(options, fn);

  // Labels in full (hover) and as shown, at most 24 bytes, each a width at most a quarter
  // of the figure's.
  auto labels_of = [](const std::vector<std::string>& given, std::int64_t n) {
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < n; ++i)
      out.push_back(given.empty() ? fmt::format("{}", i)
                                  : visible(given[static_cast<std::size_t>(i)]));
    return out;
  };
  const std::vector<std::string> row_names = labels_of(row_labels, rows);
  const std::vector<std::string> column_names = labels_of(column_labels, cols);
  auto longest = [](const std::vector<std::string>& names) {
    double w = 0;
    for (const auto& name : names) w = std::max(w, text_width(shortened(name, 24)));
    return w;
  };
  const double longest_row = longest(row_names), longest_column = longest(column_names);

  // The range: weights (none negative) are shaded from 0, so a weight's shade says how
  // large it is, not where it sits among the others.
  const std::vector<double> v = values.to_vector();
  Range finite;
  for (double x : v) finite.add(x);
  const bool any_nan = std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); });
  const bool none_finite = finite.lo > finite.hi;
  const double lo = none_finite || finite.lo >= 0 ? 0.0 : finite.lo;
  double hi = none_finite ? 1.0 : finite.hi;
  if (!(hi > lo)) hi = lo + 1;  // one value: [v, v + 1]
  // -inf and inf clamp to the ends.
  auto shade = [&](double x) { return std::clamp((x - lo) / (hi - lo), 0.0, 1.0); };

  // The colour bar's labels: round ticks, and the ends when they are not round.
  std::vector<Tick> ticks = linear_ticks({lo, hi});
  const double tiny = (hi - lo) * 1e-9;
  const bool lo_tick = ticks.empty() || ticks.front().at > lo + tiny;
  const bool hi_tick = ticks.empty() || ticks.back().at < hi - tiny;
  double longest_tick = 0;
  for (const Tick& t : ticks) longest_tick = std::max(longest_tick, text_width(t.label));
  const std::string lo_label = fmt::format("{:.3g}", lo), hi_label = fmt::format("{:.3g}", hi);
  longest_tick = std::max({longest_tick, text_width(lo_label), text_width(hi_label)});

  // Square cells as large as fit between the row labels and y_label (left), the colour
  // bar (right), the title (top) and the column labels and x_label (below, the labels
  // slanted when wider than a cell).
  const auto rows_d = static_cast<double>(rows), cols_d = static_cast<double>(cols);
  const double top = options.title.empty() ? 16 : 44;
  const double y_label_room = options.y_label.empty() ? 0 : 24;
  const double x_label_room = options.x_label.empty() ? 0 : 26;
  const double row_left = 12 + y_label_room + longest_row + 8;
  const double bar_gap = 16, bar_w = 14;
  const double right = bar_gap + bar_w + 6 + longest_tick + 12;
  const bool slanted =
      longest_column > std::min((options.width - row_left - right) / cols_d,
                                (options.height - top - 30 - x_label_room) / rows_d) -
                           6;
  // A slanted label reaches left of its column by cos 40° of its length: the first one
  // must stay on the figure.
  const double left = slanted ? std::max(row_left, longest_column * 0.77 + 4) : row_left;
  const double room_w = options.width - left - right;
  const double label_band = slanted ? 14 + longest_column * 0.72 : 22;
  const double below = label_band + x_label_room + 8;
  const double room_h = options.height - top - below;
  const double cell = std::max(1.0, std::min(room_w / cols_d, room_h / rows_d));
  const double grid_w = cell * cols_d, grid_h = cell * rows_d;
  const double x0 = left + std::max(0.0, (room_w - grid_w) / 2), y0 = top;
  // Too many labels to read at this size: every k-th, 13 pixels apart at least.
  const auto every = [&](bool thin) {
    return thin ? std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(13 / cell))) : 1;
  };
  const std::int64_t row_every = every(true), column_every = every(slanted);

  const double font = std::clamp(cell * 0.3, 7.0, 12.0);
  double widest_value = 0;
  for (double x : v)
    if (!std::isnan(x))
      widest_value = std::max(widest_value, text_width(fmt::format("{:.2f}", x), font));
  const bool values_fit = show_values && cell >= widest_value + 4 && cell >= font + 4;
  const std::string row_axis = options.y_label.empty() ? "row" : options.y_label;
  const std::string column_axis = options.x_label.empty() ? "column" : options.x_label;
  constexpr std::string_view kNanGrey = "#d0d0d0";

  Buffer out;
  open_svg(out, options, fn);
  if (!options.title.empty())
    put(out,
        "<text class=\"title\" x=\"{:.1f}\" y=\"26\" text-anchor=\"middle\" "
        "font-size=\"16\">{}</text>\n",
        x0 + grid_w / 2, escape(options.title));
  put(out, "<g class=\"cells\" font-size=\"{:.1f}\" text-anchor=\"middle\"{}>\n", font,
      cell >= 12 ? " stroke=\"white\" stroke-width=\"0.5\"" : "");
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) {
      const double x = x0 + static_cast<double>(c) * cell, y = y0 + static_cast<double>(r) * cell;
      const double value = v[static_cast<std::size_t>(r * cols + c)];
      const std::string where =
          escape(fmt::format("{} {}, {} {}", row_axis, row_names[static_cast<std::size_t>(r)],
                             column_axis, column_names[static_cast<std::size_t>(c)]));
      if (std::isnan(value)) {
        // Grey with a cross: a NaN weight is a bug to see, not a pale cell to miss.
        const double a = cell * 0.2, b = cell * 0.8;
        put(out,
            "<rect class=\"cell\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
            "fill=\"{}\"><title>{}: NaN</title></rect>\n"
            "<path class=\"nan\" d=\"M{:.2f} {:.2f}L{:.2f} {:.2f}M{:.2f} {:.2f}L{:.2f} {:.2f}\" "
            "fill=\"none\" stroke=\"#666\"/>\n",
            x, y, cell, cell, kNanGrey, where, x + a, y + a, x + b, y + b, x + b, y + a, x + a,
            y + b);
        continue;
      }
      const double t = shade(value);
      put(out,
          "<rect class=\"cell\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "fill=\"{}\"><title>{}: {:g}</title></rect>\n",
          x, y, cell, cell, lighten(color(0), 1 - t), where, value);
      if (values_fit)
        put(out,
            "<text class=\"value\" x=\"{:.2f}\" y=\"{:.2f}\" fill=\"{}\" "
            "stroke=\"none\">{:.2f}</text>\n",
            x + cell / 2, y + cell / 2 + font * 0.35, t > 0.55 ? "white" : "#222", value);
    }
  put(out, "</g>\n");
  put(out,
      "<rect class=\"axes\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
      "fill=\"none\" stroke=\"#333\"/>\n",
      x0, y0, grid_w, grid_h);

  // Labels: rows at the left, columns below; a shortened one in full on hover.
  auto label_text = [](const std::string& name) {
    const std::string shown = shortened(name, 24);
    return shown == name ? escape(name)
                         : fmt::format("{}<title>{}</title>", escape(shown), escape(name));
  };
  put(out, "<g class=\"labels\" fill=\"#333\">\n");
  for (std::int64_t r = 0; r < rows; r += row_every)
    put(out, "<text class=\"row-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n",
        x0 - 6, y0 + (static_cast<double>(r) + 0.5) * cell + 4,
        label_text(row_names[static_cast<std::size_t>(r)]));
  for (std::int64_t c = 0; c < cols; c += column_every) {
    const double mid = x0 + (static_cast<double>(c) + 0.5) * cell;
    const std::string text = label_text(column_names[static_cast<std::size_t>(c)]);
    if (slanted)
      put(out,
          "<text class=\"column-label\" x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"end\" "
          "transform=\"rotate(-40 {0:.1f} {1:.1f})\">{2}</text>\n",
          mid + 4, y0 + grid_h + 14, text);
    else
      put(out,
          "<text class=\"column-label\" x=\"{:.1f}\" y=\"{:.1f}\" "
          "text-anchor=\"middle\">{}</text>\n",
          mid, y0 + grid_h + 16, text);
  }
  put(out, "</g>\n");
  if (!options.x_label.empty())
    put(out, "<text class=\"xlabel\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n",
        x0 + grid_w / 2, y0 + grid_h + label_band + 18, escape(options.x_label));
  if (!options.y_label.empty())
    put(out,
        "<text class=\"ylabel\" transform=\"translate({:.1f} {:.1f}) rotate(-90)\" "
        "text-anchor=\"middle\">{}</text>\n",
        x0 - 6 - longest_row - 10, y0 + grid_h / 2, escape(options.y_label));

  // The colour bar: white (lo) to full blue (hi), as lighten mixes them, at least 100
  // pixels high so that a single row still has a readable scale.
  const double bx = x0 + grid_w + bar_gap, by = y0;
  const double bar_h = std::max(grid_h, std::min(room_h, 100.0));
  auto bar_y = [&](double at) { return by + bar_h - (at - lo) / (hi - lo) * bar_h; };
  put(out,
      "<g class=\"colour-bar\" fill=\"#333\">\n<defs><linearGradient id=\"heat-map-scale\" "
      "x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\"><stop offset=\"0\" stop-color=\"#ffffff\"/>"
      "<stop offset=\"1\" stop-color=\"{}\"/></linearGradient></defs>\n"
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"url(#heat-map-scale)\" stroke=\"#333\"/>\n",
      color(0), bx, by, bar_w, bar_h);
  auto put_tick = [&](double at, const std::string& label) {
    const double y = bar_y(at);
    put(out,
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" stroke=\"#333\"/>\n"
        "<text class=\"tick\" x=\"{3:.1f}\" y=\"{4:.1f}\">{5}</text>\n",
        bx + bar_w, y, bx + bar_w + 4, bx + bar_w + 6, y + 4, label);
  };
  // A round tick closer than 13 pixels to an end's own label would overlap it.
  const double gap = 13 * (hi - lo) / bar_h;
  if (lo_tick) put_tick(lo, lo_label);
  if (hi_tick) put_tick(hi, hi_label);
  for (const Tick& t : ticks)
    if (!(lo_tick && t.at < lo + gap) && !(hi_tick && t.at > hi - gap)) put_tick(t.at, t.label);
  if (any_nan) {
    const double y = by + bar_h + 10;
    put(out,
        "<g class=\"nan-key\">\n<rect x=\"{0:.1f}\" y=\"{1:.1f}\" width=\"{2:.1f}\" "
        "height=\"{2:.1f}\" fill=\"{3}\"/>\n<path d=\"M{0:.1f} {1:.1f}l{2:.1f} {2:.1f}m0 -{2:.1f}"
        "l-{2:.1f} {2:.1f}\" fill=\"none\" stroke=\"#666\"/>\n<text x=\"{4:.1f}\" "
        "y=\"{5:.1f}\">NaN</text>\n"
        "</g>\n",
        bx, y, bar_w, kNanGrey, bx + bar_w + 6, y + bar_w - 2);
  }
  put(out, "</g>\n</svg>\n");
  write_atomically(file, out);
}

void image_grid(const fs::path& file, const Tensor& images,
                const std::vector<std::string>& captions, int columns, std::int64_t height,
                const Options& options) {
  constexpr std::string_view fn = "image_grid";
  if (!images.defined()) throw ValueError(fmt::format("{}: images is an undefined tensor", fn));
  const Shape& shape = images.shape();
  if (height < 0) throw ValueError(fmt::format("{}: height must be >= 0, got {}", fn, height));
  std::int64_t k = 0, h = 0, w = 0;
  std::int64_t channels = 1;   // 1: grey, 3: RGB
  bool channels_last = false;  // (k, h, w, c) rather than (k, c, h, w)
  const int dim = images.dim();
  const bool first = dim == 4 && (shape[1] == 1 || shape[1] == 3);  // PyTorch's NCHW wins
  const bool last = dim == 4 && !first && (shape[3] == 1 || shape[3] == 3);
  if (dim == 3 || first || last) {
    k = shape[0];
    if (dim == 4) channels = first ? shape[1] : shape[3];
    channels_last = last;
    h = shape[first ? 2 : 1];
    w = shape[first ? 3 : 2];
    if (height != 0 && height != h)
      throw ShapeError(fmt::format("{}: height {} differs from the images' {}: {}", fn, height, h,
                                   shape_str(shape)));
  } else if (dim == 2) {
    k = shape[0];
    const std::int64_t pixels = shape[1];
    h = height;
    if (h == 0) {  // a square image when no height is given
      h = static_cast<std::int64_t>(std::llround(std::sqrt(static_cast<double>(pixels))));
      if (h * h != pixels)
        throw ShapeError(fmt::format("{}: images {} of {} pixels are not square: give their height",
                                     fn, shape_str(shape), pixels));
    }
    if (h == 0 || pixels % h != 0)
      throw ShapeError(fmt::format("{}: images {} with height {}: {} pixels are not whole rows", fn,
                                   shape_str(shape), h, pixels));
    w = pixels / h;
  } else {
    throw ShapeError(fmt::format(
        "{}: images must be grey (k, h, w), (k, h * w), (k, 1, h, w), (k, h, w, 1) or colour "
        "(k, 3, h, w), (k, h, w, 3), got {}",
        fn, shape_str(shape)));
  }
  if (k == 0 || h == 0 || w == 0)
    throw ShapeError(fmt::format("{}: no pixels to draw in images {}", fn, shape_str(shape)));
  if (!captions.empty() && static_cast<std::int64_t>(captions.size()) != k)
    throw ShapeError(
        fmt::format("{}: {} captions for {} images {}", fn, captions.size(), k, shape_str(shape)));
  if (columns < 1) throw ValueError(fmt::format("{}: columns must be >= 1, got {}", fn, columns));
  if (options.width < 200)
    throw ValueError(fmt::format("{}: width {} is too small (at least 200)", fn, options.width));

  const std::int64_t per_image = h * w * channels;  // values of one image
  const std::vector<double> v = images.to_vector();
  double largest = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i]))
      throw ValueError(fmt::format("{}: image {} has a non-finite value {}", fn,
                                   static_cast<std::int64_t>(i) / per_image, v[i]));
    largest = std::max(largest, v[i]);
  }
  const double scale = largest > 1 ? 1.0 / 255 : 1.0;  // raw pixels or [0, 1]
  // The byte 0..255 of value i: scaled, clamped to [0, 1], rounded.
  auto byte_of = [&](std::int64_t i) {
    const double g = std::clamp(v[static_cast<std::size_t>(i)] * scale, 0.0, 1.0);
    return static_cast<int>(std::lround(g * 255));
  };

  const auto cols = static_cast<std::int64_t>(std::min<std::int64_t>(columns, k));
  const std::int64_t rows = (k + cols - 1) / cols;
  const double margin = 10, gap = 10, band = options.title.empty() ? margin : 40;
  const double cell_w = (options.width - 2 * margin - gap * static_cast<double>(cols - 1)) /
                        static_cast<double>(cols);
  const double pixel = cell_w / static_cast<double>(w);
  const double image_h = pixel * static_cast<double>(h);
  const double caption_h = captions.empty() ? 0 : 18;
  const double row_h = image_h + caption_h + gap;
  const double figure_h = band + static_cast<double>(rows) * row_h + margin - gap;
  const auto caption_chars = static_cast<std::size_t>(std::max(3.0, cell_w / 6.2));

  Buffer out;
  start_svg(out, options.width, figure_h);
  if (!options.title.empty()) draw_figure_title(out, options.width, options.title);
  std::array<std::string, 256> paths;  // per grey level, the runs of one image
  std::vector<int> level(static_cast<std::size_t>(h * w));
  std::vector<std::uint8_t> rgb(channels == 3 ? static_cast<std::size_t>(per_image) : 0);
  for (std::int64_t i = 0; i < k; ++i) {
    const std::int64_t row = i / cols, column = i % cols;
    const double x = margin + static_cast<double>(column) * (cell_w + gap);
    const double y = band + static_cast<double>(row) * row_h;
    if (channels == 3) {
      // A colour image is one PNG, its pixels scaled up unsmoothed: a 64 x 64 picture costs
      // about 16 kB, where a rectangle a pixel would cost hundreds.
      const std::int64_t plane = h * w, base = i * per_image;
      for (std::int64_t p = 0; p < plane; ++p)
        for (std::int64_t ch = 0; ch < 3; ++ch)
          rgb[static_cast<std::size_t>(p * 3 + ch)] = static_cast<std::uint8_t>(
              byte_of(base + (channels_last ? p * 3 + ch : ch * plane + p)));
      const std::string png = png_rgb(rgb, h, w, fn);
      put(out,
          "<image class=\"image\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
          "preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
          "href=\"data:image/png;base64,{}\"/>\n",
          x, y, cell_w, image_h, base64(png));
    } else {
      std::array<std::int64_t, 256> seen{};
      for (std::int64_t p = 0; p < h * w; ++p) {
        const int q = byte_of(i * h * w + p);
        level[static_cast<std::size_t>(p)] = q;
        ++seen[static_cast<std::size_t>(q)];
      }
      // The commonest grey is the background: one rectangle; every other run of equal
      // pixels in a row is one subpath of its grey's path, so a digit costs a few kB.
      const auto background =
          static_cast<int>(std::max_element(seen.begin(), seen.end()) - seen.begin());
      for (auto& d : paths) d.clear();
      for (std::int64_t r = 0; r < h; ++r)
        for (std::int64_t c0 = 0; c0 < w;) {
          const int q = level[static_cast<std::size_t>(r * w + c0)];
          std::int64_t c1 = c0 + 1;
          while (c1 < w && level[static_cast<std::size_t>(r * w + c1)] == q) ++c1;
          if (q != background)
            fmt::format_to(std::back_inserter(paths[static_cast<std::size_t>(q)]),
                           "M{} {}h{}v1h-{}z", c0, r, c1 - c0, c1 - c0);
          c0 = c1;
        }
      put(out,
          "<g class=\"image\" transform=\"translate({:.2f} {:.2f}) scale({:.4f})\" "
          "shape-rendering=\"crispEdges\">\n<rect width=\"{}\" height=\"{}\" "
          "fill=\"#{:02x}{:02x}{:02x}\"/>\n",
          x, y, pixel, w, h, background, background, background);
      for (std::size_t q = 0; q < paths.size(); ++q)
        if (!paths[q].empty())
          put(out, "<path fill=\"#{:02x}{:02x}{:02x}\" d=\"{}\"/>\n", q, q, q, paths[q]);
      put(out, "</g>\n");
    }
    put(out,
        "<rect class=\"frame\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" "
        "fill=\"none\" stroke=\"#bbb\" stroke-width=\"0.5\"/>\n",
        x, y, cell_w, image_h);
    if (captions.empty()) continue;
    const std::string& caption = captions[static_cast<std::size_t>(i)];
    const std::string shown = shortened(caption, caption_chars);
    put(out,
        "<text class=\"caption\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
        "font-size=\"11\">{}{}</text>\n",
        x + cell_w / 2, y + image_h + 13, escape(shown),
        shown == caption ? std::string() : fmt::format("<title>{}</title>", escape(caption)));
  }
  put(out, "</svg>\n");
  write_atomically(file, out);
}

}  // namespace tapegrad::plot
