#pragma once
// The readers under test take a path: each input is written to one scratch file per
// process (in $TMPDIR or /tmp), removed when the process exits normally.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace tapegrad::fuzz {

class ScratchFile {
 public:
  explicit ScratchFile(const std::string& suffix) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : "/tmp") /
            ("tapegrad-fuzz-" + std::to_string(::getpid()) + suffix);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

  /// Replaces the file's contents by `size` bytes of `data`; returns its path.
  const std::filesystem::path& write(const std::uint8_t* data, std::size_t size) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    if (!out) std::abort();  // a full disk is not a finding: stop loudly
    return path_;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tapegrad::fuzz
