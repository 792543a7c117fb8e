#include "sim/kernels/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sim/gemm/gemm.hpp"
#include "sim/kernels/attention_dims.hpp"
#include "sim/kernels/rows.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::sim {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// The shared dims, and whether query i sees key j.
struct Dims : AttentionDims {
  bool visible(bool causal, Index i, Index j) const { return !causal || j <= offset + i; }
};

Dims check_shapes(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec) {
  return {attention_dims(q, k, v, spec, "attention")};
}

float score_scale(const AttentionSpec& spec, Index d) { return to_float(attention_scale(spec, d)); }

// Matrix [rows, cols] of head h of a rank-3 tensor (a view).
TensorF head(const TensorF& t, Index h) { return t.slice(0, h, h + 1).reshaped({t.size(1), t.size(2)}); }

// Whether attention() computes plain float32 attention: no quantizer, and both GEMMs the
// default AccumSpec (fp32, sequential, exact products, no chunks). The softmax may be any.
bool is_plain(const AttentionSpec& spec) {
  for (const QuantSpec* qs : {&spec.q, &spec.k, &spec.v, &spec.scores, &spec.probs})
    if (!qs->is_identity()) return false;
  return spec.qk == AccumSpec{} && spec.pv == AccumSpec{};
}

// attention() for is_plain specs, bit for bit, in one pass per head (heads in parallel).
// The default GEMM accumulation adds each exact product to a float32 running sum,
// starting from +0, rounding once per addition: that is a chain of float32 fused
// multiply-adds. The QK^T sums run for many keys at once (keys in the vector lanes, the
// features in order; masked keys, which the general path sets to -inf anyway, are skipped),
// the PV sums over every key in order for all features at once.
TensorF plain_attention(const TensorF& q_in, const TensorF& k_in, const TensorF& v_in, const AttentionSpec& spec,
                        const Dims& s) {
  const TensorF q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  TensorF out(Shape{s.H, s.Tq, s.dv});
  const float scale = score_scale(spec, s.d);
  detail::for_each_row(s.H, s.Tq * s.Tk * (s.d + s.dv), [&](Index h) {
    const Index g = h / s.group();
    const float* K = k.data() + g * s.Tk * s.d;
    const float* V = v.data() + g * s.Tk * s.dv;
    std::vector<float> kt(static_cast<std::size_t>(s.d * s.Tk)), scores(static_cast<std::size_t>(s.Tk)),
        probs(static_cast<std::size_t>(s.Tk));
    for (Index j = 0; j < s.Tk; ++j)
      for (Index c = 0; c < s.d; ++c) kt[c * s.Tk + j] = K[j * s.d + c];
    for (Index i = 0; i < s.Tq; ++i) {
      const float* Q = q.data() + (h * s.Tq + i) * s.d;
      const Index n = spec.causal ? std::clamp<Index>(s.offset + i + 1, 0, s.Tk) : s.Tk;  // visible keys
      float* __restrict S = scores.data();
      std::fill_n(S, s.Tk, 0.0f);
      for (Index c = 0; c < s.d; ++c) {
        const float qc = Q[c];
        const float* __restrict kc = kt.data() + c * s.Tk;
        for (Index j = 0; j < n; ++j) S[j] = std::fma(qc, kc[j], S[j]);
      }
      for (Index j = 0; j < n; ++j) S[j] *= scale;
      std::fill(S + n, S + s.Tk, kNegInf);
      const Index row = h * s.Tq + i;
      softmax_row({S, static_cast<std::size_t>(s.Tk)}, probs, spec.softmax, static_cast<std::uint64_t>(row * s.Tk));
      float* __restrict o = out.data() + row * s.dv;
      std::fill_n(o, s.dv, 0.0f);
      for (Index j = 0; j < s.Tk; ++j) {
        const float pj = probs[j];
        const float* __restrict vj = V + j * s.dv;
        for (Index c = 0; c < s.dv; ++c) o[c] = std::fma(pj, vj[c], o[c]);
      }
    }
  });
  return out;
}

}  // namespace

AttentionScores attention_scores(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec) {
  const Dims s = check_shapes(q, k, v, spec);
  // Contiguous, so that heads are plain blocks of memory below.
  AttentionScores r{fake_quantize(q, spec.q, 1).contiguous(), fake_quantize(k, spec.k, 2).contiguous(),
                    fake_quantize(v, spec.v, 3).contiguous(), TensorF(Shape{s.H, s.Tq, s.Tk})};
  const float scale = score_scale(spec, s.d);
  GemmArgs transpose_k;
  transpose_k.transpose_b = true;
  for (Index h = 0; h < s.H; ++h) {
    const TensorF qk = gemm(head(r.q, h), head(r.k, h / s.group()), spec.qk, transpose_k);
    const float* src = qk.data();
    float* dst = r.scores.data() + h * s.Tq * s.Tk;
    for (Index i = 0; i < s.Tq; ++i)
      for (Index j = 0; j < s.Tk; ++j)
        dst[i * s.Tk + j] = s.visible(spec.causal, i, j) ? src[i * s.Tk + j] * scale : 0.0f;
  }
  if (r.scores.empty()) return r;
  r.scores = fake_quantize(r.scores, spec.scores, 4).contiguous();
  if (spec.causal) {
    float* dst = r.scores.data();
    for (Index h = 0; h < s.H; ++h)
      for (Index i = 0; i < s.Tq; ++i)
        for (Index j = 0; j < s.Tk; ++j)
          if (!s.visible(true, i, j)) dst[(h * s.Tq + i) * s.Tk + j] = kNegInf;
  }
  return r;
}

TensorF attention(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec) {
  const Dims s = check_shapes(q, k, v, spec);
  TensorF out(Shape{s.H, s.Tq, s.dv});
  if (out.empty()) return out;
  if (is_plain(spec)) return plain_attention(q, k, v, spec, s);
  const AttentionScores a = attention_scores(q, k, v, spec);
  TensorF p = fake_quantize(softmax(a.scores, spec.softmax), spec.probs, 5);
  for (Index h = 0; h < s.H; ++h) {
    const TensorF o = gemm(head(p, h), head(a.v, h / s.group()), spec.pv);
    std::copy_n(o.data(), s.Tq * s.dv, out.data() + h * s.Tq * s.dv);
  }
  return out;
}

TensorF flash_attention(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec,
                        const FlashSpec& flash) {
  const Dims s = check_shapes(q, k, v, spec);
  if (flash.block_q < 1 || flash.block_k < 1)
    throw std::invalid_argument("flash_attention: block_q and block_k must be >= 1 (got " +
                                std::to_string(flash.block_q) + ", " + std::to_string(flash.block_k) + ")");
  TensorF out(Shape{s.H, s.Tq, s.dv});
  if (out.empty()) return out;
  const AttentionScores a = attention_scores(q, k, v, spec);
  const Index blocks = (s.Tk + flash.block_k - 1) / flash.block_k;
  const Index q_tiles = (s.Tq + flash.block_q - 1) / flash.block_q;
  const Precision& st = flash.stats;
  const Precision& acc = flash.acc;

  // One task per (head, query tile); each row is computed alone, in key order.
  detail::for_each_row(s.H * q_tiles, flash.block_q * s.Tk * std::max<Index>(s.dv, 1), [&](Index task) {
    const Index h = task / q_tiles, g = h / s.group();
    const Index i_end = std::min(s.Tq, (task % q_tiles + 1) * flash.block_q);
    std::vector<double> o(static_cast<std::size_t>(s.dv)), p(static_cast<std::size_t>(flash.block_k));
    for (Index i = (task % q_tiles) * flash.block_q; i < i_end; ++i) {
      const Index row = h * s.Tq + i;
      const float* S = a.scores.data() + row * s.Tk;
      auto stats_k = static_cast<std::uint64_t>(row * (4 * s.Tk + 4 * blocks + 4));
      const auto acc_stride = static_cast<std::uint64_t>(s.Tk + blocks + 1);
      std::vector<std::uint64_t> acc_k(static_cast<std::size_t>(s.dv));
      for (Index c = 0; c < s.dv; ++c) acc_k[c] = static_cast<std::uint64_t>(row * s.dv + c) * acc_stride;
      std::fill(o.begin(), o.end(), 0.0);
      double m = kNegInf, l = 0.0;
      for (Index b = 0; b < blocks; ++b) {
        const Index j0 = b * flash.block_k, j1 = std::min(s.Tk, j0 + flash.block_k);
        double m_new = m;
        bool any = false;
        for (Index j = j0; j < j1; ++j)
          if (s.visible(spec.causal, i, j)) {
            any = true;
            m_new = (std::isnan(S[j]) || S[j] > m_new) ? S[j] : m_new;
          }
        if (!any) continue;
        double block_sum = 0.0;
        for (Index j = j0; j < j1; ++j) {
          double& pj = p[j - j0];
          pj = 0.0;
          if (!s.visible(spec.causal, i, j)) continue;
          pj = st.exp(st.sub(S[j], m_new, stats_k), stats_k + 1);
          stats_k += 2;
          block_sum = st.add(block_sum, pj, stats_k++);
        }
        const double alpha = m == kNegInf ? 0.0 : st.exp(st.sub(m, m_new, stats_k), stats_k + 1);
        stats_k += 2;
        l = st.add(st.mul(alpha, l, stats_k), block_sum, stats_k + 1);
        stats_k += 2;
        for (Index j = j0; j < j1; ++j)
          if (s.visible(spec.causal, i, j)) p[j - j0] = flash.p_bar.round(p[j - j0], static_cast<std::uint64_t>(row * s.Tk + j));
        const float* V = a.v.data() + g * s.Tk * s.dv;
        for (Index c = 0; c < s.dv; ++c) {
          double oc = acc.mul(alpha, o[c], acc_k[c]++);
          for (Index j = j0; j < j1; ++j)
            if (s.visible(spec.causal, i, j)) oc = acc.add(oc, p[j - j0] * V[j * s.dv + c], acc_k[c]++);
          o[c] = oc;
        }
        m = m_new;
      }
      float* y = out.data() + row * s.dv;
      for (Index c = 0; c < s.dv; ++c)
        y[c] = to_float(flash.out.div(o[c], l, static_cast<std::uint64_t>(row * s.dv + c)));
    }
  });
  return out;
}

}  // namespace bitsim::sim
