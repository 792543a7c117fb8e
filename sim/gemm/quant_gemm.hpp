#pragma once
// GEMM on fake-quantized operands: A and B are quantized by their QuantSpecs (sim/quant/),
// then multiplied under the AccumSpec. With SumOrder::blas this is the fast path
// "dequantize once and call cblas_sgemm".
//
// Block and group formats quantize along the last axis of the tensor as given, so weights
// grouped along the reduction dimension (int4:sym:g128, mxfp4, ...) are passed as [N, K]
// with transpose_b = true (the PyTorch Linear layout). A uses tensor id 0 and B tensor
// id 1 for stochastic rounding.
#include <tbb/parallel_invoke.h>

#include "sim/gemm/gemm.hpp"
#include "sim/quant/quant_spec.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::sim {

struct QuantizedOperands {
  QuantSpec a = QuantSpec::identity();
  QuantSpec b = QuantSpec::identity();
};

// The two quantizations run side by side (each is parallel inside as well), so small
// operands do not leave cores idle; neither depends on the other or on the thread count.
inline TensorF gemm(const TensorF& a, const TensorF& b, const QuantizedOperands& quant,
                    const AccumSpec& spec = {}, const GemmArgs& args = {}) {
  TensorF aq = a, bq = b;
  tbb::parallel_invoke([&] { if (!quant.a.is_identity()) aq = fake_quantize(a, quant.a, 0); },
                       [&] { if (!quant.b.is_identity()) bq = fake_quantize(b, quant.b, 1); });
  return gemm(aq, bq, spec, args);
}

}  // namespace bitsim::sim
