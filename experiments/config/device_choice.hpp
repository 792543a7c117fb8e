#pragma once
// The device an experiment runs on (issue #7): the file's `device:` (default cpu) unless
// `bitsim run --device` overrides it. Checked before any work starts, so that a run that
// cannot use its device fails at once, with nothing written (experiments/README.md,
// "Running on a GPU").
#include <string>

#include "experiments/config/experiment_config.hpp"
#include "sim/device.hpp"

namespace bitsim::experiments {

// The device a run uses: `override_name` when not empty (--device), else config.device.
// Throws ConfigError for an unknown name.
sim::Device run_device(const ExperimentConfig& config, const std::string& override_name = "");

// run_device(), after checking that it can run in this process (installing this build's
// CUDA kernels first, in CUDA builds). Throws ConfigError: "FILE:LINE:COL: device 'cuda':
// bitsim was built without CUDA (configure with -DBITSIM_CUDA=ON ...)" for the file's key,
// "--device cuda: device 'cuda': no usable GPU (CUDA runtime: ...)" for the override.
sim::Device check_run_device(const ExperimentConfig& config, const std::string& override_name = "");

// For the commands with a --device option and no experiment file (bitsim model eval,
// model generate, train): the device `name` names, after the same checks. Throws
// std::invalid_argument "--device NAME: ..." (an input error: exit status 2) for an
// unknown name or a device that cannot run here.
sim::Device check_device_option(const std::string& name);

}  // namespace bitsim::experiments
