#pragma once
// Backward of the element-wise activations (sim/kernels/activations.hpp): the upstream
// gradient times the activation's derivative at the forward input, computed in float64
// and rounded once to T.
//   gelu (tanh): 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2),
//                t = tanh(sqrt(2/pi) (x + 0.044715 x^3))
//   gelu (erf) : Phi(x) + x phi(x)
//   silu       : s (1 + x (1 - s)),  s = sigmoid(x)
//   swiglu     : y = silu(gate) up  ->  dgate = dy up silu'(gate),  dup = dy silu(gate)
//
// The tanh GELU's derivative, operation by operation (float64, k = sqrt(2/pi) rounded,
// fma = one rounding; gelu_tanh_grad.cpp computes it, compiled without contraction, so
// these are the bits):
//   a = (0.044715 x) x;  u_b = k * fma(a, x, x);  t = tanh(u_b)
//   d = fma(1 + t, 0.5, (((0.5 x) * fma(-t, t, 1)) * k) * fma(0.134145 x, x, 1))
//   dx = T(dy * d)                       (0.134145 = 3 * 0.044715 rounded to double)
// (The fusions are those GCC chose for the earlier plain-C++ version of this formula under
// -march=native on x86-64, written out so that every build computes the trainer's bits.)
// u_b is not always the forward's u = k * (x + a x) (sim/kernels: unfused). With the
// forward's GeluSaved, the backward takes the saved tanh wherever u_b == u (about 96 % of
// N(0, 1.5) inputs) and calls tanh otherwise: the same bits as without it, faster.
//
// gelu (tanh_f32): in float32 operations (x and dy rounded to float first), with
// t = f32::tanh_f32(u) and u as in the forward:
//   d = 0.5 * (1 + t) + ((0.5 * x) * (1 - t * t)) * (kBeta * (1 + kKappa3 * (x * x)))
//   dx = dy * d                          (kKappa3 = float(3 * 0.044715))
// where 1 - t * t == 0 (|u| >= 9.01) the second term is 0 (the limit; x^2 may overflow).
#include "sim/kernels/activations.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

// d/dx of gelu_value(x, approx) and silu_value(x).
double gelu_derivative(double x, GeluApprox approx);
double silu_derivative(double x);

// `saved` (tanh only): the GeluSaved that gelu() filled for this x.
template <class T>
Tensor<T> gelu_backward(const Tensor<T>& x, const Tensor<T>& dy, GeluApprox approx = GeluApprox::erf,
                        const GeluSaved* saved = nullptr);
template <class T>
Tensor<T> silu_backward(const Tensor<T>& x, const Tensor<T>& dy);

template <class T>
struct SwigluGrads {
  Tensor<T> dgate, dup;
};
template <class T>
SwigluGrads<T> swiglu_backward(const Tensor<T>& gate, const Tensor<T>& up, const Tensor<T>& dy);

}  // namespace bitsim::sim
