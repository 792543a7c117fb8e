#pragma once
// The per-element steps of the CUDA element kernels (quantize_cuda.cu) beyond the shared
// rounding cores, BITSIM_HD so that the host test (tests/cuda/test_hd_core.cpp) checks them
// against Format's span functions on the CPU.
#include <bit>
#include <cstdint>

#include "formats/fixed_point.hpp"
#include "formats/hd.hpp"
#include "formats/lattice_rounding.hpp"
#include "formats/lns.hpp"
#include "formats/minifloat.hpp"
#include "formats/posit.hpp"

namespace bitsim::formats::cuda {

// The code of x in a lattice format (MiniFloat, FixedPoint), as Format::encode(float) gives
// it: float32 subnormal inputs flushed first where the format says so, then rounded
// through float64 (`plan` is the format's float64 plan) and packed.
template <class Family>
struct LatticeEncoder {
  Family family;
  LatticePlan<double> plan;
  template <Rounding Mode>
  BITSIM_HD std::uint64_t encode(float x, std::uint32_t word, int random_bits) const {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    const bool subnormal = (bits & 0x7fffffffu) != 0 && (bits & 0x7fffffffu) < 0x00800000u;
    if (plan.flush_input && subnormal) x = std::bit_cast<float>(bits & 0x80000000u);
    const double value = std::bit_cast<double>(
        round_pattern<Mode, double>(std::bit_cast<std::uint64_t>(double(x)), plan, word, random_bits));
    return pack(family, value);
  }
};

// Posits and LNS: their own encoders.
template <class Family>
struct CodecEncoder {
  Family family;
  template <Rounding Mode>
  BITSIM_HD std::uint64_t encode(float x, std::uint32_t word, int random_bits) const {
    return formats::encode<Mode>(family, x, word, random_bits);
  }
};

// Posit / LNS quantize of one element: decode(encode(x)) in the input's type.
template <Rounding Mode, class Real, class Family>
BITSIM_HD Real codec_round(const Family& f, Real x, std::uint32_t word, int random_bits) {
  return decode<Real>(f, encode<Mode>(f, x, word, random_bits));
}

}  // namespace bitsim::formats::cuda
