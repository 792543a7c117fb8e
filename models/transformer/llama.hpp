#pragma once
// A Llama-style decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU MLP, tied or
// untied output), configured by its checkpoint's metadata and run through sim/ kernels,
// every tensor role with the numerics a `Numerics` gives it (numerics.hpp).
//
// One layer, x the residual stream [T, d] in float32:
//   h  = rms_norm(x, attn_norm);  a = Q_act(h)     statistics: norm.blk.i.attn; act.blk.i.attn_q
//   q, k, v = Q(a Wq^T), Q(a Wk^T), Q(a Wv^T)  (weights quantized once)
//                                                   matmul.blk.i.attn_{q,k,v}; qkv.blk.i.{q,k,v}
//   q, k = RoPE(q, k) at positions past..past+T (adjacent pairs, as GGUF stores Q/K)
//   q = Q(q)                                                        attn.blk.i.q
//   K, V cache += Q_kv(k), Q_kv(v)                                  kv.blk.i.{k,v}
//   o  = attention(q, K, V), causal, heads grouped h -> h / (H / Hkv)
//   x += Q_act(o) Wo^T                                              act/matmul.blk.i.attn_output
//   h  = rms_norm(x, ffn_norm);  a = Q_act(h)       statistics: norm.blk.i.ffn; act.blk.i.ffn_gate
//   m  = silu(a Wg^T) * (a Wu^T);  x += Q_act(m) Wd^T               act/matmul.blk.i.ffn_down
//   x  = Q_res(x)  (the residual stream leaving the block)           residual.blk.i
// then logits = Q_logits(Q_act(rms_norm(x, output_norm)) Wout^T)   norm.output, act.output.
// Residual additions and the normalised outputs run in float32 (a norm's statistics in the
// precision its norm.* role gives, float32 by default). The attention, linear layers, KV cache and
// seeds are LayerOps' (layer_ops.hpp), shared with the GPT-2 and BERT engines.
#include <cstdint>
#include <string>
#include <vector>

#include "models/transformer/decoder_session.hpp"
#include "models/transformer/layer_ops.hpp"
#include "models/transformer/numerics.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models {

class GgufFile;

struct LlamaConfig {
  int layers = 0, d_model = 0, heads = 0, kv_heads = 0, head_dim = 0, d_ff = 0, vocab = 0;
  int context = 0;
  double rope_base = 10000.0;
  double norm_eps = 1e-5;
  bool tied_output = true;
  std::string describe() const;
};

struct LlamaLayer {
  sim::TensorF attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down;
};

struct LlamaWeights {
  sim::TensorF token_embedding;  // [vocab, d]
  std::vector<LlamaLayer> layers;
  sim::TensorF output_norm;
  sim::TensorF output;           // [vocab, d]; shares storage with token_embedding when tied
};

class LlamaModel {
 public:
  // From a GGUF file with general.architecture = llama (LoadError otherwise, or when a
  // tensor is missing or has the wrong shape). Weights are dequantized to float32.
  static LlamaModel from_gguf(const GgufFile& file);

  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  // Every weight quantized under role "weight.<name>" ("blk.i.attn_q", ..., "output").
  std::vector<std::pair<std::string, const sim::TensorF*>> named_weights() const;

 private:
  LlamaConfig config_;
  LlamaWeights weights_;
};

// One forward-pass session: the model's weights quantized per `numerics` (once), and a KV
// cache that grows with every call.
class LlamaSession : public DecoderSession<LlamaModel, LlamaWeights> {
 public:
  LlamaSession(const LlamaModel& model, Numerics numerics);

  // Runs tokens at positions past()..past()+n and returns their logits [n, vocab]. With
  // `block_outputs`, also the residual stream [n, d] after each block (for error profiles).
  sim::TensorF forward(const std::vector<std::int32_t>& tokens, std::vector<sim::TensorF>* block_outputs = nullptr);
};

}  // namespace bitsim::models
