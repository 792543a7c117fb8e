// The current device and the routes of sim's entry points to it (device.hpp,
// device_kernels.hpp). Compiled with BITSIM_CUDA_BUILD=1 when CUDA is configured, only so
// that a program of a CUDA build that never installed the kernels is told the right cure.
#include "sim/device_kernels.hpp"

#include <atomic>
#include <stdexcept>

#include "formats/block/block_quantize.hpp"

namespace bitsim::sim {
namespace {

std::atomic<Device> g_current{Device::cpu};
std::atomic<const DeviceKernels*> g_cuda{nullptr};

// The GPU's kernels when the current device is cuda, else null.
const DeviceKernels* active_gpu() {
  return g_current.load(std::memory_order_relaxed) == Device::cuda ? g_cuda.load(std::memory_order_acquire) : nullptr;
}

}  // namespace

Device parse_device(std::string_view name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda") return Device::cuda;
  throw std::invalid_argument("unknown device '" + std::string(name) + "'; valid: cpu, cuda");
}

std::string_view to_string(Device device) { return device == Device::cuda ? "cuda" : "cpu"; }

std::string device_unavailable_reason(Device device) {
  if (device == Device::cpu) return {};
  const DeviceKernels* cuda = g_cuda.load(std::memory_order_acquire);
  if (cuda == nullptr) {
#ifdef BITSIM_CUDA_BUILD
    return "this program does not include bitsim's CUDA kernels (link bitsim_sim_cuda and call "
           "sim::cuda::install_device_kernels())";
#else
    return "bitsim was built without CUDA (configure with -DBITSIM_CUDA=ON on a machine with nvcc)";
#endif
  }
  return cuda->unavailable();
}

void require_device(Device device) {
  const std::string reason = device_unavailable_reason(device);
  if (!reason.empty()) throw std::invalid_argument("device '" + std::string(to_string(device)) + "': " + reason);
}

Device current_device() { return g_current.load(); }

DeviceScope::DeviceScope(Device device) : previous_(g_current.load()) {
  require_device(device);
  g_current.store(device);
}

DeviceScope::~DeviceScope() { g_current.store(previous_); }

void install_cuda_kernels(const DeviceKernels& kernels) { g_cuda.store(&kernels, std::memory_order_release); }
const DeviceKernels* installed_cuda_kernels() { return g_cuda.load(std::memory_order_acquire); }

namespace device {

void quantize(const formats::Format& format, std::span<const float> in, std::span<float> out,
              formats::RoundingSpec rounding, formats::RandomStream rng) {
  if (const DeviceKernels* gpu = active_gpu()) return gpu->quantize_float(format, in, out, rounding, rng);
  format.quantize(in, out, rounding, rng);
}

void quantize(const formats::Format& format, std::span<const double> in, std::span<double> out,
              formats::RoundingSpec rounding, formats::RandomStream rng) {
  if (const DeviceKernels* gpu = active_gpu()) return gpu->quantize_double(format, in, out, rounding, rng);
  format.quantize(in, out, rounding, rng);
}

void block_quantize(const formats::BlockFormat& format, std::span<const float> in, std::size_t rows,
                    std::size_t cols, std::span<float> out, formats::RandomStream rng) {
  if (const DeviceKernels* gpu = active_gpu(); gpu && gpu->block_supported(format))
    return gpu->block_quantize(format, in, rows, cols, out, rng);
  formats::block_quantize(format, in, rows, cols, out, rng);
}

std::optional<TensorF> gemm(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  if (const DeviceKernels* gpu = active_gpu()) return gpu->gemm(a, b, spec, args);
  return std::nullopt;
}

std::optional<TensorD> gemm_double(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  if (const DeviceKernels* gpu = active_gpu()) return gpu->gemm_double(a, b, spec, args);
  return std::nullopt;
}

}  // namespace device
}  // namespace bitsim::sim
