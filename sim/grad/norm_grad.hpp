#pragma once
// Backward of LayerNorm and RMSNorm over the last axis (sim/kernels/norms.hpp).
//
// Given the forward input x, gamma and the upstream gradient dy (shape of x), returns
// dx and the weight gradients. The statistics are recomputed from x in float64 (not
// stored by the forward); every row is computed in float64 and rounded once to T.
//   LayerNorm:  xh = (x - mean) r,  r = 1/sqrt(var + eps),  g = dy * gamma
//               dx = r (g - mean(g) - xh mean(g xh));  dgamma = sum_rows dy xh;  dbeta = sum_rows dy
//   RMSNorm:    r = 1/sqrt(mean(x^2) + eps)
//               dx = r (g - x r^2 mean(g x));            dgamma = sum_rows dy x r
// dgamma/dbeta are sums over rows in row order (float64). An empty gamma means 1.
// LayerNorm on float tensors takes a faster route to the same bits, with its two fused
// multiply-adds written out (sim/grad/README.md, norm_grad_f32.cpp).
#include "sim/tensor.hpp"

namespace bitsim::sim {

template <class T>
struct NormGrads {
  Tensor<T> dx, dgamma, dbeta;  // dbeta empty for RMSNorm
};

template <class T>
NormGrads<T> layer_norm_backward(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& dy,
                                 double eps = 1e-5);
template <class T>
NormGrads<T> rms_norm_backward(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& dy,
                               double eps = 1e-5);

}  // namespace bitsim::sim
