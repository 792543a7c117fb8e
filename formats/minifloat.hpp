#pragma once
// IEEE-style floats of any exponent and mantissa width ("minifloats"), from FP4 to FP64.
//
// A MiniFloat is data: widths, bias, which codes are special, and the policies. Its value
// set is a Lattice, so rounding is the shared lattice_rounding.hpp; this header adds the
// codes: decode(code) -> value and pack(value on the lattice) -> code.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "formats/hd.hpp"
#include "formats/lattice.hpp"
#include "formats/lattice_rounding.hpp"
#include "formats/policies.hpp"

namespace bitsim::formats {

// Which codes are not finite numbers.
//   ieee: exponent all ones is inf (mantissa 0) or NaN (otherwise).
//   fn:   no inf; only the all-ones magnitude is NaN (OCP E4M3, E8M0).
//   fnuz: no inf, no -0; the sign-only code (0x80 in 8 bits) is the one NaN (ml_dtypes *fnuz).
//   none: every code is finite (OCP FP6/FP4).
enum class Specials : std::uint8_t { ieee, fn, fnuz, none };

std::string_view to_string(Specials s);

struct MiniFloat {
  int exponent_bits = 8;
  int mantissa_bits = 23;
  int bias = 127;
  Specials specials = Specials::ieee;
  bool is_signed = true;
  bool subnormals = true;  // false: exponent field 0 is a normal binade and there is no zero
  Overflow overflow = Overflow::infinity;
  NanRule nan_rule = NanRule::zero;
  bool flush_input_subnormals = false;
  bool flush_output_subnormals = false;

  friend constexpr bool operator==(const MiniFloat&, const MiniFloat&) = default;

  // --- derived properties (all exact) ---
  BITSIM_HD constexpr int bits() const { return int(is_signed) + exponent_bits + mantissa_bits; }
  BITSIM_HD constexpr std::uint64_t magnitude_mask() const {
    return (std::uint64_t(1) << (exponent_bits + mantissa_bits)) - 1;
  }
  BITSIM_HD constexpr std::uint64_t sign_mask() const {
    return is_signed ? std::uint64_t(1) << (exponent_bits + mantissa_bits) : 0;
  }
  BITSIM_HD constexpr bool has_infinity() const { return specials == Specials::ieee; }
  BITSIM_HD constexpr bool has_nan() const {
    return specials == Specials::fnuz ? is_signed
                                      : (specials == Specials::fn ||
                                         (specials == Specials::ieee && mantissa_bits > 0));
  }
  BITSIM_HD constexpr bool has_negative_zero() const {
    return is_signed && subnormals && specials != Specials::fnuz;
  }
  // Largest finite magnitude code.
  BITSIM_HD constexpr std::uint64_t max_magnitude_code() const {
    const std::uint64_t all = magnitude_mask();
    switch (specials) {
      case Specials::ieee: return all - (std::uint64_t(1) << mantissa_bits);  // below all-ones exponent
      case Specials::fn: return all - 1;
      default: return all;
    }
  }
  BITSIM_HD constexpr int min_normal_exponent() const { return subnormals ? 1 - bias : -bias; }
  BITSIM_HD constexpr int max_exponent() const {
    return int(max_magnitude_code() >> mantissa_bits) - bias;
  }

  // The canonical NaN code (positive where the sign is free), and the infinity code.
  BITSIM_HD constexpr std::uint64_t nan_code() const {
    switch (specials) {
      case Specials::fnuz: return sign_mask();
      case Specials::fn: return magnitude_mask();
      default:  // ieee: the quiet NaN with the top mantissa bit set
        return mantissa_bits > 0 ? infinity_code() | (std::uint64_t(1) << (mantissa_bits - 1))
                                 : infinity_code();
    }
  }
  BITSIM_HD constexpr std::uint64_t infinity_code() const {
    return magnitude_mask() >> mantissa_bits << mantissa_bits;
  }

  BITSIM_HD constexpr bool is_nan_code(std::uint64_t code) const {
    if (!has_nan()) return false;
    const std::uint64_t mag = code & magnitude_mask();
    switch (specials) {
      case Specials::fnuz: return code == sign_mask();
      case Specials::fn: return mag == magnitude_mask();
      default: return mag > infinity_code();
    }
  }
  BITSIM_HD constexpr bool is_infinity_code(std::uint64_t code) const {
    return has_infinity() && (code & magnitude_mask()) == infinity_code();
  }

  // Exact value of a magnitude code that is finite.
  BITSIM_HD double magnitude_value(std::uint64_t mag) const {
    const int field = int(mag >> mantissa_bits);
    const std::uint64_t mantissa = mag & ((std::uint64_t(1) << mantissa_bits) - 1);
    if (field == 0 && subnormals) {
      return std::ldexp(double(mantissa), min_normal_exponent() - mantissa_bits);
    }
    return std::ldexp(double(mantissa | (std::uint64_t(1) << mantissa_bits)),
                      field - bias - mantissa_bits);
  }
  double max_value() const { return magnitude_value(max_magnitude_code()); }
  double min_normal_value() const { return std::ldexp(1.0, min_normal_exponent()); }
  double min_positive_value() const { return magnitude_value(subnormals ? 1 : 0); }
  // Distance from 1 to the next larger value (the machine epsilon of the format).
  double epsilon() const { return std::ldexp(1.0, -mantissa_bits); }
  std::uint64_t finite_code_count() const;

  Lattice lattice() const;

  // Throws std::invalid_argument when the parameters make no format (widths, a bias whose
  // range leaves float64, a policy the format cannot honour).
  void validate() const;
};

// Decodes a code (low bits() bits used) to its exact value. NaN codes give a quiet NaN
// with the code's sign bit; subnormal codes give 0 when flush_input_subnormals is set.
template <class Real>
BITSIM_HD Real decode(const MiniFloat& f, std::uint64_t code) {
  const bool negative = (code & f.sign_mask()) != 0;
  const std::uint64_t mag = code & f.magnitude_mask();
  Real value;
  if (f.is_nan_code(code)) {
    value = std::numeric_limits<Real>::quiet_NaN();
  } else if (f.is_infinity_code(code)) {
    value = std::numeric_limits<Real>::infinity();
  } else if (f.flush_input_subnormals && f.subnormals && (mag >> f.mantissa_bits) == 0) {
    value = Real(0);
  } else {
    value = Real(f.magnitude_value(mag));
  }
  return negative ? -value : value;
}

// Packs a value that already lies on the format's lattice and inside its range (the
// output of round_pattern) into its code.
template <class Real>
BITSIM_HD std::uint64_t pack(const MiniFloat& f, Real value) {
  using Bits = typename SourceTraits<Real>::Bits;
  const Bits pattern = std::bit_cast<Bits>(value);
  const bool negative = (pattern >> (sizeof(Bits) * 8 - 1)) != 0;
  const std::uint64_t sign = negative ? f.sign_mask() : 0;
  if (value != value) {
    return f.specials == Specials::fnuz || !f.is_signed ? f.nan_code() : f.nan_code() | sign;
  }
  if (std::isinf(value)) return f.infinity_code() | sign;
  const double magnitude = std::fabs(double(value));
  if (magnitude == 0) return sign;
  int exponent = std::ilogb(magnitude);
  const int emin = f.min_normal_exponent();
  if (exponent < emin) exponent = emin;
  // Significand in units of the quantum at this binade: exact, since the value is on the lattice.
  const auto kept = std::uint64_t(std::ldexp(magnitude, f.mantissa_bits - exponent));
  std::uint64_t mag = (std::uint64_t(exponent - emin) << f.mantissa_bits) + kept;
  if (!f.subnormals) mag -= std::uint64_t(1) << f.mantissa_bits;
  return mag | sign;
}

// Compile-time face: a MiniFloat known to the compiler, for hot loops and C++ users.
// Example: using E4M3 = MiniFloatType<4, 3, 7, Specials::fn>;
template <int E, int M, int Bias, Specials S = Specials::ieee, bool Signed = true,
          Overflow O = (S == Specials::ieee ? Overflow::infinity
                                            : (S == Specials::none ? Overflow::saturate
                                                                   : Overflow::nan))>
struct MiniFloatType {
  static constexpr MiniFloat format{E, M, Bias, S, Signed, true, O};
  static constexpr int bits = format.bits();
};

}  // namespace bitsim::formats
