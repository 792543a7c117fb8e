#pragma once
// Softmax cross-entropy over the last axis, forward and backward in one call.
//
// logits [N, V], targets (N ids in [0, V)) ->
//   loss     = (1/N) sum_n (logsumexp(logits[n]) - logits[n, targets[n]])     (float64)
//   dlogits  = grad_scale * (softmax(logits[n]) - onehot(targets[n])) / N     (rounded to T)
// Each row in float64 (max-subtracted); the mean sums the rows' losses in row order.
// grad_scale is the loss scale of mixed-precision training (the gradient of scale * loss).
#include <span>

#include "sim/tensor.hpp"

namespace bitsim::sim {

template <class T>
struct CrossEntropy {
  double loss = 0.0;
  Tensor<T> dlogits;
};

template <class T>
CrossEntropy<T> cross_entropy(const Tensor<T>& logits, std::span<const Index> targets, double grad_scale = 1.0);

}  // namespace bitsim::sim
