#include <fmt/format.h>

#include <cstring>
#include <istream>
#include <iterator>
#include <ostream>
#include <tapegrad/graph/autograd.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/crc32.hpp>
#include <tapegrad/io/little_endian.hpp>
#include <tapegrad/io/tensor_file.hpp>
#include <unordered_map>
#include <unordered_set>

namespace tapegrad {

namespace {

constexpr char kMagic[8] = {'T', 'A', 'P', 'E', 'G', 'R', 'A', 'D'};
constexpr std::uint32_t kMaxDims = 64;
// The most elements a tensor may have (check_shape): numel * dtype size fits in int64.
constexpr std::uint64_t kMaxElements = INT64_MAX / 8;

using io::get_data;
using io::get_uint;
using io::put_data;
using io::put_uint;

}  // namespace

// ---- encoding a whole file ------------------------------------------------------------

std::string encode_tensor_file(const NamedTensors& tensors, std::string_view who,
                               const FileInfo& info) {
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

namespace {

class Reader {
 public:
  Reader(const std::string& bytes, const std::string& source, std::string_view who)
      : bytes_(bytes), source_(source), who_(who) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  const char* at(std::size_t offset) const { return bytes_.data() + offset; }

  [[noreturn]] void fail(std::size_t offset, const std::string& what) const {
    throw IoError(fmt::format("{}: {}: {} at byte {}", who_, source_, what, offset));
  }

  // A checksum over bytes [first, end) that does not match the one stored at `stored_at`:
  // some byte of the range (or of the stored checksum) is damaged, and no one byte can be
  // blamed, so the message names the range.
  [[noreturn]] void fail_checksum(const std::string& what, std::size_t first, std::size_t end,
                                  std::uint32_t stored, std::uint32_t computed) const {
    throw IoError(fmt::format(
        "{}: {}: {}: bytes {} to {} do not match their checksum at bytes {} to {} (stored "
        "{:08x}, computed {:08x}): the file is corrupted",
        who_, source_, what, first, end - 1, end, end + 3, stored, computed));
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
  std::string_view who_;
  std::size_t pos_ = 0;
};

}  // namespace

TensorFile decode_tensor_file(const std::string& bytes, const std::string& source,
                              std::string_view who) {
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
  FileInfo info;
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
    if (stored != computed) r.fail_checksum("info block", info_start, end, stored, computed);
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
    std::uint64_t nonzero = 1;  // the product of the extents that are not 0
    bool empty = false;
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
      empty |= extent == 0;
    }
    // Exact, and no overflow: nonzero <= INT64_MAX / 8, so nonzero * 8 fits.
    const std::size_t nbytes = empty ? 0 : nonzero * dtype_size(dtype);
    const char* data =
        r.take(nbytes, fmt::format("{}'s data of shape {}", label, shape_str(shape)));
    const std::size_t end = r.offset();
    const auto stored = r.uint<std::uint32_t>(label + "'s checksum");
    const std::uint32_t computed = crc32(r.at(start), end - start);
    if (stored != computed) r.fail_checksum(label, start, end, stored, computed);
    if (!names.insert(name).second) r.fail(start, fmt::format("{}: the name appears twice", label));
    Tensor t = Tensor::empty(shape, dtype);
    get_data(t.raw_data(), data, nbytes, dtype_size(dtype));
    out.emplace_back(std::move(name), std::move(t));
  }
  if (r.remaining() != 0)
    r.fail(r.offset(), fmt::format("{} unexpected bytes after the last tensor", r.remaining()));
  return {std::move(out), std::move(info)};
}

namespace {

std::unordered_map<std::string, const Tensor*> index_by_name(const NamedTensors& tensors) {
  std::unordered_map<std::string, const Tensor*> out;
  for (const auto& [name, t] : tensors) out.emplace(name, &t);
  return out;
}

}  // namespace

void check_loadable(const NamedTensors& destination, const NamedTensors& loaded, bool strict,
                    const std::string& source, std::string_view who) {
  const auto by_name = index_by_name(loaded);
  std::unordered_set<std::string> wanted;
  for (const auto& [name, t] : destination) {
    if (!t.defined()) throw ValueError(fmt::format("{}: destination '{}' is undefined", who, name));
    wanted.insert(name);
    auto it = by_name.find(name);
    if (it == by_name.end())
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
                                     source, printable(name)));
}

void copy_by_name(const NamedTensors& destination, const NamedTensors& loaded) {
  const auto by_name = index_by_name(loaded);
  NoGradGuard no_grad;  // parameters require grad; this update is not part of any graph
  for (const auto& [name, t] : destination) {
    const Tensor& src = *by_name.at(name);
    Tensor dst = t;
    dst.copy_(src.dtype() == dst.dtype() ? src : src.to(dst.dtype()));
  }
}

NamedTensors with_prefix(std::string_view prefix, const NamedTensors& tensors) {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) out.emplace_back(fmt::format("{}{}", prefix, name), t);
  return out;
}

NamedTensors strip_prefix(std::string_view prefix, const NamedTensors& tensors) {
  NamedTensors out;
  for (const auto& [name, t] : tensors)
    if (name.starts_with(prefix)) out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

void write_tensors(std::ostream& out, const NamedTensors& tensors) {
  const std::string bytes = encode_tensor_file(tensors, "write_tensors");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out)
    throw IoError(fmt::format("write_tensors: the stream failed writing {} bytes", bytes.size()));
}

NamedTensors read_tensors(std::istream& in, const std::string& source) {
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return decode_tensor_file(bytes, source, "read_tensors").tensors;
}

void save_parameters(const std::filesystem::path& path, const NamedTensors& tensors) {
  io::write_file_atomically(path, encode_tensor_file(tensors, "save_parameters"),
                            "save_parameters");
}

NamedTensors load_parameters(const std::filesystem::path& path) {
  const char* who = "load_parameters";
  return decode_tensor_file(io::read_whole_file(path, who), path.string(), who).tensors;
}

void load_parameters_into(const std::filesystem::path& path, const NamedTensors& destination,
                          bool strict) {
  const char* who = "load_parameters_into";
  const NamedTensors loaded =
      decode_tensor_file(io::read_whole_file(path, who), path.string(), who).tensors;
  check_loadable(destination, loaded, strict, path.string(), who);
  copy_by_name(destination, loaded);
}

}  // namespace tapegrad
