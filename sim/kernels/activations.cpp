#include "sim/kernels/activations.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "sim/kernels/rows.hpp"

namespace bitsim::sim {

double gelu_value(double x, GeluApprox approx) {
  if (approx == GeluApprox::tanh_f32) return f32::gelu_tanh(static_cast<float>(x));
  if (std::isinf(x)) return x > 0 ? x : -0.0;  // the limits; the formula would give inf * 0
  if (approx == GeluApprox::erf) return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
  return 0.5 * x * (1.0 + std::tanh(gelu_tanh_argument(x)));
}

double silu_value(double x) {
  if (std::isinf(x)) return x > 0 ? x : -0.0;
  return x / (1.0 + std::exp(-x));
}

namespace {

constexpr Index kChunk = 4096;  // elements per parallel task

// body(begin, end) over fixed chunks of [0, n), in parallel.
template <class Body>
void for_each_chunk(Index n, Body&& body) {
  detail::for_each_row((n + kChunk - 1) / kChunk, kChunk,
                       [&](Index c) { body(c * kChunk, std::min(n, (c + 1) * kChunk)); });
}

// out[i] = f(a[i], b[i]) through float32 and then `out`, in parallel over fixed chunks.
template <class F>
TensorF map_elements(const TensorF& a, const TensorF* b, const Precision& prec, F&& f) {
  const TensorF x = a.contiguous();
  TensorF y_in = b ? b->contiguous() : TensorF();
  TensorF out(a.shape());
  const float* src = x.data();
  const float* src2 = b ? y_in.data() : nullptr;
  float* dst = out.data();
  const bool plain = prec.is_float32();  // rounding a float to float32 changes nothing
  for_each_chunk(out.numel(), [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      const float v = to_float(f(src[i], src2 ? src2[i] : 0.0f));
      dst[i] = plain ? v : to_float(prec.round(v, static_cast<std::uint64_t>(i)));
    }
  });
  return out;
}

// The float64 tanh GELU, keeping t = tanh(u) per element when `saved` is given; the same
// values as gelu_value (the infinities' limits included).
TensorF gelu_tanh(const TensorF& a, const Precision& prec, GeluSaved* saved) {
  const TensorF x = a.contiguous();
  TensorF out(a.shape());
  const Index n = out.numel();
  if (saved) saved->tanh.resize(static_cast<std::size_t>(n));
  const float* src = x.data();
  float* dst = out.data();
  double* keep = saved ? saved->tanh.data() : nullptr;
  const bool plain = prec.is_float32();
  for_each_chunk(n, [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) {
      const double v = src[i];
      const double t = std::tanh(gelu_tanh_argument(v));
      if (keep) keep[i] = t;
      const float y = std::isinf(v) ? to_float(v > 0 ? v : -0.0) : to_float(0.5 * v * (1.0 + t));
      dst[i] = plain ? y : to_float(prec.round(y, static_cast<std::uint64_t>(i)));
    }
  });
  return out;
}

// The float32 tanh GELU: a loop the compiler vectorises (f32::gelu_tanh has no branches).
TensorF gelu_tanh_f32(const TensorF& a, const Precision& prec) {
  const TensorF x = a.contiguous();
  TensorF out(a.shape());
  const float* src = x.data();
  float* dst = out.data();
  const bool plain = prec.is_float32();
  for_each_chunk(out.numel(), [&](Index begin, Index end) {
    for (Index i = begin; i < end; ++i) dst[i] = f32::gelu_tanh(src[i]);
    if (!plain)
      for (Index i = begin; i < end; ++i) dst[i] = to_float(prec.round(dst[i], static_cast<std::uint64_t>(i)));
  });
  return out;
}

}  // namespace

TensorF gelu(const TensorF& x, GeluApprox approx, const Precision& out, GeluSaved* saved) {
  switch (approx) {
    case GeluApprox::tanh: return gelu_tanh(x, out, saved);
    case GeluApprox::tanh_f32: return gelu_tanh_f32(x, out);
    case GeluApprox::erf: break;
  }
  return map_elements(x, nullptr, out, [approx](double v, double) { return gelu_value(v, approx); });
}

TensorF silu(const TensorF& x, const Precision& out) {
  return map_elements(x, nullptr, out, [](double v, double) { return silu_value(v); });
}

TensorF swiglu(const TensorF& gate, const TensorF& up, const Precision& out) {
  if (gate.shape() != up.shape())
    throw std::invalid_argument("swiglu: gate has shape " + shape_string(gate.shape()) + " but up has " +
                                shape_string(up.shape()) + "; they must match");
  return map_elements(gate, &up, out, [](double g, double u) { return silu_value(g) * u; });
}

}  // namespace bitsim::sim
