#pragma once
// Backward of the element-wise activations (sim/kernels/activations.hpp): the upstream
// gradient times the activation's derivative at the forward input, computed in float64
// and rounded once to T.
//   gelu (tanh): 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),
//                t = tanh(sqrt(2/pi) (x + 0.044715 x^3))
//   gelu (erf) : Phi(x) + x phi(x)
//   silu       : s (1 + x (1 - s)),  s = sigmoid(x)
//   swiglu     : y = silu(gate) up  ->  dgate = dy up silu'(gate),  dup = dy silu(gate)
#include "sim/kernels/activations.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

// d/dx of gelu_value(x, approx) and silu_value(x).
double gelu_derivative(double x, GeluApprox approx);
double silu_derivative(double x);

template <class T>
Tensor<T> gelu_backward(const Tensor<T>& x, const Tensor<T>& dy, GeluApprox approx = GeluApprox::erf);
template <class T>
Tensor<T> silu_backward(const Tensor<T>& x, const Tensor<T>& dy);

template <class T>
struct SwigluGrads {
  Tensor<T> dgate, dup;
};
template <class T>
SwigluGrads<T> swiglu_backward(const Tensor<T>& gate, const Tensor<T>& up, const Tensor<T>& dy);

}  // namespace bitsim::sim
