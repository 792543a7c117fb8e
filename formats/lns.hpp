#pragma once
// Logarithmic number system: a sign bit and the base-2 logarithm of the magnitude as a
// two's-complement fixed-point number with int_bits integer and frac_bits fraction bits.
//
//   code  = [ sign | L ]            L: int_bits + frac_bits bits, two's complement
//   value = (-1)^sign * 2^(L / 2^frac_bits)
//
// Specials (docs: formats/LNS.md): the most negative L, which would be the smallest
// magnitude 2^-(2^(int_bits-1)), is taken for zero (sign 0) and NaN (sign 1). What remains
// is symmetric: L in [-Lmax, Lmax], so min positive = 1 / max. There is no -0 and no inf.
//
// Rounding an input x: L_exact = 2^F log2|x| is cut to L_trunc = floor(L_exact), and the
// shared round_up() (round_core.hpp) picks L_trunc or L_trunc + 1 from the discarded part:
//   domain log (default, as hardware): the discarded part is L_exact - L_trunc, so nearest
//     means nearest in log and SR is unbiased in log;
//   domain linear: the discarded part is (|x| - lo) / (hi - lo) for the neighbours lo, hi,
//     so nearest means nearest in value and SR is unbiased in value.
// Directed modes do not depend on the domain. Below the smallest magnitude the lower
// neighbour is zero: in the log domain it sits where its code's L would (L = -Lmax - 1)
// and anything below rounds as if it were just above it; in the linear domain it is 0.
// Above max, a mode that rounds up gives max (overflow = saturate) or NaN (overflow = nan,
// with IEEE's rule that rz/rto and the directed mode toward zero stay finite).
//
// 2^F log2|x| is computed in 128-bit integer arithmetic (wide_fixed.hpp), decode rounds
// 2^(L/2^F) once to the host type: no libm approximation (ldexp only scales exactly),
// so host and device agree bit for bit.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "formats/hd.hpp"
#include "formats/policies.hpp"
#include "formats/round_core.hpp"
#include "formats/rounding.hpp"
#include "formats/wide_fixed.hpp"

namespace bitsim::formats {

enum class LnsDomain : std::uint8_t { log, linear };

struct Lns {
  int int_bits = 4;
  int frac_bits = 3;
  LnsDomain domain = LnsDomain::log;
  Overflow overflow = Overflow::saturate;  // saturate | nan

  friend constexpr bool operator==(const Lns&, const Lns&) = default;

  BITSIM_HD constexpr int bits() const { return 1 + int_bits + frac_bits; }
  BITSIM_HD constexpr int log_bits() const { return int_bits + frac_bits; }
  BITSIM_HD constexpr std::uint64_t mask() const { return (std::uint64_t(1) << bits()) - 1; }
  BITSIM_HD constexpr std::uint64_t sign_mask() const { return std::uint64_t(1) << log_bits(); }
  BITSIM_HD constexpr std::uint64_t log_mask() const { return sign_mask() - 1; }
  // Largest log code: L = 2^(I+F-1) - 1; the smallest usable is -max_log().
  BITSIM_HD constexpr std::int64_t max_log() const { return (std::int64_t(1) << (log_bits() - 1)) - 1; }
  BITSIM_HD constexpr std::uint64_t zero_code() const { return std::uint64_t(1) << (log_bits() - 1); }
  BITSIM_HD constexpr std::uint64_t nan_code() const { return sign_mask() | zero_code(); }
  BITSIM_HD constexpr std::uint64_t max_code() const { return std::uint64_t(max_log()); }
  BITSIM_HD constexpr std::uint64_t min_code() const { return std::uint64_t(-max_log()) & log_mask(); }
  BITSIM_HD constexpr bool is_zero(std::uint64_t code) const { return (code & mask()) == zero_code(); }
  BITSIM_HD constexpr bool is_nan(std::uint64_t code) const { return (code & mask()) == nan_code(); }
  BITSIM_HD constexpr bool is_negative(std::uint64_t code) const { return (code & sign_mask()) != 0; }
  // The log field L of a code as a signed integer.
  BITSIM_HD constexpr std::int64_t log_of(std::uint64_t code) const {
    const std::uint64_t field = code & log_mask();
    return (field & zero_code()) ? std::int64_t(field) - std::int64_t(sign_mask()) : std::int64_t(field);
  }
  BITSIM_HD constexpr std::uint64_t code_of(bool negative, std::int64_t log) const {
    return (negative ? sign_mask() : 0) | (std::uint64_t(log) & log_mask());
  }
  BITSIM_HD constexpr std::uint64_t negate(std::uint64_t code) const {
    return is_zero(code) || is_nan(code) ? code & mask() : (code ^ sign_mask()) & mask();
  }

  double max_value() const;
  double min_positive() const;
  // Codes that are numbers: every code but NaN.
  std::uint64_t finite_code_count() const { return mask(); }

  // Throws std::invalid_argument unless 1 <= int_bits <= 10, 0 <= frac_bits <= 23,
  // int_bits + frac_bits <= 31 (at most 32 bits; |log2| < 512 keeps every value a normal
  // double), and overflow is saturate or nan.
  void validate() const {
    const auto fail = [](const std::string& why) { throw std::invalid_argument("lns: " + why); };
    if (int_bits < 1 || int_bits > 10) fail("int bits must be 1..10, got " + std::to_string(int_bits));
    if (frac_bits < 0 || frac_bits > 23) fail("frac bits must be 0..23, got " + std::to_string(frac_bits));
    if (int_bits + frac_bits > 31) fail("int + frac bits must be at most 31 (32-bit codes)");
    if (int_bits + frac_bits < 2) fail("int + frac bits must be at least 2");
    if (overflow == Overflow::infinity) fail("there is no infinity; overflow must be saturate or nan");
  }
};

namespace lns_detail {

// floor(a / 2^f) and a mod 2^f for a signed a.
BITSIM_HD constexpr std::int64_t floor_shift(std::int64_t a, int f) { return a >> f; }  // arithmetic shift
BITSIM_HD constexpr std::uint64_t low_bits(std::int64_t a, int f) {
  return std::uint64_t(a) & ((std::uint64_t(1) << f) - 1);
}

// 2^(L / 2^F) as significand * 2^exponent with `precision` significant bits (fewer for the
// host type's subnormals: the caller passes the precision that applies), rounded to
// nearest even from the 128-bit value. precision <= 0 is handled: the result is 0 or the
// smallest step 2^exponent.
struct Rounded {
  std::uint64_t significand;
  int exponent;
};
BITSIM_HD constexpr Rounded round_power(std::int64_t log, int frac_bits, int precision) {
  const auto scale = int(floor_shift(log, frac_bits));
  const wide::u128 a = wide::exp2_fraction(low_bits(log, frac_bits), frac_bits);  // [1, 2)
  if (precision < 0) return {0, scale};
  const int shift = wide::kPoint + 1 - precision;  // bits of `a` below the kept ones
  const wide::u128 kept = a >> shift;
  const wide::u128 rest = a & ((wide::u128(1) << shift) - 1);
  const wide::u128 half = wide::u128(1) << (shift - 1);
  const bool up = rest > half || (rest == half && (kept & 1) != 0);
  return {std::uint64_t(kept) + std::uint64_t(up), scale - (precision - 1)};
}

}  // namespace lns_detail

// The value of a code, rounded to nearest (even) once into Real: zero code -> +0, NaN code
// -> quiet NaN. Through float, values beyond float's range give ±inf, tiny ones float
// subnormals (rounded once) or 0.
template <class Real>
BITSIM_HD Real decode(const Lns& f, std::uint64_t code) {
  if (f.is_zero(code)) return Real(0);
  if (f.is_nan(code)) return std::numeric_limits<Real>::quiet_NaN();
  const std::int64_t log = f.log_of(code);
  const int scale = int(lns_detail::floor_shift(log, f.frac_bits));
  constexpr int digits = std::numeric_limits<Real>::digits;
  constexpr int min_exponent = std::numeric_limits<Real>::min_exponent - 1;  // of the min normal
  const int precision = scale >= min_exponent ? digits : digits - (min_exponent - scale);
  const auto r = lns_detail::round_power(log, f.frac_bits, precision);
  const Real magnitude = Real(std::ldexp(double(r.significand), r.exponent));
  return f.is_negative(code) ? -magnitude : magnitude;
}

namespace lns_detail {

// The exact log L_exact = 2^F log2(m * 2^e) split as L_trunc + discarded, for m in [1, 2)
// given as Q2.126 (`m_wide`): the discarded log fraction's top `fraction_bits` bits.
struct LogSplit {
  std::int64_t truncated;
  Discarded discarded;
};
BITSIM_HD constexpr LogSplit split_log(int exponent, wide::u128 m_wide, int frac_bits, int extra_bits) {
  if (m_wide == wide::kOne) return {std::int64_t(exponent) * (std::int64_t(1) << frac_bits), Discarded{0, false}};
  const std::uint64_t bits = wide::log2_bits(m_wide, frac_bits + extra_bits);
  const std::int64_t truncated = std::int64_t(exponent) * (std::int64_t(1) << frac_bits) + std::int64_t(bits >> extra_bits);
  const std::uint64_t tail = bits & ((std::uint64_t(1) << extra_bits) - 1);
  // log2(m) is irrational unless m = 1: more nonzero bits always follow.
  return {truncated, Discarded{std::uint32_t(tail << (32 - extra_bits)), true}};
}

// The linear-domain discarded part (|x| - lo) / (hi - lo), where lo = 2^(truncated / 2^F)
// (or 0 when truncated is the zero code's position) and hi = 2^((truncated + 1) / 2^F).
// |x| = m * 2^exponent with m as Q2.126.
BITSIM_HD constexpr Discarded linear_fraction(std::int64_t truncated, bool from_zero, int exponent,
                                              wide::u128 m_wide, int frac_bits) {
  const std::int64_t high_log = truncated + 1;
  const int high_scale = int(floor_shift(high_log, frac_bits));
  const wide::u128 high = wide::exp2_fraction(low_bits(high_log, frac_bits), frac_bits);
  // Put x, lo and hi on hi's binade: x * 2^-high_scale, in Q2.126 (a right shift of m).
  const int x_shift = high_scale - exponent;  // >= 0 since x < hi
  if (x_shift >= 120) return Discarded{0, true};
  const wide::u128 x = m_wide >> x_shift;
  const bool x_lost = x_shift > 0 && (m_wide & ((wide::u128(1) << x_shift) - 1)) != 0;
  wide::u128 low = 0;
  if (!from_zero) {
    const int low_scale = int(floor_shift(truncated, frac_bits));
    low = wide::exp2_fraction(low_bits(truncated, frac_bits), frac_bits) >> (high_scale - low_scale);
  }
  const auto q = wide::fraction32(x - low, high - low);
  return Discarded{q.fraction, q.inexact || x_lost};
}

}  // namespace lns_detail

// The code of (-1)^negative * 2^(base / 2^F) * m * 2^exponent (m in [1, 2) as Q2.126),
// whose log relative to `base` is already split: 2^F log2(m * 2^exponent) = split.truncated
// + discarded. The one rounding step every LNS operation ends with: range, zero, the
// rounding domain (the linear one recomputes the discarded part from m and exponent).
template <Rounding Mode>
BITSIM_HD constexpr std::uint64_t round_split(const Lns& f, bool negative, std::int64_t base,
                                              int exponent, wide::u128 m, lns_detail::LogSplit split,
                                              std::uint32_t random = 0, int random_bits = 32) {
  const std::int64_t max_log = f.max_log();
  const std::int64_t zero_log = -max_log - 1;  // where the zero code sits in the log order
  const auto overflowed = [&] {
    return f.overflow == Overflow::nan && overflows_to_infinity(Mode, negative)
               ? f.nan_code()
               : f.code_of(negative, max_log);
  };
  std::int64_t kept = base + split.truncated;
  if (kept > max_log) return overflowed();
  Discarded d = split.discarded;
  const bool exact = d.fraction == 0 && !d.sticky;
  if (kept < zero_log || (kept == zero_log && exact)) {
    // The zero code's log position is no value: what lies at or below it is "just above
    // zero" in the log domain (so that ru still gives the smallest magnitude).
    kept = zero_log;
    d = Discarded{0, true};
  }
  if (f.domain == LnsDomain::linear && (kept == zero_log || !exact)) {
    d = lns_detail::linear_fraction(kept - base, kept == zero_log, exponent, m, f.frac_bits);
  }
  const std::int64_t log = kept + std::int64_t(round_up<Mode>((kept & 1) != 0, d, negative, random, random_bits));
  if (log > max_log) return overflowed();
  if (log == zero_log) return f.zero_code();
  return f.code_of(negative, log);
}

// Encodes a float or double with a compile-time mode; `random` is the element's word.
template <Rounding Mode, class Real>
BITSIM_HD constexpr std::uint64_t encode(const Lns& f, Real x, std::uint32_t random = 0,
                                         int random_bits = 32) {
  const auto bits = std::bit_cast<std::uint64_t>(double(x));  // float -> double is exact
  const bool negative = (bits >> 63) != 0;
  const int biased = int((bits >> 52) & 0x7ff);
  const std::uint64_t mantissa = bits & ((std::uint64_t(1) << 52) - 1);
  if (biased == 0x7ff) {
    if (mantissa != 0) return f.nan_code();
    return f.overflow == Overflow::nan ? f.nan_code() : f.code_of(negative, f.max_log());
  }
  if (biased == 0 && mantissa == 0) return f.zero_code();
  // Subnormal doubles (< 2^-1022) lie far below every LNS minimum (>= 2^-512): they take
  // the path of any tiny value, with m = 1.5 standing in for their (irrelevant) digits.
  const int exponent = biased == 0 ? -1023 : biased - 1023;
  const wide::u128 m = biased == 0 ? wide::kOne + (wide::kOne >> 1)
                                   : ((wide::u128(1) << 52) | mantissa) << (wide::kPoint - 52);
  constexpr int kExtra = Mode == Rounding::stochastic ? 32 : 1;
  // Far below the range the log need not be computed: only which side of zero matters.
  const std::int64_t zero_log = -f.max_log() - 1;
  const bool far_below = (std::int64_t(exponent) + 1) * (std::int64_t(1) << f.frac_bits) < zero_log;
  lns_detail::LogSplit split{zero_log - 1, Discarded{0, true}};
  if (!far_below) split = lns_detail::split_log(exponent, m, f.frac_bits, kExtra);
  return round_split<Mode>(f, negative, 0, exponent, m, split, random, random_bits);
}

// Runtime-mode entry point; `random` is the element's word (RandomStream::word(index)).
template <class Real>
BITSIM_HD constexpr std::uint64_t encode(const Lns& f, Real x, RoundingSpec r = {}, std::uint32_t random = 0) {
  return with_rounding_mode(r.mode, [&]<Rounding M>() { return encode<M>(f, x, random, r.random_bits); });
}

// x rounded into the format and back: decode(encode(x)).
template <class Real>
BITSIM_HD Real round(const Lns& f, Real x, RoundingSpec r = {}, std::uint32_t random = 0) {
  return decode<Real>(f, encode(f, x, r, random));
}

// The code of a value that is already one of the format's (decode<Real>'s output). Values
// of a format finer than Real may have collapsed in Real; this returns the nearest code.
template <class Real>
BITSIM_HD std::uint64_t pack(const Lns& f, Real value) {
  Lns nearest = f;
  nearest.domain = LnsDomain::linear;  // decode rounds to nearest in value; so does this
  nearest.overflow = Overflow::saturate;
  return encode<Rounding::nearest_even>(nearest, value);
}

inline double Lns::max_value() const { return decode<double>(*this, max_code()); }
inline double Lns::min_positive() const { return decode<double>(*this, min_code()); }

// --- names ---
// "lns<I,F>", "lns<int=I,frac=F>", with options round=log|linear and overflow=saturate|nan
// ("lns<4,3,round=linear>"); named "lns8" = lns<4,3>, "lns16" = lns<5,10>, which also take
// options ("lns16<round=linear>"). Returns nullopt when the text names no LNS; throws
// std::invalid_argument for an LNS name with bad or unknown parameters.
std::optional<Lns> parse_lns_spec(std::string_view spec);
// Canonical spec: "lns<I,F>" plus the options that differ from the defaults.
std::string to_spec(const Lns& f);

}  // namespace bitsim::formats
