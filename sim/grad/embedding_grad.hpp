#pragma once
// Backward of the embedding lookup and of learned positions (sim/kernels/embedding.hpp).
//   embedding_backward(ids, dy [N, D], V) -> dtable [V, D]: row ids[n] += dy[n], in order
//     n = 0, 1, ... (float64 sums, rounded once), so repeated ids add deterministically.
//   positions_backward(dy [..., T, D], P, offset) -> dpositions [P, D]:
//     row offset + t += dy[..., t, :] over the leading axes in row-major order.
#include <span>

#include "sim/tensor.hpp"

namespace bitsim::sim {

template <class T>
Tensor<T> embedding_backward(std::span<const Index> ids, const Tensor<T>& dy, Index vocab);
template <class T>
Tensor<T> positions_backward(const Tensor<T>& dy, Index positions, Index offset = 0);

}  // namespace bitsim::sim
