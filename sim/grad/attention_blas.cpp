#include "sim/grad/attention_blas.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <cblas.h>

#include "sim/kernels/attention_dims.hpp"
#include "sim/kernels/rows.hpp"

namespace bitsim::sim {
namespace {

// The shared dims, the float32 scale and the mask.
struct Dims : AttentionDims {
  float scale = 0;
  bool causal = false;
  // Keys query i sees: [0, visible(i)).
  Index visible(Index i) const { return causal ? std::clamp<Index>(offset + i + 1, 0, Tk) : Tk; }
};

// The dims, or std::invalid_argument for bad shapes and for what this path does not model.
Dims check(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec, const char* who) {
  const AttentionDims dims = attention_dims(q, k, v, spec, who);
  auto fail = [&](const std::string& why) { throw std::invalid_argument(std::string(who) + ": " + why); };
  for (const QuantSpec* qs : {&spec.q, &spec.k, &spec.v, &spec.scores, &spec.probs})
    if (!qs->is_identity()) fail("quantizers are not modelled (every QuantSpec of the AttentionSpec must be identity)");
  if (!(spec.qk == AccumSpec{}) || !(spec.pv == AccumSpec{}))
    fail("AccumSpecs are not modelled (the sums are OpenBLAS's float32 sgemm; leave qk and pv default)");
  if (!spec.softmax.exp.is_float32() || !spec.softmax.sum.is_float32() || !spec.softmax.out.is_float32())
    fail("the softmax computes in float32 (leave the SoftmaxSpec default)");
  return {dims, static_cast<float>(attention_scale(spec, dims.d)), spec.causal};
}

// term(0) + ... + term(n-1) in float32: 8 lanes, lane l adding the terms l, l + 8, ... in
// order, then the lanes pairwise. A fixed order that vectorises without reassociation.
template <class Term>
float lane_sum(Index n, Term term) {
  std::array<float, 8> lane{};
  Index j = 0;
  for (; j + 8 <= n; j += 8)
    for (Index l = 0; l < 8; ++l) lane[l] += term(j + l);
  for (Index l = 0; j < n; ++j, ++l) lane[l] += term(j);
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
}

// Probabilities of head h ([Tq, Tk] at p) from its q and k rows: the forward's steps.
void probabilities(const Dims& s, const float* q, const float* k, float* p) {
  if (s.Tq == 0 || s.Tk == 0) return;
  if (s.d > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(s.Tq), int(s.Tk), int(s.d), s.scale, q, int(s.d), k,
                int(s.d), 0.0f, p, int(s.Tk));
  else
    std::fill_n(p, s.Tq * s.Tk, 0.0f);
  for (Index i = 0; i < s.Tq; ++i) {
    float* row = p + i * s.Tk;
    const Index n = s.visible(i);
    float m = -std::numeric_limits<float>::infinity();
    bool nan = false;
    for (Index j = 0; j < n; ++j) {
      nan |= std::isnan(row[j]);
      m = std::max(m, row[j]);
    }
    if (nan) m = std::numeric_limits<float>::quiet_NaN();  // std::max would skip a NaN
    for (Index j = 0; j < n; ++j) row[j] = std::exp(row[j] - m);
    const float inv = 1.0f / lane_sum(n, [row](Index j) { return row[j]; });
    for (Index j = 0; j < n; ++j) row[j] *= inv;
    std::fill(row + n, row + s.Tk, 0.0f);
  }
}

}  // namespace

TensorF attention_blas(const TensorF& q_in, const TensorF& k_in, const TensorF& v_in, const AttentionSpec& spec,
                       AttentionBlasSaved* saved) {
  const Dims s = check(q_in, k_in, v_in, spec, "attention_blas");
  const TensorF q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  TensorF probs(Shape{s.H, s.Tq, s.Tk});
  TensorF out(Shape{s.H, s.Tq, s.dv});
  detail::for_each_row(s.H, s.Tq * s.Tk * (s.d + s.dv), [&](Index h) {
    const Index g = h / s.group();
    float* p = probs.data() + h * s.Tq * s.Tk;
    float* o = out.data() + h * s.Tq * s.dv;
    probabilities(s, q.data() + h * s.Tq * s.d, k.data() + g * s.Tk * s.d, p);
    if (s.Tq > 0 && s.dv > 0 && s.Tk > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.Tq), int(s.dv), int(s.Tk), 1.0f, p, int(s.Tk),
                  v.data() + g * s.Tk * s.dv, int(s.dv), 0.0f, o, int(s.dv));
    for (Index i = 0; i < s.Tq; ++i)  // softmax over no key: NaN, as sim::attention
      if (s.visible(i) == 0) std::fill_n(o + i * s.dv, s.dv, std::numeric_limits<float>::quiet_NaN());
  });
  if (saved) saved->probs = std::move(probs);
  return out;
}

AttentionGrads<float> attention_blas_backward(const TensorF& q_in, const TensorF& k_in, const TensorF& v_in,
                                              const TensorF& dout_in, const AttentionSpec& spec,
                                              const AttentionBlasSaved* saved) {
  const Dims s = check(q_in, k_in, v_in, spec, "attention_blas_backward");
  if (dout_in.shape() != Shape{s.H, s.Tq, s.dv})
    throw std::invalid_argument("attention_blas_backward: dout " + shape_string(dout_in.shape()) + " must be [H, Tq, dv] = " +
                                shape_string(Shape{s.H, s.Tq, s.dv}));
  if (saved && saved->probs.shape() != Shape{s.H, s.Tq, s.Tk})
    throw std::invalid_argument("attention_blas_backward: saved probabilities " + shape_string(saved->probs.shape()) +
                                " do not belong to these inputs (expected " + shape_string(Shape{s.H, s.Tq, s.Tk}) + ")");
  const TensorF q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous(), dout = dout_in.contiguous();
  const TensorF probs = saved ? saved->probs.contiguous() : TensorF();
  AttentionGrads<float> g{TensorF(q.shape()), TensorF(k.shape()), TensorF(v.shape())};
  const Index tile = s.Tq * s.Tk;
  detail::for_each_row(s.Hkv, s.group() * tile * (2 * s.d + 2 * s.dv), [&](Index kv) {
    const float* K = k.data() + kv * s.Tk * s.d;
    const float* V = v.data() + kv * s.Tk * s.dv;
    float* dK = g.dk.data() + kv * s.Tk * s.d;
    float* dV = g.dv.data() + kv * s.Tk * s.dv;
    std::vector<float> recomputed(saved ? 0 : static_cast<std::size_t>(tile)), ds(static_cast<std::size_t>(tile));
    for (Index h = kv * s.group(); h < (kv + 1) * s.group(); ++h) {
      const float* Q = q.data() + h * s.Tq * s.d;
      const float* dO = dout.data() + h * s.Tq * s.dv;
      float* dQ = g.dq.data() + h * s.Tq * s.d;
      const float beta = h == kv * s.group() ? 0.0f : 1.0f;  // the group's first head assigns dK, dV
      const float* P = saved ? probs.data() + h * tile : recomputed.data();
      if (!saved) probabilities(s, Q, K, recomputed.data());
      if (tile == 0) continue;  // dK, dV, dQ stay 0
      // dV (+)= P^T dO;  dS = dP = dO V^T
      if (s.dv > 0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(s.Tk), int(s.dv), int(s.Tq), 1.0f, P, int(s.Tk), dO,
                    int(s.dv), beta, dV, int(s.dv));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(s.Tq), int(s.Tk), int(s.dv), 1.0f, dO, int(s.dv), V,
                    int(s.dv), 0.0f, ds.data(), int(s.Tk));
      } else {
        std::fill(ds.begin(), ds.end(), 0.0f);
      }
      for (Index i = 0; i < s.Tq; ++i) {
        const float* p = P + i * s.Tk;
        float* r = ds.data() + i * s.Tk;
        const Index n = s.visible(i);
        const float dot = lane_sum(n, [r, p](Index j) { return r[j] * p[j]; });  // rowsum(dP * P)
        for (Index j = 0; j < n; ++j) r[j] = s.scale * (p[j] * (r[j] - dot));
        std::fill(r + n, r + s.Tk, 0.0f);  // masked keys (and rows that see none) add nothing
      }
      // dQ = dS K;  dK (+)= dS^T Q
      if (s.d > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.Tq), int(s.d), int(s.Tk), 1.0f, ds.data(),
                    int(s.Tk), K, int(s.d), 0.0f, dQ, int(s.d));
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(s.Tk), int(s.d), int(s.Tq), 1.0f, ds.data(), int(s.Tk),
                    Q, int(s.d), beta, dK, int(s.d));
      }
    }
  });
  return g;
}

}  // namespace bitsim::sim
