#pragma once
// AVX-512 pieces of the block loops (block_spans.hpp), written with intrinsics where GCC's
// vectoriser leaves too much scalar work between the vector steps:
//
// * fold_block_maxima: 16 blocks' lane-wise maxima folded into one vector (group_amax).
// * two_level_group16: NVFP4's nearest-even path for a group of 16 blocks of 16 elements,
//   every step in vectors (amax, block scale, the elements). Its last step has no
//   division: see HalfStepPlan.
//
// Everything here gives the bits of the portable loops in block_spans.hpp; a group whose
// preconditions do not hold is left to them (two_level_group16 returns false and writes
// nothing). tests/formats/test_block_rne_paths.cpp compares both with a literal
// computation. (Zero-masked forms with every lane selected: GCC 12's unmasked ones warn,
// bug 105593.)
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "formats/block/nearest_even.hpp"

namespace bitsim::formats::block_detail {

// What two_level_group16 needs, fixed per tensor. The last element step of NVFP4 is
// (q * s) / tensor_scale in float32 (q the rounded element, s the stored block scale). For
// elements with at most one mantissa bit, q = 2^k m with m = 1 or 1.5, and scaling by 2^k
// commutes with float32 rounding wherever the results are not subnormal:
//   fl(fl(q s) / T) = 2^k fl(fl(m s) / T),
// so with r = fl(s / T) and r_three_halves = fl(fl(1.5 s) / T), computed once per block,
// the element's value is 2^k times one of the two: a multiply, no division. `low` keeps s
// and r at or above 2^(-126 + k_reach + 2) for the element's |k| <= k_reach, so that no
// product of the two computations is subnormal. No upper bound is needed: a product past
// FLT_MAX is Inf both ways (2^k fl(z) is what fl(2^k z) rounds to before the overflow
// test), and 1.5 s stays finite because the scale shortcut keeps s at most 2^127.
struct HalfStepPlan {
  NearestEvenPlan element, scale;  // rne's shortcut for the elements and the block scales
  float scale_factor = 0;          // tensor_scale / element_max: amax * this, rounded, is s
  float tensor_scale = 1;
  float low = 0;
  bool usable = false;
};

// Usable for a PlainFloat element lattice of at most one mantissa bit with a signed zero
// (rne's shortcut gives -0 for negative inputs that round to zero, as the sign step of the
// kernel assumes) and both shortcuts available.
inline HalfStepPlan half_step_plan(const LatticePlan<float>& element, const NearestEvenPlan& element_nearest_even,
                                   const NearestEvenPlan& scale_nearest_even, float scale_factor, float tensor_scale) {
  HalfStepPlan h;
  if (!element_nearest_even.usable || !scale_nearest_even.usable || element.precision > 1 ||
      element_nearest_even.zero_sign != 0x80000000u) {
    return h;
  }
  const int k_low = std::ilogb(std::bit_cast<float>(element.min_positive));
  const int k_high = std::ilogb(std::bit_cast<float>(element.max_positive));
  const int reach = std::max(std::abs(k_low), std::abs(k_high)) + 2;
  if (reach > 60) return h;
  h = {element_nearest_even, scale_nearest_even, scale_factor, tensor_scale, std::ldexp(1.0f, -126 + reach), true};
  return h;
}

#if defined(__AVX512F__)

// Lane k of the result: the largest (unsigned) lane of v[k].
[[gnu::always_inline]] inline __m512i fold_block_maxima(__m512i (&v)[16]) {
  constexpr __mmask16 all = 0xffff;
  // Halves: blocks 2i and 2i+1 share a vector, 8 lanes each (256-bit halves).
  for (std::size_t i = 0; i < 8; ++i) {
    v[i] = _mm512_maskz_max_epu32(all, _mm512_maskz_shuffle_i64x2(0xff, v[2 * i], v[2 * i + 1], 0x44),
                                  _mm512_maskz_shuffle_i64x2(0xff, v[2 * i], v[2 * i + 1], 0xee));
  }
  // Quarters: blocks 4i .. 4i+3, one per 128-bit lane, 4 lanes each.
  for (std::size_t i = 0; i < 4; ++i) {
    v[i] = _mm512_maskz_max_epu32(all, _mm512_maskz_shuffle_i64x2(0xff, v[2 * i], v[2 * i + 1], 0x88),
                                  _mm512_maskz_shuffle_i64x2(0xff, v[2 * i], v[2 * i + 1], 0xdd));
  }
  // Pairs of lanes: 128-bit lane j holds blocks 8i + j and 8i + 4 + j, 2 lanes each.
  for (std::size_t i = 0; i < 2; ++i) {
    v[i] = _mm512_maskz_max_epu32(all, _mm512_maskz_unpacklo_epi64(0xff, v[2 * i], v[2 * i + 1]),
                                  _mm512_maskz_unpackhi_epi64(0xff, v[2 * i], v[2 * i + 1]));
  }
  // Single lanes: element 4j + m holds block j + 4m; a permutation puts block k at k.
  const __m512 a = _mm512_castsi512_ps(v[0]), b = _mm512_castsi512_ps(v[1]);
  const __m512i folded = _mm512_maskz_max_epu32(all, _mm512_castps_si512(_mm512_maskz_shuffle_ps(all, a, b, 0x88)),
                                                _mm512_castps_si512(_mm512_maskz_shuffle_ps(all, a, b, 0xdd)));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_maskz_permutexvar_epi32(all, order, folded);
}

// nearest_even_value for 16 non-negative floats below p.limit, as patterns (no sign step).
[[gnu::always_inline]] inline __m512i nearest_even_magnitude(__m512 a, const NearestEvenPlan& p) {
  constexpr __mmask16 all = 0xffff;
  const __m512i exponent = _mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7f800000));
  const __m512 magic = _mm512_castsi512_ps(_mm512_maskz_max_epu32(
      all, _mm512_add_epi32(exponent, _mm512_set1_epi32(std::int32_t(p.binade_offset))),
      _mm512_set1_epi32(std::int32_t(p.min_magic))));
  const __m512 rounded = _mm512_sub_ps(_mm512_add_ps(a, magic), magic);
  return _mm512_maskz_min_epu32(all, _mm512_castps_si512(rounded), _mm512_set1_epi32(std::int32_t(p.max)));
}

// Blocks 0 .. 15 of 16 elements from x: what two_level_blocks computes for them (block
// amax, scale s = round(amax * scale_factor), factor = tensor_scale / s, elements
// round(x * factor), then the half-step product for (q * s) / tensor_scale), or false
// with nothing written when the group holds an Inf or NaN, or a shortcut's range or the
// half-step range does not hold for one of its blocks.
inline bool two_level_group16(const float* x, float* out, const HalfStepPlan& p) {
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  __m512i a[16], folding[16];
  for (std::size_t k = 0; k < 16; ++k) folding[k] = a[k] = _mm512_and_si512(_mm512_loadu_si512(x + 16 * k), magnitude);
  const __m512i amax = fold_block_maxima(folding);
  if (_mm512_cmpge_epu32_mask(amax, _mm512_set1_epi32(0x7f800000)) != 0) return false;

  // Block scales (rne's shortcut, as round_scales takes it), factors and the two ratios.
  const __m512 amax_value = _mm512_castsi512_ps(amax);
  const __m512 unrounded = _mm512_mul_ps(amax_value, _mm512_set1_ps(p.scale_factor));
  if (_mm512_cmpge_epu32_mask(_mm512_castps_si512(unrounded), _mm512_set1_epi32(std::int32_t(p.scale.limit))) != 0) {
    return false;
  }
  const __m512 stored = _mm512_castsi512_ps(nearest_even_magnitude(unrounded, p.scale));
  const __m512 tensor_scale = _mm512_set1_ps(p.tensor_scale);
  const __mmask16 nonzero = _mm512_cmp_ps_mask(stored, _mm512_setzero_ps(), _CMP_NEQ_OQ);
  const __m512 factor = _mm512_maskz_div_ps(nonzero, tensor_scale, stored);
  // Every y = x * factor below the element shortcut's limit (|y| <= amax * factor).
  const __m512 top = _mm512_mul_ps(amax_value, factor);
  if (_mm512_cmpge_epu32_mask(_mm512_castps_si512(top), _mm512_set1_epi32(std::int32_t(p.element.limit))) != 0) {
    return false;
  }
  const __m512 ratio = _mm512_div_ps(stored, tensor_scale);
  const __m512 ratio_three_halves = _mm512_div_ps(_mm512_mul_ps(stored, _mm512_set1_ps(1.5f)), tensor_scale);
  const __m512 low = _mm512_set1_ps(p.low);
  const __mmask16 in_range = _mm512_cmp_ps_mask(stored, low, _CMP_GE_OQ) & _mm512_cmp_ps_mask(ratio, low, _CMP_GE_OQ);
  // (Blocks whose scale is 0 have only zero elements: any ratio gives their signed zeros.)
  if ((nonzero & ~in_range) != 0) return false;

  alignas(64) float factors[16], ratios[16], ratios_three_halves[16];
  _mm512_store_ps(factors, factor);
  _mm512_store_ps(ratios, ratio);
  _mm512_store_ps(ratios_three_halves, ratio_three_halves);
  const __m512i half_bit = _mm512_set1_epi32(0x00400000), sign = _mm512_set1_epi32(std::int32_t(0x80000000u));
  for (std::size_t k = 0; k < 16; ++k) {
    // |x| * factor rounded (the sign comes back at the end: every step is symmetric).
    const __m512 y = _mm512_mul_ps(_mm512_castsi512_ps(a[k]), _mm512_set1_ps(factors[k]));
    const __m512i q = nearest_even_magnitude(y, p.element);
    const __mmask16 three_halves = _mm512_test_epi32_mask(q, half_bit);
    const __m512 power_of_two = _mm512_castsi512_ps(_mm512_maskz_andnot_epi32(0xffff, half_bit, q));
    const __m512 r = _mm512_mask_blend_ps(three_halves, _mm512_set1_ps(ratios[k]), _mm512_set1_ps(ratios_three_halves[k]));
    const __m512i value = _mm512_castps_si512(_mm512_mul_ps(power_of_two, r));
    // value | (x & sign): 0xf8 is A | (B & C) for operands A, B, C.
    const __m512i signed_value = _mm512_ternarylogic_epi32(value, _mm512_loadu_si512(x + 16 * k), sign, 0xf8);
    _mm512_storeu_si512(out + 16 * k, signed_value);
  }
  return true;
}

#endif  // __AVX512F__

}  // namespace bitsim::formats::block_detail
