#pragma once
// The emulated GEMM on an NVIDIA GPU: one thread per output element, each running the
// per-output accumulation routine the CPU's definition is checked against
// (sim/gemm/output_accumulation.hpp, BITSIM_HD), so every bit-defined AccumSpec gives the
// same bits as sim::gemm / sim::gemm_reference. SumOrder::blas runs cuBLAS SGEMM instead:
// FP32 in the order cuBLAS chooses (fast, not bit-defined; not expected to match the CPU).
//
// Host tensors in, host tensor out (copies through device memory). Throws
// std::invalid_argument for bad shapes or specs (the CPU's messages) and
// std::runtime_error with the CUDA error text for device failures.
#include "sim/gemm/gemm.hpp"

namespace bitsim::sim::cuda {

TensorF gemm(const TensorF& a, const TensorF& b, const AccumSpec& spec = {}, const GemmArgs& args = {});
TensorD gemm_double(const TensorF& a, const TensorF& b, const AccumSpec& spec = {},
                    const GemmArgs& args = {});

// The bit-defined kernel on device pointers (no copies; the default stream; no
// synchronisation): A row-major [M, K], B row-major [K, N] or, with transpose_b, [N, K],
// bias [N] or null, C [M, N] in float64 (the values before the final conversion to float).
// `spec` must be validated and not SumOrder::blas. For benchmarks and GPU-resident callers.
void gemm_device(const float* a, const float* b, const float* bias, double* c, Index M, Index N, Index K,
                 bool transpose_b, const AccumSpec& spec);

}  // namespace bitsim::sim::cuda
