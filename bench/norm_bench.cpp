// LayerNorm forward and backward on the trainer's shapes (512 rows of 256 floats: batch
// 8 x 64 tokens, d = 256), one thread, as ratios to a plain float copy of the same rows
// measured in the same run. "dispatch" is the algorithm before the float32 fast paths
// (one out-of-line Precision call per statistics operation, a float64 xhat buffer for the
// whole tensor in the backward), kept here only as a yardstick; the library's paths give
// the same bits (tests/sim/test_norm_fast_paths.cpp).
//
//   build/bench/norm_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <tbb/global_control.h>

#include "sim/grad/norm_grad.hpp"
#include "sim/kernels/norms.hpp"

namespace {

using bitsim::sim::Index;
using bitsim::sim::Precision;
using bitsim::sim::Shape;
using bitsim::sim::TensorF;

constexpr Index kRows = 512, kWidth = 256;

TensorF rows(unsigned seed) {
  std::vector<float> v(static_cast<std::size_t>(kRows * kWidth));
  unsigned s = seed;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>(s >> 8) * 0x1p-22f - 2.0f;
  }
  return TensorF(Shape{kRows, kWidth}, v);
}

void set_items(benchmark::State& state) { state.SetItemsProcessed(state.iterations() * kRows * kWidth); }

void BM_copy(benchmark::State& state) {
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const TensorF x = rows(1);
  std::vector<float> out(static_cast<std::size_t>(kRows * kWidth));
  for (auto _ : state) {
    std::copy_n(x.data(), kRows * kWidth, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_items(state);
}

void BM_layer_norm(benchmark::State& state) {
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const TensorF x = rows(1), g = rows(2).reshaped(Shape{kRows * kWidth}).slice(0, 0, kWidth).contiguous();
  for (auto _ : state) benchmark::DoNotOptimize(bitsim::sim::layer_norm(x, g, g));
  set_items(state);
}

// The forward before the fast path: every statistics operation one Precision() call.
void BM_layer_norm_dispatch(benchmark::State& state) {
  const TensorF x = rows(1);
  const Precision P;
  std::vector<float> out(static_cast<std::size_t>(kRows * kWidth));
  for (auto _ : state) {
    const float* in = x.data();
    for (Index r = 0; r < kRows; ++r) {
      const float* row = in + r * kWidth;
      double sum = 0.0, sq = 0.0;
      for (Index i = 0; i < kWidth; ++i) sum = P.add(sum, row[i]);
      const double mean = P.div(sum, kWidth);
      for (Index i = 0; i < kWidth; ++i) {
        const double d = P.sub(row[i], mean);
        sq = P.add(sq, P.mul(d, d));
      }
      const float rstd = static_cast<float>(P.div(1.0, P.sqrt(P.add(P.div(sq, kWidth), 1e-5))));
      for (Index i = 0; i < kWidth; ++i)
        out[r * kWidth + i] = static_cast<float>(P.round((row[i] - static_cast<float>(mean)) * rstd));
    }
    benchmark::DoNotOptimize(out.data());
  }
  set_items(state);
}

void BM_layer_norm_backward(benchmark::State& state) {
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const TensorF x = rows(1), dy = rows(3);
  const TensorF g = rows(2).reshaped(Shape{kRows * kWidth}).slice(0, 0, kWidth).contiguous();
  for (auto _ : state) benchmark::DoNotOptimize(bitsim::sim::layer_norm_backward(x, g, dy));
  set_items(state);
}

// The float64 backward as it was computed before (double rows, xhat stored for the tensor).
void BM_layer_norm_backward_double(benchmark::State& state) {
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const TensorF xf = rows(1), dyf = rows(3);
  const TensorF gf = rows(2).reshaped(Shape{kRows * kWidth}).slice(0, 0, kWidth).contiguous();
  const auto x = xf.cast<double>(), dy = dyf.cast<double>(), g = gf.cast<double>();
  for (auto _ : state) benchmark::DoNotOptimize(bitsim::sim::layer_norm_backward(x, g, dy));
  set_items(state);
}

}  // namespace

BENCHMARK(BM_copy)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_layer_norm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_layer_norm_dispatch)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_layer_norm_backward)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_layer_norm_backward_double)->Unit(benchmark::kMicrosecond);
BENCHMARK_MAIN();
