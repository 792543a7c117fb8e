#pragma once
// A BERT-style encoder (post-LayerNorm blocks, bidirectional attention, GELU, learned
// positions and token types) with sentence-transformers' mean pooling and L2
// normalisation: all-MiniLM-L6-v2 and other BertModel checkpoints in safetensors.
//
// Embeddings, tokens t[0..T) (with [CLS] ... [SEP]), token type 0:
//   x = layer_norm(word[t] + position[0..T) + token_type[0])          norm.embeddings (statistics)
// One layer (post-LN), role names as in numerics.hpp:
//   a = Q_act(x)                                                     act.blk.i.attn_q
//   q, k, v = a Wq^T + bq, a Wk^T + bk, a Wv^T + bv                  matmul.blk.i.attn_{q,k,v}
//   q, k, v = Q(q), Q(k), Q(v)  ([T, d])                             qkv.blk.i.{q,k,v}
//   q = Q(q);  k, v = Q_kv(k), Q_kv(v)  (per head)                   attn.blk.i.q, kv.blk.i.{k,v}
//   o = attention(q, k, v), every query sees every key               attn.blk.i.{scores,probs}
//   x = layer_norm(x + Q_act(o) Wo^T + bo)                           act/matmul.blk.i.attn_output, norm.blk.i.attn
//   m = gelu_erf(Q_act(x) Wu^T + bu)                                 act/matmul.blk.i.ffn_up
//   x = layer_norm(x + Q_act(Q_hidden(m)) Wd^T + bd)                 hidden.blk.i.ffn, ffn_down, norm.blk.i.ffn
//   x = Q_res(x)                                                     residual.blk.i
// Pooling: e = mean over the T positions of x (float64 sum, rounded to float32), then
// e / max(|e|_2, 1e-12) (as torch.nn.functional.normalize), then Q_emb(e)   embedding.
// Biases and LayerNorms stay float32; weights are quantized once per session.
#include <cstdint>
#include <string>
#include <vector>

#include "models/transformer/layer_ops.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models {

class SafetensorsFile;

struct BertConfig {
  int layers = 0, d_model = 0, heads = 0, d_ff = 0, vocab = 0, max_positions = 0, type_vocab = 0;
  double norm_eps = 1e-12;
  std::string describe() const;
};

struct BertLayer {
  sim::TensorF wq, bq, wk, bk, wv, bv, wo, bo, attn_norm_w, attn_norm_b;
  sim::TensorF w_up, b_up, w_down, b_down, ffn_norm_w, ffn_norm_b;
};

struct BertWeights {
  sim::TensorF word, position, token_type, embed_norm_w, embed_norm_b;
  std::vector<BertLayer> layers;
};

class BertModel {
 public:
  // From a directory holding config.json (model_type "bert": num_hidden_layers,
  // hidden_size, num_attention_heads, intermediate_size, layer_norm_eps; hidden_act must be
  // "gelu") and model.safetensors (Hugging Face names, with or without a "bert." prefix).
  // Throws LoadError on a missing file or key, another architecture or a shape mismatch.
  static BertModel from_directory(const std::string& dir);

  const BertConfig& config() const { return config_; }
  const BertWeights& weights() const { return weights_; }
  // Every weight quantized under role "weight.<name>" ("blk.i.<linear>").
  std::vector<std::pair<std::string, const sim::TensorF*>> named_weights() const;

 private:
  BertConfig config_;
  BertWeights weights_;
};

class BertSession {
 public:
  BertSession(const BertModel& model, Numerics numerics);

  // The last layer's hidden states [T, d] for one sequence (ids with [CLS]/[SEP]); with
  // `block_outputs`, also the residual stream after each block.
  sim::TensorF encode(const std::vector<std::int32_t>& tokens, std::vector<sim::TensorF>* block_outputs = nullptr) const;
  // The sentence embedding [d]: mean pooling and L2 normalisation of encode().
  sim::TensorF embed(const std::vector<std::int32_t>& tokens) const;
  const Numerics& numerics() const { return ops_.numerics(); }

 private:
  const BertModel* model_;
  LayerOps ops_;
  BertWeights weights_;  // quantized copies (or shared with the model where identity)
};

}  // namespace bitsim::models
