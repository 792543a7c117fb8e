#include "sim/grad/activation_grad.hpp"

#include <cmath>
#include <numbers>

#include "sim/grad/gelu_tanh_grad.hpp"
#include "sim/grad/grad_common.hpp"

namespace bitsim::sim {
namespace {

// out[i] = dy[i] * derivative(x[i]), element-wise.
template <class T, class D>
Tensor<T> chain(const Tensor<T>& x, const Tensor<T>& dy, const char* kernel, D&& derivative) {
  grad_detail::require_same_shape(x, dy, kernel, "dy");
  const Tensor<T> xc = x.contiguous(), dc = dy.contiguous();
  Tensor<T> out(x.shape(), uninitialized);  // every element written below
  grad_detail::for_each_row(x.numel(), 1, [&](Index i) {
    out.data()[i] = static_cast<T>(static_cast<double>(dc.data()[i]) * derivative(static_cast<double>(xc.data()[i])));
  });
  return out;
}

}  // namespace

double gelu_derivative(double x, GeluApprox approx) {
  switch (approx) {
    case GeluApprox::tanh: return grad_detail::gelu_tanh_derivative(x);
    case GeluApprox::tanh_f32: return grad_detail::gelu_tanh_f32_derivative(static_cast<float>(x));
    case GeluApprox::erf: break;
  }
  const double cdf = 0.5 * std::erfc(-x / std::numbers::sqrt2);
  const double pdf = std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi);
  return cdf + x * pdf;
}

double silu_derivative(double x) {
  const double s = 1.0 / (1.0 + std::exp(-x));
  return s * (1.0 + x * (1.0 - s));
}

template <class T>
Tensor<T> gelu_backward(const Tensor<T>& x, const Tensor<T>& dy, GeluApprox approx, const GeluSaved* saved) {
  if (approx == GeluApprox::tanh) return grad_detail::gelu_tanh_backward(x, dy, saved);
  if (approx == GeluApprox::tanh_f32) return grad_detail::gelu_tanh_f32_backward(x, dy);
  return chain(x, dy, "gelu_backward", [approx](double v) { return gelu_derivative(v, approx); });
}

template <class T>
Tensor<T> silu_backward(const Tensor<T>& x, const Tensor<T>& dy) {
  return chain(x, dy, "silu_backward", [](double v) { return silu_derivative(v); });
}

template <class T>
SwigluGrads<T> swiglu_backward(const Tensor<T>& gate, const Tensor<T>& up, const Tensor<T>& dy) {
  grad_detail::require_same_shape(gate, up, "swiglu_backward", "up");
  grad_detail::require_same_shape(gate, dy, "swiglu_backward", "dy");
  const Tensor<T> gc = gate.contiguous(), uc = up.contiguous(), dc = dy.contiguous();
  SwigluGrads<T> out{Tensor<T>(gate.shape()), Tensor<T>(gate.shape())};
  grad_detail::for_each_row(gate.numel(), 1, [&](Index i) {
    const double g = gc.data()[i], u = uc.data()[i], d = dc.data()[i];
    out.dgate.data()[i] = static_cast<T>(d * u * silu_derivative(g));
    out.dup.data()[i] = static_cast<T>(d * silu_value(g));
  });
  return out;
}

template TensorF gelu_backward(const TensorF&, const TensorF&, GeluApprox, const GeluSaved*);
template TensorD gelu_backward(const TensorD&, const TensorD&, GeluApprox, const GeluSaved*);
template TensorF silu_backward(const TensorF&, const TensorF&);
template TensorD silu_backward(const TensorD&, const TensorD&);
template SwigluGrads<float> swiglu_backward(const TensorF&, const TensorF&, const TensorF&);
template SwigluGrads<double> swiglu_backward(const TensorD&, const TensorD&, const TensorD&);

}  // namespace bitsim::sim
