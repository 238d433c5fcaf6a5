#pragma once
// The command line every example shares (CLI11), how an example fails, and the lines
// it ends with.
//
//   int main(int argc, char** argv) {
//     CLI::App app{"..."};
//     examples::RunOptions run;
//     examples::add_run_options(app, run);          // --seed, --out
//     examples::add_data_options(app, data);        // --data, --limit
//     examples::add_classes_option(app, classes);   // --classes 7,9
//     app.add_option("--iterations", n, "...")->check(examples::whole_number(1));
//     return examples::run_example(argc, argv, app, [&] {
//       examples::check_paths(run, files);         // before any work: --out, --save, --load
//       ...
//       examples::check_cost(cost.item(), "iteration", i);
//       examples::result("test_accuracy", 0.9215);   // "test_accuracy: 0.9215"
//     });
//   }
//
// An example fails as a command-line tool does: one line "error: <what went wrong>" on
// stderr and exit code 2 for a bad flag (CLI11's, or a UsageError the example throws),
// 1 for anything that goes wrong while it runs (missing data, a corrupt file, a
// diverging cost).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tapegrad::examples {

/// True when `file` (stderr, say) is a terminal.
inline bool is_terminal(std::FILE* file) { return ::isatty(::fileno(file)) == 1; }

// ---- failing like a tool --------------------------------------------------------------

/// A flag value that the example finds wrong once the flags are read (--classes 7,7):
/// exit code 2, as for a flag CLI11 rejects.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Prints "error: <message>" as one line on stderr and returns `exit_code`.
inline int fail(int exit_code, std::string_view message) {
  std::fflush(stdout);                                      // what the example printed comes first
  if (is_terminal(stderr)) std::fputs("\r\033[K", stderr);  // wipe a progress bar
  std::string line(message);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  for (char& c : line)
    if (c == '\n') c = ' ';  // one line, whatever the message
  fmt::print(stderr, "error: {}\n", line);
  return exit_code;
}

/// main() of an example: reads the flags into the variables `app` was given (--help
/// prints the help and returns 0), then runs `body`. Returns the exit code: 0, or
/// fail()'s 2 for a bad flag and 1 for an error while the example runs. Nothing thrown
/// gets past it.
template <class Body>
int run_example(int argc, char** argv, CLI::App& app, Body&& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    return fail(2, e.what());
  } catch (const std::exception& e) {
    return fail(2, e.what());
  }
  try {
    body();
    return 0;
  } catch (const UsageError& e) {
    return fail(2, e.what());
  } catch (const std::exception& e) {  // tapegrad::Error and the rest
    return fail(1, e.what());
  } catch (...) {
    return fail(1, "unknown exception");
  }
}

/// Throws when training has diverged, e.g. "the cost is nan at iteration 300 (is the
/// learning rate too high?)"; `when` is "iteration" or "epoch".
inline void check_cost(double cost, std::string_view when, std::int64_t at) {
  if (std::isfinite(cost)) return;
  throw std::runtime_error(fmt::format("the cost is {} at {} {} (is the learning rate too high?)",
                                       std::isnan(cost) ? "nan" : (cost > 0 ? "inf" : "-inf"), when,
                                       at));
}

// ---- numbers a person would write --------------------------------------------------------
// CLI::PositiveNumber's message gives its bound as 300 digits; these say
// "--iterations: must be a whole number >= 1, got -5". Each checks one value (one
// element of a list such as --layers).

/// A whole number from `min` to `max` (the largest Int by default).
template <class Int = std::int64_t>
CLI::Validator whole_number(Int min, Int max = std::numeric_limits<Int>::max()) {
  const bool open = max == std::numeric_limits<Int>::max();
  const std::string range =
      open ? fmt::format(">= {}", min) : fmt::format("from {} to {}", min, max);
  return {[min, max, range](std::string& text) -> std::string {
            long long value = 0;
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, value);
            if (ec != std::errc() || ptr != end || value < min || value > max)
              return fmt::format("must be a whole number {}, got {}", range, text);
            return {};
          },
          fmt::format("({})", open ? range : fmt::format("{} to {}", min, max))};
}

/// A finite number (not NaN, not infinite), >= min and < below where given.
inline CLI::Validator finite_number(std::optional<double> min = std::nullopt,
                                    std::optional<double> below = std::nullopt) {
  std::string range;
  if (min) range += fmt::format(" >= {}", *min);
  if (min && below) range += " and";
  if (below) range += fmt::format(" < {}", *below);
  return {[min, below, range](std::string& text) -> std::string {
            double value = 0;
            const char* end = text.data() + text.size();
            const auto [ptr, ec] = std::from_chars(text.data(), end, value);
            if (ec != std::errc() || ptr != end || !std::isfinite(value) || (min && value < *min) ||
                (below && !(value < *below)))
              return fmt::format("must be a finite number{}, got {}", range, text);
            return {};
          },
          fmt::format("(finite{})", min || below ? "," + range : "")};
}

/// Flags of every example: the random seed and the folder the images go to.
struct RunOptions {
  std::uint64_t seed = 1;
  std::filesystem::path out = "out";  ///< relative: under the folder the program runs from
};

inline void add_run_options(CLI::App& app, RunOptions& run) {
  app.add_option("--seed", run.seed, "random seed (initial weights, shuffling, data)")
      ->capture_default_str();
  app.add_option("--out", run.out, "folder for the SVG images")->capture_default_str();
}

/// Where Fashion-MNIST is, and how much of its training split to read.
struct DataOptions {
  std::filesystem::path dir{std::string(data::kFashionMnistDir)};
  std::optional<std::int64_t> limit;  ///< read only the first `limit` training images
};

inline void add_data_options(CLI::App& app, DataOptions& data) {
  app.add_option("--data", data.dir, "folder holding the Fashion-MNIST .gz files")
      ->capture_default_str();
  app.add_option("--limit", data.limit,
                 "read only the first N training images (quick runs; the test split stays whole)")
      ->check(whole_number(1));
}

/// --save FILE / --load FILE: the trained parameters, in io/tensor_file.hpp's format.
/// check_paths() checks both before any work.
struct ParameterFiles {
  std::filesystem::path save;
  std::filesystem::path load;
};

inline void add_parameter_file_options(CLI::App& app, ParameterFiles& files) {
  app.add_option("--save", files.save, "write the trained parameters to this file");
  app.add_option("--load", files.load,
                 "read the parameters from this file instead of training, then evaluate");
}

// ---- paths, checked before any work (a run is not lost at its end) ---------------------

/// Creates the --out folder; throws IoError unless it is a folder this program can write.
inline void check_out(const std::filesystem::path& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw IoError(fmt::format("--out {}: not a folder (a file of that name exists)", out.string()));
  fs::create_directories(out, ec);
  if (ec)
    throw IoError(
        fmt::format("--out {}: cannot create the folder: {}", out.string(), ec.message()));
  if (::access(out.c_str(), W_OK | X_OK) != 0)
    throw IoError(fmt::format("--out {}: the folder is not writable: {}", out.string(),
                              std::strerror(errno)));
}

/// --save's folder must exist and be writable, --load must be a readable file (either
/// may be empty: not given). Throws IoError naming the flag, the path and the reason.
inline void check_parameter_files(const ParameterFiles& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!files.save.empty()) {
    const std::string save = files.save.string();
    const fs::path folder = files.save.has_parent_path() ? files.save.parent_path() : ".";
    if (fs::is_directory(files.save, ec))
      throw IoError(fmt::format("--save {}: is a folder; give the name of a file in it", save));
    if (!fs::exists(folder, ec))
      throw IoError(fmt::format("--save {}: the folder {} does not exist", save, folder.string()));
    if (!fs::is_directory(folder, ec))
      throw IoError(fmt::format("--save {}: {} is not a folder", save, folder.string()));
    if (::access(folder.c_str(), W_OK | X_OK) != 0)
      throw IoError(fmt::format("--save {}: the folder {} is not writable: {}", save,
                                folder.string(), std::strerror(errno)));
  }
  if (!files.load.empty()) {
    const std::string load = files.load.string();
    if (!fs::exists(files.load, ec)) throw IoError(fmt::format("--load {}: no such file", load));
    if (fs::is_directory(files.load, ec))
      throw IoError(fmt::format("--load {}: is a folder, not a file", load));
    if (::access(files.load.c_str(), R_OK) != 0)
      throw IoError(fmt::format("--load {}: cannot be read: {}", load, std::strerror(errno)));
  }
}

/// Before any work: --out (created here), and --save and --load if the example has them.
inline void check_paths(const RunOptions& run) { check_out(run.out); }
inline void check_paths(const RunOptions& run, const ParameterFiles& files) {
  check_out(run.out);  // first: --save out/model.tg is a file in it
  check_parameter_files(files);
}

/// --classes A,B: the two Fashion-MNIST classes of a binary example (A -> y = 0, B -> y = 1).
inline CLI::Option* add_classes_option(CLI::App& app, std::vector<int>& classes) {
  return app
      .add_option("--classes", classes, "the two Fashion-MNIST labels, y = 0 then y = 1 (0..9)")
      ->delimiter(',')
      ->expected(2)
      ->check(whole_number(0, 9))
      ->capture_default_str();
}

/// The two classes of --classes must differ; throws UsageError.
inline void check_classes(const std::vector<int>& classes) {
  if (classes.size() == 2 && classes[0] == classes[1])
    throw UsageError(
        fmt::format("--classes {},{}: the two classes must differ", classes[0], classes[1]));
}

/// "layers: 784,20,7,5,1" style list of sizes, comma separated.
inline CLI::Option* add_sizes_option(CLI::App& app, const std::string& name,
                                     std::vector<std::int64_t>& sizes, const std::string& help) {
  return app.add_option(name, sizes, help)
      ->delimiter(',')
      ->check(whole_number(1))
      ->capture_default_str();
}

/// Prints one log line on stdout. On a terminal the progress bar (stderr) is wiped
/// first, so that the line does not land in the middle of it; the bar redraws itself
/// below at its next update.
template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  if (is_terminal(stderr)) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
  fmt::print(format, std::forward<Args>(args)...);
  std::fflush(stdout);
}

/// A final "key: value" line, value with `precision` decimals.
inline void result(std::string_view key, double value, int precision = 4) {
  fmt::print("{}: {:.{}f}\n", key, value, precision);
}
/// A final "key: text" line.
inline void result(std::string_view key, std::string_view text) {
  fmt::print("{}: {}\n", key, text);
}

}  // namespace tapegrad::examples
