#pragma once
// Format::quantize on an NVIDIA GPU: the same round_pattern core (BITSIM_HD) the CPU
// loops use, one thread per group of four elements (one Philox call each), so results
// are bit-identical to the CPU's for every format, mode and seed.
#include <cstdint>
#include <span>
#include <string>

#include "formats/format.hpp"

namespace bitsim::formats::cuda {

// Number of usable CUDA devices (0 when there is no driver or no GPU).
int device_count();
// "NVIDIA H100 80GB HBM3 (sm_90)" or the reason there is none.
std::string device_description();

// Host spans in, host spans out (copies through device memory). Throws std::runtime_error
// with the CUDA error text on failure.
void quantize(const Format& format, std::span<const float> in, std::span<float> out,
              RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index_offset = 0);
void quantize(const Format& format, std::span<const double> in, std::span<double> out,
              RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index_offset = 0);

}  // namespace bitsim::formats::cuda
