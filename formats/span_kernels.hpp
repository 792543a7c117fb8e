#pragma once
// Span kernels for the two rounding modes that training loops use most, nearest-even and
// stochastic, on the two commonest kinds of lattice, for float32 and float64 sources:
//
//   FloatKernel:   signed minifloats with fewer mantissa bits than the source (PlainFloat
//                  plans: bf16, fp16, e5m2, e4m3fn, e2m1fn, tf32, fp32 seen through double).
//   IntegerKernel: step-1 integer lattices that saturate and have no -0 (int8, int16, ...).
//
// Each restates round_pattern (lattice_rounding.hpp) for its shape with the per-span
// constants computed once, so that an element costs a dozen or two vector instructions
// instead of the general core's forty to sixty (and float64 spans, which the general core
// does not vectorise, get vector code at all). They compute the same bits for every input:
// tests/formats/test_span_kernels.cpp compares them with the scalar core on boundary sets,
// and bench/quantize_fingerprint hashes every format, mode and policy.
//
// The arithmetic, for a magnitude pattern a of the source type:
//   * In the format's normal range the cut lies at the constant bit s = MS - precision, so
//     rne is one integer add of (half - 1 + the kept part's last bit), then clearing the
//     low s bits (a carry moves into the next binade by itself), and stochastic rounding
//     with k random bits adds the top min(s, k) bits of the element's word at the cut
//     (the carry out of bit s is the k-bit adder's carry of round_core.hpp's round_up).
//   * Below the format's min normal the quantum is the constant 2^q (q = min_quantum):
//     rne is (a + 2^(q + MS)) - 2^(q + MS) in the source's own arithmetic (which rounds
//     to nearest-even at exactly that quantum); stochastic rounding cuts at the
//     element's own position, and values below one quantum go to 0 or 2^q by the top
//     32 bits of value / 2^q, as the core does.
//   * Integers: nearbyint (rne) or truncation plus the fraction's top 32 bits (sr), then a
//     clamp to the range; +0.0 turns -0 into +0.
// Host code: the float environment is the default one (round to nearest, no flush to zero).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "formats/lattice_rounding.hpp"

namespace bitsim::formats {

namespace detail {

// round_core.hpp's stochastic decision, (fraction >> drop) > (~random >> drop), with
// ~random >> drop written as (all ones >> drop) - (random >> drop): GCC emits a plain NOT
// as a ternary-logic instruction that also reads its destination register, a false
// dependency that chained every iteration of the span loop to the previous one (int8 sr:
// 0.41 ns per element against 0.13 for the same loop without it).
[[gnu::always_inline]] inline bool stochastic_up(std::uint32_t fraction, std::uint32_t random, int random_bits) {
  const int drop = 32 - random_bits;
  return (fraction >> drop) > ((~0u >> drop) - (random >> drop));
}

}  // namespace detail

template <class Real>
struct FloatKernel {
  using Bits = typename SourceTraits<Real>::Bits;
  using Int = std::make_signed_t<Bits>;
  using C = detail::PatternConstants<Real>;
  static constexpr int MS = SourceTraits<Real>::mantissa_bits;
  static constexpr int BS = SourceTraits<Real>::exponent_bias;
  // The largest source value below 2^32, which converts to uint32 without overflow.
  static constexpr Real kBelow2To32 = std::is_same_v<Real, float> ? Real(4294967040.0) : Real(4294967295.0);

  int shift = 1;             // the cut in the format's normal range: MS - precision (>= 1)
  Int quantum_field = 0;     // min_quantum + BS + MS: below `normal` the cut is this - max(field, 1)
  Bits normal = 0;           // the format's min normal as a pattern (0: at or below the source's)
  Real magic = 0;            // 2^(min_quantum + MS), for rne below `normal`
  Real tiny_scale = 1, tiny_scale_2 = 1;  // their product is 2^(32 - min_quantum)
  Bits max = 0, overflow = 0, infinity = 0, nan_becomes = 0, smallest_step = 0;
  Bits zero_sign = 0, nan_input_sign = 0;
  int random_bits = 32;

  // Whether the kernel serves this plan: a PlainFloat plan whose constants above are finite
  // source values (always so for real formats).
  static bool fits(const LatticePlan<Real>& p) {
    if (!fits_shape(p, PlainFloat{})) return false;
    return !has_small_range(p) || (p.min_quantum + MS <= BS && p.min_quantum <= 32);
  }

  // Whether the format has values below its min normal that the source can hold (else
  // every source value is cut at `shift`).
  static bool has_small_range(const LatticePlan<Real>& p) { return p.min_quantum + p.precision >= 1 - BS; }

  // Whether the policies make finish() simpler: +-inf inputs become what overflow becomes
  // (true of every named format), and zero keeps its sign. The loops are compiled both ways.
  bool plain_specials() const { return infinity == overflow && zero_sign == C::sign; }

  static FloatKernel make(const LatticePlan<Real>& p, int random_bits) {
    FloatKernel k;
    k.shift = MS - p.precision;
    k.quantum_field = Int(p.min_quantum) + BS + MS;
    if (has_small_range(p)) {
      k.normal = Bits(Bits(p.min_quantum + p.precision + BS) << MS);
      k.magic = std::bit_cast<Real>(Bits(Bits(p.min_quantum + MS + BS) << MS));
      const int scale = 32 - p.min_quantum;  // 0 .. 32 + BS + MS - 1
      const int first = scale < BS ? scale : BS;
      k.tiny_scale = std::bit_cast<Real>(Bits(Bits(first + BS) << MS));
      k.tiny_scale_2 = std::bit_cast<Real>(Bits(Bits(scale - first + BS) << MS));
    }
    k.max = p.max_positive;
    k.overflow = p.overflow_positive;  // rne and sr both round overflow away from zero
    k.infinity = p.infinity_positive;
    k.nan_becomes = p.nan_becomes;
    k.smallest_step = p.smallest_step;
    k.zero_sign = p.zero_sign;
    k.nan_input_sign = p.nan_input_sign;
    k.random_bits = random_bits;
    return k;
  }

  template <bool PlainSpecials>
  [[gnu::always_inline]] Bits nearest_even(Bits x) const {
    const Bits a = x & ~C::sign;
    const Bits keep = ~Bits(0) << shift;
    const Bits half_minus_one = (Bits(1) << (shift - 1)) - 1;
    const Bits normal_result = (a + half_minus_one + ((a >> shift) & 1)) & keep;
    const Bits small_result = std::bit_cast<Bits>((std::bit_cast<Real>(a) + magic) - magic);
    return finish<PlainSpecials>(x, a, a < normal ? small_result : normal_result);
  }

  // `Full`: random_bits >= MS, so the top min(s, k) bits of the word are its top s bits.
  template <bool PlainSpecials, bool Full>
  [[gnu::always_inline]] Bits stochastic(Bits x, std::uint32_t random) const {
    const Bits a = x & ~C::sign;
    const Int field = Int(a >> MS);
    const Int by_quantum = quantum_field - (field > 1 ? field : 1);
    const Int s = by_quantum > Int(shift) ? by_quantum : Int(shift);
    // Inside the mantissa (s <= MS): add the random bits at the cut.
    const Int cut = s < MS ? s : MS;
    Bits added;
    if constexpr (Full) {
      added = a + (Bits(random) >> (32 - cut));
    } else {
      const Int used = cut < random_bits ? cut : Int(random_bits);  // min(s, k) random bits
      const Int below = cut - used;                                 // fraction bits k ignores
      added = ((a >> below) << below) + (Bits(random >> (32 - used)) << below);
    }
    const Bits cut_result = (added >> cut) << cut;
    // Below one quantum (s > MS): 0 or 2^q, from floor(|x| * 2^(32 - q)), the top 32 bits of
    // |x| / 2^q; the scaling is exact there (elsewhere the product is capped, and unused).
    const Real scaled = std::bit_cast<Real>(a) * tiny_scale * tiny_scale_2;
    const auto fraction = std::uint32_t(std::min(kBelow2To32, scaled));  // NaN -> the cap
    const bool up = detail::stochastic_up(fraction, random, random_bits);
    const Bits tiny_result = up ? smallest_step : Bits(0);
    return finish<PlainSpecials>(x, a, s > MS ? tiny_result : cut_result);
  }

  // The range and special-value policies, as round_pattern applies them to PlainFloat
  // plans. Plain unsigned compares: only NaN inputs can carry into the sign bit, and their
  // result is replaced.
  template <bool PlainSpecials>
  [[gnu::always_inline]] Bits finish(Bits x, Bits a, Bits on_lattice) const {
    const bool is_nan = C::infinity < a;
    const Bits sign_bit = x & C::sign;
    const Bits in_range = max < on_lattice ? overflow : on_lattice;
    if constexpr (PlainSpecials) {
      // An infinite input's on_lattice is the infinity pattern, beyond max.
      const Bits rounded = is_nan ? nan_becomes : in_range;
      const Bits sign = is_nan ? (sign_bit & nan_input_sign) : sign_bit;
      return rounded | sign;
    } else {
      const Bits after_inf = a == C::infinity ? infinity : in_range;
      const Bits rounded = is_nan ? nan_becomes : after_inf;
      const Bits zero_checked = rounded == 0 ? (sign_bit & zero_sign) : sign_bit;
      const Bits sign = is_nan ? (zero_checked & nan_input_sign) : zero_checked;
      return rounded | sign;
    }
  }
};

template <class Real>
struct IntegerKernel {
  using Bits = typename SourceTraits<Real>::Bits;
  // Magnitudes at or beyond this are integers beyond the range: they clamp (2^22 for
  // float32, whose integer lattices here end below it; 2^52 for float64).
  static constexpr Real kBeyond = std::is_same_v<Real, float> ? Real(4194304.0) : Real(4503599627370496.0);
  using Whole = std::conditional_t<std::is_same_v<Real, float>, std::int32_t, std::int64_t>;

  Real bottom = 0, top = 0;  // -max_negative, max_positive
  Bits nan_becomes = 0, nan_input_sign = 0;
  int random_bits = 32;

  // A step-1 lattice without -0 whose limits lie below kBeyond and which saturates
  // (overflow and +-inf inputs land on +-max).
  static bool fits(const LatticePlan<Real>& p) {
    const Bits beyond = std::bit_cast<Bits>(kBeyond);
    return fits_shape(p, PlainSigned{}) && p.min_quantum == 0 && p.precision > SourceTraits<Real>::mantissa_bits &&
           p.max_positive < beyond && p.max_negative < beyond && p.overflow_positive == p.max_positive &&
           p.overflow_negative == p.max_negative && p.infinity_positive == p.max_positive &&
           p.infinity_negative == p.max_negative && p.zero_sign == 0;
  }

  static IntegerKernel make(const LatticePlan<Real>& p, int random_bits) {
    return {-std::bit_cast<Real>(p.max_negative), std::bit_cast<Real>(p.max_positive), p.nan_becomes,
            p.nan_input_sign, random_bits};
  }

  [[gnu::always_inline]] Real nan_result(Real x) const {
    return std::bit_cast<Real>(Bits(nan_becomes | (std::bit_cast<Bits>(x) & nan_input_sign)));
  }

  [[gnu::always_inline]] Real nearest_even(Real x) const {
    const Real rounded = std::min(std::max(std::nearbyint(x), bottom), top) + Real(0);
    return std::isnan(x) ? nan_result(x) : rounded;
  }

  // Truncate, then round the magnitude up when the fraction's top k bits plus the word's top
  // k bits carry out of k bits (round_core.hpp). Every step is exact: the magnitude is capped
  // below kBeyond, where the whole part converts exactly and the fraction is exact.
  [[gnu::always_inline]] Real stochastic(Real x, std::uint32_t random) const {
    const Real magnitude = std::min(kBeyond, std::fabs(x));  // NaN -> kBeyond (no UB below)
    const Real whole = Real(Whole(magnitude));
    const auto fraction = std::uint32_t((magnitude - whole) * Real(4294967296.0));
    const bool up = detail::stochastic_up(fraction, random, random_bits);
    const Real rounded = std::copysign(up ? whole + Real(1) : whole, x);
    const Real clamped = std::min(std::max(rounded, bottom), top) + Real(0);
    return std::isnan(x) ? nan_result(x) : clamped;
  }
};

}  // namespace bitsim::formats
