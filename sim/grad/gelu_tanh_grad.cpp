#include "sim/grad/gelu_tanh_grad.hpp"

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/grad/grad_common.hpp"

namespace bitsim::sim::grad_detail {
namespace {

// The backward's tanh argument u_b and the derivative given t = tanh(u_b)
// (activation_grad.hpp spells out the operations).
double gelu_tanh_backward_argument(double x) {
  const double a = (0.044715 * x) * x;
  return kGeluTanhScale * std::fma(a, x, x);
}

double gelu_tanh_derivative_at(double x, double t) {
  const double slope = (((0.5 * x) * std::fma(-t, t, 1.0)) * kGeluTanhScale) * std::fma(3.0 * 0.044715 * x, x, 1.0);
  return std::fma(1.0 + t, 0.5, slope);
}

inline float gelu_tanh_f32_derivative_at(float x) {
  constexpr float kKappa3 = 0.134145006537437439f;  // float(3 * 0.044715)
  const float t = f32::tanh_f32(f32::gelu_tanh_argument(x));
  const float one_minus = 1.0f - t * t;
  const float slope = ((0.5f * x) * one_minus) * (f32::kBeta * (1.0f + kKappa3 * (x * x)));
  return 0.5f * (1.0f + t) + (one_minus == 0.0f ? 0.0f : slope);
}

}  // namespace

float gelu_tanh_f32_derivative(float x) { return gelu_tanh_f32_derivative_at(x); }

double gelu_tanh_derivative(double x) { return gelu_tanh_derivative_at(x, std::tanh(gelu_tanh_backward_argument(x))); }

namespace {

constexpr Index kChunk = 1024;  // elements per parallel task

// body(begin, end) over fixed chunks of [0, n), in parallel.
template <class Body>
void for_each_chunk(Index n, Body&& body) {
  for_each_row((n + kChunk - 1) / kChunk, kChunk, [&](Index c) { body(c * kChunk, std::min(n, (c + 1) * kChunk)); });
}

}  // namespace

// The float64 tanh GELU backward in chunks: the arguments and the choice between the
// saved tanh and a new one in a vectorised pass, tanh where needed, then the derivative
// in a vectorised pass.
template <class T>
Tensor<T> gelu_tanh_backward(const Tensor<T>& x, const Tensor<T>& dy, const GeluSaved* saved) {
  require_same_shape(x, dy, "gelu_backward", "dy");
  if (saved && saved->tanh.size() != static_cast<std::size_t>(x.numel()))
    throw std::invalid_argument("gelu_backward: the GeluSaved holds " + std::to_string(saved->tanh.size()) +
                                " tanh values for an x of " + std::to_string(x.numel()) +
                                " elements (pass the one gelu() filled for this x)");
  const Tensor<T> xc = x.contiguous(), dc = dy.contiguous();
  Tensor<T> out(x.shape());
  const T* xs = xc.data();
  const T* ds = dc.data();
  T* dst = out.data();
  const double* kept = saved ? saved->tanh.data() : nullptr;
  for_each_chunk(x.numel(), [&](Index begin, Index end) {
    std::array<double, kChunk> u, t;
    std::array<unsigned char, kChunk> reuse{};
    const Index n = end - begin;
    for (Index j = 0; j < n; ++j) {
      const double v = xs[begin + j];
      u[j] = gelu_tanh_backward_argument(v);
      reuse[j] = kept != nullptr && u[j] == gelu_tanh_argument(v);
      t[j] = kept != nullptr ? kept[begin + j] : 0.0;
    }
    for (Index j = 0; j < n; ++j)
      if (!reuse[j]) t[j] = std::tanh(u[j]);
    for (Index j = 0; j < n; ++j)
      dst[begin + j] = static_cast<T>(static_cast<double>(ds[begin + j]) *
                                      gelu_tanh_derivative_at(static_cast<double>(xs[begin + j]), t[j]));
  });
  return out;
}

template <class T>
Tensor<T> gelu_tanh_f32_backward(const Tensor<T>& x, const Tensor<T>& dy) {
  require_same_shape(x, dy, "gelu_backward", "dy");
  const Tensor<T> xc = x.contiguous(), dc = dy.contiguous();
  Tensor<T> out(x.shape());
  const T* xs = xc.data();
  const T* ds = dc.data();
  T* dst = out.data();
  for_each_chunk(x.numel(), [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i)
      dst[i] = static_cast<T>(static_cast<float>(ds[i]) * gelu_tanh_f32_derivative_at(static_cast<float>(xs[i])));
  });
  return out;
}

template TensorF gelu_tanh_backward(const TensorF&, const TensorF&, const GeluSaved*);
template TensorD gelu_tanh_backward(const TensorD&, const TensorD&, const GeluSaved*);
template TensorF gelu_tanh_f32_backward(const TensorF&, const TensorF&);
template TensorD gelu_tanh_f32_backward(const TensorD&, const TensorD&);

}  // namespace bitsim::sim::grad_detail
