#pragma once
// Element-wise activations. Each value is computed in float64 from the float input,
// rounded to float32 (the float32 result a kernel would produce, to within libm's float64
// error), and then, if `out` is not float32, rounded into `out` (a float32 kernel storing
// its output in a narrower format). NaN in gives NaN out; infinities follow the formulas'
// limits: gelu(+inf) = silu(+inf) = +inf, gelu(-inf) = silu(-inf) = -0.
//
//   gelu (erf)  : 0.5 x (1 + erf(x / sqrt 2))                       (BERT, GPT-2 "gelu")
//   gelu (tanh) : 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (GPT-2 "gelu_new")
//   silu        : x / (1 + exp(-x))                                  (= x * sigmoid(x))
//   swiglu      : silu(gate) * up                                    (Llama MLP)
// Stochastic rounding in `out` draws the element's row-major index.
#include "sim/kernels/precision.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

enum class GeluApprox { erf, tanh };

TensorF gelu(const TensorF& x, GeluApprox approx = GeluApprox::erf, const Precision& out = {});
TensorF silu(const TensorF& x, const Precision& out = {});
// gate and up have the same shape.
TensorF swiglu(const TensorF& gate, const TensorF& up, const Precision& out = {});

// The float64 formulas above, for one value (the kernels' definition).
double gelu_value(double x, GeluApprox approx);
double silu_value(double x);

}  // namespace bitsim::sim
