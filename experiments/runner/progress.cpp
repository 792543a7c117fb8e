#include "experiments/runner/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace bitsim::experiments {
namespace {

std::string duration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", s / 3600, s / 60 % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%llds", s);
  return buf;
}

}  // namespace

Progress::Progress(std::uint64_t total, bool enabled)
    : total_(total), enabled_(enabled && total > 0), terminal_(isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()), last_print_(start_) {
  if (enabled_ && terminal_) print(0, false);
}

void Progress::update(std::uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if (done == total_ || since >= (terminal_ ? 0.2 : 5.0)) print(done, false);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  if (terminal_) print(done_, true);
  else if (done_ != total_) print(done_, true);
}

void Progress::print(std::uint64_t done, bool final) {
  last_print_ = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(last_print_ - start_).count();
  const double rate = elapsed > 0 ? double(done) / elapsed : 0;
  const double eta = rate > 0 ? double(total_ - done) / rate : INFINITY;
  const double pct = 100.0 * double(done) / double(total_);
  if (terminal_) {
    constexpr int width = 30;
    const int filled = int(double(width) * double(done) / double(total_));
    std::string bar(std::size_t(filled), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r[%s] %llu/%llu %5.1f%%  %.2f points/s  ETA %s   ", bar.c_str(), (unsigned long long)done,
                 (unsigned long long)total_, pct, rate, duration(eta).c_str());
    if (final) std::fputc('\n', stderr);
  } else {
    std::fprintf(stderr, "progress: %llu/%llu points (%.1f%%), %.2f points/s, elapsed %s, ETA %s\n", (unsigned long long)done,
                 (unsigned long long)total_, pct, rate, duration(elapsed).c_str(), duration(eta).c_str());
  }
  std::fflush(stderr);
}

}  // namespace bitsim::experiments
