// gemm_bench: the emulated GEMM against OpenBLAS sgemm, measured in the same run.
//   sgemm              cblas_sgemm on the fp32 inputs (the baseline)
//   fq_w4g128_ae4m3    W = int4:sym:g128, A = e4m3fn per-tensor (absmax / 448) fake-quantized
//                      with formats::BlockFormat / Format directly, then FP32 accumulation
//                      through the BLAS fast path (quantization of both operands timed too,
//                      side by side, into buffers allocated once per case)
//   mxfp8 / mxfp4      both operands as OCP MX blocks (mxfp8_e4m3 / mxfp4), then sgemm
//   fq_quantspec       fq_w4g128_ae4m3 through sim/quant's QuantSpec + fake_quantize
//                      (quant_gemm.hpp), the same values by another road
//   fp32_defined       FP32 rne accumulation in the bit-defined sequential order
//   bf16_per_add       every addition rounded to bf16 (rne), the bit-defined kernel
//   fp16_per_add       the same in fp16 (rne), whose narrower range the kernel checks
// Shapes (M x N x K): 1024x1024x1024 and 4096x4096x1024; --small runs 256x256x256 and
// 512x512x256 instead. --threads=T (default 2) sets both oneTBB's and OpenBLAS's thread
// count. After Google Benchmark's table, every case is printed as a ratio of the sgemm
// time of the same shape (with --benchmark_repetitions=R, of the fastest repetitions).
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>

#include <tbb/parallel_for.h>
#include <tbb/parallel_invoke.h>
#include <tbb/parallel_reduce.h>

#include "formats/block/block_quantize.hpp"
#include "formats/block/block_spans.hpp"
#include "sim/gemm/quant_gemm.hpp"

extern "C" void openblas_set_num_threads(int);

namespace {

using namespace bitsim::sim;

int g_threads = 2;

struct Operands {
  TensorF a;   // [M, K] activations
  TensorF w;   // [N, K] weights (Linear layout), used with transpose_b
};

const Operands& operands(Index M, Index N, Index K) {
  static std::map<std::string, Operands> cache;
  const std::string key = std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::mt19937_64 gen(M * 31 + N * 7 + K);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(std::size_t(M * K)), w(std::size_t(N * K));
  for (float& x : a) x = normal(gen);
  for (float& x : w) x = 0.05f * normal(gen);
  return cache[key] = {TensorF(Shape{M, K}, std::move(a)), TensorF(Shape{N, K}, std::move(w))};
}

void run_case(benchmark::State& state, const QuantizedOperands& quant, const AccumSpec& spec) {
  const Index M = state.range(0), N = state.range(1), K = state.range(2);
  const Operands& op = operands(M, N, K);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(g_threads));
  openblas_set_num_threads(g_threads);
  for (auto _ : state) {
    TensorF c = gemm(op.a, op.w, quant, spec, {.transpose_b = true, .bias = std::nullopt});
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M) * double(N) * double(K),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void bm_sgemm(benchmark::State& state) {
  const Index M = state.range(0), N = state.range(1), K = state.range(2);
  const Operands& op = operands(M, N, K);
  openblas_set_num_threads(g_threads);
  TensorF c(Shape{M, N});
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(M), int(N), int(K), 1.0f,
                op.a.data(), int(K), op.w.data(), int(K), 0.0f, c.data(), int(N));
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M) * double(N) * double(K),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

// Fake quantization straight through formats/, into buffers allocated once per case (as a
// model reuses its activation buffers): a block format over rows of K, or a per-tensor
// scaled element format (scale = absmax / max).
void block_fake_quant(const TensorF& x, const bitsim::formats::BlockFormat& f, TensorF& out) {
  bitsim::formats::block_quantize(f, x.span(), std::size_t(x.size(0)), std::size_t(x.size(1)),
                                  out.span());
}
// One pass after the absmax: each slice of 2^14 elements is divided by the scale,
// rounded and multiplied back while it sits in cache (the same values as three passes).
void per_tensor_fake_quant(const TensorF& x, const bitsim::formats::Format& f, TensorF& out) {
  const auto in = x.span();
  const float amax = std::bit_cast<float>(tbb::parallel_reduce(
      tbb::blocked_range<std::size_t>(0, in.size(), 1 << 16), std::uint32_t(0),
      [&](const tbb::blocked_range<std::size_t>& r, std::uint32_t m) {
        return std::max(m, bitsim::formats::block_detail::finite_amax_pattern(in.data() + r.begin(),
                                                                             r.size()));
      },
      [](std::uint32_t a, std::uint32_t b) { return std::max(a, b); }));
  const float scale = amax > 0 ? amax / float(f.max_value()) : 1.0f;
  const auto o = out.span();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size(), 1 << 14),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      const auto slice = o.subspan(r.begin(), r.size());
                      for (std::size_t i = r.begin(); i < r.end(); ++i) o[i] = in[i] / scale;
                      f.quantize(std::span<const float>(slice), slice);
                      for (float& v : slice) v *= scale;
                    });
}

template <class QuantizeA, class QuantizeW>
void run_quantized(benchmark::State& state, QuantizeA quantize_a, QuantizeW quantize_w) {
  const Index M = state.range(0), N = state.range(1), K = state.range(2);
  const Operands& op = operands(M, N, K);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, std::size_t(g_threads));
  openblas_set_num_threads(g_threads);
  TensorF aq(op.a.shape()), wq(op.w.shape());
  for (auto _ : state) {
    // Both operands quantized side by side (each in parallel too), then FP32 via BLAS.
    tbb::parallel_invoke([&] { quantize_a(op.a, aq); }, [&] { quantize_w(op.w, wq); });
    TensorF c = gemm(aq, wq, AccumSpec::blas(), {.transpose_b = true, .bias = std::nullopt});
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M) * double(N) * double(K),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void bm_fake_quant(benchmark::State& state) {
  const auto e4m3 = bitsim::formats::Format::parse("e4m3fn");
  const auto int4 = bitsim::formats::BlockFormat::parse("int4:sym:g128");
  run_quantized(state, [&](const TensorF& x, TensorF& out) { per_tensor_fake_quant(x, e4m3, out); },
                [&](const TensorF& x, TensorF& out) { block_fake_quant(x, int4, out); });
}
void bm_mx(benchmark::State& state, const char* spec) {
  const auto f = bitsim::formats::BlockFormat::parse(spec);
  auto q = [&](const TensorF& x, TensorF& out) { block_fake_quant(x, f, out); };
  run_quantized(state, q, q);
}
void bm_mxfp8(benchmark::State& state) { bm_mx(state, "mxfp8_e4m3"); }
void bm_mxfp4(benchmark::State& state) { bm_mx(state, "mxfp4"); }
void bm_fake_quant_quantspec(benchmark::State& state) {
  run_case(state, {parse_quant_spec("e4m3fn:per_tensor"), parse_quant_spec("int4:sym:g128")},
           AccumSpec::blas());
}
void bm_fp32_defined(benchmark::State& state) { run_case(state, {}, AccumSpec{}); }
void bm_bf16_per_add(benchmark::State& state) {
  run_case(state, {}, AccumSpec::parse("acc=bf16:rne"));
}
void bm_fp16_per_add(benchmark::State& state) {
  run_case(state, {}, AccumSpec::parse("acc=fp16:rne"));
}

// Keeps each case's real time per iteration, by benchmark name: with
// --benchmark_repetitions=R the fastest repetition (the least disturbed on a shared machine).
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  std::map<std::string, double> seconds;
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs)
      if (r.run_type == Run::RT_Iteration) {
        const double s = r.GetAdjustedRealTime() / benchmark::GetTimeUnitMultiplier(r.time_unit);
        auto [it, fresh] = seconds.emplace(r.benchmark_name(), s);
        if (!fresh) it->second = std::min(it->second, s);  // the fastest repetition
      }
    ConsoleReporter::ReportRuns(runs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  bool small = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--small") == 0) small = true;
    else if (std::strncmp(argv[i], "--threads=", 10) == 0) g_threads = std::atoi(argv[i] + 10);
    else args.push_back(argv[i]);
  }
  const std::vector<std::vector<std::int64_t>> shapes =
      small ? std::vector<std::vector<std::int64_t>>{{256, 256, 256}, {512, 512, 256}}
            : std::vector<std::vector<std::int64_t>>{{1024, 1024, 1024}, {4096, 4096, 1024}};
  struct Case { const char* name; void (*fn)(benchmark::State&); };
  const Case cases[] = {{"sgemm", bm_sgemm},
                        {"fq_w4g128_ae4m3", bm_fake_quant},
                        {"mxfp8", bm_mxfp8},
                        {"mxfp4", bm_mxfp4},
                        {"fq_quantspec", bm_fake_quant_quantspec},
                        {"fp32_defined", bm_fp32_defined},
                        {"bf16_per_add", bm_bf16_per_add},
                        {"fp16_per_add", bm_fp16_per_add}};
  for (const auto& shape : shapes)
    for (const Case& c : cases)
      benchmark::RegisterBenchmark(c.name, c.fn)
          ->Args(shape)
          ->ArgNames({"M", "N", "K"})
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(0.5);
  int n = int(args.size());
  benchmark::Initialize(&n, args.data());
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  std::printf("\nratios against sgemm of the same shape (%d threads; lower is faster)\n",
              g_threads);
  for (const auto& shape : shapes) {
    const std::string suffix = "/M:" + std::to_string(shape[0]) + "/N:" +
                               std::to_string(shape[1]) + "/K:" + std::to_string(shape[2]);
    // Run names carry further "/option" parts after the shape.
    auto seconds = [&](const std::string& name) -> double {
      const std::string prefix = name + suffix + "/";
      for (const auto& [run, s] : reporter.seconds)
        if (run.rfind(prefix, 0) == 0 || run == name + suffix) return s;
      return 0;
    };
    const double base = seconds("sgemm");
    if (base == 0) continue;
    for (const Case& c : cases) {
      const double t = seconds(c.name);
      if (t == 0) continue;
      std::printf("  %-18s %s  %8.2fx  (%.1f ms)\n", c.name, suffix.c_str() + 1, t / base,
                  t * 1e3);
    }
  }
  benchmark::Shutdown();
  return 0;
}
