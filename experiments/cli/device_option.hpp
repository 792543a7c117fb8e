#pragma once
// --device cpu|cuda for the commands that run models without an experiment file (bitsim
// model eval, model generate, train): where sim's quantize and GEMM kernels run
// (sim/device.hpp). Bits are the same on both devices; the check happens before any work.
#include <CLI/CLI.hpp>
#include <string>

namespace bitsim::cli {

inline CLI::Option* add_device_option(CLI::App* command, std::string& device) {
  return command
      ->add_option("--device", device,
                   "cpu or cuda: where the quantize and GEMM kernels run (same bits on both; sim/device.hpp)")
      ->capture_default_str();
}

}  // namespace bitsim::cli
