#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <tapegrad/data/dataset.hpp>
#include <tapegrad/data/idx.hpp>

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
    const std::int64_t extent = big_endian(&header[4 * static_cast<std::size_t>(d)]);
    if (d > 0) {
      // An item of zero or of more than 16 M bytes is a corrupt header, not an image.
      if (extent == 0 || item_size * extent > (std::int64_t{1} << 24))
        throw IoError(fmt::format("{}: implausible dimension {} = {} at byte {}", in.name(), d,
                                  extent, kIdxHeaderByte + 4 * std::int64_t{d}));
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

/// dir/name.gz, or dir/name when only the unpacked file is there.
fs::path gz_or_plain(const fs::path& dir, const std::string& name) {
  fs::path gz = dir / (name + ".gz");
  if (!fs::exists(gz) && fs::exists(dir / name)) return dir / name;
  return gz;
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

}  // namespace tapegrad::data
