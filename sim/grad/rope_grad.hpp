#pragma once
// Backward of RoPE (sim/kernels/rope.hpp). Each pair is rotated by an orthogonal 2x2
// matrix, so the input gradient is the upstream gradient rotated by the opposite angle:
//   (da, db) = (ga cos + gb sin, -ga sin + gb cos)
// with the same pairs (layout, rotary_dims), positions (position_offset + t along axis -2)
// and angles pos * base^(-2i/r) as the forward. cos and sin are float64 here (the
// forward's `table` and `out` precisions are not modelled: the backward is the transpose
// of the exact rotation), the result is rounded once to T.
// rope_rotate() is that float64 rotation in either direction, for any T; with
// direction = +1 it is the forward (up to the forward kernel's table rounding).
#include "sim/kernels/rope.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

template <class T>
Tensor<T> rope_rotate(const Tensor<T>& x, const RopeSpec& spec, int direction);

template <class T>
Tensor<T> rope_backward(const Tensor<T>& dy, const RopeSpec& spec = {}) {
  return rope_rotate(dy, spec, -1);
}

}  // namespace bitsim::sim
