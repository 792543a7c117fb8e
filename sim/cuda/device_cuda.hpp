#pragma once
// Device::cuda for sim's entry points (sim/device.hpp): installs the CUDA kernels of
// formats/cuda and sim/cuda as the GPU side of sim::device's routes. Call once before
// selecting Device::cuda (calling again is harmless); experiments/ does it in CUDA builds.
#include "sim/device_kernels.hpp"

namespace bitsim::sim::cuda {

// The GPU's kernels: formats::cuda::quantize, block_quantize (block_supported formats),
// sim::cuda::gemm and gemm_double; `unavailable` asks the CUDA runtime for a device.
const DeviceKernels& device_kernels();
// install_cuda_kernels(device_kernels()).
void install_device_kernels();

}  // namespace bitsim::sim::cuda
