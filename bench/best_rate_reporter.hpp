#pragma once
// What the throughput benchmarks share. BestRateReporter passes every run on to the
// console and keeps, per benchmark, the best items/s over its repetitions, from which the
// programs print their ratio tables. On a shared machine the fastest repetition is the one
// least disturbed by other work (the console still shows mean, median and spread).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <string>
#include <vector>

namespace bitsim::bench {

class BestRateReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> best;  // function name -> best items_per_second

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred || run.run_type != Run::RT_Iteration) continue;
      const auto it = run.counters.find("items_per_second");
      if (it == run.counters.end()) continue;
      double& b = best[run.run_name.function_name];
      b = std::max(b, double(it->second));
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

// Appends "--benchmark_repetitions=N" to the arguments unless they set it already; the
// pointer stays valid as long as `storage` does.
inline void add_default_repetitions(std::vector<char*>& args, std::string& storage, int n = 3) {
  const bool given = std::any_of(args.begin(), args.end(), [](const char* a) {
    return std::string_view(a).starts_with("--benchmark_repetitions");
  });
  storage = "--benchmark_repetitions=" + std::to_string(n);
  if (!given) args.push_back(storage.data());
}

// The suffix Google Benchmark gives a run registered with ->Threads(n).
inline std::string threads_suffix(int threads) { return "/threads:" + std::to_string(threads); }

}  // namespace bitsim::bench
