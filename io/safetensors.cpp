#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <tapegrad/io/atomic_file.hpp>
#include <tapegrad/io/little_endian.hpp>
#include <tapegrad/io/safetensors.hpp>
#include <tapegrad/io/tensor_file.hpp>
#include <unordered_map>
#include <unordered_set>

namespace tapegrad {

namespace {

using io::get_uint;
using io::put_uint;

constexpr std::string_view kMetadata = "__metadata__";
constexpr std::size_t kMaxDims = 64;
// The largest integer float64 holds exactly, with every smaller one: 2^53.
constexpr std::int64_t kExactIntegers = std::int64_t{1} << 53;

// ---- element types ---------------------------------------------------------------------

enum class Kind { floating, signed_int, unsigned_int, boolean };

struct DtypeInfo {
  std::string_view code;
  std::size_t size;
  Kind kind;
  Dtype tensor_dtype;  // what to_tensor makes of it
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", 8, Kind::floating, float64},    {"F32", 4, Kind::floating, float32},
    {"F16", 2, Kind::floating, float32},    {"BF16", 2, Kind::floating, float32},
    {"I64", 8, Kind::signed_int, float64},  {"I32", 4, Kind::signed_int, float64},
    {"I16", 2, Kind::signed_int, float32},  {"I8", 1, Kind::signed_int, float32},
    {"U8", 1, Kind::unsigned_int, float32}, {"BOOL", 1, Kind::boolean, float32},
};

const DtypeInfo* find_dtype(std::string_view code) {
  for (const DtypeInfo& d : kDtypes)
    if (d.code == code) return &d;
  return nullptr;
}

std::string known_dtypes() {
  std::string out;
  for (const DtypeInfo& d : kDtypes) out += fmt::format("{}{}", out.empty() ? "" : ", ", d.code);
  return out;
}

// IEEE half -> float, exactly (subnormals, infinities and NaN included).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  std::uint32_t bits = 0;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa != 0) {  // subnormal: normalize
    std::uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3FFu) << 13);
  } else {
    bits = sign;
  }
  return std::bit_cast<float>(bits);
}

// Reads one stored element as a double: exact for every type but I64 beyond 2^53, which
// to_tensor checks on the stored integer. Chosen once per tensor, not per element.
using ElementReader = double (*)(const char*);
ElementReader element_reader(std::string_view code) {
  if (code == "F64")
    return [](const char* p) { return std::bit_cast<double>(get_uint<std::uint64_t>(p)); };
  if (code == "F32")
    return [](const char* p) { return double{std::bit_cast<float>(get_uint<std::uint32_t>(p))}; };
  if (code == "F16")
    return [](const char* p) { return double{half_to_float(get_uint<std::uint16_t>(p))}; };
  if (code == "BF16")
    return [](const char* p) {
      return double{std::bit_cast<float>(std::uint32_t{get_uint<std::uint16_t>(p)} << 16)};
    };
  if (code == "I64")
    return [](const char* p) {
      return static_cast<double>(static_cast<std::int64_t>(get_uint<std::uint64_t>(p)));
    };
  if (code == "I32")
    return [](const char* p) {
      return static_cast<double>(static_cast<std::int32_t>(get_uint<std::uint32_t>(p)));
    };
  if (code == "I16")
    return [](const char* p) {
      return static_cast<double>(static_cast<std::int16_t>(get_uint<std::uint16_t>(p)));
    };
  if (code == "I8")
    return [](const char* p) {
      return static_cast<double>(static_cast<std::int8_t>(static_cast<unsigned char>(*p)));
    };
  if (code == "U8")
    return [](const char* p) { return static_cast<double>(static_cast<unsigned char>(*p)); };
  return [](const char* p) { return *p != 0 ? 1.0 : 0.0; };  // BOOL: any nonzero byte is true
}

}  // namespace

// ---- one tensor ------------------------------------------------------------------------

Tensor SafetensorsTensor::to_tensor() const {
  const DtypeInfo* info = find_dtype(dtype);
  if (info == nullptr)
    throw IoError(fmt::format("safetensors: unknown dtype '{}' (known: {})", printable(dtype),
                              known_dtypes()));
  const std::int64_t n = tapegrad::numel(shape);
  if (data.size() != static_cast<std::size_t>(n) * info->size)
    throw IoError(fmt::format("safetensors: {} tensor of shape {} needs {} bytes, has {}", dtype,
                              shape_str(shape), static_cast<std::size_t>(n) * info->size,
                              data.size()));
  Tensor t = Tensor::empty(shape, info->tensor_dtype);
  if (info->code == "F32" || info->code == "F64") {  // the stored bytes are the tensor's
    io::get_data(t.raw_data(), data.data(), data.size(), info->size);
    return t;
  }
  const ElementReader read = element_reader(info->code);
  const bool check_range = info->code == "I64";
  dispatch(info->tensor_dtype, [&](auto zero) {
    using T = decltype(zero);
    T* out = t.data<T>();
    const char* p = data.data();
    for (std::int64_t i = 0; i < n; ++i, p += info->size) {
      if (check_range) {  // the double would be rounded already: check the stored integer
        const auto stored = static_cast<std::int64_t>(get_uint<std::uint64_t>(p));
        if (stored > kExactIntegers || stored < -kExactIntegers)
          throw IoError(fmt::format(
              "safetensors: I64 element {} ({}) is beyond 2^53: a float64 tensor cannot hold "
              "it exactly",
              i, stored));
      }
      out[i] = static_cast<T>(read(p));
    }
  });
  return t;
}

const SafetensorsTensor* Safetensors::find(std::string_view name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return &t;
  return nullptr;
}

NamedTensors Safetensors::to_tensors() const {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, st] : tensors) {
    try {
      out.emplace_back(name, st.to_tensor());
    } catch (const IoError& e) {
      throw IoError(fmt::format("{} (tensor '{}')", e.what(), printable(name)));
    }
  }
  return out;
}

namespace {

// Integer types a tensor may be written as: their range, as doubles (exact).
struct IntRange {
  double lo, hi;
};
IntRange int_range(const DtypeInfo& d) {
  if (d.kind == Kind::boolean) return {0, 1};
  if (d.kind == Kind::unsigned_int) return {0, std::ldexp(1.0, static_cast<int>(8 * d.size)) - 1};
  const double half = std::ldexp(1.0, static_cast<int>(8 * d.size) - 1);
  return {-half, half - 1};
}

}  // namespace

SafetensorsTensor safetensors_tensor(const Tensor& t, std::string_view dtype,
                                     std::string_view name) {
  const char* who = "safetensors_tensor";
  if (!t.defined()) throw ValueError(fmt::format("{}: '{}' is undefined", who, name));
  const std::string code{dtype.empty() ? (t.dtype() == float32 ? "F32" : "F64") : dtype};
  const DtypeInfo* info = find_dtype(code);
  if (info == nullptr || code == "F16" || code == "BF16")
    throw ValueError(
        fmt::format("{}: '{}': cannot write dtype '{}' (writes F64, F32, I64, I32, "
                    "I16, I8, U8, BOOL)",
                    who, name, printable(code)));
  SafetensorsTensor out{code, t.shape(), {}};
  const std::int64_t n = t.numel();
  out.data.reserve(static_cast<std::size_t>(n) * info->size);
  dispatch(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* src = t.data<T>();
    if (code == "F32") {
      for (std::int64_t i = 0; i < n; ++i)
        put_uint<std::uint32_t>(out.data, std::bit_cast<std::uint32_t>(static_cast<float>(src[i])));
      return;
    }
    if (code == "F64") {
      for (std::int64_t i = 0; i < n; ++i)
        put_uint<std::uint64_t>(out.data,
                                std::bit_cast<std::uint64_t>(static_cast<double>(src[i])));
      return;
    }
    const IntRange range = int_range(*info);
    for (std::int64_t i = 0; i < n; ++i) {
      const double v = src[i];
      if (!(v >= range.lo && v <= range.hi) || v != std::floor(v))
        throw ValueError(
            fmt::format("{}: '{}': element {} is {}, which {} cannot hold", who, name, i, v, code));
      const auto bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      for (std::size_t k = 0; k < info->size; ++k)
        out.data.push_back(static_cast<char>((bits >> (8 * k)) & 0xFFu));
    }
  });
  return out;
}

// ---- writing ---------------------------------------------------------------------------

std::string encode_safetensors(const Safetensors& file) {
  const char* who = "save_safetensors";
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!file.metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : file.metadata) meta[key] = value;
    header[std::string(kMetadata)] = std::move(meta);
  }
  std::unordered_set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const auto& [name, st] : file.tensors) {
    if (name.empty()) throw ValueError(fmt::format("{}: a tensor has an empty name", who));
    if (name == kMetadata)
      throw ValueError(fmt::format("{}: '{}' is the format's reserved name", who, kMetadata));
    if (!names.insert(name).second)
      throw ValueError(fmt::format("{}: the name '{}' is given twice", who, name));
    const DtypeInfo* info = find_dtype(st.dtype);
    if (info == nullptr)
      throw ValueError(fmt::format("{}: '{}': unknown dtype '{}' (known: {})", who, name,
                                   printable(st.dtype), known_dtypes()));
    const auto nbytes = static_cast<std::uint64_t>(tapegrad::numel(st.shape)) * info->size;
    if (st.data.size() != nbytes)
      throw ValueError(fmt::format("{}: '{}': {} of shape {} needs {} bytes, has {}", who, name,
                                   st.dtype, shape_str(st.shape), nbytes, st.data.size()));
    header[name] = {
        {"dtype", st.dtype}, {"shape", st.shape}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  // Padded with spaces to a multiple of 8 bytes, as the reference writer does, so that
  // the data starts aligned.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + text.size() + offset);
  put_uint<std::uint64_t>(out, text.size());
  out += text;
  for (const auto& [name, st] : file.tensors) out += st.data;
  return out;
}

// ---- reading ---------------------------------------------------------------------------

namespace {

struct HeaderEntry {
  std::string name;
  std::string dtype;
  Shape shape;
  std::uint64_t begin = 0, end = 0;
  bool has_dtype = false, has_shape = false, has_offsets = false;
};

// Reads the header's JSON as it streams past (nlohmann::json's SAX interface): no
// document tree is built, and anything that is not the format's three levels (the
// top object; a tensor's or __metadata__'s object; a shape or offsets array of
// non-negative integers) stops the parse with a message.
class HeaderReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<HeaderEntry> entries;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string error;  // set when a handler stopped the parse
  std::size_t parse_error_at = 0;

  bool null() override { return scalar("null"); }
  bool boolean(bool) override { return scalar("a boolean"); }
  bool number_integer(number_integer_t v) override {
    if (where_ == Where::array) return fail(fmt::format("{}: {} in {}", entry_label(), v, field_));
    return scalar("a number");
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (where_ != Where::array) return scalar("a number");
    HeaderEntry& e = entries.back();
    if (field_ == "shape") {
      if (e.shape.size() == kMaxDims)
        return fail(fmt::format("{}: shape has more than {} dimensions", entry_label(), kMaxDims));
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return fail(fmt::format("{}: extent {} is too large", entry_label(), v));
      e.shape.push_back(static_cast<std::int64_t>(v));
    } else {
      if (offsets_seen_ == 2)
        return fail(fmt::format("{}: data_offsets has more than 2 numbers", entry_label()));
      (offsets_seen_++ == 0 ? e.begin : e.end) = v;
    }
    return true;
  }
  bool number_float(number_float_t, const string_t& text) override {
    if (where_ == Where::array)
      return fail(fmt::format("{}: {} in {} is not a whole number", entry_label(), text, field_));
    return scalar("a number");
  }
  bool string(string_t& s) override {
    if (where_ == Where::metadata_value) {
      metadata.emplace_back(std::move(key_), std::move(s));
      where_ = Where::metadata;
      return true;
    }
    if (where_ == Where::field && field_ == "dtype") {
      entries.back().dtype = std::move(s);
      entries.back().has_dtype = true;
      where_ = Where::tensor;
      return true;
    }
    return scalar("a string");
  }
  bool binary(binary_t&) override { return scalar("binary data"); }

  bool start_object(std::size_t) override {
    switch (where_) {
      case Where::start:
        where_ = Where::top;
        return true;
      case Where::top_value:
        if (key_ == kMetadata) {
          if (seen_metadata_) return fail("__metadata__ appears twice");
          seen_metadata_ = true;
          where_ = Where::metadata;
        } else {
          entries.emplace_back();
          entries.back().name = std::move(key_);
          where_ = Where::tensor;
        }
        return true;
      default:
        return fail(fmt::format("{}: an object where {} was expected", context(), expected()));
    }
  }
  bool key(string_t& k) override {
    switch (where_) {
      case Where::top:
        if (k != kMetadata && !names_.insert(k).second)
          return fail(fmt::format("tensor '{}' appears twice", printable(k)));
        key_ = std::move(k);
        where_ = Where::top_value;
        return true;
      case Where::metadata:
        if (!metadata_keys_.insert(k).second)
          return fail(fmt::format("__metadata__ key '{}' appears twice", printable(k)));
        key_ = std::move(k);
        where_ = Where::metadata_value;
        return true;
      case Where::tensor: {
        HeaderEntry& e = entries.back();
        bool* seen = k == "dtype"          ? &e.has_dtype
                     : k == "shape"        ? &e.has_shape
                     : k == "data_offsets" ? &e.has_offsets
                                           : nullptr;
        if (seen == nullptr)
          return fail(fmt::format("{}: unknown key '{}' (a tensor has dtype, shape, data_offsets)",
                                  entry_label(), printable(k)));
        if (*seen) return fail(fmt::format("{}: '{}' appears twice", entry_label(), k));
        // has_dtype is set when the string arrives; the arrays' when they start.
        field_ = std::move(k);
        where_ = Where::field;
        return true;
      }
      default:
        return fail("unexpected key");
    }
  }
  bool end_object() override {
    if (where_ == Where::tensor) {
      const HeaderEntry& e = entries.back();
      const char* missing = !e.has_dtype     ? "dtype"
                            : !e.has_shape   ? "shape"
                            : !e.has_offsets ? "data_offsets"
                                             : nullptr;
      if (missing != nullptr) return fail(fmt::format("{}: no '{}'", entry_label(), missing));
      where_ = Where::top;
      return true;
    }
    if (where_ == Where::metadata) {
      where_ = Where::top;
      return true;
    }
    where_ = Where::done;  // the top object
    return true;
  }
  bool start_array(std::size_t) override {
    if (where_ != Where::field || field_ == "dtype")
      return fail(fmt::format("{}: an array where {} was expected", context(), expected()));
    HeaderEntry& e = entries.back();
    (field_ == "shape" ? e.has_shape : e.has_offsets) = true;
    offsets_seen_ = 0;
    where_ = Where::array;
    return true;
  }
  bool end_array() override {
    if (field_ == "data_offsets" && offsets_seen_ != 2)
      return fail(
          fmt::format("{}: data_offsets has {} numbers, not 2", entry_label(), offsets_seen_));
    where_ = Where::tensor;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    parse_error_at = position;
    // nlohmann's message starts "[json.exception.parse_error.101] parse error at line 1,
    // column 5: "; the part after the position is what went wrong.
    std::string what = ex.what();
    if (const auto colon = what.find(": "); colon != std::string::npos)
      what = what.substr(colon + 2);
    error = fmt::format("not valid JSON: {}", what);
    return false;
  }

 private:
  enum class Where {
    start,           // before the top object
    top,             // in the top object, before a key
    top_value,       // after a top key
    tensor,          // in a tensor's object, before a key
    field,           // after dtype / shape / data_offsets
    array,           // in shape or data_offsets
    metadata,        // in __metadata__, before a key
    metadata_value,  // after a metadata key
    done
  };

  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }
  std::string entry_label() const {
    return fmt::format("tensor '{}'", printable(entries.back().name));
  }
  std::string context() const {
    switch (where_) {
      case Where::start:
        return "the header";
      case Where::top:
      case Where::top_value:
        return key_ == kMetadata ? "__metadata__" : fmt::format("tensor '{}'", printable(key_));
      case Where::metadata:
      case Where::metadata_value:
        return fmt::format("__metadata__ key '{}'", printable(key_));
      default:
        return fmt::format("{}'s {}", entry_label(), field_);
    }
  }
  std::string expected() const {
    switch (where_) {
      case Where::start:
      case Where::top_value:
        return "an object";
      case Where::metadata_value:
        return "a string";
      case Where::field:
        return field_ == "dtype" ? "a string" : "an array";
      case Where::array:
        return "a non-negative whole number";
      default:
        return "a key";
    }
  }
  bool scalar(std::string_view what) {
    return fail(fmt::format("{}: {} where {} was expected", context(), what, expected()));
  }

  Where where_ = Where::start;
  std::string key_, field_;
  std::size_t offsets_seen_ = 0;
  bool seen_metadata_ = false;
  std::unordered_set<std::string> names_, metadata_keys_;
};

}  // namespace

Safetensors decode_safetensors(std::string_view bytes, const std::string& source,
                               std::string_view who) {
  auto fail = [&](const std::string& what) -> IoError {
    return IoError(fmt::format("{}: {}: {}", who, source, what));
  };
  if (bytes.size() < 8)
    throw fail(
        fmt::format("truncated at byte {}: the 8-byte header length needs 8 bytes, but "
                    "the file has {} bytes",
                    bytes.size(), bytes.size()));
  const auto header_size = get_uint<std::uint64_t>(bytes.data());
  if (header_size > safetensors_max_header_bytes)
    throw fail(fmt::format("header length {} at byte 0 is over the format's limit of {} bytes",
                           header_size, safetensors_max_header_bytes));
  if (header_size > bytes.size() - 8)
    throw fail(
        fmt::format("truncated: the header length at byte 0 says {} bytes from byte 8, "
                    "but the file has {} bytes",
                    header_size, bytes.size()));
  const std::string_view text = bytes.substr(8, header_size);
  if (text.empty() || text.front() != '{')
    throw fail("the header at byte 8 is not a JSON object (it must start with '{')");
  HeaderReader reader;
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &reader)) {
    if (reader.parse_error_at != 0)
      throw fail(fmt::format("header {} (byte {})", reader.error, 8 + reader.parse_error_at - 1));
    throw fail(fmt::format("header: {}", reader.error));
  }

  // The tensors must tile the data exactly: sorted by offset, each starts where the one
  // before ends, the last ends at the end of the file.
  const std::uint64_t data_size = bytes.size() - 8 - header_size;
  std::vector<HeaderEntry>& entries = reader.entries;
  for (const HeaderEntry& e : entries) {
    const std::string label = fmt::format("tensor '{}'", printable(e.name));
    if (e.name.empty()) throw fail("a tensor has an empty name");
    const DtypeInfo* info = find_dtype(e.dtype);
    if (info == nullptr)
      throw fail(fmt::format("{}: unknown dtype '{}' (known: {})", label, printable(e.dtype),
                             known_dtypes()));
    // The bytes, and the product of the nonzero extents: that too must fit (a [0, 2^62,
    // 2^62] tensor holds nothing, but its strides would overflow).
    std::uint64_t nbytes = info->size, span = info->size;
    for (std::int64_t extent : e.shape) {
      const auto x = static_cast<std::uint64_t>(extent);
      if (x != 0 && span > std::numeric_limits<std::int64_t>::max() / x)
        throw fail(fmt::format("{}: shape {} has too many elements", label, shape_str(e.shape)));
      span *= std::max<std::uint64_t>(x, 1);
      nbytes *= x;
    }
    if (e.begin > e.end)
      throw fail(
          fmt::format("{}: data_offsets [{}, {}] end before they begin", label, e.begin, e.end));
    if (e.end - e.begin != nbytes)
      throw fail(fmt::format("{}: data_offsets [{}, {}] hold {} bytes, but {} of shape {} takes {}",
                             label, e.begin, e.end, e.end - e.begin, e.dtype, shape_str(e.shape),
                             nbytes));
    if (e.end > data_size)
      throw fail(
          fmt::format("{}: data_offsets [{}, {}] run past the end of the data ({} bytes "
                      "from byte {})",
                      label, e.begin, e.end, data_size, 8 + header_size));
  }
  std::stable_sort(entries.begin(), entries.end(), [](const HeaderEntry& a, const HeaderEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t expected = 0;
  const HeaderEntry* previous = nullptr;
  for (const HeaderEntry& e : entries) {
    if (e.begin < expected)
      throw fail(fmt::format("tensor '{}' (data bytes {} to {}) overlaps tensor '{}' (to {})",
                             printable(e.name), e.begin, e.end, printable(previous->name),
                             expected));
    if (e.begin > expected)
      throw fail(fmt::format("data bytes {} to {} (file bytes {} to {}) belong to no tensor",
                             expected, e.begin, 8 + header_size + expected,
                             8 + header_size + e.begin));
    expected = e.end;
    previous = &e;
  }
  if (expected != data_size)
    throw fail(
        fmt::format("{} bytes after the last tensor's data (from byte {}) belong to no "
                    "tensor",
                    data_size - expected, 8 + header_size + expected));

  Safetensors out;
  out.tensors.reserve(entries.size());
  const std::string_view data = bytes.substr(8 + header_size);
  for (HeaderEntry& e : entries)
    out.tensors.emplace_back(std::move(e.name),
                             SafetensorsTensor{std::move(e.dtype), std::move(e.shape),
                                               std::string(data.substr(e.begin, e.end - e.begin))});
  out.metadata = std::move(reader.metadata);
  std::sort(out.metadata.begin(), out.metadata.end());
  return out;
}

// ---- files -----------------------------------------------------------------------------

void save_safetensors(const std::filesystem::path& path, const Safetensors& file) {
  io::write_file_atomically(path, encode_safetensors(file), "save_safetensors");
}

void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::vector<std::pair<std::string, std::string>>& metadata) {
  Safetensors file;
  file.metadata = metadata;
  for (const auto& [name, t] : tensors) {
    if (!t.defined())
      throw ValueError(fmt::format("save_safetensors: tensor '{}' is undefined", name));
    file.tensors.emplace_back(name, safetensors_tensor(t, {}, name));
  }
  save_safetensors(path, file);
}

namespace {

bool is_bias(std::string_view name) {
  const auto dot = name.rfind('.');
  return (dot == std::string_view::npos ? name : name.substr(dot + 1)) == "bias";
}

// (n, 1) and (n,): the one reinterpretation of shapes between the two layouts.
bool column_and_vector(const Shape& a, const Shape& b) {
  return (a.size() == 2 && b.size() == 1 && a[1] == 1 && a[0] == b[0]) ||
         (b.size() == 2 && a.size() == 1 && b[1] == 1 && b[0] == a[0]);
}

bool is_batch_counter(std::string_view name) {
  return name == "num_batches_tracked" || name.ends_with(".num_batches_tracked");
}

}  // namespace

void save_safetensors(const std::filesystem::path& path, const nn::Module& model,
                      const std::vector<std::pair<std::string, std::string>>& metadata) {
  Safetensors file;
  file.metadata = metadata;
  for (const auto& [name, t] : model.state_dict()) {
    SafetensorsTensor st = safetensors_tensor(t, {}, name);
    if (is_bias(name) && st.shape.size() == 2 && st.shape[1] == 1) st.shape = {st.shape[0]};
    file.tensors.emplace_back(name, std::move(st));
  }
  save_safetensors(path, file);
}

Safetensors read_safetensors(const std::filesystem::path& path) {
  const char* who = "read_safetensors";
  return decode_safetensors(io::read_whole_file(path, who), path.string(), who);
}

NamedTensors load_safetensors(const std::filesystem::path& path) {
  const char* who = "load_safetensors";
  try {
    return decode_safetensors(io::read_whole_file(path, who), path.string(), who).to_tensors();
  } catch (const IoError& e) {
    if (std::string_view(e.what()).starts_with(who)) throw;
    throw IoError(fmt::format("{}: {}: {}", who, path.string(), e.what()));
  }
}

void load_safetensors_into(const std::filesystem::path& path, const NamedTensors& destination,
                           bool strict) {
  const char* who = "load_safetensors_into";
  const std::string source = path.string();
  const Safetensors file = decode_safetensors(io::read_whole_file(path, who), source, who);
  std::unordered_map<std::string_view, const Tensor*> wanted;
  for (const auto& [name, t] : destination) wanted.emplace(name, &t);

  // The file's tensors in the destination's terms, then the tensor files' checks and
  // copy (all or nothing): a (n,) or (n, 1) tensor takes the destination's shape, a
  // batch counter the destination lacks is dropped, and a tensor the destination lacks
  // is kept by name only (strict loading names it) and never converted.
  NamedTensors loaded;
  loaded.reserve(file.tensors.size());
  for (const auto& [name, st] : file.tensors) {
    const auto it = wanted.find(name);
    if (it == wanted.end()) {
      if (!is_batch_counter(name)) loaded.emplace_back(name, Tensor());
      continue;
    }
    Tensor value;
    try {
      value = st.to_tensor();
    } catch (const IoError& e) {
      throw IoError(fmt::format("{}: {}: tensor '{}': {}", who, source, name, e.what()));
    }
    const Tensor& dst = *it->second;
    if (dst.defined() && column_and_vector(value.shape(), dst.shape()))
      value = value.reshape(dst.shape());
    loaded.emplace_back(name, std::move(value));
  }
  check_loadable(destination, loaded, strict, source, who);
  copy_by_name(destination, loaded);
}

void load_safetensors_into(const std::filesystem::path& path, nn::Module& model, bool strict) {
  load_safetensors_into(path, model.state_dict(), strict);
}

}  // namespace tapegrad
