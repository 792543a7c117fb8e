#include "formats/cuda/block_cuda.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <variant>

#include "formats/cuda/block_core.hpp"
#include "formats/cuda/device_buffer.hpp"
#include "formats/lattice_rounding.hpp"

namespace bitsim::formats::cuda {
namespace {

constexpr int kThreads = 128;  // per thread block: four warps stride over one format block
constexpr int kWarps = kThreads / 32;

// One step of a warp's butterfly reduction of Stats.
__device__ Stats shuffle(Stats s, int lane_mask) {
  Stats t;
  t.amax_bits = __shfl_xor_sync(0xffffffffu, s.amax_bits, lane_mask);
  t.nonfinite = __shfl_xor_sync(0xffffffffu, int(s.nonfinite), lane_mask) != 0;
  t.lo.value = __shfl_xor_sync(0xffffffffu, s.lo.value, lane_mask);
  t.lo.index = __shfl_xor_sync(0xffffffffu, s.lo.index, lane_mask);
  t.hi.value = __shfl_xor_sync(0xffffffffu, s.hi.value, lane_mask);
  t.hi.index = __shfl_xor_sync(0xffffffffu, s.hi.index, lane_mask);
  return t;
}

template <Rounding Mode, class Element, class Scale>
__global__ void block_kernel(BlockParams<Element, Scale> p, const float* in, float* out, std::uint64_t* codes,
                             std::uint64_t* scales, std::uint64_t* offsets) {
  const std::size_t block = blockIdx.x;
  const std::size_t r0 = block / p.grid_cols * p.block_rows, c0 = block % p.grid_cols * p.block_cols;
  const std::size_t r1 = min(p.rows, r0 + p.block_rows), c1 = min(p.cols, c0 + p.block_cols);
  const std::size_t width = c1 - c0, count = (r1 - r0) * width;
  const auto flat = [&](std::size_t e) { return (r0 + e / width) * p.cols + c0 + e % width; };

  Stats st = empty_stats();
  for (std::size_t e = threadIdx.x; e < count; e += blockDim.x) {
    const std::size_t i = flat(e);
    st = combine(st, element_stats(in[i], i));
  }
  for (int mask = 16; mask > 0; mask >>= 1) st = combine(st, shuffle(st, mask));
  __shared__ Stats warp_stats[kWarps];
  __shared__ BlockScaleValue block_scale;
  if (threadIdx.x % 32 == 0) warp_stats[threadIdx.x / 32] = st;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kWarps; ++w) st = combine(st, warp_stats[w]);
    block_scale = choose_scale(p, st);
    if (scales) scales[block] = block_scale.code;
    if (offsets) offsets[block] = block_scale.offset_code;
  }
  __syncthreads();
  const BlockScaleValue s = block_scale;
  for (std::size_t e = threadIdx.x; e < count; e += blockDim.x) {
    const std::size_t i = flat(e);
    const double q = element_value<Mode>(p, in[i], s, i);
    if (out) out[i] = value_of(p, q, s);
    if (codes) codes[i] = pack(p.element, q);
  }
}

// Largest finite |x| over the tensor (the two-level recipe's tensor amax), as a pattern.
__global__ void finite_amax_kernel(const float* in, std::size_t n, unsigned int* result) {
  unsigned int m = 0;
  for (std::size_t i = std::size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += std::size_t(gridDim.x) * blockDim.x) {
    const unsigned int a = __float_as_uint(in[i]) & 0x7fffffffu;
    if (a < 0x7f800000u && a > m) m = a;
  }
  for (int mask = 16; mask > 0; mask >>= 1) m = max(m, __shfl_xor_sync(0xffffffffu, m, mask));
  if (threadIdx.x % 32 == 0) atomicMax(result, m);
}

float device_tensor_scale(const BlockFormat& f, const float* d_in, std::size_t n) {
  DeviceBuffer<unsigned int> d_amax(1);
  check(cudaMemset(d_amax.data(), 0, sizeof(unsigned int)), "cudaMemset");
  if (n) finite_amax_kernel<<<std::min<unsigned>(blocks_for(n), 1024), 256>>>(d_in, n, d_amax.data());
  check(cudaGetLastError(), "amax kernel launch");
  unsigned int bits = 0;
  d_amax.copy_to(std::span<unsigned int>(&bits, 1));
  return tensor_encode_scale(f, std::bit_cast<float>(bits));
}

void check_supported(const BlockFormat& f) {
  if (!block_supported(f))
    throw std::invalid_argument("cuda::block_quantize: " + f.spec() +
                                " is not implemented on the GPU (supported: the generic recipe with rule "
                                "floor|ceil|round|amax, zero points, and the two-level fp32 recipe; not rule=mse "
                                "nor the q8_0/q4_0/q4_1 recipes)");
}

void check_size(std::size_t n, std::size_t rows, std::size_t cols, const char* what) {
  if (n != rows * cols)
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(n) + " elements for a " +
                                std::to_string(rows) + " x " + std::to_string(cols) + " array");
}

// Runs the kernel with values (out), codes (codes, scales, offsets), or both.
void run(const BlockFormat& f, std::span<const float> in, std::size_t rows, std::size_t cols, RandomStream rng,
         float* out, std::uint64_t* codes, std::uint64_t* scales, std::uint64_t* offsets, float& tensor_scale,
         const float* d_in) {
  const BlockGrid g = block_grid(f, rows, cols);
  tensor_scale = f.has_tensor_scale() ? device_tensor_scale(f, d_in, in.size()) : 1.0f;
  if (g.block_count() == 0) return;
  std::visit(
      [&](const auto& element_family, const auto& scale_family) {
        using E = std::decay_t<decltype(element_family)>;
        using S = std::decay_t<decltype(scale_family)>;
        if constexpr (requires { element_family.lattice(); } && std::is_same_v<S, MiniFloat>) {
          const auto p = make_block_params(f, element_family, scale_family, g, rng, tensor_scale);
          with_rounding_mode(f.rounding().mode, [&]<Rounding M>() {
            block_kernel<M><<<unsigned(g.block_count()), kThreads>>>(p, d_in, out, codes, scales, offsets);
          });
        } else {
          throw std::invalid_argument("cuda::block_quantize: " + f.spec() +
                                      ": element must be a float or integer format and the scale a float format");
        }
      },
      f.element().repr(), f.scale().repr());
  check(cudaGetLastError(), "block kernel launch");
}

}  // namespace

bool block_supported(const BlockFormat& f) { return block_core_supports(f); }

void block_quantize(const BlockFormat& format, std::span<const float> in, std::size_t rows, std::size_t cols,
                    std::span<float> out, RandomStream rng) {
  check_supported(format);
  check_size(in.size(), rows, cols, "cuda::block_quantize input");
  check_size(out.size(), rows, cols, "cuda::block_quantize output");
  if (in.empty()) return;
  const DeviceBuffer<float> d_in(in);
  const DeviceBuffer<float> d_out(in.size());
  float tensor_scale = 1.0f;
  run(format, in, rows, cols, rng, d_out.data(), nullptr, nullptr, nullptr, tensor_scale, d_in.data());
  d_out.copy_to(out);
}

BlockEncoding block_encode(const BlockFormat& format, std::span<const float> in, std::size_t rows,
                           std::size_t cols, RandomStream rng) {
  check_supported(format);
  check_size(in.size(), rows, cols, "cuda::block_encode input");
  const BlockGrid g = block_grid(format, rows, cols);
  BlockEncoding e;
  e.rows = rows;
  e.cols = cols;
  e.elements.resize(in.size());
  e.scales.resize(g.block_count());
  if (format.has_zero_point()) e.zero_points.resize(g.block_count());
  if (in.empty()) return e;
  const DeviceBuffer<float> d_in(in);
  const DeviceBuffer<std::uint64_t> d_codes(in.size()), d_scales(g.block_count()),
      d_offsets(format.has_zero_point() ? g.block_count() : 0);
  run(format, in, rows, cols, rng, nullptr, d_codes.data(), d_scales.data(),
      format.has_zero_point() ? d_offsets.data() : nullptr, e.tensor_scale, d_in.data());
  d_codes.copy_to(e.elements);
  d_scales.copy_to(e.scales);
  if (format.has_zero_point()) d_offsets.copy_to(e.zero_points);
  return e;
}

}  // namespace bitsim::formats::cuda
