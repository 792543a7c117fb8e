#include "formats/cuda/quantize_cuda.hpp"

#include <cuda_runtime.h>

#include <stdexcept>

#include "formats/lattice_rounding.hpp"

namespace bitsim::formats::cuda {
namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(status));
  }
}

// Each thread rounds the four elements that share one Philox counter.
template <Rounding Mode, class Real>
__global__ void quantize_kernel(const typename SourceTraits<Real>::Bits* in,
                                typename SourceTraits<Real>::Bits* out, std::uint64_t n,
                                LatticePlan<Real> plan, int random_bits, RandomStream rng,
                                std::uint64_t index_offset) {
  const std::uint64_t thread = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  // Element i has global index index_offset + i; groups are aligned on global indices.
  const std::uint64_t first_group = index_offset >> 2;
  const std::uint64_t group = first_group + thread;
  const std::uint64_t group_begin = group << 2;
  if (group_begin >= index_offset + n) return;
  r123::Philox4x32::ctr_type words{};
  if constexpr (Mode == Rounding::stochastic) words = rng.group(group);
  for (int lane = 0; lane < 4; ++lane) {
    const std::uint64_t global = group_begin + lane;
    if (global < index_offset || global >= index_offset + n) continue;
    const std::uint64_t i = global - index_offset;
    out[i] = round_pattern<Mode, Real>(in[i], plan, words.v[lane], random_bits);
  }
}

template <class Real>
void quantize_on_device(const Format& format, std::span<const Real> in, std::span<Real> out,
                        RoundingSpec r, RandomStream rng, std::uint64_t index_offset) {
  using Bits = typename SourceTraits<Real>::Bits;
  if (in.size() != out.size()) throw std::invalid_argument("cuda::quantize: size mismatch");
  if (in.empty()) return;
  const LatticePlan<Real> plan = make_plan<Real>(format.lattice());
  const std::size_t bytes = in.size() * sizeof(Real);
  Bits* d_in = nullptr;
  Bits* d_out = nullptr;
  check(cudaMalloc(&d_in, bytes), "cudaMalloc");
  check(cudaMalloc(&d_out, bytes), "cudaMalloc");
  try {
    check(cudaMemcpy(d_in, in.data(), bytes, cudaMemcpyHostToDevice), "copy to device");
    const std::uint64_t groups = ((index_offset + in.size() + 3) >> 2) - (index_offset >> 2);
    const int threads = 256;
    const auto blocks = unsigned((groups + threads - 1) / threads);
    with_rounding_mode(r.mode, [&]<Rounding M>() {
      quantize_kernel<M, Real><<<blocks, threads>>>(d_in, d_out, in.size(), plan, r.random_bits,
                                                     rng, index_offset);
    });
    check(cudaGetLastError(), "kernel launch");
    check(cudaMemcpy(out.data(), d_out, bytes, cudaMemcpyDeviceToHost), "copy to host");
  } catch (...) {
    cudaFree(d_in);
    cudaFree(d_out);
    throw;
  }
  cudaFree(d_in);
  cudaFree(d_out);
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

std::string device_description() {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) return std::string("no GPU: ") + cudaGetErrorString(status);
  if (n == 0) return "no GPU: no CUDA device found";
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

void quantize(const Format& format, std::span<const float> in, std::span<float> out, RoundingSpec r,
              RandomStream rng, std::uint64_t index_offset) {
  quantize_on_device<float>(format, in, out, r, rng, index_offset);
}

void quantize(const Format& format, std::span<const double> in, std::span<double> out,
              RoundingSpec r, RandomStream rng, std::uint64_t index_offset) {
  quantize_on_device<double>(format, in, out, r, rng, index_offset);
}

}  // namespace bitsim::formats::cuda
