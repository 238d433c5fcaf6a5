#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>
#include <istream>
#include <iterator>
#include <ostream>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/optim/serialize.hpp>
#include <unordered_map>
#include <unordered_set>

namespace tapegrad {

namespace {

constexpr char kMagic[8] = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D'};
constexpr std::uint32_t kMaxDims = 64;
// The most elements a tensor may have (check_shape): numel * dtype size fits in int64.
constexpr std::uint64_t kMaxElements = INT64_MAX / 8;
const std::string kModelPrefix = "model/";
const std::string kOptimizerPrefix = "optimizer/";
const std::string kGeneratorPrefix = "generator/";

// The info block's text entries (key, value), in file order.
using Info = std::vector<std::pair<std::string, std::string>>;

// ---- CRC-32, table-driven (reflected polynomial 0xEDB88320, as zlib) ---------------

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t n = 0; n < 256; ++n) {
    std::uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

// ---- little-endian encoding ---------------------------------------------------------

template <class U>
void put_uint(std::string& out, U value) {
  for (std::size_t k = 0; k < sizeof(U); ++k)
    out.push_back(static_cast<char>((value >> (8 * k)) & 0xFFu));
}

template <class U>
U get_uint(const char* p) {
  U value = 0;
  for (std::size_t k = 0; k < sizeof(U); ++k)
    value |= static_cast<U>(static_cast<unsigned char>(p[k])) << (8 * k);
  return value;
}

// Appends `n` bytes of element data in little-endian order (a copy on little-endian hosts).
void put_data(std::string& out, const void* data, std::size_t n, std::size_t elem_size) {
  const std::size_t start = out.size();
  out.resize(start + n);
  std::memcpy(out.data() + start, data, n);
  if constexpr (std::endian::native == std::endian::big)
    for (std::size_t i = start; i < start + n; i += elem_size)
      std::reverse(out.begin() + static_cast<std::ptrdiff_t>(i),
                   out.begin() + static_cast<std::ptrdiff_t>(i + elem_size));
}

void get_data(void* dst, const char* src, std::size_t n, std::size_t elem_size) {
  std::memcpy(dst, src, n);
  if constexpr (std::endian::native == std::endian::big) {
    auto* b = static_cast<char*>(dst);
    for (std::size_t i = 0; i < n; i += elem_size) std::reverse(b + i, b + i + elem_size);
  } else {
    (void)elem_size;
  }
}

// ---- encoding a whole file ------------------------------------------------------------

std::string encode(const NamedTensors& tensors, const char* who, const Info& info = {}) {
  std::unordered_set<std::string> names;
  std::size_t total = sizeof kMagic + 4 + 4 + 4 + 8;
  for (const auto& [key, value] : info) total += 8 + key.size() + value.size();
  for (const auto& [name, t] : tensors) {
    if (name.empty()) throw ValueError(fmt::format("{}: a tensor has an empty name", who));
    if (!names.insert(name).second)
      throw ValueError(fmt::format("{}: the name '{}' is given twice", who, name));
    if (!t.defined()) throw ValueError(fmt::format("{}: tensor '{}' is undefined", who, name));
    total += 4 + name.size() + 1 + 4 + 8 * t.shape().size() +
             static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()) + 4;
  }
  std::string out;
  out.reserve(total);
  out.append(kMagic, sizeof kMagic);
  put_uint<std::uint32_t>(out, parameter_file_version);
  const std::size_t info_start = out.size();
  put_uint<std::uint32_t>(out, static_cast<std::uint32_t>(info.size()));
  for (const auto& [key, value] : info) {
    put_uint<std::uint32_t>(out, static_cast<std::uint32_t>(key.size()));
    out += key;
    put_uint<std::uint32_t>(out, static_cast<std::uint32_t>(value.size()));
    out += value;
  }
  put_uint<std::uint32_t>(out, crc32(out.data() + info_start, out.size() - info_start));
  put_uint<std::uint64_t>(out, tensors.size());
  for (const auto& [name, t] : tensors) {
    const std::size_t start = out.size();
    put_uint<std::uint32_t>(out, static_cast<std::uint32_t>(name.size()));
    out += name;
    out.push_back(static_cast<char>(t.dtype() == float32 ? 0 : 1));
    put_uint<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape().size()));
    for (std::int64_t extent : t.shape())
      put_uint<std::uint64_t>(out, static_cast<std::uint64_t>(extent));
    put_data(out, t.raw_data(), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()),
             dtype_size(t.dtype()));
    put_uint<std::uint32_t>(out, crc32(out.data() + start, out.size() - start));
  }
  return out;
}

// ---- decoding, with every failure naming the source and the byte offset --------------

// A name read from a file, fit for a message: a damaged one may hold any byte (a NUL
// would cut what() short), so non-printable bytes become \xNN and long names are cut.
std::string printable(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c >= 0x20 && c < 0x7F)
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (name.size() > 64) out += "...";
  return out;
}

class Reader {
 public:
  Reader(const std::string& bytes, const std::string& source, const char* who)
      : bytes_(bytes), source_(source), who_(who) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const char* at(std::size_t offset) const { return bytes_.data() + offset; }

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw IoError(fmt::format("{}: {}: {} at byte {}", who_, source_, what, offset));
  }

  // Claims the next n bytes for `what`, or reports where the file ends.
  const char* take(std::size_t n, const std::string& what) {
    if (n > remaining())
      throw IoError(fmt::format(
          "{}: {}: truncated at byte {}: {} needs {} bytes from byte {}, but the file has {} bytes",
          who_, source_, bytes_.size(), what, n, pos_, bytes_.size()));
    const char* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <class U>
  U uint(const std::string& what) {
    return get_uint<U>(take(sizeof(U), what));
  }

 private:
  const std::string& bytes_;
  const std::string& source_;
  const char* who_;
  std::size_t pos_ = 0;
};

struct Decoded {
  NamedTensors tensors;
  Info info;
};

Decoded decode(const std::string& bytes, const std::string& source, const char* who) {
  Reader r(bytes, source, who);
  if (bytes.size() < sizeof kMagic) {
    // Too short even for the magic: a file of another kind, or one cut at its start.
    if (std::memcmp(bytes.data(), kMagic, bytes.size()) != 0)
      r.fail(0, "not a tapegrad parameter file (bad magic)");
  }
  const char* magic = r.take(sizeof kMagic, "the magic");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    r.fail(0, "not a tapegrad parameter file (bad magic)");
  const std::size_t version_at = r.offset();
  const auto version = r.uint<std::uint32_t>("the version");
  if (version != 1 && version != parameter_file_version)
    r.fail(version_at, fmt::format("unsupported format version {} (this build reads versions 1 to "
                                   "{}; was the file written by a newer tapegrad?)",
                                   version, parameter_file_version));
  Info info;
  if (version >= 2) {
    const std::size_t info_start = r.offset();
    const auto info_count = r.uint<std::uint32_t>("the info count");
    if (info_count > r.remaining() / 8)
      r.fail(info_start, fmt::format("info count {} does not fit in the {} bytes that follow",
                                     info_count, r.remaining()));
    for (std::uint32_t i = 0; i < info_count; ++i) {
      const std::string which = fmt::format("info entry {}", i);
      const auto key_len = r.uint<std::uint32_t>(which + "'s key length");
      std::string key(r.take(key_len, which + "'s key"), key_len);
      const auto value_len = r.uint<std::uint32_t>(which + "'s value length");
      std::string value(r.take(value_len, which + "'s value"), value_len);
      info.emplace_back(std::move(key), std::move(value));
    }
    const std::size_t end = r.offset();
    const auto stored = r.uint<std::uint32_t>("the info checksum");
    const std::uint32_t computed = crc32(r.at(info_start), end - info_start);
    if (stored != computed)
      r.fail(end, fmt::format("info block: checksum mismatch over bytes {}..{} (stored {:08x}, "
                              "computed {:08x}): the file is corrupted",
                              info_start, end, stored, computed));
  }
  const std::size_t count_at = r.offset();
  const auto count = r.uint<std::uint64_t>("the tensor count");
  // Each record takes at least 4 + 1 + 1 + 4 + 4 bytes: a count beyond that is damage.
  if (count > r.remaining() / 14)
    r.fail(count_at, fmt::format("tensor count {} does not fit in the {} bytes that follow", count,
                                 r.remaining()));

  NamedTensors out;
  out.reserve(static_cast<std::size_t>(count));
  std::unordered_set<std::string> names;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t start = r.offset();
    const std::string which = fmt::format("tensor {}", i);
    const auto name_len = r.uint<std::uint32_t>(which + "'s name length");
    const char* name_p = r.take(name_len, which + "'s name");
    std::string name(name_p, name_len);
    // The writer refuses an empty name, so a file holding one is damaged (and could not
    // be saved again).
    if (name.empty()) r.fail(start, fmt::format("{}: empty name", which));
    const std::string label = fmt::format("tensor {} ('{}')", i, printable(name));
    const std::size_t dtype_at = r.offset();
    const auto code = static_cast<unsigned char>(*r.take(1, label + "'s dtype"));
    if (code > 1) r.fail(dtype_at, fmt::format("{}: unknown dtype code {}", label, code));
    const Dtype dtype = code == 0 ? float32 : float64;
    const std::size_t ndim_at = r.offset();
    const auto ndim = r.uint<std::uint32_t>(label + "'s rank");
    if (ndim > kMaxDims) r.fail(ndim_at, fmt::format("{}: implausible rank {}", label, ndim));
    Shape shape(ndim);
    std::uint64_t elems = 1, nonzero = 1;
    const std::uint64_t max_elems = r.remaining() / dtype_size(dtype);
    for (std::uint32_t d = 0; d < ndim; ++d) {
      const std::size_t extent_at = r.offset();
      const auto extent = r.uint<std::uint64_t>(label + "'s shape");
      if (extent > static_cast<std::uint64_t>(INT64_MAX))
        r.fail(extent_at, fmt::format("{}: negative extent", label));
      shape[d] = static_cast<std::int64_t>(extent);
      // The element count must fit (as check_shape wants) even when a zero extent leaves
      // no data to read: [2^62, 4, 0] would overflow numel.
      if (extent != 0) {
        if (nonzero > kMaxElements / extent)
          r.fail(extent_at, fmt::format("{}: implausible shape: too many elements", label));
        nonzero *= extent;
      }
      // Saturate instead of overflowing: a huge product is reported as truncation.
      elems = (extent != 0 && elems > max_elems / extent) ? max_elems + 1 : elems * extent;
    }
    const std::size_t nbytes = elems > max_elems ? SIZE_MAX : elems * dtype_size(dtype);
    const char* data =
        r.take(nbytes, fmt::format("{}'s data of shape {}", label, shape_str(shape)));
    const std::size_t end = r.offset();
    const std::size_t crc_at = r.offset();
    const auto stored = r.uint<std::uint32_t>(label + "'s checksum");
    const std::uint32_t computed = crc32(r.at(start), end - start);
    if (stored != computed)
      r.fail(crc_at, fmt::format("{}: checksum mismatch over bytes {}..{} (stored {:08x}, computed "
                                 "{:08x}): the file is corrupted",
                                 label, start, end, stored, computed));
    if (!names.insert(name).second) r.fail(start, fmt::format("{}: the name appears twice", label));
    Tensor t = Tensor::empty(shape, dtype);
    get_data(t.raw_data(), data, nbytes, dtype_size(dtype));
    out.emplace_back(std::move(name), std::move(t));
  }
  if (r.remaining() != 0)
    r.fail(r.offset(), fmt::format("{} unexpected bytes after the last tensor", r.remaining()));
  return {std::move(out), std::move(info)};
}

std::string read_file(const std::filesystem::path& path, const char* who) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(fmt::format("{}: {}: cannot open for reading: {} (at byte 0)", who, path.string(),
                              std::strerror(errno)));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw IoError(
        fmt::format("{}: {}: read error after byte {}", who, path.string(), bytes.size()));
  return bytes;
}

// Removes the temporary files "<path>.tmp-<pid>-<n>" that a killed save left behind:
// only those of processes that no longer exist (a live one may be saving right now).
void remove_stale_temporaries(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const std::string prefix = path.filename().string() + ".tmp-";
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    long pid = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    auto [p, err] = std::from_chars(first, last, pid);
    if (err != std::errc() || p == last || *p != '-' || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

// Writes `bytes` to a temporary file beside `path`, flushes it to disk, then renames
// it over `path`: readers see either the old file or the new one, never a part.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes,
                           const char* who) {
  static std::atomic<std::uint64_t> counter{0};
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp-{}-{}", static_cast<long>(::getpid()), counter.fetch_add(1));
  auto fail = [&](const std::string& what, int err, bool remove_tmp) {
    if (remove_tmp) ::unlink(tmp.c_str());
    throw IoError(fmt::format("{}: {}: {}: {} (the previous file, if any, is unchanged)", who,
                              path.string(), what, std::strerror(err)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(fmt::format("cannot create the temporary file {}", tmp.string()), errno, false);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail(fmt::format("write failed at byte {}", done), err, true);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    fail("cannot flush the temporary file to disk", err, true);
  }
  if (::close(fd) != 0) fail("cannot close the temporary file", errno, true);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail(fmt::format("cannot rename {} over it", tmp.string()), errno, true);
  // Make the rename itself durable (best effort: not every file system allows it).
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  remove_stale_temporaries(path);
}

// Checks that `loaded` can fill `destination` (names, shapes; extras when strict)
// without changing anything.
void check_fits(const NamedTensors& destination,
                const std::unordered_map<std::string, const Tensor*>& loaded, bool strict,
                const std::string& source, const char* who) {
  std::unordered_set<std::string> wanted;
  for (const auto& [name, t] : destination) {
    if (!t.defined()) throw ValueError(fmt::format("{}: destination '{}' is undefined", who, name));
    wanted.insert(name);
    auto it = loaded.find(name);
    if (it == loaded.end())
      throw ValueError(fmt::format("{}: {}: has no tensor named '{}'", who, source, name));
    if (it->second->shape() != t.shape())
      throw ShapeError(fmt::format("{}: {}: tensor '{}' has shape {}, the destination has {}", who,
                                   source, name, shape_str(it->second->shape()),
                                   shape_str(t.shape())));
  }
  if (strict)
    for (const auto& [name, t] : loaded)
      if (!wanted.contains(name))
        throw ValueError(fmt::format("{}: {}: unexpected tensor '{}' (not in the destination)", who,
                                     source, name));
}

void assign(const NamedTensors& destination,
            const std::unordered_map<std::string, const Tensor*>& loaded) {
  NoGradGuard no_grad;  // parameters require grad; this update is not part of any graph
  for (const auto& [name, t] : destination) {
    const Tensor& src = *loaded.at(name);
    Tensor dst = t;
    dst.copy_(src.dtype() == dst.dtype() ? src : src.to(dst.dtype()));
  }
}

std::unordered_map<std::string, const Tensor*> index_by_name(const NamedTensors& tensors,
                                                             const std::string& prefix = "") {
  std::unordered_map<std::string, const Tensor*> out;
  for (const auto& [name, t] : tensors)
    if (name.starts_with(prefix)) out.emplace(name.substr(prefix.size()), &t);
  return out;
}

NamedTensors with_prefix(const std::string& prefix, const NamedTensors& tensors) {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) out.emplace_back(prefix + name, t);
  return out;
}

NamedTensors strip_prefix(const std::string& prefix, const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors)
    if (name.starts_with(prefix)) out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

}  // namespace

std::uint32_t crc32(const void* data, std::size_t size, std::uint32_t crc) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

void write_tensors(std::ostream& out, const NamedTensors& tensors) {
  const std::string bytes = encode(tensors, "write_tensors");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw IoError(
        fmt::format("write_tensors: the stream failed writing {} bytes (at byte 0)", bytes.size()));
}

NamedTensors read_tensors(std::istream& in, const std::string& source) {
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode(bytes, source, "read_tensors").tensors;
}

void save_parameters(const std::filesystem::path& path, const NamedTensors& tensors) {
  write_file_atomically(path, encode(tensors, "save_parameters"), "save_parameters");
}

NamedTensors load_parameters(const std::filesystem::path& path) {
  return decode(read_file(path, "load_parameters"), path.string(), "load_parameters").tensors;
}

void load_parameters_into(const std::filesystem::path& path, const NamedTensors& destination,
                          bool strict) {
  const char* who = "load_parameters_into";
  const NamedTensors loaded = decode(read_file(path, who), path.string(), who).tensors;
  const auto by_name = index_by_name(loaded);
  check_fits(destination, by_name, strict, path.string(), who);
  assign(destination, by_name);
}

void save_optimizer(const std::filesystem::path& path, const optim::Optimizer& optimizer) {
  write_file_atomically(path, encode(optimizer.state(), "save_optimizer"), "save_optimizer");
}

void load_optimizer(const std::filesystem::path& path, optim::Optimizer& optimizer) {
  const char* who = "load_optimizer";
  optimizer.load_state(decode(read_file(path, who), path.string(), who).tensors);
}

namespace {

NamedTensors checkpoint_tensors(const NamedTensors& parameters, const optim::Optimizer& optimizer) {
  NamedTensors all = with_prefix(kModelPrefix, parameters);
  for (auto& entry : with_prefix(kOptimizerPrefix, optimizer.state()))
    all.push_back(std::move(entry));
  return all;
}

// Checks a checkpoint's tensors against the model and the optimizer, then restores
// both (the optimizer checks all of its state before it assigns any).
void restore_checkpoint(const NamedTensors& loaded, const NamedTensors& parameters,
                        optim::Optimizer& optimizer, const std::string& source, const char* who) {
  for (const auto& entry : loaded)
    if (!entry.first.starts_with(kModelPrefix) && !entry.first.starts_with(kOptimizerPrefix))
      throw ValueError(fmt::format("{}: {}: unexpected tensor '{}' (neither model/ nor optimizer/)",
                                   who, source, entry.first));
  const auto model = index_by_name(loaded, kModelPrefix);
  check_fits(parameters, model, true, source, who);
  optimizer.load_state(strip_prefix(kOptimizerPrefix, loaded));  // checks all, then assigns
  assign(parameters, model);
}

std::int64_t parse_int(const Info& info, const std::string& key, const std::string& source,
                       const char* who) {
  auto it = std::find_if(info.begin(), info.end(), [&](const auto& e) { return e.first == key; });
  if (it == info.end())
    throw ValueError(fmt::format("{}: {}: has no '{}' entry (saved without a TrainingState?)", who,
                                 source, key));
  std::int64_t value = 0;
  const char* first = it->second.data();
  const char* last = first + it->second.size();
  auto [end, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || end != last)
    throw ValueError(fmt::format("{}: {}: '{}' is not an integer: '{}'", who, source, key,
                                 printable(it->second)));
  return value;
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const optim::Optimizer& optimizer) {
  write_file_atomically(path, encode(checkpoint_tensors(parameters, optimizer), "save_checkpoint"),
                        "save_checkpoint");
}

void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     optim::Optimizer& optimizer) {
  const char* who = "load_checkpoint";
  const Decoded file = decode(read_file(path, who), path.string(), who);
  restore_checkpoint(file.tensors, parameters, optimizer, path.string(), who);
}

void save_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     const optim::Optimizer& optimizer, const TrainingState& state) {
  const char* who = "save_checkpoint";
  Info info{{"epoch", std::to_string(state.epoch)}, {"step", std::to_string(state.step)}};
  std::unordered_set<std::string> names;
  for (const auto& [name, gen] : state.generators) {
    if (!gen) throw ValueError(fmt::format("{}: generator '{}' is null", who, name));
    if (!names.insert(name).second)
      throw ValueError(fmt::format("{}: the generator name '{}' is given twice", who, name));
    info.emplace_back(kGeneratorPrefix + name, gen->state());
  }
  write_file_atomically(path, encode(checkpoint_tensors(parameters, optimizer), who, info), who);
}

void load_checkpoint(const std::filesystem::path& path, const NamedTensors& parameters,
                     optim::Optimizer& optimizer, TrainingState& state) {
  const char* who = "load_checkpoint";
  const std::string source = path.string();
  const Decoded file = decode(read_file(path, who), source, who);
  // Everything is read and checked before anything changes.
  const std::int64_t epoch = parse_int(file.info, "epoch", source, who);
  const std::int64_t step = parse_int(file.info, "step", source, who);
  std::unordered_map<std::string, const std::string*> saved;
  for (const auto& [key, value] : file.info)
    if (key.starts_with(kGeneratorPrefix))
      saved.emplace(key.substr(kGeneratorPrefix.size()), &value);
  std::vector<Generator> restored;
  restored.reserve(state.generators.size());
  for (const auto& [name, gen] : state.generators) {
    if (!gen) throw ValueError(fmt::format("{}: generator '{}' is null", who, name));
    auto it = saved.find(name);
    if (it == saved.end())
      throw ValueError(fmt::format("{}: {}: has no state for generator '{}'", who, source, name));
    restored.emplace_back();
    try {
      restored.back().set_state(*it->second);
    } catch (const ValueError&) {
      throw ValueError(fmt::format("{}: {}: the state of generator '{}' is not a generator state",
                                   who, source, name));
    }
  }
  if (saved.size() != state.generators.size())
    for (const auto& entry : saved) {
      // Not a structured binding: clang 14 cannot capture one in a lambda.
      const std::string& name = entry.first;
      if (std::none_of(state.generators.begin(), state.generators.end(),
                       [&](const auto& g) { return g.first == name; }))
        throw ValueError(
            fmt::format("{}: {}: unexpected state of generator '{}' (not in the TrainingState)",
                        who, source, printable(name)));
    }
  restore_checkpoint(file.tensors, parameters, optimizer, source, who);
  state.epoch = epoch;
  state.step = step;
  for (std::size_t i = 0; i < restored.size(); ++i) *state.generators[i].second = restored[i];
}

}  // namespace tapegrad
