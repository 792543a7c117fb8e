#pragma once
// Training recipes: how every linear layer's three GEMMs quantize their operands
// (sim/grad/linear_grad.hpp) and how master weights are stored. Recipes are data; the
// named presets below are what `bitsim train --recipe NAME` accepts.
//
//   fp32    every operand float32, fp32 accumulation
//   bf16    every GEMM operand rounded to bf16 (rne), fp32 accumulation (mixed precision)
//   fp8     forward x, W: e4m3fn per-tensor (current scaling, amax/448); input and weight
//           gradients: dy e5m2 per-tensor, with W / x e4m3fn per-tensor
//   fp8_delayed  fp8 with delayed scaling (Transformer Engine): each per-tensor operand's
//           clip is the max of its amaxes over the previous 16 steps (fp8_delayed(H): H
//           steps), the current amax while the history is empty; see AmaxHistory
//   mxfp8   forward mxfp8_e4m3 (blocks of 32 along the reduction axis, e8m0 scales);
//           gradients dy mxfp8_e5m2, the other operand mxfp8_e4m3
//   nvfp4   NVFP4 training recipe (../shared/specs/formats.md): weights in 2-D 16x16 blocks
//           (so W and W^T see the same scales), activations and gradients in 1x16 blocks;
//           gradients with stochastic rounding; a random Hadamard transform (16-point) on
//           both weight-gradient operands along the token axis (needs batch*seq % 16 == 0)
//   int8    INT8 fake quantization with a straight-through estimator: forward x per-tensor,
//           W per output channel; gradients in float32 flow to the master weights unchanged
// The LM head (tied to the token embedding) stays float32 in every recipe, as the
// published FP8/FP4 recipes keep the first and last layers in high precision.
// Stochastic-rounding and RHT seeds are rekeyed per step and per linear layer.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "formats/format.hpp"
#include "formats/rounding.hpp"
#include "sim/grad/linear_grad.hpp"

namespace bitsim::models::train {

struct Recipe {
  std::string name = "fp32";
  sim::LinearSpec linear;  // every transformer-block linear layer
  sim::LinearSpec head;    // the tied output layer (float32 operands in every preset)
  // > 0: delayed scaling. The per-tensor absmax operands of the block linears take their
  // clip from an AmaxHistory of this many previous steps (Gpt::loss), 0: current scaling.
  int amax_history = 0;

  // Sets the AccumSpec of all six GEMMs (block linears and head), e.g. "order=blas" for
  // speed (OpenBLAS sgemm: not bit-defined across machines) or "acc=bf16" to study
  // low-precision accumulation.
  void set_accumulation(const sim::AccumSpec& accum);

  // The linear spec for one layer at one step: every stochastic rounding and random
  // Hadamard seed replaced by a hash of (its base seed, step, layer, role).
  sim::LinearSpec linear_for(std::uint64_t step, std::uint64_t layer) const;

  // Presets also accept "fp8_delayed(H)", H >= 1 steps of amax history.
  static Recipe preset(const std::string& name);  // throws std::invalid_argument listing presets
  static std::vector<std::string> preset_names();

  // One QuantSpec (sim/quant/quant_spec.hpp grammar) for every operand of the block
  // linears: all six operands of the three GEMMs, or, with `gradients = false`, only the
  // forward GEMM's x and W (fake quantization with a straight-through estimator; the
  // gradient GEMMs stay float32). Named "fake:SPEC" / "fake_fwd:SPEC" with SPEC canonical.
  // Makes E/M sweeps expressible: fake:fp<e=3,m=4,specials=none>:per_group(32).
  static Recipe uniform(const std::string& quant_spec, bool gradients = true);
  // A preset name, "fake:SPEC" or "fake_fwd:SPEC" (uniform above); throws
  // std::invalid_argument naming the valid forms.
  static Recipe parse(const std::string& text);
  // Storage bits of one element of the forward operands (32 for fp32; the element
  // format's bits otherwise, scales not counted): what precision scaling laws call P.
  double forward_bits() const;
};

// Delayed-scaling state: for every key (layer, linear, operand: Gpt::loss numbers them)
// the amaxes of the last `length` steps. clip() reads only committed steps, so every GEMM
// of one step sees the same clip for an operand; observe() records this step's amax and
// commit() (the end of a training step) appends it, dropping the oldest. Non-finite amaxes
// (an overflowing step under dynamic loss scaling) are not recorded.
class AmaxHistory {
 public:
  explicit AmaxHistory(int length = 0) : length_(length) {}
  // The max of the stored amaxes of `key`, or `current` when none is stored yet.
  double clip(std::size_t key, double current) const;
  void observe(std::size_t key, double amax);
  void commit();
  bool empty() const { return history_.empty(); }
  // Exact text form (hex floats) for checkpoints, and back; parse throws std::invalid_argument.
  std::string serialize() const;
  static AmaxHistory parse(int length, const std::string& text);
  friend bool operator==(const AmaxHistory&, const AmaxHistory&) = default;

 private:
  int length_;
  std::map<std::size_t, std::deque<double>> history_;
  std::map<std::size_t, double> pending_;
};

// How master weights are stored between optimizer steps: float32 (no format), or rounded
// into `format` after every update with `rounding` (nearest or stochastic, the latter
// drawing word `element` of RandomStream{seed, step}).
struct MasterWeights {
  std::optional<formats::Format> format;
  formats::RoundingSpec rounding{};
  std::uint64_t seed = 0;

  static MasterWeights parse(const std::string& format, const std::string& rounding);  // "fp32"/"bf16", "rne"/"sr"
  std::string to_string() const;
};

}  // namespace bitsim::models::train
