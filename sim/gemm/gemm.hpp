#pragma once
// C = A·B (+ bias) with an explicit accumulator model (accum_spec.hpp).
//
//   A: [M, K] float;  B: [K, N] float, or [N, K] with GemmArgs::transpose_b;
//   bias: optional [N] float, added once per output after the reduction (in spec.wide);
//   C: [M, N].
//
// Inputs are taken as they are: fake-quantize them first (sim/quant/) or use
// quant_gemm.hpp, which does it from QuantSpecs. Any strides are accepted.
//
// Every SumOrder except `blas` is bit-defined (sim/README.md, "GEMM"): gemm() and
// gemm_reference() agree bit for bit and neither depends on the thread count.
// SumOrder::blas dequantizes once and calls OpenBLAS cblas_sgemm: FP32 accumulation in
// an order the library chooses (fast, not bit-defined across machines/thread counts).
#include <optional>
#include <span>

#include "sim/gemm/accum_spec.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

struct GemmArgs {
  bool transpose_b = false;            // B is given as [N, K]
  std::optional<TensorF> bias;         // [N]
};

// The fast kernel: blocked, vectorised, oneTBB-parallel over output tiles.
TensorF gemm(const TensorF& a, const TensorF& b, const AccumSpec& spec = {},
             const GemmArgs& args = {});
// The same values before the final conversion to float (they differ only when
// spec.wide is wider than fp32, e.g. wide=fp64).
TensorD gemm_double(const TensorF& a, const TensorF& b, const AccumSpec& spec = {},
                    const GemmArgs& args = {});

// The literal reference: one output at a time, every rounding through Format::round.
// Slow; for tests and for checking the fast kernel. (SumOrder::blas is refused.)
TensorD gemm_reference(const TensorF& a, const TensorF& b, const AccumSpec& spec = {},
                       const GemmArgs& args = {});

// Exact dot products (Boost.Multiprecision fixed point), rounded once to float64 (rne):
// the "infinitely precise accumulator", to measure an accumulation error against.
double exact_dot(std::span<const double> a, std::span<const double> b);
double exact_dot(std::span<const float> a, std::span<const float> b);
// Every output as an exact dot product (+ bias, exactly), rounded once to float64.
TensorD gemm_exact(const TensorF& a, const TensorF& b, const GemmArgs& args = {});

}  // namespace bitsim::sim
