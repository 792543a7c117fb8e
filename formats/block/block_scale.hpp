#pragma once
// Exact helpers of the block kernels: power-of-two scale exponents from a block's amax,
// and quotients rounded to odd so that one more rounding onto a narrow lattice is exact.
// BITSIM_HD: the CUDA block kernels (formats/cuda/block_cuda.cu) call the same functions.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "formats/block/block_format.hpp"
#include "formats/hd.hpp"

namespace bitsim::formats::block_detail {

// floor(log2(a)) for a finite positive float, read from its exponent field (exact; log2f
// may round 7.9999995 up to 3). Subnormals go through ilogb, which normalises them.
BITSIM_HD inline int floor_log2(float a) {
  const int field = int(std::bit_cast<std::uint32_t>(a) >> 23);
  return field != 0 ? field - 127 : std::ilogb(a);
}

// The exponent e of the scale 2^e that `rule` picks for a block with largest magnitude
// amax > 0 (finite), before clamping to the scale format's range. `elem_max` is the
// element format's largest value and `emax` = floor(log2(elem_max)).
BITSIM_HD inline int power_of_two_exponent(ScaleRule rule, float amax, double elem_max, int emax) {
  const int floor_rule = floor_log2(amax) - emax;
  if (rule == ScaleRule::floor) return floor_rule;
  // amax / 2^floor_rule and elem_max both lie in [2^emax, 2^(emax+1)), so the smallest
  // e with amax <= elem_max * 2^e is floor_rule or floor_rule + 1.
  const int ceil_rule = double(amax) <= std::ldexp(elem_max, floor_rule) ? floor_rule : floor_rule + 1;
  if (rule == ScaleRule::ceil) return ceil_rule;
  // round: log2(amax / elem_max) >= ceil_rule - 1/2  <=>  amax^2 >= elem_max^2 * 2^(2 ceil_rule - 1),
  // compared exactly (both squares fit in a double); equality would need sqrt(2) rational.
  const double a = amax;
  return a * a >= std::ldexp(elem_max * elem_max, 2 * ceil_rule - 1) ? ceil_rule : ceil_rule - 1;
}

// x / s rounded to odd in double: the correctly rounded quotient, with its last bit set
// when it is inexact (the remainder x - q s is exact by fma). Rounding this once more onto
// a lattice of at most 51 bits of precision gives the rounding of the exact quotient, for
// every mode; stochastic rounding sees the exact top 32 discarded bits and a sticky bit
// for lattices of at most 19 bits (all block element formats).
BITSIM_HD inline double quotient_to_odd(double x, double s) {
  double q = x / s;
  const double remainder = std::fma(-q, s, x);
  if (remainder != 0 && (std::bit_cast<std::uint64_t>(q) & 1) == 0) {
    q = std::nextafter(q, remainder > 0 ? std::numeric_limits<double>::infinity()
                                        : -std::numeric_limits<double>::infinity());
  }
  return q;
}

}  // namespace bitsim::formats::block_detail
