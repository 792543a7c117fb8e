#pragma once
// How a forward pass represents and computes every tensor role: a list of rules, each a
// glob pattern over role names and the QuantSpec (or AccumSpec) for the roles it matches.
// The last matching rule wins, so a config reads "the whole model in X, except ...".
//
// Role names (layer i counts from 0; each engine's header lists its own, and
// models/README.md tabulates them side by side):
//   weight.blk.i.<linear>, weight.output
//        a weight matrix [out, in], quantized once when the numerics are applied
//        (<linear>: Llama attn_q/k/v, ffn_gate/up; GPT-2 attn_qkv, the fused c_attn; all
//        engines attn_output, ffn_up, ffn_down; BERT attn_q/k/v)
//   act.blk.i.<linear>, act.output
//        the activation entering that linear layer (one input feeding several linears
//        is named after the first: attn_q feeds K and V, ffn_gate feeds up)
//   qkv.blk.i.q, qkv.blk.i.k, qkv.blk.i.v
//        the outputs of the Q, K and V projections [T, heads * head_dim], bias included,
//        before RoPE (GPT-2: the three column blocks of the fused c_attn output)
//   attn.blk.i.q                 Q as the QK matmul reads it (Llama: after RoPE)
//   kv.blk.i.k, kv.blk.i.v       K and V as attention reads them (the decoders' KV cache)
//   norm.blk.i.attn, norm.blk.i.ffn, norm.output (decoders), norm.embeddings (BERT)
//        the statistics of that LayerNorm/RMSNorm (mean, variance or mean square, rstd):
//        an unscaled element format each statistics operation is rounded into
//        (LayerOps::norm); the normalised output is the activation roles' business
//   attn.blk.i.scores, attn.blk.i.probs   attention scores and probabilities
//   hidden.blk.i.ffn             the MLP's activation output entering ffn_down
//   residual.blk.i               the residual stream leaving block i
//   logits                       the decoders' output logits
//   embedding                    the encoder's pooled, normalised sentence embedding
// Accumulation rules use the names of the matmuls: matmul.blk.i.<linear>,
// matmul.blk.i.{qk,pv}, matmul.output.
// Patterns: '*' matches any run of characters (dots included), '?' one character.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/gemm/accum_spec.hpp"
#include "sim/quant/quant_spec.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models {

bool glob_match(std::string_view pattern, std::string_view name);

// An observer of the activation roles of a forward pass: called by LayerOps::quantize with
// the role, the tensor before quantization, the role's QuantSpec (identity included) and the
// random stream the quantization draws from, so that a tool can reproduce the stored form
// (tensor dumps). It does not change the numerics.
using TensorTap = std::function<void(const std::string& role, const sim::TensorF& x, const sim::QuantSpec& spec,
                                     std::uint64_t stream)>;

struct Numerics {
  std::vector<std::pair<std::string, sim::QuantSpec>> quant;   // (pattern, spec), in order
  std::vector<std::pair<std::string, sim::AccumSpec>> accum;   // (pattern, spec), in order
  sim::AccumSpec default_accum;                                 // roles no accum rule matches
  TensorTap tap;                                                // optional observer (not numerics)

  // The spec for a role: the last rule whose pattern matches; identity if none.
  sim::QuantSpec quant_for(std::string_view role) const;
  sim::AccumSpec accum_for(std::string_view role) const;
  bool is_reference() const { return quant.empty() && accum.empty(); }
  std::string describe() const;  // one line per rule

  // A named reference numerics (`bitsim model eval --reference NAME`):
  //   fp32  every role float32, sequential FP32 accumulation (the default reference);
  //   fp64  every matmul (linear layers, QK, PV, output) accumulates its exact float32
  //         products in float64 (bias added in float64) and every norm computes its
  //         statistics in float64; each result is still rounded to float32 where it is
  //         stored, and the softmax, activations, RoPE and residual additions stay float32.
  // Throws std::invalid_argument naming the valid choices.
  static Numerics reference(std::string_view name);

  // Shorthands for the command line: --weights, --activations, --kv, --accum.
  static Numerics from_options(const std::string& weights, const std::string& activations,
                               const std::string& kv, const std::string& accum);
};

}  // namespace bitsim::models
