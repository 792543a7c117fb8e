#pragma once
// Rounding a float32 or float64 value onto a Lattice, in the source's own bit pattern.
//
// The trick that makes this fast and vectorisable: IEEE patterns of one sign are ordered
// like their values, and inside the source's mantissa field a bit position is a fixed
// power of two. So rounding to a coarser lattice is integer rounding of the pattern at
// bit position s = (target quantum exponent) - (source quantum exponent); a carry out of
// the mantissa moves to the next binade by itself. Values below one target quantum (s
// beyond the mantissa) round to 0 or to the lattice's smallest step, from the same kind of
// discarded fraction. The decision itself comes from round_up() in round_core.hpp, shared
// by every format.
//
// The result is the rounded value as a pattern of the source type, after the format's
// range and special-value policies; minifloat.hpp and fixed_point.hpp turn it into codes.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

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

// The lattice restated as patterns of the source type, computed once per span on the host
// by make_plan (the only way to fill one: the fields depend on each other).
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

  // The policies above restated as patterns, masks and offsets, so that round_pattern
  // makes no per-element choice that depends on the plan alone and reads no bool of the
  // plan (either stops GCC from vectorising the span loops).
  int code_exponent_offset = 0;   // precision 0 (E8M0): code = max(exponent, emin) + this
  int code_parity_known = 0;      // 1 where precision > 0: the pattern shows the code's parity
  Bits smallest_step = 0;         // 2^min_quantum: what a value below one quantum rounds up to
  Bits flush_input_below = 0;     // inputs below this magnitude count as zero (ftz_in)
  Bits flush_output_below = 0;    // results below it become zero (ftz_out)
  Bits lift_below = 0;            // no zero (nor subnormals): results below min_positive
                                  //   land on it (lift_below = min_positive), else 0
  Bits overflow_positive = 0;     // what overflow becomes in modes that round away from zero
  Bits overflow_negative = 0;
  Bits infinity_positive = 0;     // what +inf and -inf inputs become (magnitudes)
  Bits infinity_negative = 0;
  Bits nan_becomes = 0;           // what a NaN input becomes (magnitude)
  Bits negative_mask = 0;         // unsigned formats: all ones (negative nonzero inputs are
  Bits negative_becomes = 0;      //   invalid and become negative_becomes), else 0
  Bits zero_input_below = 0;      // 1 for formats without zero: a zero input becomes
  Bits zero_input_becomes = 0;    //   zero_input_becomes
  // Sign bits (the source's sign position or 0) that survive, by kind of result.
  Bits value_sign = 0;            // numbers: 0 for unsigned formats
  Bits nan_sign_kept = 0;         // NaN results: the input's sign where the NaN code's sign is
  Bits nan_sign_fixed = 0;        //   free, else the fixed one
  Bits zero_sign = 0;             // zero results: 0 where there is no -0
  Bits nan_input_sign = 0;        // NaN inputs: 0 where they become +0 (nan=zero)
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

// 2^q as a pattern of the source type (q above the source's subnormal floor).
template <class Real>
constexpr typename SourceTraits<Real>::Bits pattern_of_power_of_two(int q) {
  using T = SourceTraits<Real>;
  using Bits = typename T::Bits;
  if (q > T::exponent_bias) return PatternConstants<Real>::infinity;
  if (q >= 1 - T::exponent_bias) return Bits(q + T::exponent_bias) << T::mantissa_bits;
  return Bits(1) << (q + T::exponent_bias + T::mantissa_bits - 1);
}

// u < v for patterns below 2^(width-1) (magnitudes, and results of non-NaN inputs), read
// off the sign of u - v: vector units have no unsigned compare, and GCC turns a plain
// signed compare of values it knows to be non-negative back into an unsigned one.
template <class Bits>
BITSIM_HD constexpr bool magnitude_less(Bits u, Bits v) {
  using Int = std::make_signed_t<Bits>;
  return Int(u - v) < 0;
}

}  // namespace detail

template <class Real>
LatticePlan<Real> make_plan(const Lattice& l) {
  using detail::pattern_toward_zero;
  using C = detail::PatternConstants<Real>;
  using Bits = typename LatticePlan<Real>::Bits;
  using T = SourceTraits<Real>;
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

  p.code_exponent_offset = (p.subnormals ? 1 : 0) - p.min_normal_exponent;
  p.code_parity_known = p.precision > 0 ? 1 : 0;
  // Only values of exponent >= 1 - bias can lie below one quantum, and then the quantum is
  // min_quantum >= 2 - bias (see round_pattern); below that the field is never read.
  p.smallest_step = p.min_quantum >= 2 - T::exponent_bias
                        ? detail::pattern_of_power_of_two<Real>(p.min_quantum)
                        : Bits(0);
  p.flush_input_below = p.flush_input ? Bits(C::mantissa_mask + 1) : Bits(0);
  p.flush_output_below = p.flush_output ? p.min_normal : Bits(0);
  p.lift_below = p.has_zero ? Bits(0) : p.min_positive;
  const bool saturates = p.overflow == Overflow::saturate;
  const Bits special = p.overflow == Overflow::infinity ? C::infinity : C::quiet_nan;
  p.overflow_positive = saturates ? p.max_positive : special;
  p.overflow_negative = saturates ? p.max_negative : special;
  // Inf inputs: saturate -> max; else inf if there is one, NaN if there is one, else max.
  const Bits unbounded = p.has_infinity ? C::infinity : C::quiet_nan;
  const bool keeps_max = saturates || (!p.has_infinity && !p.has_nan);
  p.infinity_positive = keeps_max ? p.max_positive : unbounded;
  p.infinity_negative = keeps_max ? p.max_negative : unbounded;
  // Without NaN: nan=max gives +-max; nan=zero gives 0, or the smallest value where there is
  // no zero (as 0 does). Negative inputs to unsigned formats likewise.
  const Bits zero_or_least = p.has_zero ? Bits(0) : p.min_positive;
  p.nan_becomes = p.has_nan ? C::quiet_nan : (p.nan_rule == NanRule::max ? p.max_positive : zero_or_least);
  p.negative_mask = p.is_unsigned ? ~Bits(0) : Bits(0);
  p.negative_becomes = p.has_nan ? C::quiet_nan : zero_or_least;
  p.zero_input_below = p.has_zero ? Bits(0) : Bits(1);
  p.zero_input_becomes = p.has_nan ? C::quiet_nan : p.min_positive;
  p.value_sign = p.is_unsigned ? Bits(0) : C::sign;
  p.nan_sign_kept = p.nan_has_sign ? C::sign : Bits(0);
  p.nan_sign_fixed = (!p.nan_has_sign && p.nan_sign_bit) ? C::sign : Bits(0);
  p.zero_sign = p.has_negative_zero ? C::sign : Bits(0);
  p.nan_input_sign = (p.has_nan || p.nan_rule != NanRule::zero) ? C::sign : Bits(0);
  return p;
}

// What the span loops may know about a plan at compile time. A shape never changes what
// round_pattern computes: it only replaces plan fields by the constants the plan is checked
// to hold (fits_shape), so the compiler can drop the steps those constants make no-ops.
//   AnyPlan:     nothing known.
//   PlainSigned: signed, no flushing, a zero, precision > 0, NaN codes (if any) carry the
//                input's sign, min_quantum >= 1 - bias - precision: int8 and most others.
//   PlainFloat:  PlainSigned with a symmetric range and policies, and fewer mantissa bits
//                than the source, so every input is cut (s >= 1): the signed minifloats
//                (bf16, fp16, e5m2, e4m3fn, e2m1fn, ...) seen through float32.
struct AnyPlan {
  static constexpr bool plain_signed = false;
  static constexpr bool plain_float = false;
};
struct PlainSigned {
  static constexpr bool plain_signed = true;
  static constexpr bool plain_float = false;
};
struct PlainFloat {
  static constexpr bool plain_signed = true;
  static constexpr bool plain_float = true;
};

template <class Real>
bool fits_shape(const LatticePlan<Real>& p, PlainSigned) {
  using C = detail::PatternConstants<Real>;
  using T = SourceTraits<Real>;
  return p.min_quantum >= 1 - T::exponent_bias - p.precision &&
         p.flush_input_below == 0 && p.flush_output_below == 0 && p.lift_below == 0 &&
         p.negative_mask == 0 && p.zero_input_below == 0 && p.code_parity_known == 1 &&
         p.value_sign == C::sign && p.nan_sign_kept == C::sign && p.nan_sign_fixed == 0;
}

template <class Real>
bool fits_shape(const LatticePlan<Real>& p, PlainFloat) {
  return fits_shape(p, PlainSigned{}) && p.precision < SourceTraits<Real>::mantissa_bits &&
         p.max_negative == p.max_positive && p.overflow_negative == p.overflow_positive &&
         p.infinity_negative == p.infinity_positive;
}

namespace detail {

// round_pattern for PlainSigned and PlainFloat plans seen through float32 (int8 and the
// like; the signed minifloats bf16, fp16, e5m2, e4m3fn, e2m1fn, ...), restated with the
// steps the shape makes constant folded away: no exponent from an int -> float
// conversion, one cut position per element, one shift each way, and the discarded part
// as a single shifted word. About half the vector instructions of the general core; it
// computes the same bits for every input (the fingerprint in bench/ checks every mode).
template <Rounding Mode, class Shape>
BITSIM_HD constexpr std::uint32_t round_plain_pattern(std::uint32_t x, const LatticePlan<float>& p,
                                                    std::uint32_t random, int random_bits) {
  using C = PatternConstants<float>;
  const std::uint32_t sign_bit = x & C::sign;
  const bool negative = std::int32_t(x) < 0;
  const std::uint32_t a = x & ~C::sign;
  const bool is_nan = magnitude_less(C::infinity, a);
  const bool is_inf = a == C::infinity;
  // The cut: quantum - source quantum = max(23 - precision, min_quantum - (field - 150)),
  // with field 1 standing for source subnormals (same quantum as the least normal binade).
  const std::int32_t field = std::int32_t(a >> 23);
  const std::int32_t field_or_1 = field > 1 ? field : 1;
  const std::int32_t by_precision = 23 - p.precision;
  const std::int32_t by_min_quantum = p.min_quantum + 150 - field_or_1;
  const std::int32_t s_exact = by_min_quantum > by_precision ? by_min_quantum : by_precision;
  // s < 1 (already on the lattice) only for PlainSigned plans with >= 23 bits of precision;
  // the steps below then run at s = 1 and their result is not used.
  constexpr bool symmetric = Shape::plain_float;
  const std::int32_t s = symmetric || s_exact >= 1 ? s_exact : 1;
  // Beyond the mantissa (s > 23) the value is below one quantum: candidate 0, and all of
  // the significand is discarded.
  const bool tiny = s > 23;
  const std::uint32_t significand = (a & C::mantissa_mask) | (std::uint32_t(field != 0) << 23);
  // The discarded part as a fraction of one quantum. For s <= 23 the pattern's low s bits
  // are the significand's. For s >= 24 only its comparisons with 0 and 1/2 matter to the
  // deterministic modes: s = 24 is exact; for s >= 25 (below a quarter quantum) the
  // significand shifted by 7 keeps "nonzero" and "below half". Stochastic rounding reads
  // the fraction itself, so it gets the exact one (bits beyond 32 only matter as sticky).
  std::uint32_t fraction;
  if constexpr (Mode == Rounding::stochastic) {
    fraction = s < 32 ? significand << (32 - s) : significand >> (s - 32 < 31 ? s - 32 : 31);
  } else {
    fraction = significand << (32 - (s < 25 ? s : 25));
  }
  const std::int32_t cut = s < 23 ? s : 23;
  // Last bit of the truncated candidate (0 when tiny: the significand has 24 bits).
  const bool odd = std::int32_t((significand >> (s < 24 ? s : 24)) << 31) < 0;
  const bool up = round_up<Mode>(odd, Discarded{fraction, false}, negative, random, random_bits);
  const std::uint32_t cut_result =
      tiny ? (up ? p.smallest_step : 0u) : ((a >> cut) + std::uint32_t(up)) << cut;
  const std::uint32_t on_lattice = symmetric || s_exact >= 1 ? cut_result : a;

  // Range and specials (PlainFloat: both signs share limits and policies); no flushing.
  const bool use_negative = !symmetric && negative;
  const std::uint32_t max_here = use_negative ? p.max_negative : p.max_positive;
  const std::uint32_t special_here = use_negative ? p.overflow_negative : p.overflow_positive;
  const std::uint32_t overflowed = overflows_to_infinity(Mode, negative) ? special_here : max_here;
  const std::uint32_t in_range = magnitude_less(max_here, on_lattice) ? overflowed : on_lattice;
  const std::uint32_t infinity_here = use_negative ? p.infinity_negative : p.infinity_positive;
  const std::uint32_t after_inf = is_inf ? infinity_here : in_range;
  const std::uint32_t rounded = is_nan ? p.nan_becomes : after_inf;
  const std::uint32_t zero_checked = rounded == 0 ? (sign_bit & p.zero_sign) : sign_bit;
  const std::uint32_t sign = is_nan ? (zero_checked & p.nan_input_sign) : zero_checked;
  return rounded | sign;
}

}  // namespace detail

// Rounds the value with pattern `x` onto the lattice and applies the range and special
// value policies. Returns the result's pattern in the same source type.
//
// Written for loops over spans to vectorise (AVX2 and the like): every branch is a two-way
// select on per-element data, every shift count is kept inside the type's width, and all
// arithmetic, exponents included, is done at the pattern's width so that one vector holds
// one lane per element.
template <Rounding Mode, class Real, class Shape = AnyPlan>
BITSIM_HD constexpr typename SourceTraits<Real>::Bits round_pattern(
    typename SourceTraits<Real>::Bits x, const LatticePlan<Real>& p, std::uint32_t random = 0,
    int random_bits = 32) {
  using T = SourceTraits<Real>;
  using C = detail::PatternConstants<Real>;
  using Bits = typename T::Bits;
  using Int = std::make_signed_t<Bits>;
  using detail::magnitude_less;
  constexpr Int MS = T::mantissa_bits;
  constexpr Int BS = T::exponent_bias;
  constexpr Int W = C::width;
  constexpr bool plain = Shape::plain_signed;
  if constexpr (Shape::plain_signed && std::is_same_v<Real, float>) {
    return detail::round_plain_pattern<Mode, Shape>(x, p, random, random_bits);
  }

  const Bits sign_bit = x & C::sign;
  const bool negative = Int(x) < 0;
  const Bits magnitude = x & ~C::sign;
  const bool is_nan = magnitude_less(C::infinity, magnitude);
  const bool is_inf = magnitude == C::infinity;
  const Int field = Int(magnitude >> MS);
  const Bits a =
      magnitude_less(magnitude, plain ? Bits(0) : p.flush_input_below) ? Bits(0) : magnitude;

  // The significand as an integer, the source's quantum at this value, and the exponent of
  // the leading bit, read off an exact int -> Real conversion of the significand (for zero
  // it is meaningless and never used: zero rounds to zero whatever the cut). Computed the
  // same way for every input, so that no float conversion sits under a condition (which
  // stops GCC's if-conversion, as a conversion "could trap").
  const Bits significand = field != 0 ? (a & C::mantissa_mask) | (Bits(1) << MS) : a;
  const Int source_quantum = (field != 0 ? field : 1) - BS - MS;
  const Int significand_log2 = Int(std::bit_cast<Bits>(Real(Int(significand))) >> MS) - BS;
  // Plain plans have min_quantum >= 1 - bias - precision: there the quantum of a source
  // subnormal is min_quantum whatever its exponent, so the field's (1 - bias) may stand in,
  // and the conversion goes unused.
  const Int exponent = source_quantum + (plain ? MS : significand_log2);
  const Int lowest_quantum = Int(p.min_quantum);
  const Int quantum =
      exponent - Int(p.precision) > lowest_quantum ? exponent - Int(p.precision) : lowest_quantum;
  const Int s = quantum - source_quantum;

  // Inside the mantissa (or anywhere for source subnormals): integer rounding of the pattern
  // at bit s (s < 1: already on the lattice). Beyond it ("tiny": below one target quantum,
  // which is then min_quantum as quantum > exponent >= exponent - precision) the candidate
  // is 0 and the whole significand is discarded.
  const bool tiny = s > MS;
  // (PlainFloat: s >= MS - precision >= 1 for normal sources, and s = min_quantum - (1 -
  // bias - MS) >= MS - precision for subnormal ones, by PlainSigned's bound on min_quantum.)
  const Int cut = (Shape::plain_float || s >= 1) ? s : 1;
  const Int s_in = cut > MS ? MS : cut;
  const Bits kept = a >> s_in;
  // The discarded part as a 32-bit fraction of one quantum plus a sticky bit. The cut_off
  // bits are shifted up to the fraction's top (cut <= 32) or down into it (cut > 32); where
  // the cut is within 32 bits the bits above it fall out of the fraction by themselves, so
  // the whole pattern can stand for the rest (always so for float32 sources).
  const Bits rest = MS > 32 ? a & ((Bits(1) << s_in) - 1) : a;
  const Bits cut_off = tiny ? significand : rest;
  const Int left = 32 - (cut < 32 ? cut : 32);
  const Int right = cut - 32 < 0 ? 0 : (cut - 32 > W - 1 ? W - 1 : cut - 32);
  const Discarded d{std::uint32_t((cut_off << left) >> right),
                    (cut_off & ((Bits(1) << right) - 1)) != 0};

  // Last bit of the truncated candidate's code, which "even" refers to: the significand cut
  // at s is the candidate in quanta (0 when tiny; 1, the leading one, when s == MS). With
  // precision 0 (E8M0) the code's last bit is the exponent's. (Bits are tested in the sign
  // position: GCC turns a test of bit 0 into a 1-bit bool conversion it cannot vectorise.)
  const bool kept_odd = Int((significand >> (cut < W - 1 ? cut : W - 1)) << (W - 1)) < 0;
  const Int emin = Int(p.min_normal_exponent);
  const Int code_exponent = (exponent > emin ? exponent : emin) + Int(p.code_exponent_offset);
  const Int parity_known = plain ? 1 : Int(p.code_parity_known);
  const bool exponent_odd = Int(Bits(code_exponent | parity_known) << (W - 1)) < 0;
  const bool up = round_up<Mode>(kept_odd & exponent_odd, d, negative, random, random_bits);

  const Bits cut_result =
      tiny ? (up ? p.smallest_step : Bits(0)) : Bits((kept + Bits(up)) << s_in);
  const Bits on_lattice = (Shape::plain_float || s >= 1) ? cut_result : a;

  // Range and policies (one two-way select per step: many-way ones stop if-conversion).
  // (PlainFloat: both signs have the same limits and policies.)
  const bool use_negative = !Shape::plain_float && negative;
  const Bits max_here = use_negative ? p.max_negative : p.max_positive;
  const Bits special_here = use_negative ? p.overflow_negative : p.overflow_positive;
  const Bits overflowed = overflows_to_infinity(Mode, negative) ? special_here : max_here;
  const Bits in_range = magnitude_less(max_here, on_lattice) ? overflowed : on_lattice;
  const Bits flushed =
      magnitude_less(in_range, plain ? Bits(0) : p.flush_output_below) ? Bits(0) : in_range;
  // No zero (and no subnormals): everything below the smallest value lands on it.
  const Bits lifted =
      magnitude_less(flushed, plain ? Bits(0) : p.lift_below) ? p.min_positive : flushed;

  // Special inputs.
  const Bits infinity_result = use_negative ? p.infinity_negative : p.infinity_positive;
  const Bits after_inf = is_inf ? infinity_result : lifted;
  const Bits after_nan = is_nan ? p.nan_becomes : after_inf;
  const bool negative_invalid =
      negative & !is_nan & ((a & (plain ? Bits(0) : p.negative_mask)) != 0);
  const Bits after_unsigned = negative_invalid ? p.negative_becomes : after_nan;
  const Bits rounded = magnitude_less(a, plain ? Bits(0) : p.zero_input_below)
                           ? p.zero_input_becomes
                           : after_unsigned;

  // Sign: NaN codes may have a fixed sign bit; zero may have no negative twin.
  const Bits nan_sign = (sign_bit & (plain ? C::sign : p.nan_sign_kept)) |
                        (plain ? Bits(0) : p.nan_sign_fixed);
  const Bits value_sign = sign_bit & (plain ? C::sign : p.value_sign);
  const Bits result_sign = magnitude_less(C::infinity, rounded) ? nan_sign : value_sign;
  const Bits zero_checked = rounded == 0 ? (result_sign & p.zero_sign) : result_sign;
  const Bits sign = is_nan ? (zero_checked & p.nan_input_sign) : zero_checked;
  return rounded | sign;
}

// Runtime-mode scalar entry point (references, CLI, tests).
template <class Real>
BITSIM_HD constexpr typename SourceTraits<Real>::Bits round_pattern(
    Rounding mode, typename SourceTraits<Real>::Bits x, const LatticePlan<Real>& p,
    std::uint32_t random = 0, int random_bits = 32) {
  return with_rounding_mode(mode, [&]<Rounding M>() {
    return round_pattern<M, Real>(x, p, random, random_bits);
  });
}

}  // namespace bitsim::formats
