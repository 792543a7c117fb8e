#pragma once
// A tiny GPT-2 (token + learned position embeddings, pre-LayerNorm blocks with causal
// multi-head attention and a GELU-tanh MLP, final LayerNorm, output tied to the token
// embedding), with its forward and backward pass written out from the sim/ kernels and
// the sim/grad backward kernels. Linear layers run through a Recipe's three GEMMs.
//
// Weights are held in the PyTorch Linear layout W[out, in]; checkpoint.hpp writes them
// in GPT-2's Conv1D layout [in, out] under the Hugging Face names.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/train/recipe.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models::train {

using sim::Index;
using sim::TensorF;

// GptConfig::attention.
enum class AttentionImpl { exact, blas };

struct GptConfig {
  Index vocab = 256;  // byte-level
  Index context = 64;
  Index d_model = 64;
  Index layers = 2;
  Index heads = 4;
  // The MLP's GELU numerics (sim/kernels/activations.hpp): tanh, the float64 formula (the
  // default, what every committed result used), or tanh_f32, float32 operations as
  // PyTorch's fp32 kernel (faster; losses agree to ~1e-5, models/train/README.md).
  // Not stored in checkpoints' weights: a run's describe() line records it.
  sim::GeluApprox gelu = sim::GeluApprox::tanh;
  // Causal attention's numerics: exact, the bit-defined kernels (float32 FMA-chain forward
  // sim::attention, float64 backward sim::attention_backward; the default, what every
  // committed result used), or blas, float32 OpenBLAS sgemm and a float32 softmax as
  // PyTorch's fp32 attention (sim/grad/attention_blas.hpp; faster, not bit-defined).
  // Not stored in checkpoints' weights: a run's describe() line records it.
  AttentionImpl attention = AttentionImpl::exact;

  void validate() const;  // throws std::invalid_argument
  // Parameters outside the embeddings (what scaling laws call N).
  Index non_embedding_parameters() const { return layers * (12 * d_model * d_model + 13 * d_model) + 2 * d_model; }
};

// "tanh" | "tanh_f32" (GptConfig::gelu); throws std::invalid_argument naming the choices.
sim::GeluApprox parse_gelu(const std::string& name);
std::string gelu_name(sim::GeluApprox gelu);
// "exact" | "blas" (GptConfig::attention); throws std::invalid_argument naming the choices.
AttentionImpl parse_attention(const std::string& name);
std::string attention_name(AttentionImpl attention);

struct Parameter {
  std::string name;  // Hugging Face GPT-2 name, e.g. "h.0.attn.c_attn.weight"
  TensorF value;     // linear weights as [out, in]
  TensorF grad;
  bool decay = false;       // weight decay applies (matrices and embeddings)
  bool conv1d = false;      // stored transposed ([in, out]) in GPT-2 checkpoints
};

class Gpt {
 public:
  // GPT-2 initialisation: N(0, 0.02) weights and embeddings, residual projections
  // N(0, 0.02 / sqrt(2 layers)), zero biases, unit LayerNorm gains; normals from
  // RandomStream{seed, parameter index} (Box-Muller), so the model depends on the seed only.
  Gpt(const GptConfig& config, std::uint64_t seed);

  const GptConfig& config() const { return config_; }
  std::vector<Parameter>& parameters() { return params_; }
  const std::vector<Parameter>& parameters() const { return params_; }
  Parameter& parameter(const std::string& name);

  // Mean next-token cross-entropy of `batch` sequences (tokens [batch, T + 1], T <= context:
  // inputs are the first T, targets the last T of each row). With `backward`, also sets
  // every Parameter::grad to d(loss_scale * loss)/d(parameter). `step` keys the recipe's
  // stochastic seeds. With a delayed-scaling recipe (Recipe::amax_history > 0) and an
  // `amax` history, the per-tensor operands of linear `j` (0 c_attn, 1 attn.c_proj, 2 c_fc,
  // 3 mlp.c_proj) of layer l take their clips from keys (4 l + j) * 3 + {0: x, 1: W, 2: dy}
  // (x and x^T, W and W^T, dy and dy^T share one history); a backward pass records the
  // current amaxes and commits them at its end. Without `amax` the recipe scales currently.
  double loss(std::span<const Index> tokens, Index batch, const Recipe& recipe, std::uint64_t step,
              bool backward, double loss_scale = 1.0, AmaxHistory* amax = nullptr);

 private:
  GptConfig config_;
  std::vector<Parameter> params_;
};

}  // namespace bitsim::models::train
