#include "sim/kernels/activations.hpp"

#include <cmath>
#include <numbers>

#include "sim/kernels/rows.hpp"

namespace bitsim::sim {

double gelu_value(double x, GeluApprox approx) {
  if (std::isinf(x)) return x > 0 ? x : -0.0;  // the limits; the formula would give inf * 0
  if (approx == GeluApprox::erf) return 0.5 * x * (1.0 + std::erf(x / std::numbers::sqrt2));
  const double k = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

double silu_value(double x) {
  if (std::isinf(x)) return x > 0 ? x : -0.0;
  return x / (1.0 + std::exp(-x));
}

namespace {

// out[i] = f(a[i], b[i]) through float32 and then `out`, in parallel over fixed chunks.
template <class F>
TensorF map_elements(const TensorF& a, const TensorF* b, const Precision& prec, F&& f) {
  const TensorF x = a.contiguous();
  TensorF y_in = b ? b->contiguous() : TensorF();
  TensorF out(a.shape());
  const float* src = x.data();
  const float* src2 = b ? y_in.data() : nullptr;
  float* dst = out.data();
  constexpr Index chunk = 4096;
  const Index n = out.numel();
  const bool plain = prec.is_float32();  // rounding a float to float32 changes nothing
  detail::for_each_row((n + chunk - 1) / chunk, chunk, [&](Index c) {
    for (Index i = c * chunk; i < std::min(n, (c + 1) * chunk); ++i) {
      const float v = to_float(f(src[i], src2 ? src2[i] : 0.0f));
      dst[i] = plain ? v : to_float(prec.round(v, static_cast<std::uint64_t>(i)));
    }
  });
  return out;
}

}  // namespace

TensorF gelu(const TensorF& x, GeluApprox approx, const Precision& out) {
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
