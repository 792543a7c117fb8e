#include "sim/cuda/device_cuda.hpp"

#include <string>

#include "formats/cuda/block_cuda.hpp"
#include "formats/cuda/quantize_cuda.hpp"
#include "sim/cuda/gemm_cuda.hpp"

namespace bitsim::sim::cuda {
namespace {

// "" with a usable GPU, else the CUDA runtime's reason ("no GPU: <its error text>").
std::string unavailable() {
  if (formats::cuda::device_count() > 0) return {};
  const std::string why = formats::cuda::device_description();
  return "no usable GPU (CUDA runtime: " + (why.rfind("no GPU: ", 0) == 0 ? why.substr(8) : why) + ")";
}

void quantize_float(const formats::Format& f, std::span<const float> in, std::span<float> out,
                    formats::RoundingSpec r, formats::RandomStream rng) {
  formats::cuda::quantize(f, in, out, r, rng);
}

void quantize_double(const formats::Format& f, std::span<const double> in, std::span<double> out,
                     formats::RoundingSpec r, formats::RandomStream rng) {
  formats::cuda::quantize(f, in, out, r, rng);
}

void block_quantize(const formats::BlockFormat& f, std::span<const float> in, std::size_t rows, std::size_t cols,
                    std::span<float> out, formats::RandomStream rng) {
  formats::cuda::block_quantize(f, in, rows, cols, out, rng);
}

TensorF gemm_float(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  return cuda::gemm(a, b, spec, args);
}

TensorD gemm_wide(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  return cuda::gemm_double(a, b, spec, args);
}

const DeviceKernels kKernels{unavailable,    quantize_float, quantize_double, formats::cuda::block_supported,
                             block_quantize, gemm_float,     gemm_wide};

}  // namespace

const DeviceKernels& device_kernels() { return kKernels; }
void install_device_kernels() { install_cuda_kernels(kKernels); }

}  // namespace bitsim::sim::cuda
