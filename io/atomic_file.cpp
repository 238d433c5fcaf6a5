#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/io/atomic_file.hpp>

namespace tapegrad::io {

namespace fs = std::filesystem;

namespace {

fs::path folder_of(const fs::path& path) {
  fs::path dir = path.parent_path();
  return dir.empty() ? fs::path(".") : dir;
}

// "<path>.tmp-<16 random hex digits>": unique without asking who else is saving.
fs::path temporary_name(const fs::path& path) {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{:016x}", engine());
  return tmp;
}

// Gives the unnamed file `fd` the name `tmp`. AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH;
// the /proc/self/fd link works for everyone where /proc is mounted.
bool link_unnamed(int fd, const fs::path& tmp) {
  if (::linkat(fd, "", AT_FDCWD, tmp.c_str(), AT_EMPTY_PATH) == 0) return true;
  const std::string self = fmt::format("/proc/self/fd/{}", fd);
  return ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0;
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view bytes, std::string_view who) {
  const fs::path dir = folder_of(path);
  fs::path tmp;  // empty while the file has no name
  auto fail = [&](const std::string& what, int err) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    throw IoError(fmt::format("{}: {}: {}: {} (the previous file, if any, is unchanged)", who,
                              path.string(), what, std::strerror(err)));
  };

  int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // This file system has no unnamed files: a named temporary, which a kill can leave.
    tmp = temporary_name(path);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
      const int err = errno;
      tmp.clear();  // not ours to remove
      fail(fmt::format("cannot create a temporary file in {}", dir.string()), err);
    }
  } else if (fd < 0) {
    fail(fmt::format("cannot create a temporary file in {}", dir.string()), errno);
  }
  auto fail_open = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    fail(what, err);
  };
  for (std::size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_open(fmt::format("write failed at byte {}", done));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail_open("cannot flush the temporary file to disk");
  if (tmp.empty()) {
    fs::path named = temporary_name(path);
    if (!link_unnamed(fd, named))
      fail_open(fmt::format("cannot name the temporary file {}", named.string()));
    tmp = std::move(named);
  }
  if (::close(fd) != 0) fail("cannot close the temporary file", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    fail(fmt::format("cannot rename {} over it", tmp.string()), errno);
  // Make the rename itself durable (best effort: not every file system allows it).
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::string read_whole_file(const fs::path& path, std::string_view who) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(fmt::format("{}: {}: cannot open for reading: {}", who, path.string(),
                              std::strerror(errno)));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad())
    throw IoError(
        fmt::format("{}: {}: read error after byte {}", who, path.string(), bytes.size()));
  return bytes;
}

void create_parent_folders(const fs::path& path, std::string_view who) {
  if (!path.has_parent_path()) return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec)
    throw IoError(fmt::format("{}: {}: cannot create folder {}: {}", who, path.string(),
                              path.parent_path().string(), ec.message()));
}

}  // namespace tapegrad::io
