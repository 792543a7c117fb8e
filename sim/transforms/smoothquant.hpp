#pragma once
// SmoothQuant (Xiao et al. 2023): migrate activation outliers into the weights with a
// per-input-channel scale s_j = max|X_j|^alpha / max|W_j|^(1 - alpha), so that
// (X / s) (W * s)^T = X W^T exactly in real arithmetic. X is [..., K] (channels on the
// last axis), W is [N, K] (as a linear layer stores it; Y = X W^T).
//
// Documented choices: the maxima are over finite values only; a channel where either
// maximum is 0 (or the ratio is not finite and positive) gets s_j = 1, so that an unused
// channel never divides by zero. s_j is computed in double and stored as float; the
// smoothed tensors are x / s_j and w * s_j computed in double and rounded once to float.
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::sim {

// alpha in [0, 1]; throws std::invalid_argument on shape mismatch or alpha out of range.
std::vector<float> smoothquant_scales(const TensorF& x, const TensorF& w, double alpha);
TensorF smooth_activations(const TensorF& x, const std::vector<float>& scales);  // x / s along the last axis
TensorF smooth_weights(const TensorF& w, const std::vector<float>& scales);      // w * s along the last axis

}  // namespace bitsim::sim
