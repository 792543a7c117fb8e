#include "models/transformer/llama.hpp"

#include <cmath>
#include <cstdio>

#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/kernels/embedding.hpp"
#include "sim/kernels/norms.hpp"
#include "sim/kernels/rope.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::models {
namespace {

using sim::Index;
using sim::Shape;
using sim::TensorF;

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ std::uint8_t(c)) * 0x100000001b3ull;
  return h;
}

// [T, H * hd] -> [H, T, hd] and back.
TensorF to_heads(const TensorF& x, int heads) {
  const Index t = x.shape()[0], hd = x.shape()[1] / heads;
  return x.reshaped({t, heads, hd}).transposed(0, 1).contiguous();
}
TensorF from_heads(const TensorF& x) {
  const Index h = x.shape()[0], t = x.shape()[1], hd = x.shape()[2];
  return x.transposed(0, 1).contiguous().reshaped({t, h * hd});
}

void add_in_place(TensorF& x, const TensorF& y) {
  auto a = x.span();
  auto b = y.contiguous();
  auto bs = b.span();
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += bs[i];
}

// Appends `fresh` [H, n, hd] to `cache` [H, past, hd] along the time axis.
TensorF append_time(const TensorF& cache, const TensorF& fresh) {
  const Index h = fresh.shape()[0], n = fresh.shape()[1], hd = fresh.shape()[2];
  const Index past = cache.rank() == 3 ? cache.shape()[1] : 0;
  TensorF out(Shape{h, past + n, hd});
  auto o = out.span();
  const auto c = cache.rank() == 3 ? cache.span() : std::span<const float>();
  const auto f = fresh.span();
  for (Index head = 0; head < h; ++head) {
    std::copy_n(c.begin() + head * past * hd, past * hd, o.begin() + head * (past + n) * hd);
    std::copy_n(f.begin() + head * n * hd, n * hd, o.begin() + (head * (past + n) + past) * hd);
  }
  return out;
}

int meta_int(const GgufFile& f, const std::string& key) { return int(f.metadata(key).as_int(key)); }

TensorF load_checked(const GgufFile& f, const std::string& name, const Shape& shape) {
  const auto& t = f.get(name);
  if (t.shape != shape)
    throw LoadError(f.path() + ": tensor '" + name + "' has shape " + sim::shape_string(t.shape) +
                    ", the configuration needs " + sim::shape_string(shape));
  return dequantize(t);
}

}  // namespace

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
    : model_(&model), numerics_(std::move(numerics)), weights_(model.weights()) {
  const int layers = model.config().layers;
  auto quantize_weight = [&](TensorF& w, const std::string& role) {
    const auto spec = numerics_.quant_for(role);
    if (!spec.is_identity()) w = sim::fake_quantize(w, spec, fnv1a(role));
  };
  for (int i = 0; i < layers; ++i) {
    const std::string p = "weight.blk." + std::to_string(i) + ".";
    auto& l = weights_.layers[std::size_t(i)];
    quantize_weight(l.wq, p + "attn_q");
    quantize_weight(l.wk, p + "attn_k");
    quantize_weight(l.wv, p + "attn_v");
    quantize_weight(l.wo, p + "attn_output");
    quantize_weight(l.w_gate, p + "ffn_gate");
    quantize_weight(l.w_up, p + "ffn_up");
    quantize_weight(l.w_down, p + "ffn_down");
  }
  quantize_weight(weights_.output, "weight.output");
  reset();
}

void LlamaSession::reset() {
  past_ = 0;
  k_cache_.assign(weights_.layers.size(), TensorF());
  v_cache_.assign(weights_.layers.size(), TensorF());
}

TensorF LlamaSession::quantize(const TensorF& x, const std::string& role) const {
  const auto spec = numerics_.quant_for(role);
  if (spec.is_identity()) return x;
  return sim::fake_quantize(x, spec, fnv1a(role) + std::uint64_t(past_) * 0x9E3779B97F4A7C15ull);
}

TensorF LlamaSession::linear(const TensorF& x, const TensorF& w, const std::string& role) const {
  sim::GemmArgs args;
  args.transpose_b = true;
  return sim::gemm(x, w, numerics_.accum_for("matmul." + role), args);
}

TensorF LlamaSession::forward(const std::vector<std::int32_t>& tokens) {
  const auto& c = model_->config();
  if (tokens.empty()) return TensorF(Shape{0, c.vocab});
  if (past_ + Index(tokens.size()) > c.context)
    throw std::invalid_argument("forward: " + std::to_string(past_ + tokens.size()) +
                                " positions exceed the model's context of " + std::to_string(c.context));
  std::vector<Index> ids(tokens.begin(), tokens.end());
  TensorF x = sim::embedding(weights_.token_embedding, ids);
  sim::NormSpec norm;
  norm.eps = c.norm_eps;
  sim::RopeSpec rope_spec;
  rope_spec.base = c.rope_base;
  rope_spec.layout = sim::RopeLayout::interleaved;
  rope_spec.position_offset = past_;

  for (int i = 0; i < c.layers; ++i) {
    const auto& l = weights_.layers[std::size_t(i)];
    const std::string blk = "blk." + std::to_string(i) + ".";
    TensorF a = quantize(sim::rms_norm(x, l.attn_norm, norm), "act." + blk + "attn_q");
    TensorF q = sim::rope(to_heads(linear(a, l.wq, blk + "attn_q"), c.heads), rope_spec);
    TensorF k = sim::rope(to_heads(linear(a, l.wk, blk + "attn_k"), c.kv_heads), rope_spec);
    TensorF v = to_heads(linear(a, l.wv, blk + "attn_v"), c.kv_heads);
    k_cache_[std::size_t(i)] = append_time(k_cache_[std::size_t(i)], quantize(k, "kv." + blk + "k"));
    v_cache_[std::size_t(i)] = append_time(v_cache_[std::size_t(i)], quantize(v, "kv." + blk + "v"));

    sim::AttentionSpec att;
    att.causal = true;
    att.query_offset = past_;
    att.scores = numerics_.quant_for("attn." + blk + "scores");
    att.probs = numerics_.quant_for("attn." + blk + "probs");
    att.qk = numerics_.accum_for("matmul." + blk + "qk");
    att.pv = numerics_.accum_for("matmul." + blk + "pv");
    TensorF o = from_heads(sim::attention(q, k_cache_[std::size_t(i)], v_cache_[std::size_t(i)], att));
    add_in_place(x, linear(quantize(o, "act." + blk + "attn_output"), l.wo, blk + "attn_output"));

    a = quantize(sim::rms_norm(x, l.ffn_norm, norm), "act." + blk + "ffn_gate");
    TensorF m = sim::swiglu(linear(a, l.w_gate, blk + "ffn_gate"), linear(a, l.w_up, blk + "ffn_up"));
    m = quantize(quantize(m, "hidden." + blk + "ffn"), "act." + blk + "ffn_down");
    add_in_place(x, linear(m, l.w_down, blk + "ffn_down"));
  }
  TensorF h = quantize(sim::rms_norm(x, weights_.output_norm, norm), "act.output");
  TensorF logits = quantize(linear(h, weights_.output, "output"), "logits");
  past_ += Index(tokens.size());
  return logits;
}

}  // namespace bitsim::models
