#pragma once
// How sim's entry points reach the current device (sim/device.hpp). A CUDA build fills a
// DeviceKernels table with the GPU kernels (sim/cuda/device_cuda.hpp) and installs it; the
// functions in namespace sim::device run the GPU kernel when the current device is cuda
// and the CPU kernel otherwise. The CPU library holds no CUDA code.
#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "formats/block/block_format.hpp"
#include "formats/format.hpp"
#include "sim/device.hpp"
#include "sim/gemm/gemm.hpp"

namespace bitsim::sim {

struct DeviceKernels {
  std::string (*unavailable)();  // "" when a GPU is usable, else the CUDA runtime's reason
  void (*quantize_float)(const formats::Format&, std::span<const float>, std::span<float>, formats::RoundingSpec,
                         formats::RandomStream);
  void (*quantize_double)(const formats::Format&, std::span<const double>, std::span<double>, formats::RoundingSpec,
                          formats::RandomStream);
  bool (*block_supported)(const formats::BlockFormat&);
  void (*block_quantize)(const formats::BlockFormat&, std::span<const float>, std::size_t rows, std::size_t cols,
                         std::span<float>, formats::RandomStream);
  TensorF (*gemm)(const TensorF&, const TensorF&, const AccumSpec&, const GemmArgs&);
  TensorD (*gemm_double)(const TensorF&, const TensorF&, const AccumSpec&, const GemmArgs&);
};

// Makes Device::cuda available with `kernels` (which must outlive their use; a later call
// replaces an earlier one). Tests install counting wrappers through it.
void install_cuda_kernels(const DeviceKernels& kernels);
// The installed table, or null.
const DeviceKernels* installed_cuda_kernels();

namespace device {

// Format::quantize on spans (element i draws word i of rng), on the current device.
void quantize(const formats::Format& format, std::span<const float> in, std::span<float> out,
              formats::RoundingSpec rounding, formats::RandomStream rng);
void quantize(const formats::Format& format, std::span<const double> in, std::span<double> out,
              formats::RoundingSpec rounding, formats::RandomStream rng);
// formats::block_quantize, on the current device when its kernels cover the format.
void block_quantize(const formats::BlockFormat& format, std::span<const float> in, std::size_t rows,
                    std::size_t cols, std::span<float> out, formats::RandomStream rng);
// The GEMM on the GPU when the current device is cuda; nullopt on the CPU (the caller
// then runs its own kernel).
std::optional<TensorF> gemm(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args);
std::optional<TensorD> gemm_double(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args);

}  // namespace device
}  // namespace bitsim::sim
