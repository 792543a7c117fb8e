#pragma once
// Rounding float32 values onto a plain integer lattice (step 1) with the vector units' own
// round-to-integral instruction, for the span loops: nearest-even (std::nearbyint, which
// GCC turns into one vrndscaleps per 16 lanes) against some forty instructions of the
// general lattice core (lattice_rounding.hpp) for the PlainSigned shape. (GCC 12 does not
// vectorise std::trunc, std::ceil and std::floor without -fno-trapping-math, so the
// directed modes stay with the lattice core.)
//
// It gives the lattice core's bits wherever integer_plan() holds: a step-1 lattice
// without -0 whose limits lie below 2^22 and which saturates (overflow and +-Inf inputs
// land on +-max). Rounding an exact float32 value to an integral one is exact (in the
// default floating-point environment, which the float32 span loops assume throughout);
// values at or beyond 2^22 round to at least 2^22, beyond max, and clamp to it; zero results
// take the + sign (+0.0f turns -0 into +0); NaN inputs become the plan's NaN result
// (round_integer_value's caller selects it). Callers that round a quotient rounded
// to odd rather than an exact value rely on its two or more bits below the units place
// (true below 2^22), as block_spans.hpp explains.
#include <bit>
#include <cmath>
#include <cstdint>

#include "formats/lattice_rounding.hpp"

namespace bitsim::formats {

template <Rounding Mode>
constexpr bool rounds_to_integer_natively = Mode == Rounding::nearest_even;

inline bool integer_plan(const LatticePlan<float>& p) {
  constexpr std::uint32_t two_to_22 = 0x4a800000u;
  return fits_shape(p, PlainSigned{}) && p.min_quantum == 0 && p.precision >= 24 && p.max_positive < two_to_22 &&
         p.max_negative < two_to_22 && p.overflow_positive == p.max_positive &&
         p.overflow_negative == p.max_negative && p.infinity_positive == p.max_positive &&
         p.infinity_negative == p.max_negative && p.zero_sign == 0;
}

// y (not NaN) rounded onto the plan's integer lattice and clamped to its range, as the
// lattice core's result value (+0 for zero). `bottom` = -max_negative, `top` = max_positive.
template <Rounding Mode>
[[gnu::always_inline]] inline float round_integer_value(float y, float bottom, float top) {
  static_assert(rounds_to_integer_natively<Mode>);
  return std::min(std::max(std::nearbyint(y), bottom), top) + 0.0f;
}

}  // namespace bitsim::formats
