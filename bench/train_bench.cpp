// Training throughput of the simulator's tiny GPT (models/train, issue #10): tokens/s of
// one full training step (forward, backward, AdamW) of a 100K-parameter GPT (d = 64,
// 2 layers, 4 heads, batch 8 x 64 tokens), per recipe, with the bit-defined sequential
// fp32 accumulation (the default) and with OpenBLAS sgemm (order=blas), on 1 and 2
// threads. The table at the end gives each recipe's time relative to fp32 under the same
// accumulation and thread count, measured in the same run (target for fp8, mxfp8, nvfp4:
// <= 3x; issue #10).
//
//   build/bench/train_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "best_rate_reporter.hpp"
#include "models/train/corpus.hpp"
#include "models/train/gpt.hpp"
#include "models/train/optimizer.hpp"
#include "sim/gemm/accum_spec.hpp"

namespace {

namespace tr = bitsim::models::train;

const char* const kRecipes[] = {"fp32", "bf16", "fp8", "mxfp8", "nvfp4"};
const char* const kAccums[] = {"seq", "blas"};
constexpr int kThreads[] = {1, 2};

void train_step(benchmark::State& state, std::string recipe_name, std::string accum, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  const tr::GptConfig config{256, 64, 64, 2, 4};
  tr::Recipe recipe = tr::Recipe::preset(recipe_name);
  if (accum == "blas") recipe.set_accumulation(bitsim::sim::AccumSpec::blas());
  tr::Gpt model(config, 0);
  tr::Optimizer opt(tr::OptimizerSpec{}, tr::MasterWeights{}, tr::LossScaling{}, model);
  const tr::Corpus corpus = tr::builtin_corpus();
  const auto tokens = corpus.batch(0, 0, 8, 64);
  std::int64_t step = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.loss(tokens, 8, recipe, step, true));
    opt.step(model, step++, 1000);
  }
  state.SetItemsProcessed(state.iterations() * 8 * 64);
}

std::string name(const char* recipe, const char* accum, int threads) {
  return std::string("train_step/") + recipe + "/" + accum + "/threads:" + std::to_string(threads);
}

}  // namespace

int main(int argc, char** argv) {
  for (const char* accum : kAccums)
    for (int threads : kThreads)
      for (const char* recipe : kRecipes)
        benchmark::RegisterBenchmark(name(recipe, accum, threads).c_str(), train_step, recipe, accum, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
  std::vector<char*> args(argv, argv + argc);
  std::string storage;
  bitsim::bench::add_default_repetitions(args, storage);
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  bitsim::bench::BestRateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\n%-8s %-5s %7s %12s %14s\n", "recipe", "accum", "threads", "tokens/s", "time vs fp32");
  for (const char* accum : kAccums)
    for (int threads : kThreads)
      for (const char* recipe : kRecipes) {
        const auto it = reporter.best.find(name(recipe, accum, threads));
        const auto base = reporter.best.find(name("fp32", accum, threads));
        if (it == reporter.best.end() || base == reporter.best.end()) continue;
        std::printf("%-8s %-5s %7d %12.0f %13.2fx\n", recipe, accum, threads, it->second, base->second / it->second);
      }
}
