#pragma once
// Pieces of the accumulation definition (sim/README.md, "GEMM") that every implementation
// must share exactly: how a sum is formed before it is rounded, how K is cut into parts
// and chunks, and which random word each rounding draws. BITSIM_HD so that the CUDA kernels
// can include the same definitions.
#include <bit>
#include <cstdint>

#include "formats/hd.hpp"

namespace bitsim::sim::accumulation {

// x + y rounded to odd in float64: the exact sum when float64 holds it, else the neighbour
// whose last mantissa bit is 1. Rounding that value once more into any format with at most
// 50 mantissa bits (two fewer than float64's 52) gives the correctly rounded exact sum for
// every deterministic mode (Boldo & Melquiond, "Emulation of FMA and correctly rounded sums:
// proved algorithms using rounding to odd", 2008); stochastic rounding sees the exact sum's
// top 50 - p discarded bits and a sticky bit below them.
// With to_odd = false the result is float64's own rne sum (the fp64 format).
// Branch-free (selects only) so that lane loops vectorise; needs strict IEEE evaluation
// (-ffp-contract=off): the error term is Knuth's TwoSum.
BITSIM_HD inline double model_sum(double x, double y, bool to_odd) {
  using Int = std::int64_t;
  const double s = x + y;
  const double y_virtual = s - x;
  const double error = (x - (s - y_virtual)) + (y - y_virtual);
  const auto bits = std::bit_cast<std::uint64_t>(s);
  // Bits are tested in the sign position (a test of bit 0 becomes a 1-bit bool conversion
  // GCC does not vectorise).
  const bool even = Int(bits << 63) >= 0;
  const bool finite = Int(bits & 0x7ff0000000000000ull) != Int(0x7ff0000000000000ull);
  const bool same_sign = Int(bits ^ std::bit_cast<std::uint64_t>(error)) >= 0;
  // Inexact with an even last bit: step one ulp toward the exact sum (the error's side).
  const std::uint64_t delta = same_sign ? std::uint64_t(1) : ~std::uint64_t(0);
  const bool step = to_odd & (error != 0.0) & finite & even;
  return std::bit_cast<double>(step ? bits + delta : bits);
}

BITSIM_HD inline double add_to_odd(double x, double y) { return model_sum(x, y, true); }

// Split-K part j of s over [0, K): [K*j/s, K*(j+1)/s).
BITSIM_HD inline std::int64_t part_begin(std::int64_t K, int s, int j) {
  return K * j / s;
}

// Random word of each rounding of output (m, n): RandomStream{seed, stream = m*N + n},
// word index = key * kRoles + role, where the key is the product index k for
// product-level roundings and the "gap" an addition closes (the index of the first
// product of its right operand) for additions; chunk promotions are keyed by the chunk's
// first product, split-K reductions and the bias by part gaps 1..s-1 and 0.
enum Role : std::uint64_t {
  kProductRound = 0,   // product into the product format
  kProductToAcc = 1,   // fma=false: product into the accumulator format
  kAdd = 2,            // an addition in the accumulator (Kahan: y = q - c)
  kKahanSum = 3,       // Kahan: t = sum + y
  kKahanDiff = 4,      // Kahan: t - sum
  kKahanComp = 5,      // Kahan: c = (t - sum) - y
  kPromote = 6,        // chunk sum into the wide format
  kReduce = 7,         // split-K reduction (gaps 1..s-1) and bias (gap 0) in the wide format
  kRoles = 8,
};

BITSIM_HD inline std::uint64_t word_index(std::int64_t key, Role role) {
  return std::uint64_t(key) * kRoles + role;
}

}  // namespace bitsim::sim::accumulation
