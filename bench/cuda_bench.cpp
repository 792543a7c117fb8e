// GPU throughput (issue #7), each against a baseline measured in the same run:
//  * quantize (formats::cuda::quantize_device) in GB/s (bytes read + written), as a fraction
//    of the device's measured copy bandwidth (cudaMemcpy device to device, same size);
//  * the emulated GEMM (sim::cuda::gemm_device, one thread per output running the
//    bit-defined accumulation) in GFLOP/s, as a fraction of cuBLAS SGEMM and of cuBLAS BF16
//    GEMM (FP32 accumulation) on the same shape.
// Times are CUDA-event times of the kernels alone (data stays on the device). Without a
// GPU it prints "no GPU: ..." and exits 0.
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/best_rate_reporter.hpp"
#include "formats/cuda/quantize_cuda.hpp"
#include "sim/cuda/gemm_cuda.hpp"

namespace {

namespace bf = bitsim::formats;
namespace bs = bitsim::sim;

void check(cudaError_t e) {
  if (e != cudaSuccess) throw std::runtime_error(cudaGetErrorString(e));
}

// Times `launch` with CUDA events, one benchmark iteration per launch.
template <class Launch>
void time_device(benchmark::State& state, Launch&& launch) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start));
  check(cudaEventCreate(&stop));
  launch();  // warm-up
  check(cudaDeviceSynchronize());
  for (auto _ : state) {
    check(cudaEventRecord(start));
    launch();
    check(cudaEventRecord(stop));
    check(cudaEventSynchronize(stop));
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop));
    state.SetIterationTime(double(ms) / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

constexpr std::size_t kElements = std::size_t(1) << 26;  // 256 MiB of float32

struct QuantizeBuffers {
  float* in = nullptr;
  float* out = nullptr;
  QuantizeBuffers() {
    check(cudaMalloc(&in, kElements * sizeof(float)));
    check(cudaMalloc(&out, kElements * sizeof(float)));
    std::vector<float> host(kElements);
    for (std::size_t i = 0; i < kElements; ++i) host[i] = float(int(i * 2654435761u % 20001) - 10000) / 997.0f;
    check(cudaMemcpy(in, host.data(), kElements * sizeof(float), cudaMemcpyHostToDevice));
  }
};
QuantizeBuffers& buffers() {
  static QuantizeBuffers b;
  return b;
}

void set_bytes(benchmark::State& state) {
  // Read + written bytes; items = elements.
  state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(2 * kElements * sizeof(float)));
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(kElements));
}

void BM_DeviceCopy(benchmark::State& state) {
  auto& b = buffers();
  time_device(state, [&] { check(cudaMemcpyAsync(b.out, b.in, kElements * sizeof(float), cudaMemcpyDeviceToDevice)); });
  set_bytes(state);
}

void BM_Quantize(benchmark::State& state, const char* format, const char* mode) {
  auto& b = buffers();
  const bf::Format f = bf::Format::parse(format);
  const bf::RoundingSpec r = bf::parse_rounding(mode);
  time_device(state, [&] { bf::cuda::quantize_device(f, b.in, b.out, kElements, r, {1, 2}); });
  set_bytes(state);
}

// GEMM operands on the device: A [M, K], B [K, N] (float and bf16 copies), C.
struct GemmBuffers {
  int M, N, K;
  float *a = nullptr, *b = nullptr, *c = nullptr;
  __nv_bfloat16 *a16 = nullptr, *b16 = nullptr;
  double* c64 = nullptr;
  GemmBuffers(int m, int n, int k) : M(m), N(n), K(k) {
    std::vector<float> ha(std::size_t(M) * K), hb(std::size_t(K) * N);
    for (std::size_t i = 0; i < ha.size(); ++i) ha[i] = float(int(i * 2654435761u % 2001) - 1000) / 1000.0f;
    for (std::size_t i = 0; i < hb.size(); ++i) hb[i] = float(int(i * 40503u % 2001) - 1000) / 1000.0f;
    std::vector<__nv_bfloat16> ha16(ha.begin(), ha.end()), hb16(hb.begin(), hb.end());
    check(cudaMalloc(&a, ha.size() * 4));
    check(cudaMalloc(&b, hb.size() * 4));
    check(cudaMalloc(&c, std::size_t(M) * N * 4));
    check(cudaMalloc(&c64, std::size_t(M) * N * 8));
    check(cudaMalloc(&a16, ha.size() * 2));
    check(cudaMalloc(&b16, hb.size() * 2));
    check(cudaMemcpy(a, ha.data(), ha.size() * 4, cudaMemcpyHostToDevice));
    check(cudaMemcpy(b, hb.data(), hb.size() * 4, cudaMemcpyHostToDevice));
    check(cudaMemcpy(a16, ha16.data(), ha16.size() * 2, cudaMemcpyHostToDevice));
    check(cudaMemcpy(b16, hb16.data(), hb16.size() * 2, cudaMemcpyHostToDevice));
  }
};
constexpr int kGemmSize = 1024;
GemmBuffers& gemm_buffers() {
  static GemmBuffers g(kGemmSize, kGemmSize, kGemmSize);
  return g;
}
cublasHandle_t cublas() {
  static cublasHandle_t handle = [] {
    cublasHandle_t h;
    if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cublasCreate failed");
    return h;
  }();
  return handle;
}

void set_flops(benchmark::State& state, const GemmBuffers& g) {
  state.SetItemsProcessed(std::int64_t(state.iterations()) * 2 * std::int64_t(g.M) * g.N * g.K);  // flops
}

void BM_CublasSgemm(benchmark::State& state) {
  auto& g = gemm_buffers();
  const float one = 1, zero = 0;
  cublasSetMathMode(cublas(), CUBLAS_PEDANTIC_MATH);  // true FP32, no TF32
  time_device(state, [&] {
    cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, g.N, g.M, g.K, &one, g.b, g.N, g.a, g.K, &zero, g.c, g.N);
  });
  set_flops(state, g);
}

void BM_CublasBf16(benchmark::State& state) {
  auto& g = gemm_buffers();
  const float one = 1, zero = 0;
  cublasSetMathMode(cublas(), CUBLAS_DEFAULT_MATH);
  time_device(state, [&] {
    cublasGemmEx(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, g.N, g.M, g.K, &one, g.b16, CUDA_R_16BF, g.N, g.a16, CUDA_R_16BF,
                 g.K, &zero, g.c, CUDA_R_32F, g.N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  });
  set_flops(state, g);
}

void BM_EmulatedGemm(benchmark::State& state, const char* spec_text) {
  auto& g = gemm_buffers();
  const bs::AccumSpec spec = bs::AccumSpec::parse(spec_text);
  time_device(state, [&] { bs::cuda::gemm_device(g.a, g.b, nullptr, g.c64, g.M, g.N, g.K, false, spec); });
  set_flops(state, g);
}

}  // namespace

int main(int argc, char** argv) {
  if (bf::cuda::device_count() == 0) {
    std::printf("%s\n", bf::cuda::device_description().c_str());
    return 0;
  }
  std::printf("device: %s\n", bf::cuda::device_description().c_str());
  benchmark::RegisterBenchmark("copy/device_to_device", BM_DeviceCopy)->UseManualTime()->Unit(benchmark::kMillisecond);
  const std::pair<const char*, const char*> quantize_cases[] = {
      {"bf16", "rne"},   {"fp16", "rne"},  {"e4m3fn", "rne"}, {"e4m3fn", "sr"},   {"e5m2", "rz"},
      {"e2m1fn", "rne"}, {"int8", "rne"},  {"posit16", "rne"}, {"posit8", "sr"}, {"lns16", "rne"}};
  for (const auto& [format, mode] : quantize_cases)
    benchmark::RegisterBenchmark(("quantize/" + std::string(format) + ":" + mode).c_str(), BM_Quantize, format, mode)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("gemm/cublas_sgemm", BM_CublasSgemm)->UseManualTime()->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("gemm/cublas_bf16", BM_CublasBf16)->UseManualTime()->Unit(benchmark::kMillisecond);
  const char* gemm_specs[] = {"acc=fp32", "acc=bf16", "acc=bf16,chunk=128", "acc=fp16:sr,seed=1",
                              "acc=bf16,order=pairwise", "acc=bf16,prod=e4m3fn,split=4"};
  for (const char* spec : gemm_specs)
    benchmark::RegisterBenchmark((std::string("gemm/emulated ") + spec).c_str(), BM_EmulatedGemm, spec)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);

  std::vector<char*> args(argv, argv + argc);
  std::string repetitions;
  bitsim::bench::add_default_repetitions(args, repetitions, 3);
  int count = int(args.size());
  benchmark::Initialize(&count, args.data());
  bitsim::bench::BestRateReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const auto& best = reporter.best;
  const auto rate = [&](const std::string& name) { const auto it = best.find(name); return it == best.end() ? 0.0 : it->second; };
  const double copy = rate("copy/device_to_device");
  std::printf("\nquantize, fraction of device copy bandwidth (%.0f GB/s read+write, %zu floats):\n",
              copy * 8 / 1e9, kElements);
  for (const auto& [format, mode] : quantize_cases) {
    const std::string name = "quantize/" + std::string(format) + ":" + mode;
    std::printf("  %-20s %8.0f GB/s  %5.2f x copy\n", name.c_str() + 9, rate(name) * 8 / 1e9, rate(name) / copy);
  }
  const double sgemm = rate("gemm/cublas_sgemm"), bf16 = rate("gemm/cublas_bf16");
  std::printf("\nGEMM %dx%dx%d: cuBLAS SGEMM %.0f GFLOP/s, cuBLAS BF16 %.0f GFLOP/s\n", kGemmSize, kGemmSize, kGemmSize,
              sgemm / 1e9, bf16 / 1e9);
  for (const char* spec : gemm_specs) {
    const double r = rate(std::string("gemm/emulated ") + spec);
    std::printf("  emulated %-32s %8.1f GFLOP/s  %.4f x SGEMM  %.4f x BF16\n", spec, r / 1e9, r / sgemm, r / bf16);
  }
  return 0;
}
