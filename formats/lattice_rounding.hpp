#pragma once
// Rounding a float32 or float64 value onto a Lattice, in the source's own bit pattern.
//
// The trick that makes this fast and vectorisable: IEEE patterns of one sign are ordered
// like their values, and inside the source's mantissa field a bit position is a fixed
// power of two. So rounding to a coarser lattice is integer rounding of the pattern at
// bit position s = (target quantum exponent) - (source quantum exponent); a carry out of
// the mantissa moves to the next binade by itself. Values below one target quantum (s
// beyond the mantissa) take a separate, equally exact branch. The decision itself comes
// from round_up() in round_core.hpp, shared by every format.
//
// The result is the rounded value as a pattern of the source type, after the format's
// range and special-value policies; minifloat.hpp and fixed_point.hpp turn it into codes.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "formats/hd.hpp"
#include "formats/lattice.hpp"
#include "formats/round_core.hpp"

namespace bitsim::formats {

template <class Real>
struct SourceTraits;

template <>
struct SourceTraits<float> {
  using Bits = std::uint32_t;
  static constexpr int mantissa_bits = 23;
  static constexpr int exponent_bias = 127;
};

template <>
struct SourceTraits<double> {
  using Bits = std::uint64_t;
  static constexpr int mantissa_bits = 52;
  static constexpr int exponent_bias = 1023;
};

// The lattice restated as patterns of the source type, computed once per span on the host.
template <class Real>
struct LatticePlan {
  using Bits = typename SourceTraits<Real>::Bits;
  int precision = 0;
  int min_quantum = 0;
  int min_normal_exponent = 0;
  bool subnormals = true;
  Bits max_positive = 0;   // patterns, rounded toward zero into the source type
  Bits max_negative = 0;
  Bits min_normal = 0;
  Bits min_positive = 0;
  bool is_unsigned = false;
  bool has_zero = true;
  bool has_negative_zero = true;
  bool has_infinity = false;
  bool has_nan = false;
  bool nan_has_sign = true;
  bool nan_sign_bit = false;
  Overflow overflow = Overflow::saturate;
  NanRule nan_rule = NanRule::zero;
  bool flush_input = false;
  bool flush_output = false;
};

namespace detail {

template <class Real>
struct PatternConstants {
  using T = SourceTraits<Real>;
  using Bits = typename T::Bits;
  static constexpr int width = int(sizeof(Bits) * 8);
  static constexpr Bits sign = Bits(1) << (width - 1);
  static constexpr Bits infinity = Bits((Bits(1) << (width - 1 - T::mantissa_bits)) - 1)
                                   << T::mantissa_bits;
  static constexpr Bits quiet_nan = infinity | (Bits(1) << (T::mantissa_bits - 1));
  static constexpr Bits mantissa_mask = (Bits(1) << T::mantissa_bits) - 1;
};

// Largest source value <= v (v >= 0, exactly given as a double), as a pattern.
template <class Real>
typename SourceTraits<Real>::Bits pattern_toward_zero(double v) {
  using Bits = typename SourceTraits<Real>::Bits;
  if (v >= double(std::numeric_limits<Real>::max())) {
    // Values on the lattice beyond the source range cannot arise except by rounding up
    // past the source's largest value, which lands on the infinity pattern.
    return v > double(std::numeric_limits<Real>::max()) ? PatternConstants<Real>::infinity
                                                        : std::bit_cast<Bits>(std::numeric_limits<Real>::max());
  }
  Real r = Real(v);
  if (double(r) > v) r = std::nextafter(r, Real(0));
  return std::bit_cast<Bits>(r);
}

// floor(log2(a)) for a nonzero integer below 2^mantissa_bits, through an exact conversion
// (vectorises where a count-leading-zeros would not).
template <class Real>
BITSIM_HD constexpr int floor_log2_small(typename SourceTraits<Real>::Bits a) {
  using T = SourceTraits<Real>;
  const auto pattern = std::bit_cast<typename T::Bits>(Real(a));
  return int(pattern >> T::mantissa_bits) - T::exponent_bias;
}

// The part of `rest` (< 2^s) below the cut, as a 32-bit fraction of one quantum.
template <class Bits>
BITSIM_HD constexpr Discarded discarded_fraction(Bits rest, int s) {
  constexpr int width = int(sizeof(Bits) * 8);
  if (s <= 32) return {std::uint32_t(rest << (32 - s)), false};
  const int down = s - 32;
  if (down >= width) return {0u, rest != 0};
  return {std::uint32_t(rest >> down), (rest & ((Bits(1) << down) - 1)) != 0};
}

// 2^q as a pattern of the source type (q above the source's subnormal floor).
template <class Real>
BITSIM_HD constexpr typename SourceTraits<Real>::Bits pattern_of_power_of_two(int q) {
  using T = SourceTraits<Real>;
  using Bits = typename T::Bits;
  if (q > T::exponent_bias) return PatternConstants<Real>::infinity;
  if (q >= 1 - T::exponent_bias) return Bits(q + T::exponent_bias) << T::mantissa_bits;
  return Bits(1) << (q + T::exponent_bias + T::mantissa_bits - 1);
}

}  // namespace detail

template <class Real>
LatticePlan<Real> make_plan(const Lattice& l) {
  using detail::pattern_toward_zero;
  LatticePlan<Real> p;
  p.precision = l.precision;
  p.min_quantum = l.min_quantum;
  p.min_normal_exponent = l.min_normal_exponent;
  p.subnormals = l.subnormals;
  p.max_positive = pattern_toward_zero<Real>(l.max_positive);
  p.max_negative = pattern_toward_zero<Real>(l.max_negative);
  p.min_normal = pattern_toward_zero<Real>(l.min_normal);
  // The smallest value is a power of two at or above the source's floor, so exact; when it
  // lies below the source's range, nothing rounds to zero that it could replace.
  p.min_positive = pattern_toward_zero<Real>(l.min_positive);
  p.is_unsigned = l.max_negative == 0;
  p.has_zero = l.has_zero;
  p.has_negative_zero = l.has_negative_zero;
  p.has_infinity = l.has_infinity;
  p.has_nan = l.has_nan;
  p.nan_has_sign = l.nan_has_sign;
  p.nan_sign_bit = l.nan_sign_bit;
  p.overflow = l.overflow;
  p.nan_rule = l.nan_rule;
  p.flush_input = l.flush_input_subnormals;
  p.flush_output = l.flush_output_subnormals;
  return p;
}

// Rounds the value with pattern `x` onto the lattice and applies the range and special
// value policies. Returns the result's pattern in the same source type. Branches are
// written as selects so that loops over spans vectorise.
template <Rounding Mode, class Real>
BITSIM_HD constexpr typename SourceTraits<Real>::Bits round_pattern(
    typename SourceTraits<Real>::Bits x, const LatticePlan<Real>& p, std::uint32_t random = 0,
    int random_bits = 32) {
  using T = SourceTraits<Real>;
  using C = detail::PatternConstants<Real>;
  using Bits = typename T::Bits;
  constexpr int MS = T::mantissa_bits;
  constexpr int BS = T::exponent_bias;

  const bool negative = (x & C::sign) != 0;
  Bits a = x & ~C::sign;
  const bool is_nan = a > C::infinity;
  const bool is_inf = a == C::infinity;
  const int field = int(a >> MS);
  if (p.flush_input && field == 0) a = 0;

  // Exponent of the leading bit, and the source's quantum at this value.
  const int exponent = field != 0 ? field - BS
                                  : (a != 0 ? detail::floor_log2_small<Real>(a) - BS - MS + 1
                                            : -BS - MS - 1);
  const int source_quantum = (field != 0 ? field : 1) - BS - MS;
  const int quantum = (exponent - p.precision) > p.min_quantum ? exponent - p.precision
                                                               : p.min_quantum;
  const int s = quantum - source_quantum;

  // Inside the mantissa (or anywhere for source subnormals): integer rounding of the pattern.
  const int s_in = s < 1 ? 1 : (s > MS ? MS : s);
  const Bits kept = a >> s_in;
  const Bits rest = a & ((Bits(1) << s_in) - 1);
  // Below one target quantum: the candidate is 0, and the whole significand is discarded.
  const Bits significand = field != 0 ? (a & C::mantissa_mask) | (Bits(1) << MS) : a;
  const bool tiny = s > MS;
  const Discarded d = tiny ? detail::discarded_fraction(significand, s)
                           : detail::discarded_fraction(rest, s_in);

  // Last bit of the truncated candidate's code, which "even" refers to. With s == MS the
  // candidate is the leading one itself, whose code parity the pattern does not show.
  const bool kept_odd = tiny ? false : ((s_in == MS && field != 0) ? true : bool(kept & 1));
  const bool code_odd =
      p.precision > 0
          ? kept_odd
          : (kept_odd && (((exponent > p.min_normal_exponent ? exponent : p.min_normal_exponent) -
                           p.min_normal_exponent + (p.subnormals ? 1 : 0)) & 1));
  const bool up = round_up<Mode>(code_odd, d, negative, random, random_bits);

  Bits rounded = tiny ? (up ? detail::pattern_of_power_of_two<Real>(quantum) : Bits(0))
                      : Bits((kept + Bits(up)) << s_in);
  if (s < 1) rounded = a;

  // Range and policies.
  const Bits max_here = negative ? p.max_negative : p.max_positive;
  const bool overflow = rounded > max_here;
  const bool to_special = p.overflow != Overflow::saturate && overflows_to_infinity(Mode, negative);
  const Bits special_overflow = p.overflow == Overflow::infinity ? C::infinity : C::quiet_nan;
  if (overflow) rounded = to_special ? special_overflow : max_here;
  if (p.flush_output && rounded != 0 && rounded < p.min_normal) rounded = 0;
  if (!p.has_zero && rounded == 0) rounded = p.min_positive;

  // Special inputs.
  const Bits nan_or_max = p.has_nan ? C::quiet_nan : max_here;
  if (is_inf) {
    rounded = p.overflow == Overflow::saturate ? max_here
                                               : (p.has_infinity ? C::infinity : nan_or_max);
  }
  if (is_nan) {
    rounded = p.has_nan ? C::quiet_nan : (p.nan_rule == NanRule::max ? p.max_positive : Bits(0));
  }
  if (p.is_unsigned && negative && !is_nan && a != 0) rounded = p.has_nan ? C::quiet_nan : Bits(0);
  if (!p.has_zero && a == 0 && !is_nan) rounded = p.has_nan ? C::quiet_nan : p.min_positive;

  // Sign: NaN codes may have a fixed sign bit; zero may have no negative twin.
  const bool result_is_nan = rounded > C::infinity;
  bool sign = negative;
  if (result_is_nan && !p.nan_has_sign) sign = p.nan_sign_bit;
  if (!result_is_nan && p.is_unsigned) sign = false;
  if (rounded == 0 && !p.has_negative_zero) sign = false;
  if (is_nan && !p.has_nan && p.nan_rule == NanRule::zero) sign = false;
  return rounded | (sign ? C::sign : Bits(0));
}

// Runtime-mode scalar entry point (references, CLI, tests).
template <class Real>
BITSIM_HD constexpr typename SourceTraits<Real>::Bits round_pattern(
    Rounding mode, typename SourceTraits<Real>::Bits x, const LatticePlan<Real>& p,
    std::uint32_t random = 0, int random_bits = 32) {
  switch (mode) {
    case Rounding::nearest_even: return round_pattern<Rounding::nearest_even>(x, p);
    case Rounding::nearest_away: return round_pattern<Rounding::nearest_away>(x, p);
    case Rounding::nearest_zero: return round_pattern<Rounding::nearest_zero>(x, p);
    case Rounding::toward_positive: return round_pattern<Rounding::toward_positive>(x, p);
    case Rounding::toward_negative: return round_pattern<Rounding::toward_negative>(x, p);
    case Rounding::toward_zero: return round_pattern<Rounding::toward_zero>(x, p);
    case Rounding::odd: return round_pattern<Rounding::odd>(x, p);
    case Rounding::stochastic:
      return round_pattern<Rounding::stochastic>(x, p, random, random_bits);
  }
  return x;
}

}  // namespace bitsim::formats
