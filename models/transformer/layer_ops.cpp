#include "models/transformer/layer_ops.hpp"

#include <algorithm>
#include <stdexcept>

#include "sim/gemm/gemm.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::models {
namespace {

using sim::Index;
using sim::Shape;
using sim::TensorF;

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

}  // namespace

std::uint64_t role_seed(std::string_view role) {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char c : role) h = (h ^ std::uint8_t(c)) * 0x100000001b3ull;
  return h;
}

TensorF LayerOps::weight(const TensorF& w, const std::string& name) const {
  const std::string role = "weight." + name;
  const auto spec = numerics_.quant_for(role);
  return spec.is_identity() ? w : sim::fake_quantize(w, spec, role_seed(role));
}

TensorF LayerOps::quantize(const TensorF& x, const std::string& role, std::int64_t step) const {
  const auto spec = numerics_.quant_for(role);
  const std::uint64_t stream = role_seed(role) + std::uint64_t(step) * 0x9E3779B97F4A7C15ull;
  if (numerics_.tap) numerics_.tap(role, x, spec, stream);
  if (spec.is_identity()) return x;
  return sim::fake_quantize(x, spec, stream);
}

sim::NormSpec LayerOps::norm(double eps, const std::string& name, std::int64_t step) const {
  const std::string role = "norm." + name;
  sim::NormSpec spec;
  spec.eps = eps;
  const auto q = numerics_.quant_for(role);
  if (q.is_identity()) return spec;
  if (q.is_block || q.is_scaled() || q.transform != sim::TransformSpec{})
    throw std::invalid_argument("role '" + role + "': norm statistics take an unscaled element format (e.g. bf16, "
                                "fp16:rz, e4m3fn:sr, fp64), not '" + sim::to_string(q) + "'");
  spec.stats = sim::Precision(formats::Format::parse(q.format), q.rounding,
                              formats::RandomStream{q.seed, role_seed(role) + std::uint64_t(step) * 0x9E3779B97F4A7C15ull});
  return spec;
}

TensorF LayerOps::linear(const TensorF& x, const TensorF& w, const TensorF* bias, const std::string& name) const {
  sim::GemmArgs args;
  args.transpose_b = true;
  if (bias) args.bias = *bias;
  return sim::gemm(x, w, numerics_.accum_for("matmul." + name), args);
}

TensorF LayerOps::attention(const TensorF& q, const TensorF& k, const TensorF& v, const std::string& blk, bool causal,
                            std::int64_t query_offset) const {
  sim::AttentionSpec att;
  att.causal = causal;
  if (causal) att.query_offset = query_offset;
  att.scores = numerics_.quant_for("attn." + blk + "scores");
  att.probs = numerics_.quant_for("attn." + blk + "probs");
  att.qk = numerics_.accum_for("matmul." + blk + "qk");
  att.pv = numerics_.accum_for("matmul." + blk + "pv");
  return sim::attention(q, k, v, att);
}

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
  const auto b = y.contiguous();
  const auto bs = b.span();
  for (std::size_t i = 0; i < a.size(); ++i) a[i] += bs[i];
}

TensorF columns(const TensorF& x, std::int64_t begin, std::int64_t count) {
  return x.slice(1, begin, begin + count).contiguous();
}

void KvCache::reset(std::size_t layers) {
  k_.assign(layers, TensorF());
  v_.assign(layers, TensorF());
}

const TensorF& KvCache::append_k(std::size_t layer, const TensorF& k) { return k_.at(layer) = append_time(k_.at(layer), k); }
const TensorF& KvCache::append_v(std::size_t layer, const TensorF& v) { return v_.at(layer) = append_time(v_.at(layer), v); }

}  // namespace bitsim::models
