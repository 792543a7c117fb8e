// GPU vs CPU, bit for bit: every CUDA kernel of bitsim against the CPU kernel it mirrors,
// over the same inputs (strides through all float32 patterns, random float64 patterns,
// every value of small formats with its midpoints and float neighbours, specials, random
// GEMM operands with specials), many formats, modes and shapes. Prints one line per kernel
// (combinations, elements compared, mismatches) and the first mismatches with their inputs.
// Exits 77 (CTest: skipped) with "no GPU: ..." when no CUDA device is present, 1 on any
// mismatch, 0 otherwise.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "formats/block/block_quantize.hpp"
#include "formats/cuda/block_cuda.hpp"
#include "formats/cuda/quantize_cuda.hpp"
#include "formats/format.hpp"
#include "sim/cuda/gemm_cuda.hpp"
#include "sim/gemm/gemm.hpp"
#include "tests/cuda/block_cases.hpp"
#include "tests/cuda/gemm_cases.hpp"

namespace bf = bitsim::formats;
namespace bs = bitsim::sim;

namespace {

struct Tally {
  std::size_t combinations = 0, compared = 0, mismatches = 0;
};
std::map<std::string, Tally> tallies;

// Counts one comparison; prints the first few mismatches of each kernel.
void record(const std::string& kernel, bool equal, const std::string& what) {
  Tally& t = tallies[kernel];
  ++t.compared;
  if (equal) return;
  if (++t.mismatches <= 5) std::printf("MISMATCH %s: %s\n", kernel.c_str(), what.c_str());
}

std::string hex(double x) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%a", x);
  return buffer;
}

template <class Real>
std::vector<Real> inputs_for(const bf::Format& f) {
  using Bits = typename bf::SourceTraits<Real>::Bits;
  using L = std::numeric_limits<Real>;
  std::vector<Real> xs = {Real(0),       -Real(0),     L::infinity(), -L::infinity(), L::quiet_NaN(),
                          -L::quiet_NaN(), L::denorm_min(), L::max(),    -L::max(),      L::min()};
  if constexpr (sizeof(Real) == 4) {
    for (std::uint64_t p = 0; p < (std::uint64_t(1) << 32); p += 4093) xs.push_back(std::bit_cast<Real>(Bits(p)));
  } else {
    std::mt19937_64 gen(7);
    for (int i = 0; i < 1 << 20; ++i) xs.push_back(std::bit_cast<Real>(Bits(gen())));
  }
  if (f.bits() <= 16) {
    std::vector<double> values;
    for (std::uint64_t c = 0; c < (std::uint64_t(1) << f.bits()); ++c) {
      const double v = f.decode(c);
      if (std::isfinite(v)) values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const Real v = Real(values[i]);
      xs.insert(xs.end(), {v, std::nextafter(v, L::infinity()), std::nextafter(v, -L::infinity())});
      if (i + 1 < values.size()) {
        const Real mid = Real((values[i] + values[i + 1]) / 2);
        xs.insert(xs.end(), {mid, std::nextafter(mid, L::infinity()), std::nextafter(mid, -L::infinity())});
      }
    }
  }
  return xs;
}

template <class Real>
void compare_quantize(const bf::Format& f, bf::RoundingSpec r) {
  using Bits = typename bf::SourceTraits<Real>::Bits;
  const std::vector<Real> in = inputs_for<Real>(f);
  std::vector<Real> cpu(in.size()), gpu(in.size());
  const bf::RandomStream rng{0x5eed, 3};
  const std::uint64_t offset = 5;  // not a multiple of 4: exercises the group alignment
  f.quantize(std::span<const Real>(in), std::span<Real>(cpu), r, rng, offset);
  bf::cuda::quantize(f, std::span<const Real>(in), std::span<Real>(gpu), r, rng, offset);
  const std::string kernel = sizeof(Real) == 4 ? "quantize f32" : "quantize f64";
  ++tallies[kernel].combinations;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const bool equal = std::bit_cast<Bits>(cpu[i]) == std::bit_cast<Bits>(gpu[i]);
    record(kernel, equal,
           equal ? "" : f.spec() + " " + bf::to_string(r) + " x=" + hex(in[i]) + " cpu=" + hex(cpu[i]) + " gpu=" + hex(gpu[i]));
  }
}

void compare_codes(const bf::Format& f, bf::RoundingSpec r) {
  const std::vector<float> in = inputs_for<float>(f);
  std::vector<std::uint64_t> cpu(in.size()), gpu(in.size());
  const bf::RandomStream rng{0xc0de, 1};
  f.encode(std::span<const float>(in), std::span<std::uint64_t>(cpu), r, rng);
  bf::cuda::encode(f, std::span<const float>(in), std::span<std::uint64_t>(gpu), r, rng);
  ++tallies["encode"].combinations;
  for (std::size_t i = 0; i < in.size(); ++i) {
    record("encode", cpu[i] == gpu[i],
           cpu[i] == gpu[i] ? "" : f.spec() + " " + bf::to_string(r) + " x=" + hex(in[i]) + " cpu=" +
                                       std::to_string(cpu[i]) + " gpu=" + std::to_string(gpu[i]));
  }
}

void compare_decode(const bf::Format& f) {
  std::vector<std::uint64_t> codes;
  if (f.bits() <= 16) {
    for (std::uint64_t c = 0; c < (std::uint64_t(1) << f.bits()); ++c) codes.push_back(c);
  } else {
    std::mt19937_64 gen(11);
    const std::uint64_t mask = f.bits() == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << f.bits()) - 1;
    for (int i = 0; i < 1 << 18; ++i) codes.push_back(gen() & mask);
    for (std::uint64_t c = 0; c < 256; ++c) codes.insert(codes.end(), {c, mask - c, (mask >> 1) - c, (mask >> 1) + 1 + c});
  }
  std::vector<float> cpu(codes.size()), gpu(codes.size());
  f.decode(std::span<const std::uint64_t>(codes), std::span<float>(cpu));
  bf::cuda::decode(f, std::span<const std::uint64_t>(codes), std::span<float>(gpu));
  ++tallies["decode"].combinations;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    const bool equal = std::bit_cast<std::uint32_t>(cpu[i]) == std::bit_cast<std::uint32_t>(gpu[i]);
    record("decode", equal,
           equal ? "" : f.spec() + " code=" + std::to_string(codes[i]) + " cpu=" + hex(cpu[i]) + " gpu=" + hex(gpu[i]));
  }
}

void compare_gemm() {
  std::mt19937_64 gen(2024);
  for (const char* text : bitsim::test::gemm_specs()) {
    const bs::AccumSpec spec = bs::AccumSpec::parse(text);
    for (const auto& shape : bitsim::test::gemm_shapes()) {
      for (const bool specials : {false, true}) {
        const bs::TensorF a = bitsim::test::gemm_matrix(shape.M, shape.K, gen, specials);
        const bs::TensorF b = shape.transpose_b ? bitsim::test::gemm_matrix(shape.N, shape.K, gen, specials)
                                                : bitsim::test::gemm_matrix(shape.K, shape.N, gen, specials);
        bs::GemmArgs args;
        args.transpose_b = shape.transpose_b;
        if (shape.bias) args.bias = bitsim::test::gemm_matrix(1, shape.N, gen, false).reshaped({shape.N});
        const bs::TensorD cpu = bs::gemm_double(a, b, spec, args);
        const bs::TensorD gpu = bs::cuda::gemm_double(a, b, spec, args);
        ++tallies["gemm"].combinations;
        for (bs::Index m = 0; m < shape.M; ++m) {
          for (bs::Index n = 0; n < shape.N; ++n) {
            const double c = cpu.at({m, n}), g = gpu.at({m, n});
            // Same bits, or NaN on both sides (a NaN's sign and payload are not modelled).
            const bool equal = std::bit_cast<std::uint64_t>(c) == std::bit_cast<std::uint64_t>(g) ||
                               (std::isnan(c) && std::isnan(g));
            record("gemm", equal,
                   equal ? "" : std::string("spec='") + text + "' MxNxK=" + std::to_string(shape.M) + "x" +
                                    std::to_string(shape.N) + "x" + std::to_string(shape.K) + " (" + std::to_string(m) +
                                    "," + std::to_string(n) + ") cpu=" + hex(c) + " gpu=" + hex(g));
          }
        }
      }
    }
  }
  // Larger shapes, fewer specs (K up to 4096: chunking and split-K at realistic sizes).
  for (const char* text : {"acc=bf16,chunk=128,split=4:pairwise", "acc=fp16:sr,seed=3,order=pairwise",
                           "acc=fp<e=8,m=10>:rz,order=tree(4),prod=bf16"}) {
    const bs::AccumSpec spec = bs::AccumSpec::parse(text);
    const bs::TensorF a = bitsim::test::gemm_matrix(64, 4096, gen, false);
    const bs::TensorF b = bitsim::test::gemm_matrix(4096, 48, gen, false);
    const bs::TensorD cpu = bs::gemm_double(a, b, spec), gpu = bs::cuda::gemm_double(a, b, spec);
    ++tallies["gemm"].combinations;
    for (bs::Index i = 0; i < cpu.numel(); ++i) {
      const double c = cpu.data()[i], g = gpu.data()[i];
      record("gemm", std::bit_cast<std::uint64_t>(c) == std::bit_cast<std::uint64_t>(g),
             std::string("spec='") + text + "' 64x48x4096 output " + std::to_string(i) + " cpu=" + hex(c) + " gpu=" + hex(g));
    }
  }
}


void compare_blocks() {
  const std::vector<std::string> specs = bitsim::test::block_specs();
  const auto shapes = bitsim::test::block_shapes();
  std::mt19937_64 gen(77);
  std::size_t skipped = 0;
  for (const std::string& spec : specs) {
    const bf::BlockFormat f = bf::BlockFormat::parse(spec);
    if (!bf::cuda::block_supported(f)) {
      ++skipped;
      std::printf("block %s: not implemented on the GPU (skipped)\n", spec.c_str());
      continue;
    }
    for (const auto& [rows, cols] : shapes) {
      const std::vector<float> x = bitsim::test::block_inputs(rows, cols, gen);
      const bf::RandomStream rng{42, 9};
      std::vector<float> cpu(x.size()), gpu(x.size());
      bf::block_quantize(f, x, rows, cols, cpu, rng);
      bf::cuda::block_quantize(f, x, rows, cols, gpu, rng);
      ++tallies["block values"].combinations;
      for (std::size_t i = 0; i < x.size(); ++i) {
        const bool equal = std::bit_cast<std::uint32_t>(cpu[i]) == std::bit_cast<std::uint32_t>(gpu[i]);
        record("block values", equal,
               equal ? "" : spec + " " + std::to_string(rows) + "x" + std::to_string(cols) + " i=" + std::to_string(i) +
                                " x=" + hex(x[i]) + " cpu=" + hex(cpu[i]) + " gpu=" + hex(gpu[i]));
      }
      const bf::BlockEncoding ce = bf::block_encode(f, x, rows, cols, rng);
      const bf::BlockEncoding ge = bf::cuda::block_encode(f, x, rows, cols, rng);
      ++tallies["block codes"].combinations;
      const auto compare_codes = [&](const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b, const char* what) {
        record("block codes", a.size() == b.size(), spec + " " + what + " count differs");
        for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
          record("block codes", a[i] == b[i],
                 spec + " " + std::to_string(rows) + "x" + std::to_string(cols) + " " + what + "[" + std::to_string(i) +
                     "] cpu=" + std::to_string(a[i]) + " gpu=" + std::to_string(b[i]));
      };
      compare_codes(ce.elements, ge.elements, "element");
      compare_codes(ce.scales, ge.scales, "scale");
      compare_codes(ce.zero_points, ge.zero_points, "zero point");
      record("block codes", std::bit_cast<std::uint32_t>(ce.tensor_scale) == std::bit_cast<std::uint32_t>(ge.tensor_scale),
             spec + " tensor scale cpu=" + hex(ce.tensor_scale) + " gpu=" + hex(ge.tensor_scale));
    }
  }
  std::printf("block formats: %zu specs, %zu not implemented on the GPU\n", specs.size(), skipped);
}

// order=blas is FP32 in cuBLAS's order: reported as the largest relative difference from
// the CPU's BLAS, not compared bit for bit.
void report_blas() {
  std::mt19937_64 gen(5);
  const bs::TensorF a = bitsim::test::gemm_matrix(128, 512, gen, false), b = bitsim::test::gemm_matrix(512, 96, gen, false);
  const bs::TensorF cpu = bs::gemm(a, b, bs::AccumSpec::blas()), gpu = bs::cuda::gemm(a, b, bs::AccumSpec::blas());
  const bs::TensorD exact = bs::gemm_exact(a, b);
  double worst_cpu = 0, worst_gpu = 0;
  for (bs::Index i = 0; i < exact.numel(); ++i) {
    const double e = exact.data()[i], scale = std::max(std::fabs(e), 1e-30);
    worst_cpu = std::max(worst_cpu, std::fabs(cpu.data()[i] - e) / scale);
    worst_gpu = std::max(worst_gpu, std::fabs(gpu.data()[i] - e) / scale);
  }
  std::printf("order=blas (not bit-defined): 128x96x512, max relative error vs exact: CPU OpenBLAS %.3g, GPU cuBLAS %.3g\n",
              worst_cpu, worst_gpu);
}

}  // namespace

int main() {
  if (bf::cuda::device_count() == 0) {
    std::printf("skipped: %s\n", bf::cuda::device_description().c_str());
    return 77;
  }
  std::printf("device: %s\n", bf::cuda::device_description().c_str());
  std::vector<bf::Format> formats;
  for (const auto& named : bf::named_formats()) formats.push_back(bf::Format::parse(named.name));
  for (const auto& named : bf::extra_named_formats()) formats.push_back(bf::Format::parse(named.name));
  // Policy variants and parameters that take other branches of the cores.
  for (const char* spec : {"e4m3fn<overflow=saturate>", "e5m2<overflow=saturate,ftz_in=true,ftz_out=true>",
                           "fp<e=5,m=0,bias=16,specials=fnuz>", "e2m1fn<nan=max>", "int8<narrow=true,frac=3>",
                           "fp<e=11,m=30>", "uint8<frac=-2>", "posit<16,1>", "posit<6,0>", "posit<12,3>",
                           "lns<4,3,round=linear>", "lns<6,12>", "lns<3,2,overflow=nan>"})
    formats.push_back(bf::Format::parse(spec));
  const char* modes[] = {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr", "sr:8", "sr:1"};
  for (const bf::Format& f : formats) {
    for (const char* m : modes) {
      const bf::RoundingSpec r = bf::parse_rounding(m);
      compare_quantize<float>(f, r);
      compare_quantize<double>(f, r);
      compare_codes(f, r);
    }
    compare_decode(f);
  }
  compare_gemm();
  compare_blocks();
  std::size_t total = 0;
  std::printf("%-14s %14s %14s %12s\n", "kernel", "combinations", "compared", "mismatches");
  for (const auto& [kernel, t] : tallies) {
    std::printf("%-14s %14zu %14zu %12zu\n", kernel.c_str(), t.combinations, t.compared, t.mismatches);
    total += t.mismatches;
  }
  std::printf("%zu formats x %zu rounding modes; %zu GEMM accumulator specs x %zu shapes x 2 input kinds\n",
              formats.size(), std::size(modes), bitsim::test::gemm_specs().size(), bitsim::test::gemm_shapes().size());
  report_blas();
  std::printf(total == 0 ? "GPU and CPU agree bit for bit\n" : "%zu MISMATCHES\n", total);
  return total == 0 ? 0 : 1;
}
