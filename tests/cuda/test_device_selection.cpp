// The device of an experiment (issue #7), without a GPU: `device:` in the file and
// `--device` on the command line, the device recorded in the results (and printed by
// `bitsim run`, `plan`, `validate`, `report`), `device: cuda` refused before any work
// where it cannot run (nothing written), a run resumed on another device recording both,
// and a `device: cuda` sweep on a counting stand-in device: it must reach the device and
// give the CPU's bits. (The real GPU: test_cuda_sweep, label cuda.)
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "experiments/config/device_choice.hpp"
#include "experiments/config/experiment_config.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/runner.hpp"
#include "formats/block/block_quantize.hpp"
#include "sim/device_kernels.hpp"
#include "tests/cuda/device_study.hpp"
#include "tests/experiments/results_fixtures.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bitsim::experiments;
namespace bs = bitsim::sim;
namespace bf = bitsim::formats;
namespace fs = std::filesystem;
using bitsim::device_test::first_difference;
using bitsim::device_test::kDeviceStudy;
using bitsim::results_test::ScratchFolder;
using bitsim::testing::read_text;

namespace {

struct Cli {
  int status;
  std::string out, err;
};

// build/bitsim with `args` (already quoted where needed), run in `folder`.
Cli bitsim_cli(const ScratchFolder& folder, const std::string& args) {
  const fs::path out = folder / "stdout", err = folder / "stderr";
  const std::string command = "cd '" + folder.path().string() + "' && '" + std::string(BITSIM_CLI) + "' " + args + " > '" +
                              out.string() + "' 2> '" + err.string() + "'";
  const int raw = std::system(command.c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, read_text(out), read_text(err)};
}

RunOptions quiet_to(const fs::path& out, const std::string& device = "") {
  RunOptions o;
  o.output = out;
  o.progress = false;
  o.device = device;
  return o;
}

// What `device: cuda` must say here when it cannot run; "" when it can (a CUDA build on a
// machine with a GPU, where test_cuda_sweep covers it).
std::string cuda_refusal() {
  ScratchFolder folder;
  const auto config = parse_experiment(kDeviceStudy + "device: cuda\n", folder / "x.yaml");
  try {
    (void)check_run_device(config);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the CPU is the default device, and the results record it") {
  ScratchFolder folder;
  const auto config = parse_experiment(kDeviceStudy, folder / "x.yaml");
  CHECK(config.device == "cpu");
  CHECK(run_device(config) == bs::Device::cpu);
  (void)run_experiment(config, quiet_to(folder / "a.h5"));
  CHECK(read_results(folder / "a.h5").info.device == "cpu");
  CHECK(bs::current_device() == bs::Device::cpu);  // the run's scope is gone

  const auto explicit_cpu = parse_experiment(kDeviceStudy + "device: cpu\n", folder / "y.yaml");
  CHECK(explicit_cpu.device == "cpu");
}

TEST_CASE("device names are checked when the file is read") {
  ScratchFolder folder;
  CHECK_THROWS_WITH_AS(parse_experiment(kDeviceStudy + "device: tpu\n", folder / "x.yaml"),
                       doctest::Contains("x.yaml:7:9: unknown device 'tpu'; valid: cpu, cuda"), ConfigError);
  const auto config = parse_experiment(kDeviceStudy + "device: cuda\n", folder / "x.yaml");  // valid name
  CHECK(config.device == "cuda");
  CHECK(config.device_mark.line == 7);
  CHECK_THROWS_WITH_AS(run_device(config, "gpu"), "--device gpu: unknown device 'gpu'; valid: cpu, cuda", ConfigError);
  CHECK(run_device(config, "cpu") == bs::Device::cpu);  // the command line wins
}

TEST_CASE("device: cuda that cannot run here fails before any work and writes nothing") {
  const std::string refusal = cuda_refusal();
  if (refusal.empty()) {
    MESSAGE("skipped: this CUDA build has a usable GPU (test_cuda_sweep runs the sweep on it)");
    return;
  }
  MESSAGE("device: cuda here: " << refusal);
#ifdef BITSIM_CUDA_BUILD
  CHECK(refusal.find("x.yaml:7:9: device 'cuda': no usable GPU (CUDA runtime: ") != std::string::npos);
#else
  CHECK(refusal.find("x.yaml:7:9: device 'cuda': bitsim was built without CUDA (configure with -DBITSIM_CUDA=ON") !=
        std::string::npos);
#endif
  ScratchFolder folder;
  const auto on_cuda = parse_experiment(kDeviceStudy + "device: cuda\n", folder / "x.yaml");
  CHECK_THROWS_AS(run_experiment(on_cuda, quiet_to(folder / "a.h5")), ConfigError);
  CHECK_FALSE(fs::exists(folder / "a.h5"));
  const auto on_cpu = parse_experiment(kDeviceStudy, folder / "y.yaml");
  CHECK_THROWS_WITH_AS(run_experiment(on_cpu, quiet_to(folder / "b.h5", "cuda")),
                       doctest::Contains("--device cuda: device 'cuda': "), ConfigError);
  CHECK_FALSE(fs::exists(folder / "b.h5"));
  // --device cpu runs a file written for the GPU, and records where it ran.
  (void)run_experiment(on_cuda, quiet_to(folder / "c.h5", "cpu"));
  CHECK(read_results(folder / "c.h5").info.device == "cpu");
}

TEST_CASE("bitsim run / validate / plan / report: --device and the recorded device") {
  ScratchFolder folder;
  std::ofstream(folder / "gpu.yaml") << kDeviceStudy + "device: cuda\n";
  const bool cuda_runs = cuda_refusal().empty();
  if (!cuda_runs) {
    const Cli run = bitsim_cli(folder, "run gpu.yaml -o a.h5 --no-table");
    CHECK(run.status == 2);
    CHECK(run.err.find("bitsim: gpu.yaml:7:9: device 'cuda': ") == 0);
    CHECK_FALSE(fs::exists(folder / "a.h5"));
    CHECK(bitsim_cli(folder, "validate gpu.yaml").status == 2);
    CHECK(bitsim_cli(folder, "plan gpu.yaml").status == 2);
  }
  const Cli unknown = bitsim_cli(folder, "run gpu.yaml -o a.h5 --device tpu");
  CHECK(unknown.status == 2);
  CHECK(unknown.err.find("--device tpu: unknown device 'tpu'; valid: cpu, cuda") != std::string::npos);

  const Cli validate = bitsim_cli(folder, "validate gpu.yaml --device cpu");
  CHECK(validate.status == 0);
  CHECK(validate.out.find(", device cpu\n") != std::string::npos);
  const Cli plan = bitsim_cli(folder, "plan gpu.yaml --device cpu");
  CHECK(plan.status == 0);
  CHECK(plan.out.find("\ndevice: cpu\n") != std::string::npos);
  const Cli run = bitsim_cli(folder, "run gpu.yaml -o b.h5 --device cpu --no-table -q");
  REQUIRE(run.status == 0);
  CHECK(run.out.find(" on cpu\n") != std::string::npos);
  const Cli report = bitsim_cli(folder, "report b.h5 --no-plots");
  CHECK(report.status == 0);
  CHECK(report.out.substr(0, report.out.find('\n')).find(", device cpu") != std::string::npos);
}

TEST_CASE("a run resumed on another device records both") {
  using namespace bitsim::results_test;
  ScratchFolder folder;
  for (const auto& [first, second, recorded] : {std::tuple{"cpu", "cuda", "cpu,cuda"}, std::tuple{"cpu", "cpu", "cpu"},
                                                std::tuple{"cpu,cuda", "cuda", "cpu,cuda"}}) {
    CAPTURE(first);
    CAPTURE(second);
    const fs::path path = folder / (std::string(first) + "-" + second + ".h5");
    RunInfo info = synthetic_info();
    info.device = first;
    {
      auto writer = ResultsWriter::create(path, synthetic_schema(), info);
      for (std::uint64_t i = 0; i < 6; ++i) writer.add(synthetic_point(i));
      writer.checkpoint();
    }
    info.device = second;
    auto writer = ResultsWriter::resume(path, synthetic_schema(), info);
    for (std::uint64_t i = 6; i < kSyntheticPoints; ++i) writer.add(synthetic_point(i));
    writer.finish("2026-01-01T01:00:00Z");
    CHECK(read_results(path).info.device == recorded);
  }
}

namespace {

std::atomic<int> device_calls{0};

// A stand-in GPU that runs the CPU kernels and counts the calls that reach it.
const bs::DeviceKernels kCountingCpu{
    [] { return std::string(); },
    [](const bf::Format& f, std::span<const float> in, std::span<float> out, bf::RoundingSpec r, bf::RandomStream rng) {
      ++device_calls;
      f.quantize(in, out, r, rng);
    },
    [](const bf::Format& f, std::span<const double> in, std::span<double> out, bf::RoundingSpec r, bf::RandomStream rng) {
      ++device_calls;
      f.quantize(in, out, r, rng);
    },
    [](const bf::BlockFormat&) { return true; },
    [](const bf::BlockFormat& f, std::span<const float> in, std::size_t rows, std::size_t cols, std::span<float> out,
       bf::RandomStream rng) {
      ++device_calls;
      bf::block_quantize(f, in, rows, cols, out, rng);
    },
    [](const bs::TensorF& a, const bs::TensorF& b, const bs::AccumSpec& s, const bs::GemmArgs& args) {
      ++device_calls;
      return bs::gemm_reference(a, b, s, args).cast<float>();
    },
    [](const bs::TensorF& a, const bs::TensorF& b, const bs::AccumSpec& s, const bs::GemmArgs& args) {
      ++device_calls;
      return bs::gemm_reference(a, b, s, args);
    }};

}  // namespace

// Last: it installs the stand-in for the rest of the process.
TEST_CASE("device: cuda runs every point through the device (a counting stand-in) with the CPU's bits") {
  ScratchFolder folder;
  (void)run_experiment(parse_experiment(kDeviceStudy, folder / "x.yaml"), quiet_to(folder / "cpu.h5"));
  bs::install_cuda_kernels(kCountingCpu);
  device_calls = 0;
  RunOptions options = quiet_to(folder / "cuda.h5");
  options.threads = 2;  // points in parallel: the oneTBB workers must run on the device too
  (void)run_experiment(parse_experiment(kDeviceStudy + "device: cuda\n", folder / "x.yaml"), options);
  const auto cpu = read_results(folder / "cpu.h5"), cuda = read_results(folder / "cuda.h5");
  CHECK(cuda.info.device == "cuda");
  REQUIRE(cuda.rows.size() == 32);
  // Per point: weights and activations quantized, the GEMM of the quantized operands; the
  // float64 reference GEMMs (once, and per point) go through gemm_double as well.
  CHECK(device_calls >= 3 * 32);
  CHECK(first_difference(cpu, cuda) == "");
}
