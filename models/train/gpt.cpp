#include "models/train/gpt.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "formats/random_stream.hpp"
#include "sim/grad/activation_grad.hpp"
#include "sim/grad/attention_blas.hpp"
#include "sim/grad/attention_grad.hpp"
#include "sim/grad/cross_entropy.hpp"
#include "sim/grad/embedding_grad.hpp"
#include "sim/grad/linear_grad.hpp"
#include "sim/grad/norm_grad.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/kernels/embedding.hpp"
#include "sim/kernels/norms.hpp"

namespace bitsim::models::train {
namespace {

using sim::Shape;

// Per-layer parameter slots, in Parameter order.
enum Slot : Index { ln1_g, ln1_b, attn_w, attn_b, proj_w, proj_b, ln2_g, ln2_b, fc_w, fc_b, fc2_w, fc2_b, kSlots };
constexpr Index kFirstLayer = 2;  // after wte, wpe

// into[i] += g[i] (contiguous tensors of one shape, distinct storage): a loop the compiler
// vectorises; each element is one float addition, so the bits are those of any order.
void accumulate(TensorF& into, const TensorF& g) {
  float* __restrict s = into.data();
  const float* __restrict x = g.data();
  const Index n = into.numel();
  for (Index i = 0; i < n; ++i) s[i] += x[i];
}

// sum[i] += a[i] in place (float addition commutes: the bits of a[i] + sum[i]); returns sum.
TensorF add_into(TensorF sum, const TensorF& a) {
  accumulate(sum, a);
  return sum;
}

// Columns [offset, offset + H*hd) of m [B*T, width] as [B*H, T, hd]: head h of sequence b
// is head b*H + h, so one attention call covers the batch (heads are independent).
TensorF split_heads(const TensorF& m, Index B, Index T, Index H, Index hd, Index offset) {
  const Index width = m.size(1);
  TensorF out({B * H, T, hd}, sim::uninitialized);  // every element copied below
  for (Index b = 0; b < B; ++b)
    for (Index t = 0; t < T; ++t)
      for (Index h = 0; h < H; ++h)
        std::copy_n(m.data() + (b * T + t) * width + offset + h * hd, hd, out.data() + ((b * H + h) * T + t) * hd);
  return out;
}

// The inverse: x [B*H, T, hd] -> columns [offset, offset + H*hd) of `into` [B*T, width].
void merge_heads(const TensorF& x, TensorF& into, Index B, Index H, Index offset) {
  const Index T = x.size(1), hd = x.size(2), width = into.size(1);
  for (Index b = 0; b < B; ++b)
    for (Index t = 0; t < T; ++t)
      for (Index h = 0; h < H; ++h)
        std::copy_n(x.data() + ((b * H + h) * T + t) * hd, hd, into.data() + (b * T + t) * width + offset + h * hd);
}

double amax_of(const TensorF& t) {
  double m = 0;
  for (Index i = 0; i < t.numel(); ++i) {
    const double a = std::fabs(double(t.data()[i]));
    if (std::isnan(a)) return a;  // not recorded in a history (AmaxHistory::observe)
    m = std::max(m, a);
  }
  return m;
}

// `spec` with every per-tensor absmax operand given the fixed clips cx (x, x^T), cw (W, W^T)
// and cdy (dy, dy^T): delayed scaling.
sim::LinearSpec with_clips(sim::LinearSpec s, double cx, double cw, double cdy) {
  auto set = [](sim::QuantSpec& q, double c) {
    if (q.is_block || q.granularity != sim::Granularity::per_tensor || q.scale_rule != sim::ScaleRule::absmax) return;
    if (!std::isfinite(c)) return;  // a non-finite tensor: keep current scaling (NaN scale)
    q.scale_rule = sim::ScaleRule::fixed;
    q.clip = c;
  };
  set(s.forward.operands.a, cx);
  set(s.forward.operands.b, cw);
  set(s.input_grad.operands.a, cdy);
  set(s.input_grad.operands.b, cw);
  set(s.weight_grad.operands.a, cdy);
  set(s.weight_grad.operands.b, cx);
  return s;
}

TensorF normal_tensor(Shape shape, double stddev, std::uint64_t seed, std::uint64_t stream) {
  const formats::RandomStream rng{seed, stream};
  TensorF t(std::move(shape), sim::uninitialized);
  for (Index i = 0; i < t.numel(); ++i) {
    // Box-Muller from two 32-bit words; u1 in (0, 1].
    const double u1 = (static_cast<double>(rng.word(2 * i)) + 1.0) / 4294967296.0;
    const double u2 = static_cast<double>(rng.word(2 * i + 1)) / 4294967296.0;
    t.data()[i] = static_cast<float>(stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * std::numbers::pi * u2));
  }
  return t;
}

}  // namespace

sim::GeluApprox parse_gelu(const std::string& name) {
  if (name == "tanh") return sim::GeluApprox::tanh;
  if (name == "tanh_f32") return sim::GeluApprox::tanh_f32;
  throw std::invalid_argument("unknown gelu '" + name + "'; valid: tanh (float64, the default), tanh_f32 (float32)");
}

std::string gelu_name(sim::GeluApprox gelu) {
  switch (gelu) {
    case sim::GeluApprox::tanh: return "tanh";
    case sim::GeluApprox::tanh_f32: return "tanh_f32";
    case sim::GeluApprox::erf: break;
  }
  return "erf";
}

AttentionImpl parse_attention(const std::string& name) {
  if (name == "exact") return AttentionImpl::exact;
  if (name == "blas") return AttentionImpl::blas;
  throw std::invalid_argument("unknown attention '" + name +
                              "'; valid: exact (bit-defined, the default), blas (float32 OpenBLAS, as PyTorch)");
}

std::string attention_name(AttentionImpl attention) { return attention == AttentionImpl::blas ? "blas" : "exact"; }

void GptConfig::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("GPT config: " + what);
  };
  require(vocab > 0 && context > 0 && d_model > 0 && layers >= 0 && heads > 0,
          "vocab, context, d_model and heads must be positive and layers >= 0");
  require(gelu == sim::GeluApprox::tanh || gelu == sim::GeluApprox::tanh_f32,
          "gelu must be tanh (float64) or tanh_f32 (float32)");
  require(attention == AttentionImpl::exact || attention == AttentionImpl::blas,
          "attention must be exact (bit-defined) or blas (float32 OpenBLAS)");
  require(d_model % heads == 0, "d_model (" + std::to_string(d_model) + ") must be a multiple of heads (" +
                                    std::to_string(heads) + ")");
}

Gpt::Gpt(const GptConfig& config, std::uint64_t seed) : config_(config) {
  config_.validate();
  const Index D = config_.d_model, V = config_.vocab;
  const double std_w = 0.02, std_resid = 0.02 / std::sqrt(2.0 * static_cast<double>(std::max<Index>(1, config_.layers)));
  auto add_param = [&](std::string name, Shape shape, double stddev, float fill, bool decay, bool conv1d) {
    const std::uint64_t stream = params_.size();
    TensorF value = stddev > 0 ? normal_tensor(shape, stddev, seed, stream) : TensorF(shape, fill);
    params_.push_back({std::move(name), value, TensorF(shape), decay, conv1d});
  };
  add_param("wte.weight", {V, D}, std_w, 0, true, false);
  add_param("wpe.weight", {config_.context, D}, std_w, 0, true, false);
  for (Index l = 0; l < config_.layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    add_param(p + "ln_1.weight", {D}, 0, 1, false, false);
    add_param(p + "ln_1.bias", {D}, 0, 0, false, false);
    add_param(p + "attn.c_attn.weight", {3 * D, D}, std_w, 0, true, true);
    add_param(p + "attn.c_attn.bias", {3 * D}, 0, 0, false, false);
    add_param(p + "attn.c_proj.weight", {D, D}, std_resid, 0, true, true);
    add_param(p + "attn.c_proj.bias", {D}, 0, 0, false, false);
    add_param(p + "ln_2.weight", {D}, 0, 1, false, false);
    add_param(p + "ln_2.bias", {D}, 0, 0, false, false);
    add_param(p + "mlp.c_fc.weight", {4 * D, D}, std_w, 0, true, true);
    add_param(p + "mlp.c_fc.bias", {4 * D}, 0, 0, false, false);
    add_param(p + "mlp.c_proj.weight", {D, 4 * D}, std_resid, 0, true, true);
    add_param(p + "mlp.c_proj.bias", {D}, 0, 0, false, false);
  }
  add_param("ln_f.weight", {D}, 0, 1, false, false);
  add_param("ln_f.bias", {D}, 0, 0, false, false);
}

Parameter& Gpt::parameter(const std::string& name) {
  for (auto& p : params_)
    if (p.name == name) return p;
  throw std::invalid_argument("GPT has no parameter '" + name + "'");
}

double Gpt::loss(std::span<const Index> tokens, Index batch, const Recipe& recipe, std::uint64_t step,
                 bool backward, double loss_scale, AmaxHistory* amax) {
  const Index D = config_.d_model, H = config_.heads, hd = D / H, L = config_.layers;
  if (batch <= 0 || tokens.size() % static_cast<std::size_t>(batch) != 0)
    throw std::invalid_argument("GPT loss: " + std::to_string(tokens.size()) + " tokens do not form " +
                                std::to_string(batch) + " equal rows");
  const Index T = static_cast<Index>(tokens.size()) / batch - 1;
  if (T < 1 || T > config_.context)
    throw std::invalid_argument("GPT loss: sequence length " + std::to_string(T) + " must be in [1, context = " +
                                std::to_string(config_.context) + "]");
  const Index BT = batch * T;
  std::vector<Index> inputs, targets;
  for (Index b = 0; b < batch; ++b)
    for (Index t = 0; t < T; ++t) {
      inputs.push_back(tokens[b * (T + 1) + t]);
      targets.push_back(tokens[b * (T + 1) + t + 1]);
    }
  auto P = [&](Index l, Slot s) -> Parameter& { return params_[kFirstLayer + l * kSlots + s]; };
  Parameter& wte = params_[0];
  Parameter& wpe = params_[1];
  Parameter& lnf_g = params_[kFirstLayer + L * kSlots];
  Parameter& lnf_b = params_[kFirstLayer + L * kSlots + 1];
  sim::AttentionSpec causal;
  causal.causal = true;
  const bool blas_attention = config_.attention == AttentionImpl::blas;
  // Delayed scaling: the spec of linear j of layer l with clips from the history (dy only
  // in the backward pass); a training pass records x and W amaxes in the forward, dy in
  // the backward.
  const bool delayed = amax != nullptr && recipe.amax_history > 0;
  auto spec_of = [&](const sim::LinearSpec& base, Index l, Index j, const TensorF& in, const TensorF& w,
                     const TensorF* dy, bool record) {
    if (!delayed) return base;
    const std::size_t key = static_cast<std::size_t>((4 * l + j) * 3);
    const double ax = amax_of(in), aw = amax_of(w), ady = dy ? amax_of(*dy) : 0.0;
    if (record && !dy) {
      amax->observe(key, ax);
      amax->observe(key + 1, aw);
    }
    if (record && dy) amax->observe(key + 2, ady);
    return with_clips(base, amax->clip(key, ax), amax->clip(key + 1, aw), amax->clip(key + 2, ady));
  };

  // ---- forward, keeping what the backward needs ----
  struct LayerCache {
    TensorF x, a1, qkv, att, x1, a2, f, g;
    sim::GeluSaved gelu;  // the forward's tanh values, reused by the backward
    std::array<TensorF, 3> heads;  // q, k, v [batch * H, T, hd]
    sim::AttentionBlasSaved attention;  // attention: blas keeps its probabilities for the backward
    std::array<sim::LinearQuantized, 4> quantized;  // qkv, proj, fc, fc2: operands the backward reuses
  };
  std::vector<LayerCache> cache(static_cast<std::size_t>(L));
  TensorF x = sim::add_positions(sim::embedding(wte.value, inputs).reshaped({batch, T, D}), wpe.value.slice(0, 0, T))
                  .reshaped({BT, D});
  for (Index l = 0; l < L; ++l) {
    LayerCache& c = cache[l];
    const sim::LinearSpec spec = recipe.linear_for(step, static_cast<std::uint64_t>(l));
    c.x = x;
    c.a1 = sim::layer_norm(x, P(l, ln1_g).value, P(l, ln1_b).value);
    c.qkv = sim::linear_forward(c.a1, P(l, attn_w).value, P(l, attn_b).value,
                                spec_of(spec, l, 0, c.a1, P(l, attn_w).value, nullptr, backward), &c.quantized[0]);
    c.att = TensorF({BT, D}, sim::uninitialized);  // merge_heads fills columns [0, D)
    c.heads = {split_heads(c.qkv, batch, T, H, hd, 0), split_heads(c.qkv, batch, T, H, hd, D),
               split_heads(c.qkv, batch, T, H, hd, 2 * D)};
    const auto& [q, k, v] = c.heads;
    merge_heads(blas_attention ? sim::attention_blas(q, k, v, causal, backward ? &c.attention : nullptr)
                               : sim::attention(q, k, v, causal),
                c.att, batch, H, 0);
    c.x1 = add_into(sim::linear_forward(c.att, P(l, proj_w).value, P(l, proj_b).value,
                                      spec_of(spec, l, 1, c.att, P(l, proj_w).value, nullptr, backward), &c.quantized[1]),
                    x);
    c.a2 = sim::layer_norm(c.x1, P(l, ln2_g).value, P(l, ln2_b).value);
    c.f = sim::linear_forward(c.a2, P(l, fc_w).value, P(l, fc_b).value,
                              spec_of(spec, l, 2, c.a2, P(l, fc_w).value, nullptr, backward), &c.quantized[2]);
    c.g = sim::gelu(c.f, config_.gelu, {}, &c.gelu);
    x = add_into(sim::linear_forward(c.g, P(l, fc2_w).value, P(l, fc2_b).value,
                                      spec_of(spec, l, 3, c.g, P(l, fc2_w).value, nullptr, backward), &c.quantized[3]),
                 c.x1);
  }
  const TensorF hf = sim::layer_norm(x, lnf_g.value, lnf_b.value);
  const TensorF logits = sim::linear_forward(hf, wte.value, std::nullopt, recipe.head);
  const auto ce = sim::cross_entropy(logits, targets, loss_scale);
  if (!backward) return ce.loss;

  // ---- backward ----
  // Every gradient is assigned below; only the tied embedding's accumulates (from zero).
  wte.grad = TensorF(wte.value.shape());
  wpe.grad = TensorF(wpe.value.shape());
  const auto head = sim::linear_backward(hf, wte.value, ce.dlogits, false, recipe.head);
  accumulate(wte.grad, head.dw);
  auto lnf = sim::layer_norm_backward(x, lnf_g.value, head.dx);
  lnf_g.grad = lnf.dgamma;
  lnf_b.grad = lnf.dbeta;
  TensorF dx = lnf.dx;
  for (Index l = L; l-- > 0;) {
    LayerCache& c = cache[l];
    const sim::LinearSpec spec = recipe.linear_for(step, static_cast<std::uint64_t>(l));
    auto set = [&](Slot w, Slot bias, const sim::LinearGrads& g) {
      P(l, w).grad = g.dw;
      P(l, bias).grad = g.db;
    };
    // MLP: x2 = x1 + fc2(gelu(fc(ln2(x1))))
    const auto g2 = sim::linear_backward(c.g, P(l, fc2_w).value, dx, true,
                                         spec_of(spec, l, 3, c.g, P(l, fc2_w).value, &dx, true), true, &c.quantized[3]);
    set(fc2_w, fc2_b, g2);
    const TensorF df = sim::gelu_backward(c.f, g2.dx, config_.gelu, &c.gelu);
    const auto g1 = sim::linear_backward(c.a2, P(l, fc_w).value, df, true,
                                         spec_of(spec, l, 2, c.a2, P(l, fc_w).value, &df, true), true, &c.quantized[2]);
    set(fc_w, fc_b, g1);
    const auto n2 = sim::layer_norm_backward(c.x1, P(l, ln2_g).value, g1.dx);
    P(l, ln2_g).grad = n2.dgamma;
    P(l, ln2_b).grad = n2.dbeta;
    const TensorF dx1 = add_into(n2.dx, dx);
    // Attention: x1 = x + proj(attn(ln1(x)))
    const auto gp = sim::linear_backward(c.att, P(l, proj_w).value, dx1, true,
                                         spec_of(spec, l, 1, c.att, P(l, proj_w).value, &dx1, true), true, &c.quantized[1]);
    set(proj_w, proj_b, gp);
    TensorF dqkv({BT, 3 * D}, sim::uninitialized);  // the three merges fill [0, 3D)
    const auto& [q, k, v] = c.heads;
    const TensorF dheads = split_heads(gp.dx, batch, T, H, hd, 0);
    const auto ga = blas_attention ? sim::attention_blas_backward(q, k, v, dheads, causal, &c.attention)
                                   : sim::attention_backward(q, k, v, dheads, causal);
    merge_heads(ga.dq, dqkv, batch, H, 0);
    merge_heads(ga.dk, dqkv, batch, H, D);
    merge_heads(ga.dv, dqkv, batch, H, 2 * D);
    const auto gq = sim::linear_backward(c.a1, P(l, attn_w).value, dqkv, true,
                                         spec_of(spec, l, 0, c.a1, P(l, attn_w).value, &dqkv, true), true, &c.quantized[0]);
    set(attn_w, attn_b, gq);
    const auto n1 = sim::layer_norm_backward(c.x, P(l, ln1_g).value, gq.dx);
    P(l, ln1_g).grad = n1.dgamma;
    P(l, ln1_b).grad = n1.dbeta;
    dx = add_into(n1.dx, dx1);
  }
  accumulate(wte.grad, sim::embedding_backward<float>(inputs, dx, config_.vocab));
  const TensorF dpos = sim::positions_backward(dx.reshaped({batch, T, D}), T, 0);
  for (Index i = 0; i < dpos.numel(); ++i) wpe.grad.data()[i] = dpos.data()[i];
  if (delayed) amax->commit();
  return ce.loss;
}

}  // namespace bitsim::models::train
