// Training throughput of the simulator's GPT (models/train, issue #10): tokens/s of one
// full training step (forward, backward, AdamW) per recipe, with the bit-defined
// sequential fp32 accumulation (the default) and with OpenBLAS sgemm (order=blas), on 1
// and 2 threads (oneTBB and OpenBLAS both limited). Two sizes:
//   2m   (default): d = 256, 3 layers, 4 heads, batch 8 x 64 tokens: 2.37M non-embedding
//        parameters (2.45M in all), the ~2M-parameter GPT of issue #10;
//   tiny: d = 64, 2 layers, 4 heads, batch 8 x 64 tokens (100K), the CI model.
// The table at the end gives tokens/s and each recipe's time relative to fp32 under the
// same accumulation and thread count, measured in the same run (target for fp8, mxfp8,
// nvfp4: <= 3x); "fp32+gelu_f32" is fp32 with the float32 GELU (gelu: tanh_f32). Rates
// on 1 thread are per CPU-second of the (only) working thread, on 2 threads per wall
// second. The PyTorch comparison is bench/pytorch/train_vs_pytorch.sh (wall clock) and
// train_cpu_vs_pytorch.sh (CPU time).
//
//   build/bench/train_bench [--size=2m|tiny] [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <tbb/global_control.h>

#include "best_rate_reporter.hpp"
#include "models/train/corpus.hpp"
#include "models/train/gpt.hpp"
#include "models/train/optimizer.hpp"
#include "sim/gemm/accum_spec.hpp"

extern "C" void openblas_set_num_threads(int);

namespace {

namespace tr = bitsim::models::train;

struct Size {
  const char* name;
  tr::GptConfig model;
  bitsim::sim::Index batch, seq;
};
// GptConfig fields: vocab, context, d_model, layers, heads.
const Size kSizes[] = {{"2m", {256, 64, 256, 3, 4}, 8, 64}, {"tiny", {256, 64, 64, 2, 4}, 8, 64}};

// "fp32+gelu_f32" is fp32 with the float32 GELU (GptConfig::gelu = tanh_f32, PyTorch's
// fp32 numerics); every other row uses the default float64 GELU.
const char* const kRecipes[] = {"fp32", "fp32+gelu_f32", "bf16", "fp8", "mxfp8", "nvfp4"};
constexpr std::string_view kGeluF32Suffix = "+gelu_f32";
const char* const kAccums[] = {"seq", "blas"};
constexpr int kThreads[] = {1, 2};

void train_step(benchmark::State& state, Size size, std::string recipe_name, std::string accum, int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  openblas_set_num_threads(threads);
  tr::GptConfig config = size.model;
  if (recipe_name.ends_with(kGeluF32Suffix)) {
    recipe_name.resize(recipe_name.size() - kGeluF32Suffix.size());
    config.gelu = bitsim::sim::GeluApprox::tanh_f32;
  }
  tr::Recipe recipe = tr::Recipe::preset(recipe_name);
  if (accum == "blas") recipe.set_accumulation(bitsim::sim::AccumSpec::blas());
  tr::Gpt model(config, 0);
  tr::Optimizer opt(tr::OptimizerSpec{}, tr::MasterWeights{}, tr::LossScaling{}, model);
  const tr::Corpus corpus = tr::builtin_corpus();
  const auto tokens = corpus.batch(0, 0, size.batch, size.seq);
  std::int64_t step = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.loss(tokens, size.batch, recipe, step, true));
    opt.step(model, step++, 1000);
  }
  state.SetItemsProcessed(state.iterations() * size.batch * size.seq);
}

std::string name(const char* recipe, const char* accum, int threads) {
  return std::string("train_step/") + recipe + "/" + accum + "/threads:" + std::to_string(threads);
}

}  // namespace

int main(int argc, char** argv) {
  Size size = kSizes[0];
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--size=", 7) != 0) {
      args.push_back(argv[i]);
      continue;
    }
    bool found = false;
    for (const Size& s : kSizes)
      if (std::strcmp(argv[i] + 7, s.name) == 0) size = s, found = true;
    if (!found) {
      std::fprintf(stderr, "train_bench: unknown %s (valid: --size=2m, --size=tiny)\n", argv[i]);
      return 2;
    }
  }
  const auto& m = size.model;
  std::printf("GPT %s: d = %lld, %lld layers, %lld heads, batch %lld x %lld tokens, %lld non-embedding parameters\n",
              size.name, static_cast<long long>(m.d_model), static_cast<long long>(m.layers),
              static_cast<long long>(m.heads), static_cast<long long>(size.batch), static_cast<long long>(size.seq),
              static_cast<long long>(m.non_embedding_parameters()));
  for (const char* accum : kAccums)
    for (int threads : kThreads)
      for (const char* recipe : kRecipes)
      {
        auto* b = benchmark::RegisterBenchmark(name(recipe, accum, threads).c_str(), train_step, size, recipe, accum,
                                               threads);
        b->Unit(benchmark::kMillisecond);
        // One thread does all the work on the calling thread (oneTBB and OpenBLAS limited to
        // 1), so its rate is per CPU-second, which a busy shared machine barely disturbs;
        // with more threads only the wall clock counts.
        if (threads > 1) b->UseRealTime();
      }
  std::string storage;
  bitsim::bench::add_default_repetitions(args, storage);
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  bitsim::bench::BestRateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  std::printf("\n%-14s %-5s %7s %12s %14s\n", "recipe", "accum", "threads", "tokens/s", "time vs fp32");
  for (const char* accum : kAccums)
    for (int threads : kThreads)
      for (const char* recipe : kRecipes) {
        const auto it = reporter.best.find(name(recipe, accum, threads));
        const auto base = reporter.best.find(name("fp32", accum, threads));
        if (it == reporter.best.end() || base == reporter.best.end()) continue;
        std::printf("%-14s %-5s %7d %12.0f %13.2fx\n", recipe, accum, threads, it->second, base->second / it->second);
      }
}
