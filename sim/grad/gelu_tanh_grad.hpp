#pragma once
// Internal to sim/grad: the tanh GELU backward (float64 with the saved tanh, and
// tanh_f32), in gelu_tanh_grad.cpp, which is compiled without FMA contraction so that the
// operations written in activation_grad.hpp are the ones computed.
#include "sim/kernels/activations.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim::grad_detail {

double gelu_tanh_derivative(double x);
float gelu_tanh_f32_derivative(float x);
template <class T>
Tensor<T> gelu_tanh_backward(const Tensor<T>& x, const Tensor<T>& dy, const GeluSaved* saved);
template <class T>
Tensor<T> gelu_tanh_f32_backward(const Tensor<T>& x, const Tensor<T>& dy);

}  // namespace bitsim::sim::grad_detail
