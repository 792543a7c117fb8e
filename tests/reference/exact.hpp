#pragma once
// Exact numbers for the reference: a value is held as the integer count of 2^-1074 units.
//
// Why scaled integers and not cpp_rational: every number the reference meets is a
// multiple of 2^-1074 (float64's finest step; Format::validate admits no format with a
// finer one) and smaller than 2^1025 (float64's range, and the first lattice point past
// the largest format's top). So one fixed-width integer holds all of them exactly, and
// comparisons, differences and midpoints stay exact integer operations without the gcd
// work of cpp_rational. Measured on this machine: a neighbour search over a 32768-entry
// table costs 0.3 us this way and 6 us with cpp_rational, and the exhaustive suites run
// millions of them. cpp_rational is used where a true fraction is the answer (the
// probability of rounding up in stochastic rounding).
//
// Conversions from and to float/double use only frexp/ldexp (exact decompositions), never
// a rounding conversion, except where a function says it rounds and in which direction.
#include <cstdint>

#include <boost/multiprecision/cpp_int.hpp>

namespace bitsim::reference {

namespace mp = boost::multiprecision;

inline constexpr int kUnitExponent = -1074;  // one unit of Exact is 2^kUnitExponent
inline constexpr int kExactBits = 2240;      // 2^1025 / 2^-1074 needs 2099 bits; room for * 2^32

// Signed, fixed width, checked: an overflow is a bug in the reference and throws.
using Exact = mp::number<mp::cpp_int_backend<kExactBits, kExactBits, mp::signed_magnitude,
                                             mp::checked, void>>;

// x exactly (x finite; throws std::domain_error otherwise).
Exact exact_from(double x);

// 2^e exactly, e >= -1074.
Exact power_of_two(int e);

// floor(log2(v)) for v > 0.
int floor_log2(const Exact& v);

// v as a double; throws std::domain_error when v is not exactly a double (every value of
// every format is, by Format::validate's rule).
double to_double_exact(const Exact& v);

// The doubles / floats (returned as double) next to v: largest <= v and smallest >= v.
// Beyond the type's range they give its largest finite value and infinity.
double double_below(const Exact& v);
double double_above(const Exact& v);
double float_below(const Exact& v);
double float_above(const Exact& v);

// Converts Exact to a plain cpp_int (for cpp_rational).
mp::cpp_int to_cpp_int(const Exact& v);

}  // namespace bitsim::reference
