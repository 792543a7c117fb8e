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
//   kv.blk.i.k, kv.blk.i.v       K and V as attention reads them (the decoders' KV cache)
//   attn.blk.i.scores, attn.blk.i.probs   attention scores and probabilities
//   hidden.blk.i.ffn             the MLP's activation output entering ffn_down
//   residual.blk.i               the residual stream leaving block i
//   logits                       the decoders' output logits
//   embedding                    the encoder's pooled, normalised sentence embedding
// Accumulation rules use the names of the matmuls: matmul.blk.i.<linear>,
// matmul.blk.i.{qk,pv}, matmul.output.
// Patterns: '*' matches any run of characters (dots included), '?' one character.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/gemm/accum_spec.hpp"
#include "sim/quant/quant_spec.hpp"

namespace bitsim::models {

bool glob_match(std::string_view pattern, std::string_view name);

struct Numerics {
  std::vector<std::pair<std::string, sim::QuantSpec>> quant;   // (pattern, spec), in order
  std::vector<std::pair<std::string, sim::AccumSpec>> accum;   // (pattern, spec), in order
  sim::AccumSpec default_accum;                                 // roles no accum rule matches

  // The spec for a role: the last rule whose pattern matches; identity if none.
  sim::QuantSpec quant_for(std::string_view role) const;
  sim::AccumSpec accum_for(std::string_view role) const;
  bool is_reference() const { return quant.empty() && accum.empty(); }
  std::string describe() const;  // one line per rule

  // Shorthands for the command line: --weights, --activations, --kv, --accum.
  static Numerics from_options(const std::string& weights, const std::string& activations,
                               const std::string& kv, const std::string& accum);
};

}  // namespace bitsim::models
