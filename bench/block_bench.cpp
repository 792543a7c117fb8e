// block_bench: throughput of block_quantize (float32 -> block format -> float32) for
// mxfp8_e4m3, mxfp4, nvfp4 and int4:sym:g128, on 1 thread and on all threads, as ratios of
// memcpy measured in the same run on the same arrays (issue #4's target: >= 0.50 of memcpy
// per core). The array is [n / 4096, 4096] (a weight matrix; blocks run along rows), n =
// 2^26 by default; --elements=N (a multiple of 4096) runs a smaller one. Inputs are N(0, 1)
// with one outlier (x 100) in every 1024 elements. See bench/README.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include "formats/block/block_quantize.hpp"
#include "bench/best_rate_reporter.hpp"

namespace {

using bitsim::bench::threads_suffix;

using bitsim::formats::BlockFormat;

constexpr std::size_t kCols = 4096;
std::size_t g_elements = std::size_t(1) << 26;
const char* const kFormats[] = {"mxfp8_e4m3", "mxfp4", "nvfp4", "int4:sym:g128"};
constexpr double kTarget = 0.50;

struct Arrays {
  std::vector<float> in;
  std::vector<float> out;
};

Arrays& arrays() {
  static Arrays a = [] {
    Arrays a;
    a.in.resize(g_elements);
    a.out.resize(g_elements);  // value-initialised: every page is touched before timing
    constexpr std::size_t chunk = std::size_t(1) << 16;
    tbb::parallel_for(std::size_t(0), g_elements / chunk + 1, [&](std::size_t c) {
      std::mt19937_64 gen(0x5eed0000 + c);
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (std::size_t i = c * chunk; i < std::min(g_elements, (c + 1) * chunk); ++i) {
        a.in[i] = normal(gen) * (i % 1024 == 17 ? 100.0f : 1.0f);
      }
    });
    return a;
  }();
  return a;
}

void set_counters(benchmark::State& state) {
  const auto elements = std::int64_t(state.iterations()) * std::int64_t(g_elements);
  state.SetItemsProcessed(elements);
  state.SetBytesProcessed(elements * std::int64_t(2 * sizeof(float)));  // read + written
}

// memcpy in 16 MiB pieces shared out by TBB (one call on 1 thread): large enough for the
// C library's non-temporal copy, the bandwidth ceiling for "read a float, write a float".
void bench_memcpy(benchmark::State& state, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  auto& a = arrays();
  constexpr std::size_t piece = std::size_t(1) << 22;
  for (auto _ : state) {
    if (threads == 1) {
      std::memcpy(a.out.data(), a.in.data(), g_elements * sizeof(float));
    } else {
      tbb::parallel_for(std::size_t(0), (g_elements + piece - 1) / piece, [&](std::size_t p) {
        const std::size_t begin = p * piece, end = std::min(g_elements, begin + piece);
        std::memcpy(a.out.data() + begin, a.in.data() + begin, (end - begin) * sizeof(float));
      });
    }
    benchmark::ClobberMemory();
  }
  set_counters(state);
}

void bench_block(benchmark::State& state, const BlockFormat& format, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  auto& a = arrays();
  for (auto _ : state) {
    bitsim::formats::block_quantize(format, a.in, g_elements / kCols, kCols, a.out);
    benchmark::ClobberMemory();
  }
  set_counters(state);
}

void print_ratio_table(const std::map<std::string, double>& rate, const std::vector<int>& thread_counts) {
  const auto find = [&](const std::string& name) {
    const auto it = rate.find(name);
    return it == rate.end() ? 0.0 : it->second;
  };
  std::printf("\nblock_quantize on %zu float32 elements ([%zu, %zu]), rne, best repetition, as a "
              "ratio of memcpy at the same thread count (target >= %.2f)\n",
              g_elements, g_elements / kCols, kCols, kTarget);
  std::printf("%-16s %7s %9s %9s %8s  %s\n", "format", "threads", "Gelem/s", "ns/elem", "/memcpy", "target");
  for (int t : thread_counts) {
    const double copy = find("memcpy" + threads_suffix(t));
    if (copy > 0) std::printf("%-16s %7d %9.3f %9.3f %8.2f\n", "memcpy", t, copy / 1e9, 1e9 / copy, 1.0);
  }
  for (const char* format : kFormats) {
    for (int t : thread_counts) {
      const double r = find(std::string("block_quantize/") + format + threads_suffix(t));
      const double copy = find("memcpy" + threads_suffix(t));
      if (r == 0 || copy == 0) continue;
      std::printf("%-16s %7d %9.3f %9.3f %8.3f  %s\n", format, t, r / 1e9, 1e9 / r, r / copy,
                  r / copy >= kTarget ? "met" : "below");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --elements=N (ours) is taken out before Google Benchmark sees the arguments; three
  // repetitions unless the command line asks otherwise.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with("--elements=")) {
      g_elements = std::stoull(std::string(a.substr(11)));
      if (g_elements == 0 || g_elements % kCols != 0) {
        std::fprintf(stderr, "block_bench: --elements must be a positive multiple of %zu\n", kCols);
        return 2;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
  std::string repetitions;
  bitsim::bench::add_default_repetitions(args, repetitions);
  argc = int(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const int all_threads = tbb::info::default_concurrency();
  std::vector<int> thread_counts = {1};
  if (all_threads > 1) thread_counts.push_back(all_threads);

  static std::vector<BlockFormat> formats;
  for (const char* name : kFormats) formats.push_back(BlockFormat::parse(name));

  const auto configure = [](benchmark::internal::Benchmark* b) { b->UseRealTime()->Unit(benchmark::kMillisecond); };
  // memcpy runs before and after the block runs; the table takes the best of both.
  const auto register_baselines = [&] {
    for (int t : thread_counts) {
      configure(benchmark::RegisterBenchmark(("memcpy" + threads_suffix(t)).c_str(), bench_memcpy, t));
    }
  };
  register_baselines();
  for (std::size_t f = 0; f < formats.size(); ++f) {
    for (int t : thread_counts) {
      const std::string name = std::string("block_quantize/") + kFormats[f] + threads_suffix(t);
      configure(benchmark::RegisterBenchmark(name.c_str(), bench_block, std::cref(formats[f]), t));
    }
  }
  register_baselines();

  arrays();  // allocates, fills and touches every array before anything is timed
  bitsim::bench::BestRateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  print_ratio_table(reporter.best, thread_counts);
  return 0;
}
