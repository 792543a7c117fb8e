// arith_bench: throughput of Arithmetic::apply (formats/arithmetic.hpp) for each operation
// in posit<16,2>, posit<8,2>, lns16 and e4m3fn, on 2^16-element spans of codes, against the
// same operation on native float spans measured in the same run. One thread (oneTBB pinned
// to 1 with tbb::global_control): the ratio is per core. After Google Benchmark's output a
// table gives each format's ops/s as a ratio of native float's (best repetition of each).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tbb/global_control.h>

#include "formats/arithmetic.hpp"
#include "formats/format.hpp"
#include "bench/best_rate_reporter.hpp"

namespace {

using namespace bitsim::formats;

constexpr std::size_t kElements = std::size_t(1) << 16;
const char* const kFormats[] = {"posit16", "posit8", "lns16", "e4m3fn"};
constexpr Operation kOps[] = {Operation::add, Operation::sub, Operation::mul,
                              Operation::div, Operation::fma, Operation::sqrt};

// Operands: N(0, 1) samples (absolute values for sqrt), as floats and as codes per format.
struct Operands {
  std::vector<float> a, b, c, out;
};

const Operands& native_operands() {
  static const Operands o = [] {
    Operands o;
    std::mt19937_64 gen(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (auto* v : {&o.a, &o.b, &o.c}) {
      v->resize(kElements);
      for (float& x : *v) x = normal(gen);
    }
    o.out.resize(kElements);
    return o;
  }();
  return o;
}

template <Operation Op>
float native(float a, float b, float c) {
  if constexpr (Op == Operation::add) return a + b;
  else if constexpr (Op == Operation::sub) return a - b;
  else if constexpr (Op == Operation::mul) return a * b;
  else if constexpr (Op == Operation::div) return a / b;
  else if constexpr (Op == Operation::fma) return std::fma(a, b, c);
  else return std::sqrt(std::fabs(a));
}

template <Operation Op>
void bench_native(benchmark::State& state) {
  const Operands& in = native_operands();
  std::vector<float> out(kElements);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kElements; ++i) out[i] = native<Op>(in.a[i], in.b[i], in.c[i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(kElements));
}

void bench_arith(benchmark::State& state, const Format* format, Operation op, RoundingSpec rounding) {
  const Arithmetic arith(*format);
  const Operands& in = native_operands();
  std::vector<std::uint64_t> a(kElements), b(kElements), c(kElements), out(kElements);
  for (std::size_t i = 0; i < kElements; ++i) {
    a[i] = arith.from_double(op == Operation::sqrt ? std::fabs(in.a[i]) : in.a[i]);
    b[i] = arith.from_double(in.b[i]);
    c[i] = arith.from_double(in.c[i]);
  }
  for (auto _ : state) {
    arith.apply(op, a, b, c, out, rounding, {1, 0});
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(kElements));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  std::string repetitions = "--benchmark_repetitions=3";
  if (std::none_of(args.begin(), args.end(),
                   [](const char* a) { return std::string_view(a).starts_with("--benchmark_repetitions"); })) {
    args.push_back(repetitions.data());
  }
  argc = int(args.size());
  argv = args.data();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  tbb::global_control one_thread(tbb::global_control::max_allowed_parallelism, 1);

  benchmark::RegisterBenchmark("native/add", bench_native<Operation::add>);
  benchmark::RegisterBenchmark("native/sub", bench_native<Operation::sub>);
  benchmark::RegisterBenchmark("native/mul", bench_native<Operation::mul>);
  benchmark::RegisterBenchmark("native/div", bench_native<Operation::div>);
  benchmark::RegisterBenchmark("native/fma", bench_native<Operation::fma>);
  benchmark::RegisterBenchmark("native/sqrt", bench_native<Operation::sqrt>);

  static std::vector<Format> formats;
  std::vector<std::string> present;
  for (const char* name : kFormats) {
    try {
      formats.push_back(Format::parse(name));
      present.push_back(name);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "arith_bench: skipping %s: %s\n", name, e.what());
    }
  }
  for (std::size_t f = 0; f < formats.size(); ++f) {
    for (const Operation op : kOps) {
      for (const char* mode : {"rne", "sr"}) {
        if (std::string_view(mode) == "sr" && present[f] != "e4m3fn") continue;
        const std::string name = "arith/" + present[f] + "/" + std::string(to_string(op)) + "/" + mode;
        benchmark::RegisterBenchmark(name.c_str(), bench_arith, &formats[f], op, parse_rounding(mode));
      }
    }
  }

  bitsim::bench::BestRateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const auto rate = [&](const std::string& name) {
    const auto it = reporter.best.find(name);
    return it == reporter.best.end() ? 0.0 : it->second;
  };
  std::printf("\nOne thread, %zu-element spans, best repetition: Mops/s and the ratio to the same\n"
              "operation on native float (1.0 = as fast as float; 0.02 = 50 times slower)\n", kElements);
  std::printf("%-8s %-5s %-4s %10s %10s %10s\n", "format", "op", "mode", "Mops/s", "float", "ratio");
  for (const auto& name : present) {
    for (const Operation op : kOps) {
      for (const char* mode : {"rne", "sr"}) {
        const double r = rate("arith/" + name + "/" + std::string(to_string(op)) + "/" + mode);
        const double base = rate("native/" + std::string(to_string(op)));
        if (r == 0 || base == 0) continue;
        std::printf("%-8s %-5s %-4s %10.2f %10.1f %10.4f\n", name.c_str(), std::string(to_string(op)).c_str(), mode,
                    r / 1e6, base / 1e6, r / base);
      }
    }
  }
  return 0;
}
