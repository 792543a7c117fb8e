#include "tests/reference/exact.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace bitsim::reference {
namespace {

// Largest number <= v (v > 0) of a binary type with `precision` significand bits whose
// normal exponents run from min_exponent to max_exponent, as a double.
double binary_floor(const Exact& v, int precision, int min_exponent, int max_exponent, double type_max) {
  const int e = floor_log2(v);
  if (e > max_exponent) return type_max;
  const int quantum = std::max(e, min_exponent) - (precision - 1);
  const Exact count = v >> (quantum - kUnitExponent);
  return std::ldexp(count.convert_to<double>(), quantum);  // count < 2^precision: exact
}

double below(const Exact& v, bool as_float) {
  return as_float ? binary_floor(v, 24, -126, 127, double(std::numeric_limits<float>::max()))
                  : binary_floor(v, 53, -1022, 1023, std::numeric_limits<double>::max());
}

double above(const Exact& v, bool as_float) {
  if (v < 0) return -below(-v, as_float);
  if (v == 0) return 0.0;
  const double b = below(v, as_float);
  if (exact_from(b) == v) return b;
  if (as_float) return double(std::nextafter(float(b), std::numeric_limits<float>::infinity()));
  return std::nextafter(b, std::numeric_limits<double>::infinity());
}

double signed_below(const Exact& v, bool as_float) {
  if (v < 0) return -above(-v, as_float);
  if (v == 0) return 0.0;
  return below(v, as_float);
}

}  // namespace

Exact exact_from(double x) {
  if (!std::isfinite(x)) throw std::domain_error("exact_from: not a finite number");
  if (x == 0) return Exact(0);
  int e = 0;
  const double fraction = std::frexp(std::fabs(x), &e);  // |x| = fraction * 2^e, fraction in [0.5, 1)
  const auto significand = static_cast<std::uint64_t>(std::ldexp(fraction, 53));  // exact: 53 bits
  // |x| = significand * 2^(e - 53); in units of 2^-1074 that is a shift by e - 53 + 1074,
  // which for subnormals is a right shift over zero bits only.
  const int shift = e - 53 - kUnitExponent;
  Exact units = Exact(significand);
  if (shift >= 0) {
    units <<= shift;
  } else {
    if ((units & ((Exact(1) << -shift) - 1)) != 0) throw std::logic_error("exact_from: lost bits");
    units >>= -shift;
  }
  return x < 0 ? Exact(-units) : units;
}

Exact power_of_two(int e) {
  if (e < kUnitExponent) throw std::domain_error("power_of_two: 2^" + std::to_string(e) + " is below 2^-1074");
  return Exact(1) << (e - kUnitExponent);
}

int floor_log2(const Exact& v) {
  if (v <= 0) throw std::domain_error("floor_log2 of a non-positive number");
  return int(mp::msb(v)) + kUnitExponent;
}

double to_double_exact(const Exact& v) {
  if (v == 0) return 0.0;
  const Exact magnitude = v < 0 ? Exact(-v) : v;
  const int e = floor_log2(magnitude);
  if (e > 1023) throw std::domain_error("to_double_exact: beyond float64's range");
  const double d = below(magnitude, false);
  if (exact_from(d) != magnitude) throw std::domain_error("to_double_exact: not a float64 value");
  return v < 0 ? -d : d;
}

double double_below(const Exact& v) { return signed_below(v, false); }
double double_above(const Exact& v) { return above(v, false); }
double float_below(const Exact& v) { return signed_below(v, true); }
double float_above(const Exact& v) { return above(v, true); }

mp::cpp_int to_cpp_int(const Exact& v) { return v.convert_to<mp::cpp_int>(); }

}  // namespace bitsim::reference
