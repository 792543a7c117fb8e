#pragma once
// rne's shortcut for the block loops: nearest-even onto a saturating minifloat lattice by
// adding and subtracting a magic number (block_spans.hpp uses it per element and per
// block scale, block_avx512.hpp in its NVFP4 group kernel).
#include <algorithm>
#include <bit>
#include <cstdint>

#include "formats/lattice.hpp"
#include "formats/lattice_rounding.hpp"

namespace bitsim::formats::block_detail {

// Nearest-even onto a saturating float lattice L (a PlainFloat plan seen through float32)
// by the add-and-subtract trick, about a quarter of round_pattern's instructions: with q
// the lattice's step at |x| (2^max(E - precision, min_quantum), E = floor(log2 |x|)) and
// M = 2^23 q, |x| < M, so |x| + M lies in [2^23 q, 2^24 q], where float32's step is q: the
// addition rounds |x| to a multiple of q, ties to even (M / q = 2^23 is even), and taking
// M away again is exact. Then saturation (min with max) and the sign. Needs M finite:
// callers check |x| < limit. For |x| below float32's normal range the exponent field (0)
// reads as E = -127, which is harmless: PlainSigned plans have min_quantum + precision
// >= -126, so there the step is 2^min_quantum either way.
struct NearestEvenPlan {
  std::uint32_t binade_offset = 0;  // (23 - precision) << 23: |x|'s exponent field + this = M
  std::uint32_t min_magic = 0;      // the pattern of 2^(min_quantum + 23), M's least value
  std::uint32_t max = 0;            // max_positive's pattern
  std::uint32_t zero_sign = 0;      // the sign bit where zero results keep theirs (-0), else 0
  std::uint32_t limit = 0;          // |x| patterns below this keep M finite
  bool usable = false;
};

inline NearestEvenPlan nearest_even_plan(const LatticePlan<float>& p) {
  NearestEvenPlan n;
  // Saturating (overflow gives max in every mode), at most 22 bits of precision (so that
  // 2^23 q > |x| in every binade), the finest step within float32's.
  if (!fits_shape(p, PlainFloat{}) || p.precision > 22 || p.overflow_positive != p.max_positive ||
      p.min_quantum < -149) {
    return n;
  }
  n.binade_offset = std::uint32_t(23 - p.precision) << 23;
  n.min_magic = std::uint32_t(p.min_quantum + 23 + 127) << 23;
  n.max = p.max_positive;
  n.zero_sign = p.zero_sign;
  n.limit = std::uint32_t(232 + p.precision) << 23;  // E <= 104 + precision: M <= 2^127
  n.usable = true;
  return n;
}

[[gnu::always_inline]] inline float nearest_even_value(float x, const NearestEvenPlan& p) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t a = bits & 0x7fffffffu, sign = bits & 0x80000000u;
  const float magic = std::bit_cast<float>(std::max((a & 0x7f800000u) + p.binade_offset, p.min_magic));
  const std::uint32_t r = std::min(std::bit_cast<std::uint32_t>((std::bit_cast<float>(a) + magic) - magic), p.max);
  return std::bit_cast<float>(r | (r == 0 ? sign & p.zero_sign : sign));
}

}  // namespace bitsim::formats::block_detail
