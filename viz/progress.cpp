#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <tapegrad/graph/error.hpp>
#include <tapegrad/viz/progress.hpp>

namespace tapegrad::progress {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Bar::Bar(std::int64_t total, std::string label, std::FILE* out, Mode mode)
    : total_(total), label_(std::move(label)), out_(out) {
  if (total < 0) throw ValueError(fmt::format("progress::Bar: total must be >= 0, got {}", total));
  redraw_ = mode == Mode::redraw || (mode == Mode::automatic && isatty(fileno(out)) != 0);
}

Bar::~Bar() {
  try {
    finish();
  } catch (...) {  // a destructor must not throw; a failed write to stderr is not worth it
  }
}

void Bar::update(std::int64_t done, double cost) {
  if (finished_) return;
  done_ = std::clamp<std::int64_t>(done, 0, total_);
  cost_ = cost;
  if (redraw_) {
    // Redraw at most ten times a second: a terminal write per iteration would cost
    // more than a small model's iteration.
    const double now = watch_.seconds();
    if (now - last_draw_ >= 0.1) {
      last_draw_ = now;
      draw();
    }
  } else {
    // One log line per tenth of the run; integer arithmetic keeps this free.
    const std::int64_t tenth = total_ == 0 ? 10 : done_ * 10 / total_;
    if (tenth > last_tenth_) {
      last_tenth_ = tenth;
      draw();
    }
  }
}

void Bar::finish() {
  if (finished_) return;
  finished_ = true;
  // The lines mode has already printed the last state if it reached 100%.
  if (redraw_ || last_tenth_ < 10 || done_ < total_) draw();
  if (redraw_) fmt::print(out_, "\n");
  std::fflush(out_);
}

void Bar::draw() {
  const double elapsed = watch_.seconds();
  const double fraction =
      total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  const double eta = done_ == 0 ? std::nan("") : elapsed * (1 - fraction) / fraction;
  std::string line = label_.empty() ? std::string() : label_ + " ";
  if (redraw_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    line += fmt::format(
        "[{}{}{}] ", std::string(static_cast<std::size_t>(filled), '='), filled < kWidth ? ">" : "",
        std::string(static_cast<std::size_t>(std::max(0, kWidth - filled - 1)), ' '));
  }
  line += fmt::format("{}/{} {:3.0f}%", done_, total_, 100 * fraction);
  if (std::isfinite(cost_)) line += fmt::format(" cost {:.6f}", cost_);
  line += fmt::format(" elapsed {}", format_duration(elapsed));
  if (done_ < total_) line += fmt::format(" eta {}", format_duration(eta));
  if (redraw_)
    fmt::print(out_, "\r{}\x1b[K", line);  // \x1b[K clears what a longer previous line left
  else
    fmt::print(out_, "{}\n", line);
  std::fflush(out_);
}

}  // namespace tapegrad::progress
