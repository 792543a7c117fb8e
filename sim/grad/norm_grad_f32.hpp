#pragma once
// Internal: the float32 LayerNorm backward used by layer_norm_backward<float>
// (sim/grad/norm_grad.hpp), a faster computation of the same values, bit for bit.
#include "sim/grad/norm_grad.hpp"

namespace bitsim::sim::grad_detail {

NormGrads<float> layer_norm_backward_f32(const TensorF& x, const TensorF& gamma, const TensorF& dy, double eps);

}  // namespace bitsim::sim::grad_detail
