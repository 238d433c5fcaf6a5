#pragma once
/// \file
/// Terminal feedback for training loops: a progress bar on stderr and a stopwatch for
/// the examples' "seconds: 1.234" lines.
//
//   progress::Bar bar(num_iterations, "training");
//   for (int i = 0; i < num_iterations; ++i) { ...; bar.update(i + 1, cost); }
//   bar.finish();
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <tapegrad/graph/export.hpp>

namespace tapegrad::progress {

/// Wall-clock time since construction or the last reset().
class TAPEGRAD_API Stopwatch {
 public:
  Stopwatch() : start_(clock::now()) {}    ///< starts now
  void reset() { start_ = clock::now(); }  ///< starts again now
  /// Seconds elapsed, with sub-microsecond resolution.
  double seconds() const { return std::chrono::duration<double>(clock::now() - start_).count(); }

 private:
  using clock = std::chrono::steady_clock;
  clock::time_point start_;
};

/// A duration for people: "0:07", "12:34", "1:02:03"; "?" when not finite.
TAPEGRAD_API std::string format_duration(double seconds);

/// "label [=====>    ] 120/1000  12% cost 0.693147 0:03<0:22" on one line.
///
/// On a terminal it redraws in place (`\r`), at most every 100 ms, so calling update()
/// every iteration costs a clock read. Elsewhere (a CI log, a pipe) it prints one line
/// per 10% of progress instead of flooding the log.
class TAPEGRAD_API Bar {
 public:
  /// How the bar is drawn.
  enum class Mode {
    automatic,  ///< redraw on a terminal, lines otherwise
    redraw,     ///< one line redrawn in place (`\r`)
    lines,      ///< a new line per 10% of progress
  };

  /// A bar for `total` iterations, drawn on `out`.
  explicit Bar(std::int64_t total, std::string label = {}, std::FILE* out = stderr,
               Mode mode = Mode::automatic);
  Bar(const Bar&) = delete;
  Bar& operator=(const Bar&) = delete;
  /// Finishes the line if finish() was not called.
  ~Bar();

  /// `done` of `total` iterations are finished; `cost` is the latest (NaN: not shown).
  void update(std::int64_t done, double cost = std::numeric_limits<double>::quiet_NaN());
  /// Draws the last state and ends the line; later updates are ignored.
  void finish();

 private:
  void draw();
  std::int64_t total_;
  std::string label_;
  std::FILE* out_;
  bool redraw_;
  Stopwatch watch_;
  std::int64_t done_ = 0;
  double cost_ = std::numeric_limits<double>::quiet_NaN();
  double last_draw_ = -1;        // seconds, redraw mode
  std::int64_t last_tenth_ = 0;  // tenths printed, lines mode
  bool finished_ = false;
};

}  // namespace tapegrad::progress
