#pragma once
// LayerNorm and RMSNorm over the last axis, statistics in a chosen precision.
//
// LayerNorm of a row x[0..n): statistics in two passes, every operation in the `stats`
// precision P; the normalisation itself in float32; the result rounded into `out`.
//   mean = P.div(((0 + x[0]) + x[1]) + ... + x[n-1], n)
//   d[i] = P.sub(x[i], mean)
//   var  = P.div(((0 + P.mul(d[0], d[0])) + ...) + P.mul(d[n-1], d[n-1]), n)   (biased)
//   rstd = P.div(1, P.sqrt(P.add(var, eps)))
//   y[i] = out.round(((x[i] - mean) * rstd) * gamma[i] + beta[i])   (float32 operations)
// RMSNorm (Llama, T5):
//   ms   = P.div(((0 + P.mul(x[0], x[0])) + ...) + P.mul(x[n-1], x[n-1]), n)
//   rstd = P.div(1, P.sqrt(P.add(ms, eps)))
//   y[i] = out.round((x[i] * rstd) * gamma[i])                     (float32 operations)
// The sums run strictly left to right. n and eps are first rounded into P (n is exact in
// float32 below 2^24). With the default precisions every step is a float32 operation,
// exactly the plain float loop above. mean and rstd enter the float32 step as floats.
// (With the default spec that plain float loop is what runs: no per-operation dispatch.)
// gamma and beta have the row's length; an empty tensor means gamma = 1 / beta = 0.
// A NaN or inf anywhere in a row makes the whole row NaN; empty rows are fine.
// Stochastic rounding: the k-th statistics operation of row r (in the order above) draws
// word r * (4n + 8) + k of the stats stream; output element i draws its row-major index.
#include "sim/kernels/precision.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

struct NormSpec {
  double eps = 1e-5;
  Precision stats;  // mean, variance / mean square, rstd
  Precision out;    // the normalised outputs
};

TensorF layer_norm(const TensorF& x, const TensorF& gamma = TensorF(), const TensorF& beta = TensorF(),
                   const NormSpec& spec = {});
TensorF rms_norm(const TensorF& x, const TensorF& gamma = TensorF(), const NormSpec& spec = {});

}  // namespace bitsim::sim
