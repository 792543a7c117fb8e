#pragma once
// The execution device of sim/'s compute entry points. On Device::cuda, the work that has
// CUDA kernels runs on the GPU: fake_quantize's element rounding (plain casts and scaled
// element formats) and block formats (the ones cuda::block_supported() covers), and the
// emulated GEMM (sim::gemm, sim::gemm_double). Everything else (scale choice, transforms,
// encode/decode, the transformer kernels, gemm_reference) stays on the CPU. Bits are
// identical on both devices by design (the kernels share the BITSIM_HD core), except for
// SumOrder::blas, which is order-unspecified on either (OpenBLAS vs cuBLAS).
//
// The choice is process-wide, not per thread: the oneTBB workers that evaluate sweep points
// see it too. Select it with a DeviceScope for the duration of a run.
#include <cstdint>
#include <string>
#include <string_view>

namespace bitsim::sim {

enum class Device : std::uint8_t { cpu, cuda };

// "cpu" | "cuda"; anything else throws std::invalid_argument naming the valid choices.
Device parse_device(std::string_view name);
std::string_view to_string(Device device);

// Empty when `device` can run in this process; otherwise why not: bitsim built without
// CUDA, or the CUDA runtime's own words for why there is no usable GPU.
std::string device_unavailable_reason(Device device);
// Throws std::invalid_argument("device 'cuda': <reason>") when the device cannot run.
void require_device(Device device);

// The device the entry points run on now (Device::cpu unless a DeviceScope says otherwise).
Device current_device();

// Runs sim's entry points on `device` while alive (require_device() first), then restores
// the previous device. Scopes nest; do not overlap two from different threads.
class DeviceScope {
 public:
  explicit DeviceScope(Device device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  Device previous_;
};

}  // namespace bitsim::sim
