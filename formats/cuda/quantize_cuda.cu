#include "formats/cuda/quantize_cuda.hpp"

#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <variant>

#include "formats/cuda/device_buffer.hpp"
#include "formats/cuda/element_core.hpp"
#include "formats/lattice_rounding.hpp"

namespace bitsim::formats::cuda {
namespace {

void check_sizes(std::size_t a, std::size_t b, const char* what) {
  if (a != b)
    throw std::invalid_argument(std::string("cuda::") + what + ": input has " + std::to_string(a) +
                                " elements but output has " + std::to_string(b));
}

void check_rounding(RoundingSpec r) {
  if (r.random_bits < 1 || r.random_bits > 32)
    throw std::invalid_argument("stochastic rounding: random_bits must be 1..32, got " + std::to_string(r.random_bits));
}

// Lattice formats: each thread rounds the four elements that share one Philox counter.
template <Rounding Mode, class Real>
__global__ void lattice_quantize_kernel(const Real* in, Real* out, std::uint64_t n, LatticePlan<Real> plan,
                                        int random_bits, RandomStream rng, std::uint64_t index_offset) {
  using Bits = typename SourceTraits<Real>::Bits;
  const std::uint64_t thread = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  // Element i has global index index_offset + i; groups are aligned on global indices.
  const std::uint64_t group = (index_offset >> 2) + thread;
  const std::uint64_t group_begin = group << 2;
  if (group_begin >= index_offset + n) return;
  r123::Philox4x32::ctr_type words{};
  if constexpr (Mode == Rounding::stochastic) words = rng.group(group);
  for (int lane = 0; lane < 4; ++lane) {
    const std::uint64_t global = group_begin + lane;
    if (global < index_offset || global >= index_offset + n) continue;
    const std::uint64_t i = global - index_offset;
    out[i] = std::bit_cast<Real>(round_pattern<Mode, Real>(std::bit_cast<Bits>(in[i]), plan, words.v[lane], random_bits));
  }
}

// Posits and LNS: decode(encode(x)) per element, as Format's codec spans do.
template <Rounding Mode, class Real, class Family>
__global__ void codec_quantize_kernel(const Real* in, Real* out, std::uint64_t n, Family f, int random_bits,
                                      RandomStream rng, std::uint64_t index_offset) {
  const std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::uint32_t word = Mode == Rounding::stochastic ? rng.word(index_offset + i) : 0u;
  out[i] = codec_round<Mode>(f, in[i], word, random_bits);
}

template <Rounding Mode, class Encoder>
__global__ void encode_kernel(const float* in, std::uint64_t* codes, std::uint64_t n, Encoder encoder,
                              int random_bits, RandomStream rng) {
  const std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const std::uint32_t word = Mode == Rounding::stochastic ? rng.word(i) : 0u;
  codes[i] = encoder.template encode<Mode>(in[i], word, random_bits);
}

template <class Family>
__global__ void decode_kernel(const std::uint64_t* codes, float* out, std::uint64_t n, Family f) {
  const std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  out[i] = decode<float>(f, codes[i]);
}

template <class Real>
void launch_quantize(const Format& format, const Real* in, Real* out, std::size_t n, RoundingSpec r,
                     RandomStream rng, std::uint64_t index_offset) {
  check_rounding(r);
  if (n == 0) return;
  with_rounding_mode(r.mode, [&]<Rounding M>() {
    std::visit(
        [&](const auto& family) {
          if constexpr (requires { family.lattice(); }) {
            const std::uint64_t groups = ((index_offset + n + 3) >> 2) - (index_offset >> 2);
            lattice_quantize_kernel<M, Real><<<blocks_for(groups), 256>>>(
                in, out, n, make_plan<Real>(format.lattice()), r.random_bits, rng, index_offset);
          } else {
            codec_quantize_kernel<M, Real><<<blocks_for(n), 256>>>(in, out, n, family, r.random_bits, rng,
                                                                   index_offset);
          }
        },
        format.repr());
  });
  check(cudaGetLastError(), "quantize kernel launch");
}

template <class Real>
void quantize_host(const Format& format, std::span<const Real> in, std::span<Real> out, RoundingSpec r,
                   RandomStream rng, std::uint64_t index_offset) {
  check_sizes(in.size(), out.size(), "quantize");
  check_rounding(r);
  if (in.empty()) return;
  const DeviceBuffer<Real> d_in(in);
  const DeviceBuffer<Real> d_out(in.size());
  launch_quantize<Real>(format, d_in.data(), d_out.data(), in.size(), r, rng, index_offset);
  d_out.copy_to(out);
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

std::string device_description() {
  int n = 0;
  const cudaError_t status = cudaGetDeviceCount(&n);
  if (status != cudaSuccess) return std::string("no GPU: ") + cudaGetErrorString(status);
  if (n == 0) return "no GPU: no CUDA device found";
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

void quantize(const Format& format, std::span<const float> in, std::span<float> out, RoundingSpec r,
              RandomStream rng, std::uint64_t index_offset) {
  quantize_host<float>(format, in, out, r, rng, index_offset);
}

void quantize(const Format& format, std::span<const double> in, std::span<double> out, RoundingSpec r,
              RandomStream rng, std::uint64_t index_offset) {
  quantize_host<double>(format, in, out, r, rng, index_offset);
}

void quantize_device(const Format& format, const float* in, float* out, std::size_t n, RoundingSpec r,
                     RandomStream rng, std::uint64_t index_offset) {
  launch_quantize<float>(format, in, out, n, r, rng, index_offset);
}

void encode(const Format& format, std::span<const float> in, std::span<std::uint64_t> codes, RoundingSpec r,
            RandomStream rng) {
  check_sizes(in.size(), codes.size(), "encode");
  check_rounding(r);
  if (in.empty()) return;
  const DeviceBuffer<float> d_in(in);
  const DeviceBuffer<std::uint64_t> d_codes(in.size());
  with_rounding_mode(r.mode, [&]<Rounding M>() {
    std::visit(
        [&](const auto& family) {
          using Family = std::decay_t<decltype(family)>;
          if constexpr (requires { family.lattice(); }) {
            encode_kernel<M><<<blocks_for(in.size()), 256>>>(
                d_in.data(), d_codes.data(), in.size(),
                LatticeEncoder<Family>{family, make_plan<double>(format.lattice())}, r.random_bits, rng);
          } else {
            encode_kernel<M><<<blocks_for(in.size()), 256>>>(d_in.data(), d_codes.data(), in.size(),
                                                             CodecEncoder<Family>{family}, r.random_bits, rng);
          }
        },
        format.repr());
  });
  check(cudaGetLastError(), "encode kernel launch");
  d_codes.copy_to(codes);
}

void decode(const Format& format, std::span<const std::uint64_t> codes, std::span<float> out) {
  check_sizes(codes.size(), out.size(), "decode");
  if (codes.empty()) return;
  const DeviceBuffer<std::uint64_t> d_codes(codes);
  const DeviceBuffer<float> d_out(codes.size());
  std::visit([&](const auto& family) {
    decode_kernel<<<blocks_for(codes.size()), 256>>>(d_codes.data(), d_out.data(), codes.size(), family);
  }, format.repr());
  check(cudaGetLastError(), "decode kernel launch");
  d_out.copy_to(out);
}

}  // namespace bitsim::formats::cuda
