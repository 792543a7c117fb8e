#pragma once
// Float32 attention through the BLAS library, forward and backward: the numerics of
// PyTorch's fp32 attention (batched sgemm and a float32 softmax), for training where speed
// matters more than bit-defined results. Not bit-defined: the sums run in OpenBLAS's order
// (which may differ between machines and library versions, never between thread counts
// here). The bit-defined kernels are sim::attention (float32, forward) and
// sim::attention_backward (float64); sim/grad/README.md bounds how far these are from them.
//
// Shapes and the mask as in sim/kernels/attention.hpp: q [H, Tq, d], k [Hkv, Tk, d],
// v [Hkv, Tk, dv], Hkv divides H, query head h reads kv head h / (H / Hkv); with
// spec.causal query i sees key j iff j <= query_offset + i. Only spec.causal,
// spec.query_offset and spec.scale are used; the quantizers, AccumSpecs and SoftmaxSpec
// must be the defaults (std::invalid_argument otherwise).
//
// Forward, per query head (heads in parallel, one task each):
//   S = scale * Q K^T                    (sgemm, alpha = scale rounded to float32)
//   per row i over its n visible keys:   m = max S[j], e[j] = expf(S[j] - m),
//                                        P[j] = e[j] * (1 / sum e)   (float32; masked P = 0)
//   O = P V                              (sgemm)
// A row with no visible key is NaN (as sim::attention). The PV product runs over every key,
// masked ones with P = 0, so an inf or NaN in a masked key's v reaches the row (0 * inf),
// as in sim::attention and PyTorch's masked softmax followed by P @ V. expf is the C library's (glibc:
// under 1 ulp); the row sum runs over 8 float32 lanes, lane-wise in key order, then the
// lanes in a fixed tree.
// Backward, per kv head (its query heads in order, so dk, dv add up in head order):
//   dV += P^T dO,  dP = dO V^T,  dS = scale * P * (dP - rowsum(dP * P))  (masked dS = 0),
//   dQ = dS K,  dK += dS^T Q               (every product an sgemm with transpose flags)
// The forward keeps P ([H, Tq, Tk] float32) in `saved` for the backward; without it the
// backward recomputes P with the forward's operations (same bits).
#include "sim/grad/attention_grad.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

struct AttentionBlasSaved {
  TensorF probs;  // [H, Tq, Tk], masked entries 0
};

TensorF attention_blas(const TensorF& q, const TensorF& k, const TensorF& v, const AttentionSpec& spec = {},
                       AttentionBlasSaved* saved = nullptr);

AttentionGrads<float> attention_blas_backward(const TensorF& q, const TensorF& k, const TensorF& v,
                                              const TensorF& dout, const AttentionSpec& spec = {},
                                              const AttentionBlasSaved* saved = nullptr);

}  // namespace bitsim::sim
