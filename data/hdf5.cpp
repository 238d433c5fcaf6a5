#include <fmt/format.h>
#include <fmt/ranges.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <system_error>
#include <tapegrad/data/hdf5.hpp>
#include <type_traits>
#include <utility>

namespace tapegrad::data {

namespace fs = std::filesystem;

namespace {

// ---- the HDF5 library, quietly and one thread at a time ---------------------------

// Debian's libhdf5 is built thread-safe, another build need not be: every call into the
// library holds this lock.
std::mutex& hdf5_mutex() {
  static std::mutex mutex;
  return mutex;
}

/// Holds the lock and turns off HDF5's automatic printing of its error stack (which
/// would write a page to stderr for a missing dataset); restores the user's handler on
/// the way out, whatever it was.
class Quiet {
 public:
  Quiet() : lock_(hdf5_mutex()) {
    H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;
  ~Quiet() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

 private:
  std::lock_guard<std::mutex> lock_;
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

/// The innermost description on HDF5's error stack ("truncated file: eof = 800, ..."):
/// the reason a user can act on, where the outer entries only say which call failed.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        if (n == 0 && e->desc != nullptr) *static_cast<std::string*>(out) = e->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? "no reason given" : reason;
}

/// An HDF5 identifier closed by its own close function when the handle goes.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      if (id_ >= 0) close_(id_);
      id_ = std::exchange(other.id_, -1);
      close_ = other.close_;
    }
    return *this;
  }
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

/// An open file, with the names every message starts with.
struct File {
  std::string fn;    // the public function
  std::string name;  // the path as the user gave it
  Handle file{-1, H5Fclose};

  template <class... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw IoError(
        fmt::format("{}: {}: {}", fn, name, fmt::format(format, std::forward<Args>(args)...)));
  }
};

void open(File& f, const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) f.fail("cannot open: no such file");
  if (fs::is_directory(path, ec)) f.fail("cannot open: is a folder, not a file");
#if H5_VERSION_GE(1, 12, 0)
  // H5Fis_accessible in 1.12 and later; the same check under its older name before.
  const htri_t is_hdf5 = H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
#endif
  if (is_hdf5 == 0) {
    H5Eclear2(H5E_DEFAULT);
    f.fail("not an HDF5 file (no HDF5 signature)");
  }
  if (is_hdf5 < 0) f.fail("cannot open: {}", hdf5_reason());
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) f.fail("cannot open as HDF5 (truncated or corrupted?): {}", hdf5_reason());
  f.file = {id, H5Fclose};
}

/// Walks every link of the file, groups included, and keeps those that lead to a dataset.
std::vector<std::string> dataset_names(const File& f) {
  struct Walk {
    std::vector<std::string> names;
    bool failed = false;  // no exception may cross the C library
  } walk;
  const herr_t status = H5Lvisit(
      f.file.get(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t group, const char* name, const H5L_info_t* info, void* out) -> herr_t {
        auto* w = static_cast<Walk*>(out);
        if (info->type != H5L_TYPE_HARD) return 0;  // a soft link names an object seen elsewhere
        const Handle object(H5Oopen(group, name, H5P_DEFAULT), H5Oclose);
        if (!object.valid()) return 0;
        if (H5Iget_type(object.get()) != H5I_DATASET) return 0;
        try {
          w->names.emplace_back(name);
        } catch (...) {
          w->failed = true;
          return -1;
        }
        return 0;
      },
      &walk);
  if (walk.failed) throw std::bad_alloc();
  if (status < 0) f.fail("cannot list the datasets: {}", hdf5_reason());
  H5Eclear2(H5E_DEFAULT);  // objects that would not open were skipped
  std::sort(walk.names.begin(), walk.names.end());
  return walk.names;
}

/// An open dataset: its handles and the facts every reader wants.
struct Data {
  std::string path;
  Handle dataset{-1, H5Dclose};
  Handle space{-1, H5Sclose};
  Handle type{-1, H5Tclose};
  H5T_class_t type_class = H5T_NO_CLASS;
  Shape shape;
  std::int64_t count = 1;  // elements
};

Data open_dataset(const File& f, std::string_view path) {
  Data d;
  d.path = std::string(path);
  // H5Oopen says nothing more useful than "not found" for a missing path, and tells a
  // group from a dataset afterwards.
  const Handle object(H5Oopen(f.file.get(), d.path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!object.valid()) {
    H5Eclear2(H5E_DEFAULT);
    const std::vector<std::string> names = dataset_names(f);
    f.fail("has no dataset '{}'; it has: {}", d.path,
           names.empty() ? std::string("no datasets") : fmt::format("{}", fmt::join(names, ", ")));
  }
  const H5I_type_t kind = H5Iget_type(object.get());
  if (kind == H5I_GROUP) f.fail("'{}' is a group, not a dataset", d.path);
  if (kind != H5I_DATASET) f.fail("'{}' is not a dataset", d.path);
  d.dataset = {H5Dopen2(f.file.get(), d.path.c_str(), H5P_DEFAULT), H5Dclose};
  if (!d.dataset.valid()) f.fail("dataset '{}': cannot open: {}", d.path, hdf5_reason());
  d.space = {H5Dget_space(d.dataset.get()), H5Sclose};
  d.type = {H5Dget_type(d.dataset.get()), H5Tclose};
  if (!d.space.valid() || !d.type.valid())
    f.fail("dataset '{}': cannot read its shape or type: {}", d.path, hdf5_reason());
  d.type_class = H5Tget_class(d.type.get());

  const H5S_class_t space_class = H5Sget_simple_extent_type(d.space.get());
  if (space_class == H5S_NULL) f.fail("dataset '{}' holds no data (a null dataspace)", d.path);
  const int rank = H5Sget_simple_extent_ndims(d.space.get());
  if (rank < 0) f.fail("dataset '{}': cannot read its shape: {}", d.path, hdf5_reason());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(d.space.get(), dims.data(), nullptr) < 0)
    f.fail("dataset '{}': cannot read its shape: {}", d.path, hdf5_reason());
  for (const hsize_t n : dims) {
    // Checked as it multiplies: a corrupt header must not overflow the count.
    constexpr auto kMax = static_cast<hsize_t>(std::numeric_limits<std::int64_t>::max());
    if (n > kMax || (n != 0 && static_cast<hsize_t>(d.count) > kMax / n))
      f.fail("dataset '{}': implausible shape", d.path);
    d.shape.push_back(static_cast<std::int64_t>(n));
    d.count *= static_cast<std::int64_t>(n);
  }
  return d;
}

/// "integer", "string", "compound", ...: what a message says a dataset holds.
std::string_view class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integers";
    case H5T_FLOAT:
      return "floats";
    case H5T_STRING:
      return "strings";
    case H5T_BITFIELD:
      return "bit fields";
    case H5T_OPAQUE:
      return "opaque bytes";
    case H5T_COMPOUND:
      return "compound records";
    case H5T_REFERENCE:
      return "references";
    case H5T_ENUM:
      return "enum values";
    case H5T_VLEN:
      return "variable-length sequences";
    case H5T_ARRAY:
      return "arrays";
    default:
      return "an unknown type";
  }
}

/// Reads the whole dataset as `memory_type` into `out` (count elements of its size).
void read_all(const File& f, const Data& d, hid_t memory_type, void* out) {
  if (d.count == 0) return;
  if (H5Dread(d.dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    f.fail("dataset '{}': cannot read: {}", d.path, hdf5_reason());
}

/// Integers into a float tensor, each checked to be exact in it.
template <class Int>
Tensor integers_to_tensor(const File& f, const Data& d, const std::vector<Int>& values,
                          Dtype dtype) {
  Tensor out = Tensor::empty(d.shape, dtype);
  dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    constexpr int kDigits = std::numeric_limits<T>::digits;  // 24 or 53
    constexpr auto kExact = std::uint64_t{1} << kDigits;
    T* p = out.data<T>();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const Int v = values[i];
      std::uint64_t magnitude = 0;
      if constexpr (std::is_signed_v<Int>)
        magnitude = v < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(v)
                          : static_cast<std::uint64_t>(v);
      else
        magnitude = v;
      if (magnitude > kExact)
        f.fail("dataset '{}': the integer {} (element {}) is beyond 2^{} and has no exact {}",
               d.path, v, i, kDigits, dtype_name(dtype));
      p[i] = static_cast<T>(v);
    }
  });
  return out;
}

/// A double to the nearest float, ties to even, as IEEE 754 (and numpy) round: infinity
/// only from halfway between FLT_MAX and 2^128 on (a tie, and FLT_MAX's last bit is odd).
float round_to_float32(double v) {
  constexpr double kMax = std::numeric_limits<float>::max();  // 0x1.fffffep127
  constexpr double kHalfway = 0x1.ffffffp127;
  if (std::isnan(v) || std::abs(v) <= kMax) return static_cast<float>(v);
  if (std::abs(v) < kHalfway) return static_cast<float>(std::copysign(kMax, v));
  constexpr float kInf = std::numeric_limits<float>::infinity();
  return v > 0 ? kInf : -kInf;
}

/// An enum's values are integers of its base type, stored as they are in memory.
template <class Int>
std::vector<Int> enum_values(const std::vector<unsigned char>& bytes, std::size_t count) {
  std::vector<Int> values(count);
  std::memcpy(values.data(), bytes.data(), count * sizeof(Int));
  return values;
}

Tensor read_numbers(const File& f, const Data& d, std::optional<Dtype> dtype) {
  const hid_t type = d.type.get();
  const auto count = static_cast<std::size_t>(d.count);
  switch (d.type_class) {
    case H5T_FLOAT: {
      const bool wide = H5Tget_size(type) > 4;
      const Dtype target = dtype.value_or(wide ? float64 : float32);
      Tensor out = Tensor::empty(d.shape, target);
      if (target == float64 || !wide) {
        // Exact: float64 holds every float of up to 8 bytes, float32 every one of up to 4.
        read_all(f, d, target == float32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE, out.raw_data());
        return out;
      }
      // Wider floats asked for as float32: HDF5's own conversion sends everything above
      // FLT_MAX to infinity, where rounding to nearest (numpy's astype) keeps FLT_MAX up
      // to halfway to 2^128. Read as double, round here.
      std::vector<double> values(count);
      read_all(f, d, H5T_NATIVE_DOUBLE, values.data());
      float* p = out.data<float>();
      for (std::size_t i = 0; i < count; ++i) p[i] = round_to_float32(values[i]);
      return out;
    }
    case H5T_INTEGER: {
      const Dtype target = dtype.value_or(H5Tget_size(type) <= 2 ? float32 : float64);
      // HDF5 converts any integer to a 64-bit one of the same signedness exactly.
      if (H5Tget_sign(type) == H5T_SGN_NONE) {
        std::vector<std::uint64_t> values(count);
        read_all(f, d, H5T_NATIVE_UINT64, values.data());
        return integers_to_tensor(f, d, values, target);
      }
      std::vector<std::int64_t> values(count);
      read_all(f, d, H5T_NATIVE_INT64, values.data());
      return integers_to_tensor(f, d, values, target);
    }
    case H5T_ENUM: {
      // h5py's bool is an enum of int8 {FALSE = 0, TRUE = 1}. HDF5 converts an enum
      // only to another enum: read it as the native enum, then take its base integers.
      const Handle base(H5Tget_super(type), H5Tclose);
      const Handle native(H5Tget_native_type(type, H5T_DIR_ASCEND), H5Tclose);
      if (!base.valid() || !native.valid())
        f.fail("dataset '{}': cannot read its enum type: {}", d.path, hdf5_reason());
      const std::size_t size = H5Tget_size(native.get());
      const bool is_signed = H5Tget_sign(base.get()) != H5T_SGN_NONE;
      const Dtype target = dtype.value_or(size <= 2 ? float32 : float64);
      std::vector<unsigned char> bytes(count * size);
      read_all(f, d, native.get(), bytes.data());
      switch (size) {
        case 1:
          return is_signed
                     ? integers_to_tensor(f, d, enum_values<std::int8_t>(bytes, count), target)
                     : integers_to_tensor(f, d, enum_values<std::uint8_t>(bytes, count), target);
        case 2:
          return is_signed
                     ? integers_to_tensor(f, d, enum_values<std::int16_t>(bytes, count), target)
                     : integers_to_tensor(f, d, enum_values<std::uint16_t>(bytes, count), target);
        case 4:
          return is_signed
                     ? integers_to_tensor(f, d, enum_values<std::int32_t>(bytes, count), target)
                     : integers_to_tensor(f, d, enum_values<std::uint32_t>(bytes, count), target);
        case 8:
          return is_signed
                     ? integers_to_tensor(f, d, enum_values<std::int64_t>(bytes, count), target)
                     : integers_to_tensor(f, d, enum_values<std::uint64_t>(bytes, count), target);
        default:
          f.fail("dataset '{}': an enum of {}-byte integers is not supported", d.path, size);
      }
    }
    case H5T_STRING:
      f.fail("dataset '{}' holds strings, not numbers: read it with read_hdf5_strings", d.path);
    default:
      f.fail("dataset '{}' holds {}, not numbers: its type is not supported", d.path,
             class_name(d.type_class));
  }
}

std::vector<std::string> read_strings(const File& f, const Data& d) {
  if (d.type_class != H5T_STRING)
    f.fail("dataset '{}' holds {}, not strings{}", d.path, class_name(d.type_class),
           d.type_class == H5T_INTEGER || d.type_class == H5T_FLOAT || d.type_class == H5T_ENUM
               ? ": read it with read_hdf5"
               : "");
  const auto count = static_cast<std::size_t>(d.count);
  std::vector<std::string> out;
  out.reserve(count);
  const htri_t variable = H5Tis_variable_str(d.type.get());
  if (variable < 0) f.fail("dataset '{}': cannot read its string type: {}", d.path, hdf5_reason());
  if (variable > 0) {
    const Handle memory(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memory.get(), H5T_VARIABLE);
    H5Tset_cset(memory.get(), H5Tget_cset(d.type.get()));
    std::vector<char*> pointers(count, nullptr);
    read_all(f, d, memory.get(), pointers.data());
    // The library allocated each string: copy them, then hand them back to it.
    try {
      for (const char* p : pointers) out.emplace_back(p != nullptr ? p : "");
    } catch (...) {
#if H5_VERSION_GE(1, 12, 0)
      H5Treclaim(memory.get(), d.space.get(), H5P_DEFAULT, pointers.data());
#else
      H5Dvlen_reclaim(memory.get(), d.space.get(), H5P_DEFAULT, pointers.data());
#endif
      throw;
    }
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(memory.get(), d.space.get(), H5P_DEFAULT, pointers.data());
#else
    H5Dvlen_reclaim(memory.get(), d.space.get(), H5P_DEFAULT, pointers.data());
#endif
    return out;
  }
  // Fixed length: `size` bytes each, NUL-terminated, NUL-padded or space-padded.
  const std::size_t size = H5Tget_size(d.type.get());
  if (size == 0) f.fail("dataset '{}': strings of size 0", d.path);
  const Handle memory(H5Tcopy(d.type.get()), H5Tclose);
  std::vector<char> bytes(count * size);
  read_all(f, d, memory.get(), bytes.data());
  const bool space_padded = H5Tget_strpad(d.type.get()) == H5T_STR_SPACEPAD;
  for (std::size_t i = 0; i < count; ++i) {
    const char* first = bytes.data() + i * size;
    std::string s(first, std::find(first, first + size, '\0'));
    if (space_padded)
      while (!s.empty() && s.back() == ' ') s.pop_back();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

// ---- the public readers ------------------------------------------------------------------

std::vector<std::string> hdf5_datasets(const fs::path& file) {
  const Quiet quiet;
  File f{"hdf5_datasets", file.string()};
  open(f, file);
  return dataset_names(f);
}

Tensor read_hdf5(const fs::path& file, std::string_view dataset, std::optional<Dtype> dtype) {
  const Quiet quiet;
  File f{"read_hdf5", file.string()};
  open(f, file);
  const Data d = open_dataset(f, dataset);
  return read_numbers(f, d, dtype);
}

std::vector<std::string> read_hdf5_strings(const fs::path& file, std::string_view dataset) {
  const Quiet quiet;
  File f{"read_hdf5_strings", file.string()};
  open(f, file);
  const Data d = open_dataset(f, dataset);
  return read_strings(f, d);
}

Hdf5ImageSet load_hdf5_image_set(const fs::path& file, const Hdf5ImageNames& names, bool scale) {
  const Quiet quiet;
  File f{"load_hdf5_image_set", file.string()};
  open(f, file);

  // x: (m, h, w, c) integers in [0, 255]; exact in float32.
  const Data xd = open_dataset(f, names.x);
  if (xd.type_class != H5T_INTEGER)
    f.fail("dataset '{}' holds {}: expected image bytes (integers 0 to 255)", names.x,
           class_name(xd.type_class));
  if (xd.shape.size() != 4)
    f.fail("dataset '{}' is {}: expected images (m, height, width, channels)", names.x,
           shape_str(xd.shape));
  const Tensor x = read_numbers(f, xd, float32);
  const std::int64_t m = xd.shape[0];
  const std::int64_t n_x = xd.shape[1] * xd.shape[2] * xd.shape[3];
  const float* px = x.data<float>();
  for (std::int64_t i = 0; i < x.numel(); ++i)
    if (!(px[i] >= 0 && px[i] <= 255))
      f.fail("dataset '{}': the value {} (image {}) is not a byte 0 to 255", names.x, px[i],
             i / std::max<std::int64_t>(n_x, 1));

  // y: (m) or (1, m) whole numbers.
  const Data yd = open_dataset(f, names.y);
  const bool row = yd.shape.size() == 2 && yd.shape[0] == 1;
  if (!(yd.shape.size() == 1 || row) || yd.count != m)
    f.fail("dataset '{}' is {}: expected labels ({}) or (1, {}) for the {} images of '{}'", names.y,
           shape_str(yd.shape), m, m, m, names.x);
  const std::vector<double> y = read_numbers(f, yd, float64).to_vector();

  Hdf5ImageSet set;
  if (!names.classes.empty()) set.classes = read_strings(f, open_dataset(f, names.classes));
  set.labels.reserve(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double label = y[i];
    if (!(label >= 0 && label == std::floor(label) && label < 1e9))
      f.fail("dataset '{}': label {} (example {}) is not a whole number >= 0", names.y, label, i);
    if (!set.classes.empty() && label >= static_cast<double>(set.classes.size()))
      f.fail("dataset '{}': label {} (example {}) is out of range for the {} classes of '{}'",
             names.y, label, i, set.classes.size(), names.classes);
    set.labels.push_back(static_cast<int>(label));
  }

  // X = x.reshape(m, -1).T: element j of image i goes to X[j, i].
  set.X = Tensor::empty({n_x, m}, float32);
  float* pX = set.X.data<float>();
  // Divided in double, as numpy's x / 255. is, then rounded: the same float32 numbers.
  const double divisor = scale ? 255.0 : 1.0;
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n_x; ++j)
      pX[j * m + i] = static_cast<float>(static_cast<double>(px[i * n_x + j]) / divisor);
  set.Y = labels_to_row(set.labels);
  set.height = xd.shape[1];
  set.width = xd.shape[2];
  set.channels = xd.shape[3];
  return set;
}

}  // namespace tapegrad::data
