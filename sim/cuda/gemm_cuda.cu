#include "sim/cuda/gemm_cuda.hpp"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "formats/cuda/device_buffer.hpp"
#include "sim/gemm/gemm_shapes.hpp"
#include "sim/gemm/output_accumulation.hpp"

namespace bitsim::sim::cuda {
namespace {

using accumulation::OutputAccumulator;
using accumulation::OutputModel;

using formats::cuda::check;
template <class T>
using DeviceArray = formats::cuda::DeviceBuffer<T>;

// A row-major copy of a host matrix (any strides) in device memory.
DeviceArray<float> to_device(const TensorF& t) {
  const TensorF c = t.contiguous();
  return DeviceArray<float>(c.span());
}

// Product k of output (m, n): A row-major [M, K]; B row-major [K, N] or, transposed, [N, K].
struct ExactProduct {
  const float* a_row;
  const float* b;
  std::int64_t b_step;  // distance between consecutive k in b
  __device__ double operator()(std::int64_t k) const { return double(a_row[k]) * double(b[k * b_step]); }
};

__global__ void gemm_kernel(const float* a, const float* b, const float* bias, double* c, std::int64_t M,
                            std::int64_t N, std::int64_t K, bool transpose_b, OutputModel model) {
  const std::int64_t n = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t m = std::int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
  if (m >= M || n >= N) return;
  const ExactProduct product{a + m * K, transpose_b ? b + n * K : b + n, transpose_b ? 1 : N};
  const OutputAccumulator<ExactProduct> out{model, product, formats::RandomStream{model.seed, std::uint64_t(m * N + n)}};
  c[m * N + n] = out.value(K, bias != nullptr, bias ? double(bias[n]) : 0.0);
}

__global__ void add_bias_kernel(float* c, const float* bias, std::int64_t M, std::int64_t N) {
  const std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < M * N) c[i] += bias[i % N];
}

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLAS ") + what + " failed (status " + std::to_string(int(status)) + ")");
}

// order=blas: C = A B in FP32 by cuBLAS (column-major: C^T = B^T A^T), then the bias in FP32.
TensorF blas_gemm(const TensorF& a, const TensorF& b, const GemmArgs& args, const GemmShape& s) {
  TensorF c(Shape{s.M, s.N});
  if (s.M == 0 || s.N == 0) return c;
  const DeviceArray<float> da = to_device(a), db = to_device(b);
  DeviceArray<float> dc(std::size_t(s.M * s.N));
  cublasHandle_t handle;
  check_cublas(cublasCreate(&handle), "cublasCreate");
  const float one = 1.0f, zero = 0.0f;
  // Row-major A [M, K] is column-major A^T [K, M]; B likewise. C^T [N, M] = op(B^T) A^T.
  const cublasStatus_t status =
      cublasSgemm(handle, args.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, int(s.N), int(s.M), int(s.K),
                  &one, db.data(), args.transpose_b ? int(s.K) : int(s.N), da.data(), int(s.K), &zero, dc.data(), int(s.N));
  cublasDestroy(handle);
  check_cublas(status, "cublasSgemm");
  if (args.bias) {
    const DeviceArray<float> dbias = to_device(*args.bias);
    const std::int64_t total = s.M * s.N;
    add_bias_kernel<<<unsigned((total + 255) / 256), 256>>>(dc.data(), dbias.data(), s.M, s.N);
    check(cudaGetLastError(), "bias kernel launch");
  }
  dc.copy_to(c.span());
  return c;
}

}  // namespace

void gemm_device(const float* a, const float* b, const float* bias, double* c, Index M, Index N, Index K,
                 bool transpose_b, const AccumSpec& spec) {
  if (spec.order == SumOrder::blas)
    throw std::invalid_argument("cuda::gemm_device: order=blas has no defined addition order; use cuda::gemm");
  if (M == 0 || N == 0) return;
  // Pairwise and tree sums recurse (depth ~ log2 K). ptxas: 792 bytes for the kernel, at
  // most 160 per level of recursion, so < 6 KiB for any K below 2^32 and split below 2^10.
  check(cudaDeviceSetLimit(cudaLimitStackSize, 8192), "cudaDeviceSetLimit(stack)");
  const dim3 threads(32, 4);
  const dim3 blocks(unsigned((N + threads.x - 1) / threads.x), unsigned((M + threads.y - 1) / threads.y));
  gemm_kernel<<<blocks, threads>>>(a, b, bias, c, M, N, K, transpose_b, accumulation::make_output_model(spec));
  check(cudaGetLastError(), "kernel launch");
}

TensorD gemm_double(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  spec.validate();
  const GemmShape s = check_gemm_shapes(a, b, args);
  if (spec.order == SumOrder::blas) return blas_gemm(a, b, args, s).template cast<double>();
  TensorD c(Shape{s.M, s.N});
  if (s.M == 0 || s.N == 0) return c;
  const DeviceArray<float> da = to_device(a), db = to_device(b);
  const DeviceArray<float> dbias = to_device(args.bias ? *args.bias : TensorF(Shape{0}));
  DeviceArray<double> dc(std::size_t(s.M * s.N));
  gemm_device(da.data(), db.data(), args.bias ? dbias.data() : nullptr, dc.data(), s.M, s.N, s.K, args.transpose_b, spec);
  dc.copy_to(c.span());
  return c;
}

TensorF gemm(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  if (spec.order == SumOrder::blas) {
    spec.validate();
    return blas_gemm(a, b, args, check_gemm_shapes(a, b, args));
  }
  return cuda::gemm_double(a, b, spec, args).cast<float>();
}

}  // namespace bitsim::sim::cuda
