#include "models/transformer/gpt2.hpp"

#include "models/io/load_error.hpp"
#include "models/transformer/hf_checkpoint.hpp"
#include "sim/kernels/embedding.hpp"
#include "sim/kernels/norms.hpp"

namespace bitsim::models {
namespace {

using sim::Index;
using sim::Shape;
using sim::TensorF;

// HF's Conv1D stores [in, out]; the engines compute with [out, in].
TensorF conv1d_weight(const HfCheckpoint& ck, const std::string& name, Index in, Index out) {
  return ck.load(name, {in, out}).transposed().contiguous();
}

sim::GeluApprox gelu_kind(const HfCheckpoint& ck) {
  if (!ck.has_config("activation_function")) return sim::GeluApprox::tanh;
  const auto name = ck.config_string("activation_function");
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return sim::GeluApprox::tanh;
  if (name == "gelu") return sim::GeluApprox::erf;
  throw LoadError(ck.path() + ": activation_function '" + name + "' is not supported (valid: gelu_new, gelu_pytorch_tanh, gelu)");
}

// The linear weights of a layer and their role names.
constexpr LayerWeight<Gpt2Layer> kWeights[] = {
    {&Gpt2Layer::w_qkv, "attn_qkv"}, {&Gpt2Layer::w_o, "attn_output"},
    {&Gpt2Layer::w_fc, "ffn_up"},    {&Gpt2Layer::w_proj, "ffn_down"}};

}  // namespace

std::vector<std::pair<std::string, const TensorF*>> Gpt2Model::named_weights() const {
  auto out = named_layer_weights(weights_.layers, kWeights);
  out.emplace_back("output", &weights_.output);
  return out;
}

std::string Gpt2Config::describe() const {
  return "gpt2: " + std::to_string(layers) + " layers, d_model " + std::to_string(d_model) + ", " +
         std::to_string(heads) + " heads, FFN " + std::to_string(d_ff) + ", vocabulary " + std::to_string(vocab) +
         ", context " + std::to_string(context) + (gelu == sim::GeluApprox::tanh ? ", tanh GELU" : ", erf GELU") +
         (tied_output ? ", tied output" : "");
}

Gpt2Model Gpt2Model::from_safetensors(const std::string& path) {
  const HfCheckpoint ck(path, "wte.weight", {"transformer."});
  if (ck.has_config("model_type") && ck.config_string("model_type") != "gpt2")
    throw LoadError(path + ": model_type '" + ck.config_string("model_type") + "' is not gpt2");
  Gpt2Model m;
  auto& c = m.config_;
  const auto& wte = ck.shape("wte.weight");
  const auto& wpe = ck.shape("wpe.weight");
  if (wte.size() != 2 || wpe.size() != 2 || wte[1] != wpe[1])
    throw LoadError(path + ": wte.weight " + sim::shape_string(wte) + " and wpe.weight " + sim::shape_string(wpe) +
                    " must be [V, d] and [P, d]");
  c.vocab = int(wte[0]);
  c.d_model = int(wte[1]);
  c.context = int(wpe[0]);
  while (ck.has("h." + std::to_string(c.layers) + ".ln_1.weight")) ++c.layers;
  if (ck.has_config("n_layer") && ck.config_int("n_layer") != c.layers)
    throw LoadError(path + ": n_layer = " + ck.config_string("n_layer") + " but the file holds " +
                    std::to_string(c.layers) + " blocks");
  c.heads = int(ck.config_int("n_head"));
  c.norm_eps = ck.config_double("layer_norm_epsilon", 1e-5);
  c.gelu = gelu_kind(ck);
  if (c.layers == 0) throw LoadError(path + ": no blocks (h.0.ln_1.weight is absent)");
  const auto& fc = ck.shape("h.0.mlp.c_fc.weight");
  if (fc.size() != 2) throw LoadError(path + ": h.0.mlp.c_fc.weight must be a matrix");
  c.d_ff = int(fc[1]);
  if (c.heads <= 0 || c.d_model % c.heads != 0 || c.d_ff <= 0)
    throw LoadError(path + ": inconsistent gpt2 hyper-parameters (" + c.describe() + ")");

  const Index d = c.d_model, f = c.d_ff;
  auto& w = m.weights_;
  w.token_embedding = ck.load("wte.weight", {c.vocab, d});
  w.position_embedding = ck.load("wpe.weight", {c.context, d});
  for (int i = 0; i < c.layers; ++i) {
    const std::string p = "h." + std::to_string(i) + ".";
    Gpt2Layer l;
    l.ln1_w = ck.load(p + "ln_1.weight", {d});
    l.ln1_b = ck.load(p + "ln_1.bias", {d});
    l.w_qkv = conv1d_weight(ck, p + "attn.c_attn.weight", d, 3 * d);
    l.b_qkv = ck.load(p + "attn.c_attn.bias", {3 * d});
    l.w_o = conv1d_weight(ck, p + "attn.c_proj.weight", d, d);
    l.b_o = ck.load(p + "attn.c_proj.bias", {d});
    l.ln2_w = ck.load(p + "ln_2.weight", {d});
    l.ln2_b = ck.load(p + "ln_2.bias", {d});
    l.w_fc = conv1d_weight(ck, p + "mlp.c_fc.weight", d, f);
    l.b_fc = ck.load(p + "mlp.c_fc.bias", {f});
    l.w_proj = conv1d_weight(ck, p + "mlp.c_proj.weight", f, d);
    l.b_proj = ck.load(p + "mlp.c_proj.bias", {d});
    w.layers.push_back(std::move(l));
  }
  w.lnf_w = ck.load("ln_f.weight", {d});
  w.lnf_b = ck.load("ln_f.bias", {d});
  c.tied_output = !ck.has("lm_head.weight");
  w.output = c.tied_output ? w.token_embedding : ck.load("lm_head.weight", {c.vocab, d});
  return m;
}

Gpt2Session::Gpt2Session(const Gpt2Model& model, Numerics numerics)
    : DecoderSession(model, std::move(numerics), kWeights) {}

TensorF Gpt2Session::forward(const std::vector<std::int32_t>& tokens, std::vector<TensorF>* block_outputs) {
  const auto& c = model_->config();
  if (block_outputs) block_outputs->clear();
  if (tokens.empty()) return TensorF(Shape{0, c.vocab});
  check_context(tokens.size());
  const std::vector<Index> ids(tokens.begin(), tokens.end());
  TensorF x = sim::add_positions(sim::embedding(weights_.token_embedding, ids), weights_.position_embedding, past_);
  const auto norm = [&](const std::string& name) { return ops_.norm(c.norm_eps, name, past_); };
  const Index d = c.d_model;
  const auto q = [&](const TensorF& t, const std::string& role) { return ops_.quantize(t, role, past_); };

  for (int i = 0; i < c.layers; ++i) {
    const auto& l = weights_.layers[std::size_t(i)];
    const std::string blk = "blk." + std::to_string(i) + ".";
    TensorF a = q(sim::layer_norm(x, l.ln1_w, l.ln1_b, norm(blk + "attn")), "act." + blk + "attn_qkv");
    const TensorF qkv = ops_.linear(a, l.w_qkv, &l.b_qkv, blk + "attn_qkv");
    const TensorF qh = q(to_heads(q(columns(qkv, 0, d), "qkv." + blk + "q"), c.heads), "attn." + blk + "q");
    const TensorF kh = to_heads(q(columns(qkv, d, d), "qkv." + blk + "k"), c.heads);
    const TensorF vh = to_heads(q(columns(qkv, 2 * d, d), "qkv." + blk + "v"), c.heads);
    const auto& keys = cache_.append_k(std::size_t(i), q(kh, "kv." + blk + "k"));
    const auto& values = cache_.append_v(std::size_t(i), q(vh, "kv." + blk + "v"));
    const TensorF o = from_heads(ops_.attention(qh, keys, values, blk, true, past_));
    add_in_place(x, ops_.linear(q(o, "act." + blk + "attn_output"), l.w_o, &l.b_o, blk + "attn_output"));

    a = q(sim::layer_norm(x, l.ln2_w, l.ln2_b, norm(blk + "ffn")), "act." + blk + "ffn_up");
    TensorF m = sim::gelu(ops_.linear(a, l.w_fc, &l.b_fc, blk + "ffn_up"), c.gelu);
    m = q(q(m, "hidden." + blk + "ffn"), "act." + blk + "ffn_down");
    add_in_place(x, ops_.linear(m, l.w_proj, &l.b_proj, blk + "ffn_down"));
    x = q(x, "residual." + blk.substr(0, blk.size() - 1));
    if (block_outputs) block_outputs->push_back(x.clone());
  }
  TensorF h = q(sim::layer_norm(x, weights_.lnf_w, weights_.lnf_b, norm("output")), "act.output");
  TensorF logits = q(ops_.linear(h, weights_.output, nullptr, "output"), "logits");
  past_ += Index(tokens.size());
  return logits;
}

}  // namespace bitsim::models
