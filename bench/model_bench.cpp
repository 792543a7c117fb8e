// Forward-pass throughput of SmolLM2-135M (models/pretrained, scripts/fetch-models.sh):
// tokens/s of a 64-token prefill and of 16 decode steps after it, on 1 and on all threads,
// FP32 and with quantized numerics; and of all-MiniLM-L6-v2 embedding 8 sentences of 32
// tokens (embed8). The ratio that matters — quantized time / FP32 time,
// both measured in the same run — is printed at the end (target: <= 1.5; issue #8).
// Weights are quantized once per session, outside the timed region, as in an evaluation.
//
//   build/bench/model_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "models/io/gguf.hpp"
#include "models/transformer/bert.hpp"
#include "models/transformer/llama.hpp"

namespace {

using bitsim::models::BertModel;
using bitsim::models::BertSession;
using bitsim::models::LlamaModel;
using bitsim::models::LlamaSession;
using bitsim::models::Numerics;

const std::string kModel = BITSIM_PRETRAINED "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

const LlamaModel* model() {
  static std::unique_ptr<LlamaModel> m;
  if (!m && std::filesystem::exists(kModel))
    m = std::make_unique<LlamaModel>(LlamaModel::from_gguf(bitsim::models::GgufFile::open(kModel)));
  return m.get();
}

const std::string kEncoder = BITSIM_PRETRAINED "/all-minilm-l6-v2";

const BertModel* encoder() {
  static std::unique_ptr<BertModel> m;
  if (!m && std::filesystem::exists(kEncoder + "/model.safetensors"))
    m = std::make_unique<BertModel>(BertModel::from_directory(kEncoder));
  return m.get();
}

struct Variant {
  const char* name;
  const char* weights;
  const char* activations;
};
constexpr Variant kVariants[] = {
    {"fp32", "", ""},
    {"w4a8", "int4:per_group(128)", "int8:per_tensor"},
    {"mxfp4", "mxfp4", "mxfp4"},
};


std::vector<std::int32_t> prompt(int n) {
  std::vector<std::int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(1000 + 37 * i);
  return ids;
}

void run(benchmark::State& state, const Variant& v, bool decode) {
  const auto* m = model();
  if (!m) {
    state.SkipWithError("models/pretrained is empty: run scripts/fetch-models.sh");
    return;
  }
  const int threads = int(state.range(0));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(threads));
  LlamaSession session(*m, Numerics::from_options(v.weights, v.activations, "", ""));
  const auto ids = prompt(64);
  int tokens = 0;
  for (auto _ : state) {
    state.PauseTiming();
    session.reset();
    if (decode) (void)session.forward(ids);
    state.ResumeTiming();
    if (decode) {
      for (int i = 0; i < 16; ++i) benchmark::DoNotOptimize(session.forward({std::int32_t(2000 + i)}));
      tokens += 16;
    } else {
      benchmark::DoNotOptimize(session.forward(ids));
      tokens += 64;
    }
  }
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);

}

void run_embed(benchmark::State& state, const Variant& v) {
  const auto* m = encoder();
  if (!m) {
    state.SkipWithError("models/pretrained is empty: run scripts/fetch-models.sh");
    return;
  }
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(state.range(0)));
  const BertSession session(*m, Numerics::from_options(v.weights, v.activations, "", ""));
  std::vector<std::vector<std::int32_t>> sentences;
  for (int s = 0; s < 8; ++s) {
    std::vector<std::int32_t> ids{101};
    for (int i = 0; i < 30; ++i) ids.push_back(2000 + 97 * s + 13 * i);
    ids.push_back(102);
    sentences.push_back(ids);
  }
  int tokens = 0;
  for (auto _ : state)
    for (const auto& ids : sentences) {
      benchmark::DoNotOptimize(session.embed(ids));
      tokens += int(ids.size());
    }
  state.counters["tokens/s"] = benchmark::Counter(tokens, benchmark::Counter::kIsRate);
}

void register_all() {
  for (const auto& v : kVariants)
    for (bool decode : {false, true}) {
      const std::string name = std::string(decode ? "decode16" : "prefill64") + "/" + v.name;
      benchmark::RegisterBenchmark(name.c_str(), [v, decode](benchmark::State& s) { run(s, v, decode); })
          ->Arg(1)
          ->Arg(2)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->Iterations(2);
    }
  for (const auto& v : kVariants)
    benchmark::RegisterBenchmark((std::string("embed8/") + v.name).c_str(), [v](benchmark::State& s) { run_embed(s, v); })
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime()
        ->Iterations(2);
}

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) times_[r.benchmark_name()] = r.GetAdjustedRealTime();
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nquantized time / fp32 time (same run; target <= 1.5):\n");
    for (const char* phase : {"prefill64", "decode16", "embed8"})
      for (const char* variant : {"w4a8", "mxfp4"})
        for (const char* threads : {"1", "2"}) {
          const auto base = times_.find(std::string(phase) + "/fp32/" + threads + "/iterations:2/real_time");
          const auto q = times_.find(std::string(phase) + "/" + variant + "/" + threads + "/iterations:2/real_time");
          if (base != times_.end() && q != times_.end() && base->second > 0)
            std::printf("  %-9s %-6s %s thread(s): %.2f\n", phase, variant, threads, q->second / base->second);
        }
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
}
