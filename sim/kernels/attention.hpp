#pragma once
// Scaled dot-product attention with grouped-query heads, every stage's numerics explicit.
//
// Shapes: q [H, Tq, d], k [Hkv, Tk, d], v [Hkv, Tk, dv] -> out [H, Tq, dv]; Hkv divides H
// and query head h reads kv head h / (H / Hkv) (Hkv = H: multi-head; Hkv = 1: multi-query).
//
// Naive attention (attention()), per the stages of AttentionSpec:
//   Q', K', V' = fake_quantize(q, spec.q, 1), (k, spec.k, 2), (v, spec.v, 3)  (whole tensors)
//   S[h]  = gemm(Q'[h], K'[g], spec.qk, transpose_b)           (dot products over d)
//   S     = S * scale                                          (float32; scale 1/sqrt(d))
//   masked scores set to 0, S = fake_quantize(S, spec.scores, 4), masked set to -inf
//   P     = softmax(S, spec.softmax)                           (along keys)
//   P     = fake_quantize(P, spec.probs, 5)
//   O[h]  = gemm(P[h], V'[g], spec.pv)                         (sums over keys)
// Causal mask: query i sits at absolute position query_offset + i (default Tk - Tq: the
// queries are the last Tq tokens, as in KV-cache decoding) and sees key j iff
// j <= query_offset + i. A query that sees no key gets a NaN row (softmax of all -inf).
// Without quantizers and with the default AccumSpecs (fp32, sequential) the same result
// is computed in one pass per head, heads in parallel: each GEMM sum is then a chain of
// float32 fused multiply-adds from +0 (tested bit for bit against the stages above).
//
// Flash attention (flash_attention()): the same Q', K', V' and the same scores S (so the
// QK^T stage is identical), then per query row, key blocks [j0, j0 + Bk) in order, with
// the running max m (-inf), sum l (0) and output o[dv] (0):
//   m'    = max(m, max_j S[j])                  (masked keys skipped; blocks with no
//                                                visible key are skipped)
//   p[j]  = st.exp(st.sub(S[j], m'))            (unnormalised probabilities, stats prec.)
//   a     = st.exp(st.sub(m, m'))               (0 on the first visible block)
//   l     = st.add(st.mul(a, l), ((0 + p[j0]) + p[j0+1]) + ...)   (sum in st)
//   pb[j] = p_bar.round(p[j])                   (P-bar as fed to the PV matmul)
//   o[c]  = acc.mul(a, o[c]); then for each j: o[c] = acc.add(o[c], pb[j] * V'[j][c])
//           (the product is exact: fused multiply-add into the accumulator)
//   m     = m'
// out[c] = out.div(o[c], l). Bq only tiles the work (rows are independent), so results do
// not depend on it; Bk changes the rescaling points and therefore the rounding. With all
// precisions float32 the flash result differs from the naive one only by rounding: the
// tests bound |flash - naive| <= 1e-5 * max|V| + 1e-6 (documented in sim/README.md).
// Stochastic rounding numbers operations by (row, key, feature) position; see README.
#include <optional>

#include "sim/gemm/accum_spec.hpp"
#include "sim/kernels/precision.hpp"
#include "sim/kernels/softmax.hpp"
#include "sim/quant/quant_spec.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

struct AttentionSpec {
  bool causal = false;
  std::optional<Index> query_offset;  // absolute position of query 0; default Tk - Tq
  std::optional<double> scale;        // default 1 / sqrt(d), rounded to float32
  QuantSpec q, k, v;                  // inputs (identity by default)
  QuantSpec scores;                   // scaled scores [H, Tq, Tk]
  QuantSpec probs;                    // softmax output [H, Tq, Tk] (naive attention only)
  AccumSpec qk;                       // the QK^T dot products
  AccumSpec pv;                       // the PV sums (naive attention only)
  SoftmaxSpec softmax;                // naive attention only
};

struct FlashSpec {
  Index block_q = 64;
  Index block_k = 64;
  Precision stats;  // running max arithmetic, exp, the sum l
  Precision p_bar;  // P-bar before the PV product (e.g. bf16, e4m3fn)
  Precision acc;    // the running output accumulator o
  Precision out;    // the final o / l
};

TensorF attention(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec = {});
TensorF flash_attention(const TensorF& q, const TensorF& k, const TensorF& v,
                        const AttentionSpec& spec = {}, const FlashSpec& flash = {});

// The stages both variants share: quantized inputs and the scaled, quantized, masked
// scores [H, Tq, Tk] (masked entries -inf). For tests and analyses.
struct AttentionScores {
  TensorF q, k, v, scores;
};
AttentionScores attention_scores(const TensorF& q, const TensorF& k, const TensorF& v,
                                 const AttentionSpec& spec = {});

}  // namespace bitsim::sim
