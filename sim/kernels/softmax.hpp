#pragma once
// Softmax along the last axis, with each stage in a chosen precision.
//
// For one row x[0..n):
//   m    = max_i x[i]                                  (exact: no rounding)
//   e[i] = exp_p.exp(exp_p.sub(x[i], m))               (the exp stage: x-m, then exp)
//   s    = (((0 + e[0]) + e[1]) + ...) + e[n-1]        (sum_p.add, strictly left to right)
//   y[i] = out_p.div(e[i], s)
// With the default spec every stage is plain float32, bit-identical to the obvious float
// loop (std::exp(float), sequential float sum, float division).
//
// Special values: -inf logits get probability 0; a row with a NaN or a +inf, or a row
// that is entirely -inf, comes out all NaN (as in PyTorch). Empty rows are fine.
// Stochastic rounding numbers the operations by the element's row-major index k:
// exp stage words 2k (subtraction) and 2k+1 (exp), sum word k, output word k, each in the
// stage's own Precision stream.
#include <cstdint>
#include <span>

#include "sim/kernels/precision.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

struct SoftmaxSpec {
  Precision exp;  // x - max and the exp outputs
  Precision sum;  // the running sum of the exps
  Precision out;  // the probabilities e / sum
};

TensorF softmax(const TensorF& x, const SoftmaxSpec& spec = {});

// One row, for kernels that build rows themselves (attention). `first_index` is the
// row-major index of x[0] (numbering for stochastic rounding).
void softmax_row(std::span<const float> x, std::span<float> y, const SoftmaxSpec& spec,
                 std::uint64_t first_index = 0);

}  // namespace bitsim::sim
