#pragma once
// A GPT-2-style decoder (pre-LayerNorm blocks, learned positions, fused QKV projection,
// GELU MLP, output tied to the token embedding unless lm_head.weight is present), loaded
// from safetensors in Hugging Face's GPT-2 layout — the layout bitsim's trainer (issue #10)
// writes, so its checkpoints run here like any other.
//
// Checkpoint layout (names with or without a "transformer." prefix; Conv1D weights stored
// [in, out], transposed to [out, in] at load):
//   wte.weight [V, d], wpe.weight [P, d], ln_f.{weight,bias} [d], optional lm_head.weight [V, d]
//   h.i.ln_1.{weight,bias}, h.i.attn.c_attn.{weight [d, 3d], bias [3d]} (q | k | v columns),
//   h.i.attn.c_proj.{weight [d, d], bias}, h.i.ln_2.{weight,bias},
//   h.i.mlp.c_fc.{weight [d, f], bias [f]}, h.i.mlp.c_proj.{weight [f, d], bias [d]}
// Hyper-parameters: "n_head" (required), "layer_norm_epsilon" (1e-5), "activation_function"
// (gelu_new | gelu_pytorch_tanh = tanh GELU, the default; gelu = erf) from config.json
// beside the weights, or from the safetensors "__metadata__" when there is no config.json;
// layers, d, f, V and P come from the tensors' shapes.
//
// One layer, role names as in numerics.hpp:
//   a = Q_act(layer_norm(x, ln_1))                                  norm.blk.i.attn, act.blk.i.attn_qkv
//   [q | k | v] = a Wqkv^T + b  (one matmul, as stored)             matmul.blk.i.attn_qkv
//   q, k, v = Q(q), Q(k), Q(v);  q = Q(q) per head                  qkv.blk.i.{q,k,v}, attn.blk.i.q
//   K, V cache += Q_kv(k), Q_kv(v)                                  kv.blk.i.{k,v}
//   o = attention(q, K, V), causal                                  attn.blk.i.{scores,probs}
//   x += Q_act(o) Wo^T + bo                                         act/matmul.blk.i.attn_output
//   m = gelu(Q_act(layer_norm(x, ln_2)) Wfc^T + bfc)                norm.blk.i.ffn, act/matmul.blk.i.ffn_up
//   x += Q_act(Q_hidden(m)) Wproj^T + bproj                         hidden.blk.i.ffn, ffn_down
//   x = Q_res(x)                                                    residual.blk.i
// then logits = Q_logits(Q_act(layer_norm(x, ln_f)) Wout^T)        norm.output, act.output, output, logits
// Weights: weight.blk.i.{attn_qkv, attn_output, ffn_up, ffn_down}, weight.output.
// Biases, norms, embeddings and residual additions stay float32.
#include <cstdint>
#include <string>
#include <vector>

#include "models/transformer/decoder_session.hpp"
#include "models/transformer/layer_ops.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models {

struct Gpt2Config {
  int layers = 0, d_model = 0, heads = 0, d_ff = 0, vocab = 0, context = 0;
  double norm_eps = 1e-5;
  sim::GeluApprox gelu = sim::GeluApprox::tanh;
  bool tied_output = true;
  std::string describe() const;
};

struct Gpt2Layer {
  sim::TensorF ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_fc, b_fc, w_proj, b_proj;
};

struct Gpt2Weights {
  sim::TensorF token_embedding, position_embedding;  // [V, d], [P, d]
  std::vector<Gpt2Layer> layers;
  sim::TensorF lnf_w, lnf_b;
  sim::TensorF output;  // [V, d]; shares storage with token_embedding when tied
};

class Gpt2Model {
 public:
  // path: a directory (config.json + model.safetensors or a sharded index) or a
  // .safetensors file. Throws LoadError on a missing tensor or key, or a shape mismatch.
  static Gpt2Model from_safetensors(const std::string& path);

  const Gpt2Config& config() const { return config_; }
  const Gpt2Weights& weights() const { return weights_; }
  // Every weight quantized under role "weight.<name>" ("blk.i.<linear>", "output").
  std::vector<std::pair<std::string, const sim::TensorF*>> named_weights() const;

 private:
  Gpt2Config config_;
  Gpt2Weights weights_;
};

class Gpt2Session : public DecoderSession<Gpt2Model, Gpt2Weights> {
 public:
  Gpt2Session(const Gpt2Model& model, Numerics numerics);

  // As LlamaSession::forward: logits [n, V] for tokens at positions past()..past()+n.
  sim::TensorF forward(const std::vector<std::int32_t>& tokens, std::vector<sim::TensorF>* block_outputs = nullptr);
};

}  // namespace bitsim::models
