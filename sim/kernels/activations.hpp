#pragma once
// Element-wise activations. Each value is computed in float64 from the float input,
// rounded to float32 (the float32 result a kernel would produce, to within libm's float64
// error), and then, if `out` is not float32, rounded into `out` (a float32 kernel storing
// its output in a narrower format). NaN in gives NaN out; infinities follow the formulas'
// limits: gelu(+inf) = silu(+inf) = +inf, gelu(-inf) = silu(-inf) = -0.
//
//   gelu (erf)  : 0.5 x (1 + erf(x / sqrt 2))                       (BERT, GPT-2 "gelu")
//   gelu (tanh) : 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (GPT-2 "gelu_new")
//                 float64 operations in this order, unfused: u = k * (x + ((0.044715 x) x) x),
//                 k = sqrt(2/pi) rounded to double, t = std::tanh(u), y = (0.5 x) (1 + t)
//   silu        : x / (1 + exp(-x))                                  (= x * sigmoid(x))
//   swiglu      : silu(gate) * up                                    (Llama MLP)
// Stochastic rounding in `out` draws the element's row-major index.
//
// gelu (tanh_f32) is the tanh formula evaluated in float32 operations, the way PyTorch's
// float32 CPU kernel evaluates it (same formula and operation order; its tanh is our own,
// tanh_f32 below), so a training run can use fp32 GELU numerics at fp32 speed:
//   c = x * x * x;  u = kBeta * (x + kKappa * c);  y = (0.5 * x) * (1 + tanh_f32(u))
// with kBeta = float(sqrt(2/pi)), kKappa = float(0.044715), every operation a float32
// operation in the order written (the files are compiled without FMA contraction), so the
// bits are the same on every IEEE machine; y(-inf) = -0 (the limit, as above).
#include <bit>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/kernels/precision.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

enum class GeluApprox { erf, tanh, tanh_f32 };

// What a tanh GELU's forward keeps for its backward: t = tanh(u) of every element in
// row-major order (float64, exactly the forward's value), so that gelu_backward calls
// tanh only where its own argument differs from the forward's (sim/grad/activation_grad.hpp).
struct GeluSaved {
  std::vector<double> tanh;
};

// `saved` (tanh only; ignored otherwise) receives the forward's tanh values.
TensorF gelu(const TensorF& x, GeluApprox approx = GeluApprox::erf, const Precision& out = {},
             GeluSaved* saved = nullptr);
TensorF silu(const TensorF& x, const Precision& out = {});
// gate and up have the same shape.
TensorF swiglu(const TensorF& gate, const TensorF& up, const Precision& out = {});

// The float64 formulas above, for one value (the kernels' definition). tanh_f32 takes the
// value rounded to float and returns gelu_tanh_f32 of it.
double gelu_value(double x, GeluApprox approx);
double silu_value(double x);
// The tanh GELU's float64 argument u = k * (x + ((0.044715 x) x) x), unfused (inline for
// sim/grad's backward; every file that calls it is compiled without FMA contraction).
inline constexpr double kGeluTanhScale = 0x1.9884533d43651p-1;  // k = sqrt(2/pi) rounded to double
inline double gelu_tanh_argument(double x) { return kGeluTanhScale * (x + 0.044715 * x * x * x); }

// ---- float32 tanh and the tanh_f32 GELU ----
// Plain float32 operations in a fixed order, no branches (both halves are computed and
// one is selected), so loops over them vectorise and give the same bits as one element at
// a time. Accuracy: within 3 ulps of tanh for every float (tests/sim/test_kernel_elementwise.cpp
// checks a dense grid; the error budget is in that test).
namespace f32 {

inline constexpr float kBeta = 0.797884583473205566f;   // float(sqrt(2/pi))
inline constexpr float kKappa = 0.0447149984538555145f;  // float(0.044715)

// e^y for y in [0, 20] (all the tanh below asks for), about 1 ulp: y = k ln2 + r
// with k = nearest integer to y log2(e) and |r| <= ln2/2 + tiny (ln2 split in a 16-bit
// head, so k * head is exact, and a tail); e^r by its Taylor series to r^7 (truncation
// < 2^-27 relative); 2^k applied to the exponent bits (k <= 29: no overflow).
inline float exp_small(float y) {
  constexpr float kLog2e = 1.44269502162933350f, kShift = 12582912.0f;  // 1.5 * 2^23
  constexpr float kLn2Hi = 0.693145751953125f, kLn2Lo = 1.42860676533018704e-06f;
  const float shifted = y * kLog2e + kShift;  // the integer nearest y log2(e), in the low bits
  const float k = shifted - kShift;
  const float r = (y - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // k from the low bits of `shifted`, added to p's exponent field (unsigned: defined
  // wrap-around for a NaN y, whose result the caller discards).
  const std::uint32_t k_bits = std::bit_cast<std::uint32_t>(shifted) - std::bit_cast<std::uint32_t>(kShift);
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(p) + (k_bits << 23));
}

// tanh(u) in float32. |u| < 0.55: u + u s P(s), s = u^2, P the Taylor series of tanh
// (terms to u^17; the rest < 2^-27 relative); otherwise 1 - 2 / (e^{2|u|} + 1), where the
// subtraction loses nothing (2 / (e + 1) <= 0.5) and e^{2|u|} is capped at e^20 (tanh
// rounds to 1 from |u| = 9.01 on). The sign is u's (tanh(-0) = -0); NaN stays NaN.
inline float tanh_f32(float u) {
  const float a = std::bit_cast<float>(std::bit_cast<std::uint32_t>(u) & 0x7fffffffu);
  const float s = a * a;
  float p = static_cast<float>(6404582.0 / 10854718875.0);
  p = p * s - static_cast<float>(929569.0 / 638512875.0);
  p = p * s + static_cast<float>(21844.0 / 6081075.0);
  p = p * s - static_cast<float>(1382.0 / 155925.0);
  p = p * s + static_cast<float>(62.0 / 2835.0);
  p = p * s - static_cast<float>(17.0 / 315.0);
  p = p * s + static_cast<float>(2.0 / 15.0);
  p = p * s - static_cast<float>(1.0 / 3.0);
  const float small = a + a * (s * p);
  const float two_a = a + a;
  const float e = exp_small(two_a > 20.0f ? 20.0f : two_a);  // NaN passes through
  const float large = 1.0f - 2.0f / (e + 1.0f);
  const float t = a < 0.55f ? small : (a == a ? large : a);  // NaN stays NaN
  return std::bit_cast<float>(std::bit_cast<std::uint32_t>(t) | (std::bit_cast<std::uint32_t>(u) & 0x80000000u));
}

inline float gelu_tanh_argument(float x) {
  const float c = x * x * x;
  return kBeta * (x + kKappa * c);
}

inline float gelu_tanh(float x) {
  const float y = (0.5f * x) * (1.0f + tanh_f32(gelu_tanh_argument(x)));
  return x == -std::numeric_limits<float>::infinity() ? -0.0f : y;  // the formula gives -inf * 0
}

}  // namespace f32

}  // namespace bitsim::sim
