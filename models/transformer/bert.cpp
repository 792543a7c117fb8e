#include "models/transformer/bert.hpp"

#include <cmath>

#include "models/io/load_error.hpp"
#include "models/transformer/hf_checkpoint.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/kernels/embedding.hpp"
#include "sim/kernels/norms.hpp"

namespace bitsim::models {
namespace {

using sim::Index;
using sim::Shape;
using sim::TensorF;

// The linear weights of a layer and their role names.
constexpr LayerWeight<BertLayer> kWeights[] = {
    {&BertLayer::wq, "attn_q"},       {&BertLayer::wk, "attn_k"},
    {&BertLayer::wv, "attn_v"},       {&BertLayer::wo, "attn_output"},
    {&BertLayer::w_up, "ffn_up"},     {&BertLayer::w_down, "ffn_down"}};

}  // namespace

std::vector<std::pair<std::string, const TensorF*>> BertModel::named_weights() const {
  return named_layer_weights(weights_.layers, kWeights);
}

std::string BertConfig::describe() const {
  return "bert: " + std::to_string(layers) + " layers, d_model " + std::to_string(d_model) + ", " +
         std::to_string(heads) + " heads, FFN " + std::to_string(d_ff) + ", vocabulary " + std::to_string(vocab) +
         ", " + std::to_string(max_positions) + " positions";
}

BertModel BertModel::from_directory(const std::string& dir) {
  const HfCheckpoint ck(dir, "embeddings.word_embeddings.weight", {"bert."});
  if (ck.has_config("model_type") && ck.config_string("model_type") != "bert")
    throw LoadError(dir + ": model_type '" + ck.config_string("model_type") + "' is not bert");
  if (ck.has_config("hidden_act") && ck.config_string("hidden_act") != "gelu")
    throw LoadError(dir + ": hidden_act '" + ck.config_string("hidden_act") + "' is not supported (valid: gelu)");
  BertModel m;
  auto& c = m.config_;
  c.layers = int(ck.config_int("num_hidden_layers"));
  c.d_model = int(ck.config_int("hidden_size"));
  c.heads = int(ck.config_int("num_attention_heads"));
  c.d_ff = int(ck.config_int("intermediate_size"));
  c.norm_eps = ck.config_double("layer_norm_eps", 1e-12);
  if (c.layers <= 0 || c.d_model <= 0 || c.heads <= 0 || c.d_model % c.heads != 0 || c.d_ff <= 0)
    throw LoadError(dir + ": inconsistent bert hyper-parameters (" + c.describe() + ")");
  const auto& word = ck.shape("embeddings.word_embeddings.weight");
  const auto& pos = ck.shape("embeddings.position_embeddings.weight");
  const auto& types = ck.shape("embeddings.token_type_embeddings.weight");
  if (word.size() != 2 || pos.size() != 2 || types.size() != 2)
    throw LoadError(dir + ": embedding tables must be matrices");
  c.vocab = int(word[0]);
  c.max_positions = int(pos[0]);
  c.type_vocab = int(types[0]);

  const Index d = c.d_model, ff = c.d_ff;
  auto& w = m.weights_;
  w.word = ck.load("embeddings.word_embeddings.weight", {c.vocab, d});
  w.position = ck.load("embeddings.position_embeddings.weight", {c.max_positions, d});
  w.token_type = ck.load("embeddings.token_type_embeddings.weight", {c.type_vocab, d});
  w.embed_norm_w = ck.load("embeddings.LayerNorm.weight", {d});
  w.embed_norm_b = ck.load("embeddings.LayerNorm.bias", {d});
  for (int i = 0; i < c.layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    BertLayer l;
    l.wq = ck.load(p + "attention.self.query.weight", {d, d});
    l.bq = ck.load(p + "attention.self.query.bias", {d});
    l.wk = ck.load(p + "attention.self.key.weight", {d, d});
    l.bk = ck.load(p + "attention.self.key.bias", {d});
    l.wv = ck.load(p + "attention.self.value.weight", {d, d});
    l.bv = ck.load(p + "attention.self.value.bias", {d});
    l.wo = ck.load(p + "attention.output.dense.weight", {d, d});
    l.bo = ck.load(p + "attention.output.dense.bias", {d});
    l.attn_norm_w = ck.load(p + "attention.output.LayerNorm.weight", {d});
    l.attn_norm_b = ck.load(p + "attention.output.LayerNorm.bias", {d});
    l.w_up = ck.load(p + "intermediate.dense.weight", {ff, d});
    l.b_up = ck.load(p + "intermediate.dense.bias", {ff});
    l.w_down = ck.load(p + "output.dense.weight", {d, ff});
    l.b_down = ck.load(p + "output.dense.bias", {d});
    l.ffn_norm_w = ck.load(p + "output.LayerNorm.weight", {d});
    l.ffn_norm_b = ck.load(p + "output.LayerNorm.bias", {d});
    w.layers.push_back(std::move(l));
  }
  return m;
}

BertSession::BertSession(const BertModel& model, Numerics numerics)
    : model_(&model), ops_(std::move(numerics)), weights_(model.weights()) {
  quantize_layer_weights(ops_, weights_.layers, kWeights);
}

TensorF BertSession::encode(const std::vector<std::int32_t>& tokens, std::vector<TensorF>* block_outputs) const {
  const auto& c = model_->config();
  if (block_outputs) block_outputs->clear();
  if (tokens.empty()) throw std::invalid_argument("bert: encode needs at least one token");
  if (Index(tokens.size()) > c.max_positions)
    throw std::invalid_argument("bert: " + std::to_string(tokens.size()) + " tokens exceed the model's " +
                                std::to_string(c.max_positions) + " positions");
  const Index n = Index(tokens.size());
  const std::vector<Index> ids(tokens.begin(), tokens.end());
  TensorF x = sim::add_positions(sim::embedding(weights_.word, ids), weights_.position);
  const Index type0 = 0;
  const TensorF type_row = sim::embedding(weights_.token_type, std::span<const Index>(&type0, 1));
  {
    auto xs = x.span();
    const auto ts = type_row.span();
    for (Index t = 0; t < n; ++t)
      for (Index j = 0; j < c.d_model; ++j) xs[std::size_t(t * c.d_model + j)] += ts[std::size_t(j)];
  }
  const auto norm = [&](const std::string& name) { return ops_.norm(c.norm_eps, name, 0); };
  x = sim::layer_norm(x, weights_.embed_norm_w, weights_.embed_norm_b, norm("embeddings"));
  const auto q = [&](const TensorF& t, const std::string& role) { return ops_.quantize(t, role, 0); };

  for (int i = 0; i < c.layers; ++i) {
    const auto& l = weights_.layers[std::size_t(i)];
    const std::string blk = "blk." + std::to_string(i) + ".";
    TensorF a = q(x, "act." + blk + "attn_q");
    TensorF qh = q(to_heads(q(ops_.linear(a, l.wq, &l.bq, blk + "attn_q"), "qkv." + blk + "q"), c.heads), "attn." + blk + "q");
    TensorF kh = q(to_heads(q(ops_.linear(a, l.wk, &l.bk, blk + "attn_k"), "qkv." + blk + "k"), c.heads), "kv." + blk + "k");
    TensorF vh = q(to_heads(q(ops_.linear(a, l.wv, &l.bv, blk + "attn_v"), "qkv." + blk + "v"), c.heads), "kv." + blk + "v");
    TensorF o = from_heads(ops_.attention(qh, kh, vh, blk, false, 0));
    add_in_place(x, ops_.linear(q(o, "act." + blk + "attn_output"), l.wo, &l.bo, blk + "attn_output"));
    x = sim::layer_norm(x, l.attn_norm_w, l.attn_norm_b, norm(blk + "attn"));

    TensorF m = sim::gelu(ops_.linear(q(x, "act." + blk + "ffn_up"), l.w_up, &l.b_up, blk + "ffn_up"), sim::GeluApprox::erf);
    m = q(q(m, "hidden." + blk + "ffn"), "act." + blk + "ffn_down");
    add_in_place(x, ops_.linear(m, l.w_down, &l.b_down, blk + "ffn_down"));
    x = q(sim::layer_norm(x, l.ffn_norm_w, l.ffn_norm_b, norm(blk + "ffn")), "residual." + blk.substr(0, blk.size() - 1));
    if (block_outputs) block_outputs->push_back(x.clone());
  }
  return x;
}

TensorF BertSession::embed(const std::vector<std::int32_t>& tokens) const {
  const TensorF h = encode(tokens);
  const Index n = h.shape()[0], d = h.shape()[1];
  const auto hs = h.span();
  std::vector<double> mean(std::size_t(d), 0.0);
  for (Index t = 0; t < n; ++t)
    for (Index j = 0; j < d; ++j) mean[std::size_t(j)] += hs[std::size_t(t * d + j)];
  TensorF e(Shape{d});
  auto es = e.span();
  double norm_sq = 0;
  for (Index j = 0; j < d; ++j) {
    es[std::size_t(j)] = float(mean[std::size_t(j)] / double(n));
    norm_sq += double(es[std::size_t(j)]) * es[std::size_t(j)];
  }
  const double scale = 1.0 / std::max(std::sqrt(norm_sq), 1e-12);
  for (auto& v : es) v = float(v * scale);
  return ops_.quantize(e, "embedding", 0);
}

}  // namespace bitsim::models
