#include "models/transformer/llama.hpp"

#include <cmath>
#include <cstdio>

#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/kernels/embedding.hpp"
#include "sim/kernels/norms.hpp"
#include "sim/kernels/rope.hpp"

namespace bitsim::models {
namespace {

using sim::Index;
using sim::Shape;
using sim::TensorF;

int meta_int(const GgufFile& f, const std::string& key) { return int(f.metadata(key).as_int(key)); }

TensorF load_checked(const GgufFile& f, const std::string& name, const Shape& shape) {
  const auto& t = f.get(name);
  if (t.shape != shape)
    throw LoadError(f.path() + ": tensor '" + name + "' has shape " + sim::shape_string(t.shape) +
                    ", the configuration needs " + sim::shape_string(shape));
  return dequantize(t);
}

// The linear weights of a layer and their role names.
constexpr LayerWeight<LlamaLayer> kWeights[] = {
    {&LlamaLayer::wq, "attn_q"},         {&LlamaLayer::wk, "attn_k"},
    {&LlamaLayer::wv, "attn_v"},         {&LlamaLayer::wo, "attn_output"},
    {&LlamaLayer::w_gate, "ffn_gate"},   {&LlamaLayer::w_up, "ffn_up"},
    {&LlamaLayer::w_down, "ffn_down"}};

}  // namespace

std::vector<std::pair<std::string, const TensorF*>> LlamaModel::named_weights() const {
  auto out = named_layer_weights(weights_.layers, kWeights);
  out.emplace_back("output", &weights_.output);
  return out;
}

std::string LlamaConfig::describe() const {
  char base[32];
  std::snprintf(base, sizeof base, "%g", rope_base);
  return "llama: " + std::to_string(layers) + " layers, d_model " + std::to_string(d_model) + ", " +
         std::to_string(heads) + " heads / " + std::to_string(kv_heads) + " KV heads of " +
         std::to_string(head_dim) + ", FFN " + std::to_string(d_ff) + ", vocabulary " + std::to_string(vocab) +
         ", RoPE base " + base + (tied_output ? ", tied output" : "");
}

LlamaModel LlamaModel::from_gguf(const GgufFile& f) {
  const auto& arch = f.metadata("general.architecture").as_string("general.architecture");
  if (arch != "llama") throw LoadError(f.path() + ": architecture '" + arch + "' is not llama");
  LlamaModel m;
  auto& c = m.config_;
  c.layers = meta_int(f, "llama.block_count");
  c.d_model = meta_int(f, "llama.embedding_length");
  c.heads = meta_int(f, "llama.attention.head_count");
  c.kv_heads = f.find_metadata("llama.attention.head_count_kv") ? meta_int(f, "llama.attention.head_count_kv") : c.heads;
  c.d_ff = meta_int(f, "llama.feed_forward_length");
  c.context = f.find_metadata("llama.context_length") ? meta_int(f, "llama.context_length") : 2048;
  if (const auto* v = f.find_metadata("llama.rope.freq_base")) c.rope_base = v->as_double("llama.rope.freq_base");
  if (const auto* v = f.find_metadata("llama.attention.layer_norm_rms_epsilon"))
    c.norm_eps = v->as_double("llama.attention.layer_norm_rms_epsilon");
  if (c.layers <= 0 || c.d_model <= 0 || c.heads <= 0 || c.kv_heads <= 0 || c.d_model % c.heads != 0 ||
      c.heads % c.kv_heads != 0 || c.d_ff <= 0)
    throw LoadError(f.path() + ": inconsistent llama hyper-parameters (" + c.describe() + ")");
  c.head_dim = c.d_model / c.heads;
  const auto& embd = f.get("token_embd.weight");
  if (embd.shape.size() != 2 || embd.shape[1] != c.d_model)
    throw LoadError(f.path() + ": token_embd.weight has shape " + sim::shape_string(embd.shape));
  c.vocab = int(embd.shape[0]);

  auto& w = m.weights_;
  const Index d = c.d_model, kv = Index(c.kv_heads) * c.head_dim, ff = c.d_ff;
  w.token_embedding = dequantize(embd);
  for (int i = 0; i < c.layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LlamaLayer l;
    l.attn_norm = load_checked(f, p + "attn_norm.weight", {d});
    l.wq = load_checked(f, p + "attn_q.weight", {d, d});
    l.wk = load_checked(f, p + "attn_k.weight", {kv, d});
    l.wv = load_checked(f, p + "attn_v.weight", {kv, d});
    l.wo = load_checked(f, p + "attn_output.weight", {d, d});
    l.ffn_norm = load_checked(f, p + "ffn_norm.weight", {d});
    l.w_gate = load_checked(f, p + "ffn_gate.weight", {ff, d});
    l.w_up = load_checked(f, p + "ffn_up.weight", {ff, d});
    l.w_down = load_checked(f, p + "ffn_down.weight", {d, ff});
    w.layers.push_back(std::move(l));
  }
  w.output_norm = load_checked(f, "output_norm.weight", {d});
  c.tied_output = f.find("output.weight") == nullptr;
  w.output = c.tied_output ? w.token_embedding : load_checked(f, "output.weight", {Index(c.vocab), d});
  return m;
}

LlamaSession::LlamaSession(const LlamaModel& model, Numerics numerics)
    : DecoderSession(model, std::move(numerics), kWeights) {}

TensorF LlamaSession::forward(const std::vector<std::int32_t>& tokens, std::vector<TensorF>* block_outputs) {
  const auto& c = model_->config();
  if (block_outputs) block_outputs->clear();
  if (tokens.empty()) return TensorF(Shape{0, c.vocab});
  check_context(tokens.size());
  std::vector<Index> ids(tokens.begin(), tokens.end());
  TensorF x = sim::embedding(weights_.token_embedding, ids);
  const auto norm = [&](const std::string& name) { return ops_.norm(c.norm_eps, name, past_); };
  sim::RopeSpec rope_spec;
  rope_spec.base = c.rope_base;
  rope_spec.layout = sim::RopeLayout::interleaved;
  rope_spec.position_offset = past_;
  const auto q = [&](const TensorF& t, const std::string& role) { return ops_.quantize(t, role, past_); };

  for (int i = 0; i < c.layers; ++i) {
    const auto& l = weights_.layers[std::size_t(i)];
    const std::string blk = "blk." + std::to_string(i) + ".";
    TensorF a = q(sim::rms_norm(x, l.attn_norm, norm(blk + "attn")), "act." + blk + "attn_q");
    const TensorF qp = q(ops_.linear(a, l.wq, nullptr, blk + "attn_q"), "qkv." + blk + "q");
    const TensorF kp = q(ops_.linear(a, l.wk, nullptr, blk + "attn_k"), "qkv." + blk + "k");
    const TensorF vp = q(ops_.linear(a, l.wv, nullptr, blk + "attn_v"), "qkv." + blk + "v");
    TensorF qh = q(sim::rope(to_heads(qp, c.heads), rope_spec), "attn." + blk + "q");
    TensorF kh = sim::rope(to_heads(kp, c.kv_heads), rope_spec);
    TensorF vh = to_heads(vp, c.kv_heads);
    const auto& keys = cache_.append_k(std::size_t(i), q(kh, "kv." + blk + "k"));
    const auto& values = cache_.append_v(std::size_t(i), q(vh, "kv." + blk + "v"));
    TensorF o = from_heads(ops_.attention(qh, keys, values, blk, true, past_));
    add_in_place(x, ops_.linear(q(o, "act." + blk + "attn_output"), l.wo, nullptr, blk + "attn_output"));

    a = q(sim::rms_norm(x, l.ffn_norm, norm(blk + "ffn")), "act." + blk + "ffn_gate");
    TensorF m = sim::swiglu(ops_.linear(a, l.w_gate, nullptr, blk + "ffn_gate"), ops_.linear(a, l.w_up, nullptr, blk + "ffn_up"));
    m = q(q(m, "hidden." + blk + "ffn"), "act." + blk + "ffn_down");
    add_in_place(x, ops_.linear(m, l.w_down, nullptr, blk + "ffn_down"));
    x = q(x, "residual." + blk.substr(0, blk.size() - 1));
    if (block_outputs) block_outputs->push_back(x.clone());
  }
  TensorF h = q(sim::rms_norm(x, weights_.output_norm, norm("output")), "act.output");
  TensorF logits = q(ops_.linear(h, weights_.output, nullptr, "output"), "logits");
  past_ += Index(tokens.size());
  return logits;
}

}  // namespace bitsim::models
