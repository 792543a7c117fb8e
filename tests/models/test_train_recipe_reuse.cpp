// Quantized-operand reuse in training (sim/grad/linear_grad.hpp, LinearSpec::reuse_operands):
// a linear layer quantizes x, W and dy once per step when two of its GEMMs use the same
// transpose-invariant spec. These tests pin that the reuse changes no bit: 3 training steps
// of every recipe give the same losses and weights with and without it, and the same
// values as the code before the reuse existed (pinned below).
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <random>

#include "models/train/corpus.hpp"
#include "models/train/recipe.hpp"
#include "models/train/trainer.hpp"
#include "sim/grad/linear_grad.hpp"
#include "sim/quant/quant_spec.hpp"

using namespace bitsim::models::train;
namespace sim = bitsim::sim;

namespace {

struct Run {
  std::vector<double> losses;  // train loss per step, then the validation loss
  std::uint64_t weights = 0;   // FNV-1a over the bits of every parameter, in order
};

// d = 40: weights of 120 x 40, 160 x 40, 40 x 160 leave partial 16 x 16 tiles and 32-blocks.
Run train_3_steps(const std::string& recipe, bool reuse) {
  TrainConfig c;
  c.model = {256, 32, 40, 2, 4};
  c.recipe = Recipe::parse(recipe);
  c.recipe.linear.reuse_operands = reuse;
  c.optimizer.lr = 1e-2;
  c.optimizer.warmup = 2;
  c.steps = 3;
  c.batch = 2;
  c.seq = 32;  // 64 tokens: a multiple of 16 for NVFP4's Hadamard blocks
  c.seed = 11;
  c.eval_windows = 2;
  const auto r = train(c, builtin_corpus());
  Run out;
  for (const auto& row : r.log) out.losses.push_back(row.train_loss);
  out.losses.push_back(r.log.back().val_loss);
  std::uint64_t h = 1469598103934665603ull;
  for (const auto& p : r.model.parameters())
    for (float v : p.value.to_vector()) h = (h ^ std::bit_cast<std::uint32_t>(v)) * 1099511628211ull;
  out.weights = h;
  return out;
}

sim::TensorF random_matrix(sim::Index rows, sim::Index cols, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  for (float& x : v) x = normal(gen);
  return sim::TensorF(sim::Shape{rows, cols}, std::move(v));
}

std::vector<float> values(const sim::TensorF& t) { return t.to_vector(); }

std::vector<std::uint64_t> bits(const std::vector<double>& v) {
  std::vector<std::uint64_t> b;
  for (double x : v) b.push_back(std::bit_cast<std::uint64_t>(x));
  return b;
}

struct Pinned {
  const char* recipe;
  std::vector<std::uint64_t> losses;
  std::uint64_t weights;
};

// Produced by this file's first test (BITSIM_PRINT_PINS=1) with the code before operand
// reuse existed (2026-11-30, sequential fp32 accumulation, bit-defined on every machine).
// Every numerics change to training must reproduce these or regenerate them and say why.
const Pinned kPinned[] = {
    {"fp32", {0x401640a3cc5dfc8bull, 0x40155faf1c212121ull, 0x401359d772167dccull, 0x4011387c71675017ull}, 0x6d5c92cb41093f16ull},
    {"bf16", {0x401640ac8daad6c3ull, 0x40155f970adb5b93ull, 0x401359c8b1b581dfull, 0x4011387b7ca47e7aull}, 0x85f321305d00bc67ull},
    {"fp8", {0x4016412ac1b100abull, 0x40155fcec233130eull, 0x4013592c88fa8660ull, 0x40113acca6f61915ull}, 0xd58386b8d939163eull},
    {"fp8_delayed(2)", {0x4016412ac1b100abull, 0x40155f7c2685c05dull, 0x40135a9f635a01fbull, 0x40113c08f9dfcd63ull}, 0x4a8732b935cc4a29ull},
    {"mxfp8", {0x401641b4c3e90120ull, 0x40155ca7912248e8ull, 0x40135c6a8e16c7d9ull, 0x4011392948c2f69eull}, 0x99b9a28e219d8ee3ull},
    {"nvfp4", {0x40164507f72b62edull, 0x40156dbdbf6ce810ull, 0x40136012702c78f7ull, 0x401147c49a80e059ull}, 0xaaeb3dae1e4f961bull},
    {"int8", {0x401640db2a18c1b4ull, 0x40155ec31d65e069ull, 0x401358627a21db1aull, 0x4011373d8a5a70f5ull}, 0xb0cfe920fe648320ull},
    {"fake:e4m3fn:per_tensor:sr(seed=5)", {0x401640aa9558eda6ull, 0x40155b12376d90a6ull, 0x401355dda8207adcull, 0x4011346734939235ull}, 0xd56dc6f568df8c73ull},
    {"fake:e5m2:per_tensor", {0x40163fa43e15ab99ull, 0x40155c99c8220098ull, 0x4013585c11472c21ull, 0x401135590862cee2ull}, 0xcd64f03cc24e8554ull},
};

}  // namespace

TEST_CASE("reusing quantized operands changes no bit: 3 steps of every recipe, with and without") {
  for (const Pinned& pinned : kPinned) {
    const std::string recipe = pinned.recipe;
    CAPTURE(recipe);
    const Run reused = train_3_steps(recipe, true), separate = train_3_steps(recipe, false);
    CHECK(bits(reused.losses) == bits(separate.losses));
    CHECK(reused.weights == separate.weights);
    CHECK(bits(reused.losses) == pinned.losses);
    CHECK(reused.weights == pinned.weights);
    if (std::getenv("BITSIM_PRINT_PINS")) {
      std::printf("{\"%s\", {", recipe.c_str());
      for (double l : reused.losses) std::printf("0x%016llxull, ", static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(l)));
      std::printf("}, 0x%016llxull},\n", static_cast<unsigned long long>(reused.weights));
    }
  }
}

TEST_CASE("linear layer: the forward keeps x and W exactly when the backward can reuse them") {
  const sim::TensorF x = random_matrix(48, 40, 1), w = random_matrix(24, 40, 2), dy = random_matrix(48, 24, 3);
  const sim::TensorF bias = random_matrix(1, 24, 4).reshaped({24});
  struct Case {
    const char* recipe;
    bool keeps_x, keeps_w;
  };
  // fp8: every operand per-tensor; nvfp4: only W (16 x 16 blocks in both of its GEMMs);
  // mxfp8 and stochastic rounding: nothing.
  for (const Case& c : {Case{"fp8", true, true}, Case{"nvfp4", false, true}, Case{"mxfp8", false, false},
                        Case{"fake:e4m3fn:per_tensor:sr(seed=5)", false, false}, Case{"fp32", false, false}}) {
    const std::string recipe = c.recipe;
    CAPTURE(recipe);
    const sim::LinearSpec spec = Recipe::parse(c.recipe).linear_for(3, 1);
    sim::LinearSpec separate = spec;
    separate.reuse_operands = false;
    sim::LinearQuantized kept;
    const sim::TensorF y = sim::linear_forward(x, w, bias, spec, &kept);
    CHECK(kept.x.numel() == (c.keeps_x ? x.numel() : 0));
    CHECK(kept.w.numel() == (c.keeps_w ? w.numel() : 0));
    CHECK(values(y) == values(sim::linear_forward(x, w, bias, separate)));
    const sim::LinearGrads expected = sim::linear_backward(x, w, dy, true, separate);
    for (const bool need_dx : {true, false}) {
      const sim::LinearGrads g = sim::linear_backward(x, w, dy, true, spec, need_dx, &kept);
      CHECK(values(g.dw) == values(expected.dw));
      CHECK(values(g.db) == values(expected.db));
      if (need_dx) CHECK(values(g.dx) == values(expected.dx));
    }
    // Kept operands of another x are ignored, not reused.
    const sim::TensorF other = random_matrix(48, 40, 9);
    CHECK(values(sim::linear_backward(other, w, dy, true, spec, true, &kept).dw) ==
          values(sim::linear_backward(other, w, dy, true, separate).dw));
  }
}
