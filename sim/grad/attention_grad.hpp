#pragma once
// Backward of scaled dot-product attention (sim/kernels/attention.hpp), grouped-query
// heads and the causal mask as in the forward: q [H, Tq, d], k [Hkv, Tk, d],
// v [Hkv, Tk, dv], dout [H, Tq, dv] -> dq, dk, dv of the inputs' shapes.
//
// Everything is recomputed from q, k, v in float64 (no state is kept by the forward) and
// rounded once to T; the forward's QuantSpecs/AccumSpecs/SoftmaxSpec are not modelled
// (spec.causal, spec.query_offset and spec.scale are used). With P = softmax(scale q k^T)
// (masked entries 0) and O = P v:
//   dv = P^T dout,  dP = dout v^T,  dS = P * (dP - rowsum(dP * P)),
//   dq = scale dS k,  dk = scale dS^T q
// Query heads sharing a kv head add into its dk, dv in head order.
//
// Two variants, equal up to float64 rounding:
//   naive   (block_k = 0): the full [Tq, Tk] probability matrix per head, as a loop over
//           (row i, key j, feature c) with every float64 product fused into the sum it
//           enters (std::fma), in that order; masked keys are skipped (they add exact
//           zeros) and the dot products run for many keys at once, kv heads in parallel.
//   blocked (block_k > 0): FlashAttention-2's backward: per query row the log-sum-exp and
//           O are found by an online softmax over key blocks of block_k keys, then each
//           key block recomputes P = exp(S - lse) and adds its share, never holding more
//           than one [Tq, block_k] tile. rowsum(dP * P) = rowsum(dout * O).
#include "sim/kernels/attention.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

template <class T>
struct AttentionGrads {
  Tensor<T> dq, dk, dv;
};

template <class T>
AttentionGrads<T> attention_backward(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                     const Tensor<T>& dout, const AttentionSpec& spec = {}, Index block_k = 0);

// The float64 forward these gradients differentiate (out [H, Tq, dv]).
template <class T>
Tensor<T> attention_forward_exact(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                  const AttentionSpec& spec = {});

}  // namespace bitsim::sim
