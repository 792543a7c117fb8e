#include "formats/fixed_point.hpp"

#include <stdexcept>
#include <string>

namespace bitsim::formats {

void FixedPoint::validate() const {
  if (bits < 1 || bits > 32 || (is_signed && bits < 2)) {
    throw std::invalid_argument("integer format: bits must be 2..32 (signed) or 1..32 (unsigned), got " +
                                std::to_string(bits));
  }
  if (fraction_bits < -64 || fraction_bits > 64) {
    throw std::invalid_argument("integer format: frac must be -64..64, got " +
                                std::to_string(fraction_bits));
  }
  if (narrow && !is_signed) {
    throw std::invalid_argument("integer format: narrow applies to signed formats only");
  }
}

Lattice FixedPoint::lattice() const {
  Lattice l;
  l.precision = kUnboundedPrecision;
  l.min_quantum = -fraction_bits;
  l.min_normal_exponent = -fraction_bits;
  l.max_positive = max_value();
  l.max_negative = -min_value();
  l.min_normal = 0;
  l.min_positive = quantum();
  l.has_negative_zero = false;
  l.overflow = Overflow::saturate;
  l.nan_rule = nan_rule;
  return l;
}

}  // namespace bitsim::formats
