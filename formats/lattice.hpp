#pragma once
// The value set of a float-like or fixed-point format, as rounding sees it.
//
// Every minifloat and every integer/fixed-point format is a "lattice": below 2^(min_quantum
// + precision) values are spaced 2^min_quantum apart; above, each binade [2^e, 2^(e+1))
// holds 2^precision equally spaced values. Fixed point is the case precision = unbounded.
// Rounding onto the lattice (lattice_rounding.hpp) needs only these numbers; the range
// limits and policies then say what happens at the edges. Packing into codes is the
// format's own business (minifloat.hpp, fixed_point.hpp).
#include "formats/policies.hpp"

namespace bitsim::formats {

inline constexpr int kUnboundedPrecision = 1 << 20;

struct Lattice {
  int precision = 0;          // bits after the leading one; kUnboundedPrecision for fixed point
  int min_quantum = 0;        // exponent of the finest spacing
  int min_normal_exponent = 0;  // emin: for code parity of precision-0 formats and FTZ
  bool subnormals = true;     // false: the lowest binade is normal and there is no zero (E8M0)

  double max_positive = 0;    // largest finite value
  double max_negative = 0;    // largest finite magnitude of a negative value (0: unsigned)
  double min_normal = 0;      // smallest normal magnitude (flush-to-zero threshold); 0: none
  double min_positive = 0;    // smallest positive value

  bool has_zero = true;
  bool has_negative_zero = true;
  bool has_infinity = false;
  bool has_nan = false;
  bool nan_has_sign = true;   // false: the NaN code's sign bit is fixed (fnuz: set; unsigned: clear)
  bool nan_sign_bit = false;  // the fixed sign bit when !nan_has_sign

  Overflow overflow = Overflow::saturate;
  NanRule nan_rule = NanRule::zero;
  bool flush_input_subnormals = false;   // inputs that are subnormal in the source type → ±0
  bool flush_output_subnormals = false;  // results in the format's subnormal range → ±0
};

}  // namespace bitsim::formats
