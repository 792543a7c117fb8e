#pragma once
// The operations every transformer engine (Llama, GPT-2, BERT) is built from, each applying
// the numerics its role is given (numerics.hpp). The engines differ in their norms,
// activations and positions; attention, linear layers, KV caching and quantization of a
// role are the same code here.
//
// Seeds: stochastic rounding in a role draws from the stream FNV-1a(role name) +
// step * golden ratio, where `step` is the position of the first token of the call (0 for a
// prefill or an encoder), so results are reproducible and do not depend on the thread count.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "models/transformer/numerics.hpp"
#include "sim/kernels/norms.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models {

std::uint64_t role_seed(std::string_view role);

class LayerOps {
 public:
  explicit LayerOps(Numerics numerics) : numerics_(std::move(numerics)) {}
  const Numerics& numerics() const { return numerics_; }

  // A weight quantized once under role "weight.<name>" (the same tensor when identity).
  sim::TensorF weight(const sim::TensorF& w, const std::string& name) const;
  // x under `role` (the same tensor when identity).
  sim::TensorF quantize(const sim::TensorF& x, const std::string& role, std::int64_t step) const;
  // The NormSpec of the norm "norm.<name>" (eps, and the precision its statistics — mean,
  // variance or mean square, rstd — are computed in). The role's QuantSpec must be an
  // unscaled element format ("bf16", "fp16:rz", "e4m3fn:sr", "fp64"): each statistics
  // operation is rounded into it (sim/kernels/norms.hpp); identity keeps plain float32,
  // bit for bit the unquantized norm. Throws std::invalid_argument for a scaled or block spec.
  sim::NormSpec norm(double eps, const std::string& name, std::int64_t step) const;
  // x [T, in] · w^T for w [out, in] (+ bias [out], added once after the reduction in the
  // accumulator's wide format), accumulated per the rule of "matmul.<name>".
  sim::TensorF linear(const sim::TensorF& x, const sim::TensorF& w, const sim::TensorF* bias,
                      const std::string& name) const;
  // Scaled dot-product attention of layer `blk` ("blk.i."): q [H, Tq, hd], k and v
  // [Hkv, Tk, hd]; scores, probabilities, QK and PV matmuls under attn.blk.i.{scores,probs}
  // and matmul.blk.i.{qk,pv}. Causal attention places query 0 at `query_offset`.
  sim::TensorF attention(const sim::TensorF& q, const sim::TensorF& k, const sim::TensorF& v,
                         const std::string& blk, bool causal, std::int64_t query_offset) const;

 private:
  Numerics numerics_;
};

// One weight of an engine's layer struct and its role name ("attn_q", ...): each engine
// lists its layer's weights once, in a table, and quantizes them all with one call.
template <class Layer>
struct LayerWeight {
  sim::TensorF Layer::*member;
  const char* role;
};

// Quantizes every listed weight of every layer i under role "weight.blk.i.<role>".
template <class Layer, std::size_t N>
void quantize_layer_weights(const LayerOps& ops, std::vector<Layer>& layers,
                            const LayerWeight<Layer> (&weights)[N]) {
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const std::string prefix = "blk." + std::to_string(i) + ".";
    for (const auto& w : weights) {
      layers[i].*w.member = ops.weight(layers[i].*w.member, prefix + w.role);
    }
  }
}

// ("blk.i.<role>", &weight) for every listed weight of every layer: the names the weights
// are quantized under (role "weight.<name>"), for tools that inspect them (tensor dumps).
template <class Layer, std::size_t N>
std::vector<std::pair<std::string, const sim::TensorF*>> named_layer_weights(const std::vector<Layer>& layers,
                                                                             const LayerWeight<Layer> (&weights)[N]) {
  std::vector<std::pair<std::string, const sim::TensorF*>> out;
  for (std::size_t i = 0; i < layers.size(); ++i)
    for (const auto& w : weights) out.emplace_back("blk." + std::to_string(i) + "." + w.role, &(layers[i].*w.member));
  return out;
}

// [T, H * hd] -> [H, T, hd] and back.
sim::TensorF to_heads(const sim::TensorF& x, int heads);
sim::TensorF from_heads(const sim::TensorF& x);
// x += y element-wise in float32 (same shapes).
void add_in_place(sim::TensorF& x, const sim::TensorF& y);
// Columns [begin, begin + count) of a [T, N] tensor, contiguous.
sim::TensorF columns(const sim::TensorF& x, std::int64_t begin, std::int64_t count);

// The per-layer K and V of a decoder, [Hkv, past, hd] each, growing with every call.
class KvCache {
 public:
  void reset(std::size_t layers);
  // Appends k, v [Hkv, n, hd] to layer i's cache and returns the whole cache.
  const sim::TensorF& append_k(std::size_t layer, const sim::TensorF& k);
  const sim::TensorF& append_v(std::size_t layer, const sim::TensorF& v);

 private:
  std::vector<sim::TensorF> k_, v_;
};

}  // namespace bitsim::models
