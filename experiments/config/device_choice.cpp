#include "experiments/config/device_choice.hpp"

#include <stdexcept>

#include "sim/device_kernels.hpp"

#ifdef BITSIM_WITH_CUDA_KERNELS
#include "sim/cuda/device_cuda.hpp"
#endif

namespace bitsim::experiments {
namespace {

// Where a device name came from, as a message prefix: the file's key (FILE:LINE:COL, as
// every ConfigError) or the command line's option.
std::string origin(const ExperimentConfig& config, const std::string& override_name) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on the chain of
  // operator+ that says the same.
  std::string where = override_name.empty() ? config.file.string() : "--device ";
  if (!override_name.empty()) {
    where += override_name;
  } else if (config.device_mark.line > 0) {
    where += ':';
    where += std::to_string(config.device_mark.line);
    where += ':';
    where += std::to_string(config.device_mark.column);
  }
  return where;
}

// Installs this build's GPU kernels (unless a program installed its own table first:
// tests wrap the kernels to count their calls), then sim::require_device().
void require_ready(sim::Device device) {
#ifdef BITSIM_WITH_CUDA_KERNELS
  if (sim::installed_cuda_kernels() == nullptr) sim::cuda::install_device_kernels();
#endif
  sim::require_device(device);
}

}  // namespace

sim::Device run_device(const ExperimentConfig& config, const std::string& override_name) {
  try {
    return sim::parse_device(override_name.empty() ? config.device : override_name);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(origin(config, override_name) + ": " + e.what());
  }
}

sim::Device check_run_device(const ExperimentConfig& config, const std::string& override_name) {
  const sim::Device device = run_device(config, override_name);
  try {
    require_ready(device);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(origin(config, override_name) + ": " + e.what());
  }
  return device;
}

sim::Device check_device_option(const std::string& name) {
  try {
    const sim::Device device = sim::parse_device(name);
    require_ready(device);
    return device;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--device " + name + ": " + e.what());
  }
}

}  // namespace bitsim::experiments
