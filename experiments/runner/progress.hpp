#pragma once
// Progress of a run on stderr: on a terminal a bar redrawn in place with the rate and the
// time left; otherwise (a log file, CI) a plain line at most every 5 seconds and at the end.
#include <chrono>
#include <cstdint>

namespace bitsim::experiments {

class Progress {
 public:
  Progress(std::uint64_t total, bool enabled);
  void update(std::uint64_t done);  // points finished so far
  void finish();                    // ends the bar's line (idempotent)

 private:
  void print(std::uint64_t done, bool final);
  std::uint64_t total_, done_ = 0;
  bool enabled_, terminal_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace bitsim::experiments
