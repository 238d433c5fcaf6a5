#pragma once
// The command line every example shares (CLI11) and the lines it ends with.
//
//   CLI::App app{"..."};
//   examples::RunOptions run;
//   examples::add_run_options(app, run);          // --seed, --out
//   examples::add_data_options(app, data);        // --data, --limit
//   examples::add_classes_option(app, classes);   // --classes 7,9
//   CLI11_PARSE(app, argc, argv);
//   ...
//   examples::result("test_accuracy", 0.9215);     // "test_accuracy: 0.9215"
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <tapegrad/tapegrad.hpp>
#include <vector>

namespace tapegrad::examples {

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
      ->check(CLI::PositiveNumber);
}

/// --save FILE / --load FILE: the trained parameters, in io/tensor_file.hpp's format.
struct ParameterFiles {
  std::filesystem::path save;
  std::filesystem::path load;
};

inline void add_parameter_file_options(CLI::App& app, ParameterFiles& files) {
  app.add_option("--save", files.save, "write the trained parameters to this file");
  app.add_option("--load", files.load,
                 "read the parameters from this file instead of training, then evaluate")
      ->check(CLI::ExistingFile);
}

/// --classes A,B: the two Fashion-MNIST classes of a binary example (A -> y = 0, B -> y = 1).
inline CLI::Option* add_classes_option(CLI::App& app, std::vector<int>& classes) {
  return app
      .add_option("--classes", classes, "the two Fashion-MNIST labels, y = 0 then y = 1 (0..9)")
      ->delimiter(',')
      ->expected(2)
      ->check(CLI::Range(0, 9))
      ->capture_default_str();
}

/// "layers: 784,20,7,5,1" style list of sizes, comma separated.
inline CLI::Option* add_sizes_option(CLI::App& app, const std::string& name,
                                     std::vector<std::int64_t>& sizes, const std::string& help) {
  return app.add_option(name, sizes, help)
      ->delimiter(',')
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
}

/// True when `file` (stderr, say) is a terminal.
inline bool is_terminal(std::FILE* file) { return ::isatty(::fileno(file)) == 1; }

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
