#pragma once
// The one place where bitsim decides which way a value rounds.
//
// Every format reduces rounding to the same question, in the style of SoftFloat: the
// magnitude has been split into the truncated candidate (in units of the target's
// quantum) and the discarded part, given as a 32-bit binary fraction of one
// quantum (`fraction`, its top bit weighs 1/2) plus a `sticky` flag for any nonzero bits
// below those 32. Which neighbour the mode picks follows from those alone.
#include <cstdint>

#include "formats/hd.hpp"
#include "formats/rounding.hpp"

namespace bitsim::formats {

struct Discarded {
  std::uint32_t fraction = 0;  // top 32 bits of the discarded part, in units of 2^-32 quantum
  bool sticky = false;         // any nonzero bit below `fraction`
};

// Whether the magnitude moves up to the next lattice point (true) or stays at the
// truncated one (false). `odd` is the last bit of the truncated candidate's code (what
// "even" refers to); `negative` the sign of the value (directed modes need it); `random`
// the element's 32-bit random word and `random_bits` how many of its top bits stochastic
// rounding uses (1..32).
template <Rounding Mode>
BITSIM_HD constexpr bool round_up(bool odd, Discarded d, bool negative,
                                  std::uint32_t random = 0, int random_bits = 32) {
  constexpr std::uint32_t half = 0x80000000u;
  const bool inexact = (d.fraction != 0) | d.sticky;
  const bool above_half = (d.fraction > half) | ((d.fraction == half) & d.sticky);
  const bool exactly_half = (d.fraction == half) & !d.sticky;
  if constexpr (Mode == Rounding::nearest_even) {
    return above_half | (exactly_half & odd);
  } else if constexpr (Mode == Rounding::nearest_away) {
    return above_half | exactly_half;
  } else if constexpr (Mode == Rounding::nearest_zero) {
    return above_half;
  } else if constexpr (Mode == Rounding::toward_positive) {
    return inexact & !negative;
  } else if constexpr (Mode == Rounding::toward_negative) {
    return inexact & negative;
  } else if constexpr (Mode == Rounding::toward_zero) {
    return false;
  } else if constexpr (Mode == Rounding::odd) {
    // Of the two neighbours exactly one has an odd code: take it unless exact.
    return inexact & !odd;
  } else {
    static_assert(Mode == Rounding::stochastic);
    // Round up when the top k bits of the fraction plus k random bits carry out of k bits:
    // probability floor(fraction * 2^k / 2^32) / 2^k, as a k-bit hardware adder gives.
    // With f, r the top k bits: f + r >= 2^k exactly when f > 2^k - 1 - r, and
    // 2^k - 1 - r is the top k bits of ~random; so the test needs no wider type.
    const int drop = 32 - random_bits;
    return (d.fraction >> drop) > (~random >> drop);
  }
}

// Runtime-mode entry point for scalar code paths (references, CLI). Hot loops instantiate
// the template above once per span instead.
BITSIM_HD constexpr bool round_up(Rounding mode, bool odd, Discarded d, bool negative,
                                  std::uint32_t random = 0, int random_bits = 32) {
  return with_rounding_mode(mode, [&]<Rounding M>() {
    return round_up<M>(odd, d, negative, random, random_bits);
  });
}

// Whether a mode, having to leave the finite range, moves the magnitude up (to infinity or
// NaN under a non-saturating policy) rather than down to the largest finite value.
// IEEE 754 7.4: round-toward-zero and the directed mode pointing at zero stay finite;
// round-to-odd behaves like truncation.
BITSIM_HD constexpr bool overflows_to_infinity(Rounding mode, bool negative) {
  switch (mode) {
    case Rounding::toward_positive: return !negative;
    case Rounding::toward_negative: return negative;
    case Rounding::toward_zero:
    case Rounding::odd: return false;
    default: return true;
  }
}

}  // namespace bitsim::formats
