#include "common/data.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

// ---- gzip-or-plain byte reader -------------------------------------------------

/// Reads a file through zlib, which inflates gzip data and passes plain files through,
/// and keeps the uncompressed offset so every error can say where it happened.
class ByteReader {
 public:
  explicit ByteReader(const fs::path& file) : name_(file.string()) {
    file_ = gzopen(name_.c_str(), "rb");
    if (file_ == nullptr)
      throw IoError(fmt::format("{}: cannot open: {}", name_,
                                errno != 0 ? std::strerror(errno) : "out of memory"));
    gzbuffer(file_, 1 << 17);  // fewer system calls than the 8 KiB default
  }
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;
  ~ByteReader() { gzclose(file_); }

  const std::string& name() const { return name_; }
  std::int64_t offset() const { return offset_; }

  /// Reads exactly `n` bytes or throws IoError ending in `expected` ("expected 16 header bytes").
  void read_exact(std::uint8_t* out, std::size_t n, std::string_view expected) {
    std::size_t done = 0;
    while (done < n) {
      // gzread takes an unsigned int length: read big files in chunks.
      const auto chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 24));
      const int got = gzread(file_, out + done, chunk);
      if (got > 0) done += static_cast<std::size_t>(got);
      if (got < static_cast<int>(chunk)) {
        throw_short_read(offset_ + static_cast<std::int64_t>(done), expected);
      }
    }
    offset_ += static_cast<std::int64_t>(n);
  }

  /// Checks nothing follows: extra bytes mean the header's dimensions are wrong. Reading
  /// to the end also guarantees zlib has checked the gzip trailer (CRC and length).
  void expect_end() {
    std::uint8_t extra[64];
    const int got = gzread(file_, extra, sizeof extra);
    if (got > 0)
      throw IoError(
          fmt::format("{}: unexpected data after byte {}: the header's dimensions "
                      "do not match the file's size",
                      name_, offset_));
    if (got < 0) throw_short_read(offset_, "expected the end of the file");
  }

 private:
  [[noreturn]] void throw_short_read(std::int64_t at, std::string_view expected) {
    int errnum = Z_OK;
    const char* message = gzerror(file_, &errnum);
    // Z_BUF_ERROR is zlib's "unexpected end of file" inside a gzip stream: a truncation.
    if (errnum == Z_OK || errnum == Z_BUF_ERROR)
      throw IoError(fmt::format("{}: truncated at byte {}: {}", name_, at, expected));
    if (errnum == Z_ERRNO)
      throw IoError(fmt::format("{}: read error at byte {}: {}", name_, at, std::strerror(errno)));
    // zlib inflates ahead of what we asked for, so the offset that locates the damage is
    // the compressed one where inflate stopped; `at` only says how much data came first.
    std::string_view why = message;
    if (why.starts_with(name_ + ": ")) why.remove_prefix(name_.size() + 2);  // zlib adds the path
    throw IoError(
        fmt::format("{}: corrupt gzip stream at compressed byte {}: {} ({} bytes of data "
                    "read before it; {})",
                    name_, static_cast<std::int64_t>(gzoffset(file_)), why, at, expected));
  }

  std::string name_;
  gzFile file_ = nullptr;
  std::int64_t offset_ = 0;
};

// ---- IDX -----------------------------------------------------------------------

/// An IDX file's header dimensions (as stored: the first is the item count) and the
/// bytes of the items that were read.
struct IdxFile {
  std::string name;
  std::vector<std::int64_t> dims;
  std::int64_t count = 0;  // items read: dims[0], or fewer under a limit
  std::vector<std::uint8_t> bytes;
};

constexpr std::int64_t kIdxHeaderByte = 4;  // the dimensions follow the 4-byte magic

std::uint32_t big_endian(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// Reads an unsigned-byte IDX file of `ndims` dimensions; `what` names the items in errors.
IdxFile read_idx(const fs::path& file, int ndims, std::optional<std::int64_t> limit,
                 std::string_view what) {
  if (limit && *limit < 0)
    throw ValueError(fmt::format("{}: limit must be >= 0, got {}", file.string(), *limit));
  ByteReader in(file);
  IdxFile idx{in.name(), {}, 0, {}};

  // Magic: two zero bytes, the element type (0x08 = unsigned byte), the number of dims.
  std::uint8_t magic[4];
  in.read_exact(magic, 4, "expected a 4-byte IDX magic number");
  const std::uint32_t expected_magic = 0x0800u | static_cast<std::uint32_t>(ndims);
  if (big_endian(magic) != expected_magic)
    throw IoError(
        fmt::format("{}: wrong magic number 0x{:08x} at byte 0: expected 0x{:08x} "
                    "(idx{}-ubyte {}s)",
                    in.name(), big_endian(magic), expected_magic, ndims, what));

  std::vector<std::uint8_t> header(static_cast<std::size_t>(4 * ndims));
  in.read_exact(header.data(), header.size(),
                fmt::format("expected {} bytes of IDX dimensions", header.size()));
  std::int64_t item_size = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::int64_t extent = big_endian(&header[static_cast<std::size_t>(4 * d)]);
    if (d > 0) {
      // An item of zero or of more than 16 M bytes is a corrupt header, not an image.
      if (extent == 0 || item_size * extent > (std::int64_t{1} << 24))
        throw IoError(fmt::format("{}: implausible dimension {} = {} at byte {}", in.name(), d,
                                  extent, kIdxHeaderByte + 4 * d));
      item_size *= extent;
    }
    idx.dims.push_back(extent);
  }

  idx.count = limit ? std::min(idx.dims[0], *limit) : idx.dims[0];
  const auto n_bytes = static_cast<std::size_t>(idx.count * item_size);
  const std::string expected = fmt::format("expected {} {} bytes", n_bytes, what);
  // Grow the buffer as the data arrives, so a corrupt header cannot ask for a huge
  // allocation before the truncation is noticed.
  constexpr std::size_t kChunk = std::size_t{1} << 24;
  for (std::size_t done = 0; done < n_bytes;) {
    const std::size_t step = std::min(kChunk, n_bytes - done);
    idx.bytes.resize(done + step);
    in.read_exact(idx.bytes.data() + done, step, expected);
    done += step;
  }
  if (!limit || *limit >= idx.dims[0]) in.expect_end();
  return idx;
}

/// Checks every label is a class index; the byte offset names the offending label.
std::vector<int> labels_from(const IdxFile& idx, int num_classes) {
  std::vector<int> labels(idx.bytes.begin(), idx.bytes.end());
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= num_classes)
      throw IoError(fmt::format("{}: label {} at byte {} is not a class in [0, {})", idx.name,
                                labels[i], kIdxHeaderByte + 4 + static_cast<std::int64_t>(i),
                                num_classes));
  return labels;
}

/// (n_x, m) float32 in [0, 1] from m row-major images of n_x bytes each.
Tensor images_to_columns(const IdxFile& idx) {
  const std::int64_t m = idx.count;
  const std::int64_t n_x = idx.dims[1] * idx.dims[2];
  Tensor X = Tensor::empty({n_x, m}, float32);
  float* out = X.data<float>();
  const std::uint8_t* in = idx.bytes.data();
  // A transpose: blocks of 64 images keep both the reads and the writes in cache.
  constexpr std::int64_t kBlock = 64;
  for (std::int64_t i0 = 0; i0 < m; i0 += kBlock) {
    const std::int64_t i1 = std::min(m, i0 + kBlock);
    for (std::int64_t p = 0; p < n_x; ++p)
      for (std::int64_t i = i0; i < i1; ++i) out[p * m + i] = in[i * n_x + p] * (1.0f / 255.0f);
  }
  return X;
}

/// (labels) -> (1, m) float32 tensor of class indices.
Tensor labels_to_row(const std::vector<int>& labels) {
  const auto m = static_cast<std::int64_t>(labels.size());
  Tensor Y = Tensor::empty({1, m}, float32);
  std::copy(labels.begin(), labels.end(), Y.data<float>());
  return Y;
}

/// dir/name.gz, or dir/name when only the unpacked file is there.
fs::path gz_or_plain(const fs::path& dir, const std::string& name) {
  fs::path gz = dir / (name + ".gz");
  if (!fs::exists(gz) && fs::exists(dir / name)) return dir / name;
  return gz;
}

/// out (k, m) = in (m, k) transposed; the layout change of `flatten`.
template <class T>
void transpose_into(const T* in, T* out, std::int64_t m, std::int64_t k) {
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t p = 0; p < k; ++p) out[p * m + i] = in[i * k + p];
}

}  // namespace

// ---- IDX -----------------------------------------------------------------------

IdxBytes read_idx_bytes(const fs::path& file, int ndims, std::optional<std::int64_t> limit) {
  IdxFile idx = read_idx(file, ndims, limit, ndims == 1 ? "label" : "item");
  idx.dims[0] = idx.count;
  return {std::move(idx.dims), std::move(idx.bytes)};
}

Tensor read_idx_images(const fs::path& file, std::optional<std::int64_t> limit) {
  return images_to_columns(read_idx(file, 3, limit, "image"));
}

std::vector<int> read_idx_labels(const fs::path& file, std::optional<std::int64_t> limit,
                                 int num_classes) {
  return labels_from(read_idx(file, 1, limit, "label"), num_classes);
}

Dataset load_fashion_mnist(const fs::path& dir, std::string_view split,
                           std::optional<std::int64_t> limit) {
  if (split != "train" && split != "t10k")
    throw ValueError(
        fmt::format("load_fashion_mnist: split must be \"train\" or \"t10k\", got \"{}\"", split));
  const IdxFile images =
      read_idx(gz_or_plain(dir, fmt::format("{}-images-idx3-ubyte", split)), 3, limit, "image");
  const IdxFile labels =
      read_idx(gz_or_plain(dir, fmt::format("{}-labels-idx1-ubyte", split)), 1, limit, "label");
  // Compare the headers' counts, not the counts read: a limit must not hide a mismatch.
  if (labels.dims[0] != images.dims[0])
    throw IoError(fmt::format("{}: {} labels (count at byte {}), but {} has {} images", labels.name,
                              labels.dims[0], kIdxHeaderByte, images.name, images.dims[0]));
  Dataset data;
  data.X = images_to_columns(images);
  data.labels = labels_from(labels, 10);
  data.Y = labels_to_row(data.labels);
  return data;
}

// ---- reshaping and selecting ---------------------------------------------------

Dataset binary_subset(const Dataset& data, int first_class, int second_class) {
  if (first_class == second_class)
    throw ValueError(
        fmt::format("binary_subset: the two classes must differ, got {} twice", first_class));
  if (static_cast<std::int64_t>(data.labels.size()) != data.m())
    throw ShapeError(fmt::format("binary_subset: {} labels for X of shape {}", data.labels.size(),
                                 shape_str(data.X.shape())));
  std::vector<std::int64_t> keep;
  std::vector<int> labels;
  std::int64_t n_first = 0;
  for (std::size_t i = 0; i < data.labels.size(); ++i) {
    if (data.labels[i] != first_class && data.labels[i] != second_class) continue;
    keep.push_back(static_cast<std::int64_t>(i));
    labels.push_back(data.labels[i] == first_class ? 0 : 1);
    n_first += data.labels[i] == first_class;
  }
  const auto n_second = static_cast<std::int64_t>(keep.size()) - n_first;
  if (n_first == 0 || n_second == 0)
    throw ValueError(fmt::format("binary_subset: no examples of class {}",
                                 n_first == 0 ? first_class : second_class));
  Dataset subset;
  subset.X = gather_columns(data.X, keep);
  subset.labels = std::move(labels);
  subset.Y = labels_to_row(subset.labels);
  return subset;
}

Tensor flatten(const Tensor& images) {
  if (images.dim() != 3 && images.dim() != 4)
    throw ShapeError(fmt::format("flatten: expected (m, h, w) or (m, h, w, c) images, got {}",
                                 shape_str(images.shape())));
  const std::int64_t m = images.size(0);
  const std::int64_t k = m == 0 ? 0 : images.numel() / m;
  Tensor out = Tensor::empty({k, m}, images.dtype());
  dispatch(images.dtype(), [&](auto t) {
    using T = decltype(t);
    transpose_into(images.data<T>(), out.data<T>(), m, k);
  });
  return out;
}

Tensor scale_pixels(const Tensor& pixels, double max_value) {
  if (!(max_value > 0))
    throw ValueError(fmt::format("scale_pixels: max_value must be > 0, got {}", max_value));
  Tensor out = pixels.detach().clone();
  out.mul_(1.0 / max_value);
  return out;
}

Tensor gather_columns(const Tensor& A, std::span<const std::int64_t> index) {
  if (A.dim() != 2)
    throw ShapeError(
        fmt::format("gather_columns: expected a 2-D tensor, got {}", shape_str(A.shape())));
  const std::int64_t n = A.size(0), m = A.size(1);
  const auto k = static_cast<std::int64_t>(index.size());
  for (std::int64_t j : index)
    if (j < 0 || j >= m)
      throw IndexError(fmt::format("gather_columns: column {} out of range for shape {}", j,
                                   shape_str(A.shape())));
  Tensor out = Tensor::empty({n, k}, A.dtype());
  dispatch(A.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* in = A.data<T>();
    T* o = out.data<T>();
    // Every read is a cache miss in a different place: split the rows over the pool.
    parallel_for(n, std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(k, 1)),
                 [&](std::int64_t r0, std::int64_t r1) {
                   for (std::int64_t r = r0; r < r1; ++r)
                     for (std::int64_t j = 0; j < k; ++j) o[r * k + j] = in[r * m + index[j]];
                 });
  });
  return out;
}

// ---- CSV -----------------------------------------------------------------------

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
    cell.remove_prefix(1);  // from_chars rejects '+'
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

// ---- mini-batches --------------------------------------------------------------

MiniBatches::MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size)
    : X_(X), Y_(Y), batch_size_(batch_size) {
  check(batch_size);
  order_.resize(static_cast<std::size_t>(X.size(1)));
  std::iota(order_.begin(), order_.end(), 0);
}

MiniBatches::MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size, Generator& gen)
    : X_(X), Y_(Y), batch_size_(batch_size) {
  check(batch_size);
  order_ = randperm(X.size(1), gen);
}

MiniBatches::MiniBatches(const Tensor& X, const Tensor& Y, std::int64_t batch_size,
                         std::uint64_t seed)
    : X_(X), Y_(Y), batch_size_(batch_size) {
  check(batch_size);
  Generator gen(seed);
  order_ = randperm(X.size(1), gen);
}

void MiniBatches::check(std::int64_t batch_size) const {
  if (batch_size <= 0)
    throw ValueError(fmt::format("MiniBatches: batch_size must be > 0, got {}", batch_size));
  if (!X_.defined() || !Y_.defined() || X_.dim() != 2 || Y_.dim() != 2 || X_.size(1) != Y_.size(1))
    throw ShapeError(
        fmt::format("MiniBatches: expected X (n_x, m) and Y (k, m) with the same m, got {} and {}",
                    X_.defined() ? shape_str(X_.shape()) : "undefined",
                    Y_.defined() ? shape_str(Y_.shape()) : "undefined"));
}

std::int64_t MiniBatches::size() const {
  const auto m = static_cast<std::int64_t>(order_.size());
  return (m + batch_size_ - 1) / batch_size_;
}

Batch MiniBatches::operator[](std::int64_t i) const {
  if (i < 0 || i >= size())
    throw IndexError(fmt::format("MiniBatches: batch {} out of range for {} batches", i, size()));
  const std::int64_t start = i * batch_size_;
  const std::int64_t stop = std::min(start + batch_size_, static_cast<std::int64_t>(order_.size()));
  const std::span<const std::int64_t> columns(order_.data() + start,
                                              static_cast<std::size_t>(stop - start));
  return {gather_columns(X_, columns), gather_columns(Y_, columns)};
}

}  // namespace tapegrad::data
