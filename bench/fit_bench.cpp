// fit_bench: the 4,500-start Chinchilla fit (issue #11's target: <= 10 s on 2 cores; SciPy's
// L-BFGS takes about 7 minutes for the same grid) on the 240 points of the published
// replication (../shared/data/chinchilla_fig4_points.csv, 5 highest losses dropped) or, where
// that file is absent, on 240 synthetic points (12 model sizes x 20 token counts drawn from
// Hoffmann et al.'s constants with 1% noise). Measured on 1 thread and on all threads in
// the same run; the 1-thread fit is the baseline of the speed-up. See bench/README.md and
// experiments/fit/README.md.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include <tbb/global_control.h>
#include <tbb/info.h>

#include "experiments/fit/fit_data.hpp"
#include "experiments/fit/huber_fit.hpp"
#include "experiments/fit/law.hpp"

namespace {

namespace fit = bitsim::experiments::fit;

const fit::FitData& points() {
  static const fit::FitData data = [] {
    const auto& law = fit::find_law("chinchilla");
    const std::filesystem::path file = BITSIM_SHARED_DATA "/chinchilla_fig4_points.csv";
    if (std::filesystem::exists(file)) {
      std::printf("points: %s (240 after dropping the 5 highest losses)\n", file.c_str());
      return fit::select_data(law, fit::read_table(file),
                              fit::parse_column_map("N=Model Size,C=Training FLOP,L=loss"), 5);
    }
    std::printf("points: 240 synthetic (%s is absent)\n", file.c_str());
    fit::FitData d;
    d.inputs = law.inputs;
    std::mt19937_64 gen(5);
    std::normal_distribution<double> noise(0.0, 0.01);
    for (int i = 0; i < 12; ++i) {
      for (int j = 0; j < 20; ++j) {
        const double n = std::pow(10.0, 7 + 3.0 * i / 11), t = std::pow(10.0, 9 + 3.0 * j / 19);
        d.x.push_back(std::log(n));
        d.x.push_back(std::log(t));
        d.y.push_back((1.69 + 406.4 / std::pow(n, 0.34) + 410.7 / std::pow(t, 0.28)) *
                      std::exp(noise(gen)));
      }
    }
    return d;
  }();
  return data;
}

void BM_ChinchillaGrid(benchmark::State& state) {
  const int threads = state.range(0) == 0 ? tbb::info::default_concurrency() : int(state.range(0));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  const auto& law = fit::find_law("chinchilla");
  fit::FitResult result;
  for (auto _ : state) {
    result = fit::fit_law(law, points());
    benchmark::DoNotOptimize(result.loss);
  }
  state.counters["threads"] = threads;
  state.counters["starts"] = double(result.starts);
  state.counters["E"] = result.values[0];
  state.counters["alpha"] = result.values[3];
  state.counters["beta"] = result.values[4];
}
BENCHMARK(BM_ChinchillaGrid)->Arg(1)->Arg(0)->Unit(benchmark::kSecond)->Iterations(1)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
