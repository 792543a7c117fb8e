// sim/device.hpp without a GPU (issue #7): device names, the errors for a device that
// cannot run (built without CUDA; a CUDA build with no GPU: the CUDA runtime's words), the
// process-wide DeviceScope, and the routes of sim's entry points. The routes are checked
// with a counting "GPU" that runs the CPU kernels: on Device::cuda every entry point with
// a GPU kernel must reach it with the caller's arguments (same bits as the CPU path),
// and nothing else may.
#include <doctest/doctest.h>

#include <atomic>
#include <bit>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <tbb/parallel_for.h>

#include "formats/block/block_quantize.hpp"
#include "sim/device_kernels.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/quant/quantize.hpp"
#ifdef BITSIM_CUDA_BUILD
#include "formats/cuda/quantize_cuda.hpp"
#include "sim/cuda/device_cuda.hpp"
#endif

namespace bs = bitsim::sim;
namespace bf = bitsim::formats;

namespace {

// Calls of each route of the counting device.
struct Calls {
  std::atomic<int> quantize_float{0}, quantize_double{0}, block{0}, gemm{0}, gemm_double{0};
};
Calls calls;

// A device that is always there and runs the CPU kernels, counting what reaches it.
const bs::DeviceKernels kCountingCpu{
    [] { return std::string(); },
    [](const bf::Format& f, std::span<const float> in, std::span<float> out, bf::RoundingSpec r, bf::RandomStream rng) {
      ++calls.quantize_float;
      f.quantize(in, out, r, rng);
    },
    [](const bf::Format& f, std::span<const double> in, std::span<double> out, bf::RoundingSpec r, bf::RandomStream rng) {
      ++calls.quantize_double;
      f.quantize(in, out, r, rng);
    },
    [](const bf::BlockFormat& f) { return f.recipe() != bf::Recipe::ggml_q8_0; },  // as the GPU: not every recipe
    [](const bf::BlockFormat& f, std::span<const float> in, std::size_t rows, std::size_t cols, std::span<float> out,
       bf::RandomStream rng) {
      ++calls.block;
      bf::block_quantize(f, in, rows, cols, out, rng);
    },
    [](const bs::TensorF& a, const bs::TensorF& b, const bs::AccumSpec& s, const bs::GemmArgs& args) {
      ++calls.gemm;
      return bs::gemm_reference(a, b, s, args).cast<float>();  // the literal loop: same bits as gemm
    },
    [](const bs::TensorF& a, const bs::TensorF& b, const bs::AccumSpec& s, const bs::GemmArgs& args) {
      ++calls.gemm_double;
      return bs::gemm_reference(a, b, s, args);
    }};

bs::TensorF random_tensor(bs::Shape shape, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(std::size_t(bs::element_count(shape)));
  for (float& x : v) x = normal(gen);
  v[3] = 40.0f;  // an outlier, so that scales matter
  return bs::TensorF(shape, std::move(v));
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i])) return false;
  return true;
}

std::string what_of(bs::Device d) {
  try {
    bs::require_device(d);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// First, while no kernels are installed (doctest runs the cases in file order).
TEST_CASE("device::cuda without kernels is refused with the cure, and cpu is the default") {
  CHECK(bs::current_device() == bs::Device::cpu);
  CHECK(bs::device_unavailable_reason(bs::Device::cpu).empty());
  CHECK_NOTHROW(bs::require_device(bs::Device::cpu));
  REQUIRE(bs::installed_cuda_kernels() == nullptr);
  const std::string message = what_of(bs::Device::cuda);
#ifdef BITSIM_CUDA_BUILD
  CHECK(message == "device 'cuda': this program does not include bitsim's CUDA kernels (link bitsim_sim_cuda and call "
                   "sim::cuda::install_device_kernels())");
#else
  CHECK(message.find("device 'cuda': bitsim was built without CUDA (configure with -DBITSIM_CUDA=ON") == 0);
#endif
  CHECK_THROWS_AS(bs::DeviceScope(bs::Device::cuda), std::invalid_argument);
  CHECK(bs::current_device() == bs::Device::cpu);  // a refused scope changes nothing
}

#ifdef BITSIM_CUDA_BUILD
TEST_CASE("a CUDA build: the real kernels are usable with a GPU, refused with the runtime's words without one") {
  bs::install_cuda_kernels(bs::cuda::device_kernels());
  const std::string message = what_of(bs::Device::cuda);
  if (bf::cuda::device_count() > 0) {
    CHECK(message.empty());
  } else {
    MESSAGE("no GPU here: " << message);
    CHECK(message.find("device 'cuda': no usable GPU (CUDA runtime: ") == 0);
    CHECK(message.size() > std::string("device 'cuda': no usable GPU (CUDA runtime: )").size());
    CHECK_THROWS_WITH_AS(bs::DeviceScope(bs::Device::cuda), message.c_str(), std::invalid_argument);
  }
}
#endif

TEST_CASE("device names") {
  CHECK(bs::parse_device("cpu") == bs::Device::cpu);
  CHECK(bs::parse_device("cuda") == bs::Device::cuda);
  CHECK(bs::to_string(bs::Device::cuda) == "cuda");
  CHECK(bs::to_string(bs::parse_device("cpu")) == "cpu");
  CHECK_THROWS_WITH_AS(bs::parse_device("gpu"), "unknown device 'gpu'; valid: cpu, cuda", std::invalid_argument);
  CHECK_THROWS_AS(bs::parse_device("CUDA"), std::invalid_argument);
}

TEST_CASE("DeviceScope is process-wide, nests and restores") {
  bs::install_cuda_kernels(kCountingCpu);
  {
    const bs::DeviceScope outer(bs::Device::cuda);
    CHECK(bs::current_device() == bs::Device::cuda);
    std::atomic<int> seen_cpu{0};
    tbb::parallel_for(0, 64, [&](int) { seen_cpu += bs::current_device() == bs::Device::cpu; });
    CHECK(seen_cpu == 0);  // oneTBB workers run on the scope's device too
    {
      const bs::DeviceScope inner(bs::Device::cpu);
      CHECK(bs::current_device() == bs::Device::cpu);
    }
    CHECK(bs::current_device() == bs::Device::cuda);
  }
  CHECK(bs::current_device() == bs::Device::cpu);
}

TEST_CASE("fake_quantize reaches the device's kernels exactly where they exist, with the caller's arguments") {
  bs::install_cuda_kernels(kCountingCpu);
  const bs::TensorF x = random_tensor({8, 64}, 5);
  struct Case {
    const char* spec;
    int quantize_float, quantize_double, block;  // expected calls on the device
  };
  const Case cases[] = {
      {"bf16", 1, 0, 0},                              // a plain cast: the element kernel on floats
      {"e5m2:sr(seed=4)", 1, 0, 0},                   // stochastic: the caller's stream must arrive
      {"posit8", 1, 0, 0},                            // codec formats too
      {"e4m3fn:per_tensor", 0, 1, 0},                 // scaled: scales on the CPU, elements on the device
      {"int4:per_group(16):sr(seed=2)", 0, 1, 0},
      {"int8:per_channel(axis=0):mse", 0, 1, 0},      // the mse search stays on the CPU, then one device call
      {"mxfp4", 0, 0, 1},                             // block formats the device covers
      {"nvfp4", 0, 0, 1},
      {"q8_0", 0, 0, 0},                              // ... and one it does not: the CPU's kernel
      {"bf16<ftz_in>", 0, 0, 0},                      // ftz_in goes through encode/decode (CPU)
      {"none", 0, 0, 0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    const bs::QuantSpec spec = bs::parse_quant_spec(c.spec);
    const std::vector<float> on_cpu = bs::fake_quantize(x, spec, 7).to_vector();
    calls.quantize_float = calls.quantize_double = calls.block = 0;
    std::vector<float> on_device;
    {
      const bs::DeviceScope device(bs::Device::cuda);
      on_device = bs::fake_quantize(x, spec, 7).to_vector();
    }
    CHECK(calls.quantize_float == c.quantize_float);
    CHECK(calls.quantize_double == c.quantize_double);
    CHECK(calls.block == c.block);
    CHECK(same_bits(on_cpu, on_device));
    // Back on the CPU nothing reaches the device.
    (void)bs::fake_quantize(x, spec, 7);
    CHECK(calls.quantize_float + calls.quantize_double + calls.block == c.quantize_float + c.quantize_double + c.block);
  }
}

TEST_CASE("gemm and gemm_double reach the device's GEMM; gemm_reference never does") {
  bs::install_cuda_kernels(kCountingCpu);
  const bs::TensorF a = random_tensor({5, 40}, 1), b = random_tensor({7, 40}, 2), bias = random_tensor({7}, 3);
  bs::GemmArgs args;
  args.transpose_b = true;
  args.bias = bias;
  for (const char* text : {"acc=fp32", "acc=bf16:sr,chunk=8,seed=3", "acc=fp16,order=pairwise", "acc=bf16,split=3:reverse"}) {
    CAPTURE(text);
    const bs::AccumSpec spec = bs::AccumSpec::parse(text);
    const std::vector<float> on_cpu = bs::gemm(a, b, spec, args).to_vector();
    calls.gemm = calls.gemm_double = 0;
    std::vector<float> on_device, wide_on_device;
    {
      const bs::DeviceScope device(bs::Device::cuda);
      on_device = bs::gemm(a, b, spec, args).to_vector();
      wide_on_device = bs::gemm_double(a, b, spec, args).cast<float>().to_vector();
      (void)bs::gemm_reference(a, b, spec, args);
    }
    CHECK(calls.gemm == 1);
    CHECK(calls.gemm_double == 1);
    CHECK(same_bits(on_cpu, on_device));
    CHECK(same_bits(on_cpu, wide_on_device));
  }
}
