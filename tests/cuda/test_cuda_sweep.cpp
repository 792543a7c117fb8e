// An experiment on the GPU (issue #7): the device study (device_study.hpp: plain casts,
// scaled and block formats, GEMMs with several accumulator models, 32 points) run with
// `device: cuda` and with `device: cpu` through the runner; the two results files must
// agree bit for bit, the GPU file must record "cuda", and the GPU kernels must have been
// called (a counting wrapper around them). Exits 77 (CTest: skipped) with "skipped: no
// GPU: ..." when there is none, 1 on any difference, 0 otherwise.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "experiments/config/experiment_config.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/runner.hpp"
#include "formats/cuda/quantize_cuda.hpp"
#include "sim/cuda/device_cuda.hpp"
#include "tests/cuda/device_study.hpp"

namespace ex = bitsim::experiments;
namespace bs = bitsim::sim;
namespace bf = bitsim::formats;
namespace fs = std::filesystem;

namespace {

std::atomic<int> gpu_calls{0};
const bs::DeviceKernels& gpu() { return bs::cuda::device_kernels(); }

// The GPU's kernels, counted.
const bs::DeviceKernels kCountedGpu{
    [] { return gpu().unavailable(); },
    [](const bf::Format& f, std::span<const float> in, std::span<float> out, bf::RoundingSpec r, bf::RandomStream rng) {
      ++gpu_calls;
      gpu().quantize_float(f, in, out, r, rng);
    },
    [](const bf::Format& f, std::span<const double> in, std::span<double> out, bf::RoundingSpec r, bf::RandomStream rng) {
      ++gpu_calls;
      gpu().quantize_double(f, in, out, r, rng);
    },
    [](const bf::BlockFormat& f) { return gpu().block_supported(f); },
    [](const bf::BlockFormat& f, std::span<const float> in, std::size_t rows, std::size_t cols, std::span<float> out,
       bf::RandomStream rng) {
      ++gpu_calls;
      gpu().block_quantize(f, in, rows, cols, out, rng);
    },
    [](const bs::TensorF& a, const bs::TensorF& b, const bs::AccumSpec& s, const bs::GemmArgs& args) {
      ++gpu_calls;
      return gpu().gemm(a, b, s, args);
    },
    [](const bs::TensorF& a, const bs::TensorF& b, const bs::AccumSpec& s, const bs::GemmArgs& args) {
      ++gpu_calls;
      return gpu().gemm_double(a, b, s, args);
    }};

ex::RunOptions quiet_to(const fs::path& out) {
  ex::RunOptions o;
  o.output = out;
  o.progress = false;
  return o;
}

}  // namespace

int main() {
  if (bf::cuda::device_count() == 0) {
    std::printf("skipped: %s\n", bf::cuda::device_description().c_str());
    return 77;
  }
  std::printf("GPU: %s\n", bf::cuda::device_description().c_str());
  const fs::path folder = fs::temp_directory_path() / ("bitsim-cuda-sweep-" + std::to_string(::getpid()));
  fs::create_directories(folder);
  bs::install_cuda_kernels(kCountedGpu);
  const auto cpu = ex::parse_experiment(bitsim::device_test::kDeviceStudy, folder / "cpu.yaml");
  const auto cuda = ex::parse_experiment(bitsim::device_test::kDeviceStudy + "device: cuda\n", folder / "cuda.yaml");
  (void)ex::run_experiment(cpu, quiet_to(folder / "cpu.h5"));
  const int after_cpu = gpu_calls.load();
  (void)ex::run_experiment(cuda, quiet_to(folder / "cuda.h5"));
  const auto on_cpu = ex::read_results(folder / "cpu.h5"), on_gpu = ex::read_results(folder / "cuda.h5");
  fs::remove_all(folder);

  const std::string difference = bitsim::device_test::first_difference(on_cpu, on_gpu);
  std::printf("device study: %zu points x %zu columns; GPU kernel calls: %d during the cpu run, %d during the cuda run\n",
              on_gpu.rows.size(), on_gpu.columns.size(), after_cpu, gpu_calls.load() - after_cpu);
  std::printf("recorded devices: cpu file '%s', cuda file '%s'\n", on_cpu.info.device.c_str(), on_gpu.info.device.c_str());
  bool ok = difference.empty() && on_gpu.rows.size() == 32 && on_cpu.info.device == "cpu" &&
            on_gpu.info.device == "cuda" && after_cpu == 0 && gpu_calls.load() >= 3 * 32;
  std::printf("%s\n", difference.empty() ? "GPU and CPU results agree bit for bit" : ("MISMATCH: " + difference).c_str());
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
