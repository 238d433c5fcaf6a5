#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <tapegrad/data/csv.hpp>

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

/// Splits one line on commas, trimming blanks around each cell.
std::vector<std::string_view> split_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  for (std::size_t start = 0;;) {
    const auto comma = line.find(',', start);
    cells.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return cells;
}

/// A finite number filling the whole cell, or nothing.
std::optional<double> parse_number(std::string_view cell) {
  if (!cell.empty() && cell.front() == '+') {
    cell.remove_prefix(1);                                          // from_chars rejects '+'
    if (!cell.empty() && cell.front() == '-') return std::nullopt;  // but "+-5" is no number
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), value);
  if (cell.empty() || ec != std::errc{} || end != cell.data() + cell.size() ||
      !std::isfinite(value))
    return std::nullopt;
  return value;
}

}  // namespace

CsvData load_csv(const fs::path& file, std::string_view label_column, Dtype dtype) {
  const std::string name = file.string();
  std::ifstream in(file);
  if (!in) throw IoError(fmt::format("{}: cannot open: {}", name, std::strerror(errno)));

  std::string line;
  std::int64_t line_no = 0;
  // Reads the next line that is not blank; false at the end of the file.
  auto next_line = [&] {
    while (std::getline(in, line)) {
      ++line_no;
      if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
      if (!trim(line).empty()) return true;
    }
    return false;
  };

  if (!next_line()) throw IoError(fmt::format("{}: empty file: expected a header row", name));
  std::vector<std::string> columns;
  for (std::string_view cell : split_cells(line)) {
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"')
      cell = cell.substr(1, cell.size() - 2);
    columns.emplace_back(cell);
  }
  const auto label_it = std::find(columns.begin(), columns.end(), label_column);
  if (label_it == columns.end())
    throw IoError(fmt::format("{}: line {}: no column named '{}' (columns: {})", name, line_no,
                              label_column, fmt::join(columns, ", ")));
  const auto label = static_cast<std::size_t>(label_it - columns.begin());
  const std::int64_t header_line = line_no;

  std::vector<double> values;  // row-major, every column
  std::int64_t m = 0;
  while (next_line()) {
    const auto cells = split_cells(line);
    if (cells.size() != columns.size())
      throw IoError(fmt::format("{}: line {}: {} cells, but the header has {} columns", name,
                                line_no, cells.size(), columns.size()));
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const auto value = parse_number(cells[c]);
      if (!value)
        throw IoError(fmt::format(
            "{}: line {}, column {} ('{}'): {} is not a number", name, line_no, c + 1, columns[c],
            cells[c].empty() ? "an empty cell" : fmt::format("'{}'", cells[c])));
      values.push_back(*value);
    }
    ++m;
  }
  if (m == 0)
    throw IoError(fmt::format("{}: no data rows after the header on line {}", name, header_line));

  // Transpose into the course's layout: one example per column.
  const auto n_cols = columns.size();
  const auto n_features = static_cast<std::int64_t>(n_cols - 1);
  std::vector<double> x(static_cast<std::size_t>(n_features * m));
  std::vector<double> y(static_cast<std::size_t>(m));
  for (std::int64_t i = 0; i < m; ++i) {
    std::int64_t f = 0;
    for (std::size_t c = 0; c < n_cols; ++c) {
      const double v = values[static_cast<std::size_t>(i) * n_cols + c];
      if (c == label)
        y[static_cast<std::size_t>(i)] = v;
      else
        x[static_cast<std::size_t>(f++ * m + i)] = v;
    }
  }
  CsvData data;
  data.X = tensor(x, {n_features, m}, dtype);
  data.Y = tensor(y, {1, m}, dtype);
  for (std::size_t c = 0; c < n_cols; ++c)
    if (c != label) data.features.push_back(columns[c]);
  return data;
}

}  // namespace tapegrad::data
