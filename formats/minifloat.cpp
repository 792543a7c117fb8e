#include "formats/minifloat.hpp"

#include <stdexcept>
#include <string>

namespace bitsim::formats {
namespace {
void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}
}  // namespace

void MiniFloat::validate() const {
  require(exponent_bits >= 1 && exponent_bits <= 11,
          "float format: exponent bits e must be 1..11, got " + std::to_string(exponent_bits));
  require(mantissa_bits >= 0 && mantissa_bits <= 52,
          "float format: mantissa bits m must be 0..52, got " + std::to_string(mantissa_bits));
  require(specials != Specials::fnuz || is_signed,
          "float format: specials=fnuz needs a sign bit (its NaN is the sign-only code)");
  require(subnormals || specials != Specials::fnuz,
          "float format: subnormals=false (no zero) cannot be combined with specials=fnuz");
  require(!(specials == Specials::ieee && exponent_bits == 1),
          "float format: specials=ieee with e=1 leaves no finite normal numbers");
  // Every value must be exact in float64, so references and decode stay exact.
  require(max_exponent() <= 1023 && min_normal_exponent() - mantissa_bits >= -1074,
          "float format: bias " + std::to_string(bias) + " puts values outside float64's range");
  require(max_exponent() >= min_normal_exponent(), "float format: no finite normal values");
  require(overflow != Overflow::infinity || has_infinity(),
          "float format: overflow=inf needs a format with infinities (specials=ieee)");
  require(overflow != Overflow::nan || has_nan(),
          "float format: overflow=nan needs a format with a NaN code");
}

std::uint64_t MiniFloat::finite_code_count() const {
  const std::uint64_t magnitudes = max_magnitude_code() + 1;
  if (!is_signed) return magnitudes;
  // fnuz: the sign-only code is NaN, the other negatives mirror the positives.
  if (specials == Specials::fnuz) return 2 * magnitudes - 1;
  return 2 * magnitudes;
}

Lattice MiniFloat::lattice() const {
  Lattice l;
  l.precision = mantissa_bits;
  l.min_quantum = min_normal_exponent() - mantissa_bits;
  l.min_normal_exponent = min_normal_exponent();
  l.subnormals = subnormals;
  l.max_positive = max_value();
  l.max_negative = is_signed ? max_value() : 0.0;
  l.min_normal = subnormals ? min_normal_value() : 0.0;
  l.min_positive = min_positive_value();
  l.has_zero = subnormals;
  l.has_negative_zero = has_negative_zero();
  l.has_infinity = has_infinity();
  l.has_nan = has_nan();
  l.nan_has_sign = is_signed && specials != Specials::fnuz;
  l.nan_sign_bit = specials == Specials::fnuz;
  l.overflow = overflow;
  l.nan_rule = nan_rule;
  l.flush_input_subnormals = flush_input_subnormals;
  l.flush_output_subnormals = flush_output_subnormals;
  return l;
}

}  // namespace bitsim::formats
