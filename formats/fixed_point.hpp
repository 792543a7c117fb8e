#pragma once
// Integers and fixed point: `bits` wide, signed (two's complement) or unsigned, with
// `fraction_bits` after the binary point (Qm.n; int8 is Q8.0). A narrow (symmetric) signed
// format drops the most negative code, so that -max is the lowest value (as INT8 with
// range [-127, 127] in most quantisation schemes).
#include <cmath>
#include <cstdint>
#include <limits>

#include "formats/hd.hpp"
#include "formats/lattice.hpp"
#include "formats/lattice_rounding.hpp"

namespace bitsim::formats {

struct FixedPoint {
  int bits = 8;
  bool is_signed = true;
  bool narrow = false;
  int fraction_bits = 0;
  NanRule nan_rule = NanRule::zero;

  friend constexpr bool operator==(const FixedPoint&, const FixedPoint&) = default;

  BITSIM_HD constexpr std::int64_t max_integer() const {
    return is_signed ? (std::int64_t(1) << (bits - 1)) - 1 : (std::int64_t(1) << bits) - 1;
  }
  BITSIM_HD constexpr std::int64_t min_integer() const {
    return is_signed ? -(std::int64_t(1) << (bits - 1)) + (narrow ? 1 : 0) : 0;
  }
  BITSIM_HD constexpr std::uint64_t code_mask() const {
    return bits == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << bits) - 1;
  }
  double quantum() const { return std::ldexp(1.0, -fraction_bits); }
  double max_value() const { return std::ldexp(double(max_integer()), -fraction_bits); }
  double min_value() const { return std::ldexp(double(min_integer()), -fraction_bits); }
  std::uint64_t finite_code_count() const {
    return std::uint64_t(max_integer() - min_integer()) + 1;
  }

  Lattice lattice() const;
  void validate() const;  // throws std::invalid_argument
};

// The integer held by a code (two's complement for signed formats).
BITSIM_HD constexpr std::int64_t code_to_integer(const FixedPoint& f, std::uint64_t code) {
  code &= f.code_mask();
  if (f.is_signed && f.bits < 64 && (code >> (f.bits - 1)) != 0) {
    return std::int64_t(code) - (std::int64_t(1) << f.bits);
  }
  return std::int64_t(code);
}

template <class Real>
BITSIM_HD Real decode(const FixedPoint& f, std::uint64_t code) {
  return Real(std::ldexp(double(code_to_integer(f, code)), -f.fraction_bits));
}

// Packs a value already on the lattice and in range (round_pattern's output).
template <class Real>
BITSIM_HD std::uint64_t pack(const FixedPoint& f, Real value) {
  const auto integer = std::int64_t(std::ldexp(double(value), f.fraction_bits));
  return std::uint64_t(integer) & f.code_mask();
}

}  // namespace bitsim::formats
