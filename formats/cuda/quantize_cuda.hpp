#pragma once
// Element formats on an NVIDIA GPU: quantize, encode and decode for every runtime Format
// family (minifloats, integers/fixed point, posits, LNS) and every rounding mode, through
// the same BITSIM_HD cores the CPU span loops use (round_pattern for lattices; the posit
// and LNS encode/decode), with the CPU's Philox numbering (element i of a span uses word
// index_offset + i of the RandomStream). Results are bit-identical to Format's spans.
//
// Lattice quantize: one thread per group of four elements (one Philox call each); posit
// and LNS quantize, encode and decode: one thread per element.
#include <cstdint>
#include <span>
#include <string>

#include "formats/format.hpp"

namespace bitsim::formats::cuda {

// Number of usable CUDA devices (0 when there is no driver or no GPU).
int device_count();
// "NVIDIA H100 80GB HBM3 (sm_90)" or the reason there is none.
std::string device_description();

// Host spans in, host spans out (copies through device memory). Throw
// std::invalid_argument for mismatched sizes or bad rounding specs, std::runtime_error with
// the CUDA error text on device failures.
void quantize(const Format& format, std::span<const float> in, std::span<float> out,
              RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index_offset = 0);
void quantize(const Format& format, std::span<const double> in, std::span<double> out,
              RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index_offset = 0);
// As Format::encode / Format::decode on spans (element i uses random word i).
void encode(const Format& format, std::span<const float> in, std::span<std::uint64_t> codes,
            RoundingSpec r = {}, RandomStream rng = {});
void decode(const Format& format, std::span<const std::uint64_t> codes, std::span<float> out);

// The same on device pointers (no copies; n elements; the default stream). For benchmarks
// and for callers that keep their tensors on the GPU.
void quantize_device(const Format& format, const float* in, float* out, std::size_t n, RoundingSpec r = {},
                     RandomStream rng = {}, std::uint64_t index_offset = 0);

}  // namespace bitsim::formats::cuda
