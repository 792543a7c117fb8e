#pragma once
// The element loops of block_quantize's fast paths (values only, no codes): each rounds a
// run of one block's elements with the vectorisable lattice core (lattice_rounding.hpp)
// and gives bit for bit what the exact per-element path gives. Why each is exact:
//
// * scaled_span: a power-of-two scale 2^e. round(x / 2^e onto L) * 2^e is x rounded onto
//   the lattice L * 2^e, which is a plan of its own; used where every point of L * 2^e is
//   a float32 (scaled_lattice_fits), so the rounding happens once, in float32, and the
//   product needs no second rounding.
// * two_level_span: NVFP4's float32 steps y = x * factor, q = round(y), (q * stored) /
//   tensor_scale, as the recipe defines them (q * stored is exact in float32).
// * divided_span: x / s for a non-power-of-two scale, computed in float32 and rounded to
//   odd (the remainder from an fma decides the sticky bit; exact as long as the quotient
//   does not overflow, and giving the right side of every lattice point even when it
//   underflows). A quotient rounded to odd with at least two bits more than the lattice
//   needs rounds onto it as the exact quotient does, in every mode but stochastic (which
//   reads 32 discarded bits); callers keep to elements of at most 22 bits.
// * divided_integer_span: divided_span for integer elements in nearest-even, with the
//   quotient rounded by the vector units' round-to-integral (integer_rounding.hpp).
//
// power_of_two_blocks, two_level_blocks and divided_blocks run many whole 1-D blocks of a
// row in one loop (amax, scale, elements), each block computed exactly as scaled_span /
// two_level_span / divided_span would after the kernel's per-block preparation: the same
// bits, without a call, a switch and a plan copy per block (which cost as much as rounding
// a 32-element block). In rne they round by nearest_even_value (the add-and-subtract
// trick) where its conditions hold, which gives round_pattern's bits for those inputs.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "formats/block/block_avx512.hpp"
#include "formats/block/block_scale.hpp"
#include "formats/block/nearest_even.hpp"
#include "formats/integer_rounding.hpp"
#include "formats/lattice.hpp"
#include "formats/lattice_rounding.hpp"

namespace bitsim::formats::block_detail {

// As the span loops of format.cpp: flatten inlines the rounding core, and two CFG
// transforms that turn its selects back into branches are off (speed only).
#if defined(__GNUC__) && !defined(__clang__)
#define BITSIM_BLOCK_LOOP [[gnu::flatten, gnu::optimize("no-thread-jumps", "no-tree-pre")]]
#else
#define BITSIM_BLOCK_LOOP
#endif

// The largest magnitude of x[0, n) as a float32 pattern with the sign cleared (patterns of
// one sign order like their values): at or above 0x7f800000 when any element is Inf or NaN.
// (Chunks of 16 lanes, as for_lanes below, so that short blocks vectorise whole.)
inline std::uint32_t amax_pattern(const float* x, std::size_t n) {
#if defined(__AVX512F__)
  // (The portable loop below ends in a reduction GCC 12 spills to the stack lane by lane.
  // Zero-masked forms with every lane selected: GCC 12's unmasked ones warn, bug 105593.)
  if (n % 16 == 0) {
    constexpr __mmask16 all = 0xffff;
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
    __m512i m = _mm512_setzero_si512();
    for (std::size_t i = 0; i < n; i += 16) {
      m = _mm512_maskz_max_epu32(all, m, _mm512_and_si512(_mm512_loadu_si512(x + i), magnitude));
    }
    m = _mm512_maskz_max_epu32(all, m, _mm512_maskz_shuffle_i64x2(0xff, m, m, 0x4e));  // 256-bit halves
    m = _mm512_maskz_max_epu32(all, m, _mm512_maskz_shuffle_i64x2(0xff, m, m, 0xb1));  // 128-bit quarters
    m = _mm512_maskz_max_epu32(all, m, _mm512_maskz_shuffle_epi32(all, m, _MM_PERM_BADC));
    m = _mm512_maskz_max_epu32(all, m, _mm512_maskz_shuffle_epi32(all, m, _MM_PERM_CDAB));
    return std::uint32_t(_mm512_cvtsi512_si32(m));
  }
#endif
  constexpr std::size_t kChunk = 16;
  std::uint32_t lanes[kChunk] = {};
  std::size_t i = 0;
  for (; i + kChunk <= n; i += kChunk) {
    for (std::size_t j = 0; j < kChunk; ++j) {
      lanes[j] = std::max(lanes[j], std::bit_cast<std::uint32_t>(x[i + j]) & 0x7fffffffu);
    }
  }
  for (; i < n; ++i) lanes[0] = std::max(lanes[0], std::bit_cast<std::uint32_t>(x[i]) & 0x7fffffffu);
  // The lanes folded in halves (GCC reduces a plain loop over them one lane at a time).
  for (std::size_t width = kChunk / 2; width > 0; width /= 2) {
    for (std::size_t j = 0; j < width; ++j) lanes[j] = std::max(lanes[j], lanes[j + width]);
  }
  return lanes[0];
}

// The largest finite magnitude of x[0, n) as a float32 pattern (Inf and NaN skipped).
inline std::uint32_t finite_amax_pattern(const float* x, std::size_t n) {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint32_t a = std::bit_cast<std::uint32_t>(x[i]) & 0x7fffffffu;
    // (A mask, not a select: GCC does not vectorise the select feeding the reduction.)
    m = std::max(m, a & (std::uint32_t(std::int32_t(a - 0x7f800000u) >> 31)));
  }
  return m;
}

// The lattice L * 2^e (every value, step and threshold scaled; policies unchanged).
inline Lattice scaled_lattice(const Lattice& l, int e) {
  Lattice s = l;
  s.min_quantum += e;
  s.min_normal_exponent += e;
  s.max_positive = std::ldexp(l.max_positive, e);
  s.max_negative = std::ldexp(l.max_negative, e);
  s.min_normal = std::ldexp(l.min_normal, e);
  s.min_positive = std::ldexp(l.min_positive, e);
  return s;
}

// Every point of L * 2^e is a float32: its finest step is at or above float32's and its
// largest value at most FLT_MAX.
inline bool scaled_lattice_fits(const Lattice& l, int e) {
  return l.min_quantum + e >= -149 && std::ldexp(std::max(l.max_positive, l.max_negative), e) <= 3.4028234663852886e38;
}

// out[i] = element(x[i]) for i < n, in chunks of 16 lanes: a block's run is short (16,
// 32), and a plain loop over it gets peeled and versioned until little is left for the
// vector body; a chunk of constant length vectorises whole. The tail (n % 16) goes through
// a zero-padded local chunk (every element function is harmless on 0).
constexpr std::size_t kLanes = 16;

template <class Element>
[[gnu::always_inline]] inline void for_lanes(const float* __restrict x, float* __restrict out, std::size_t n,
                                             Element element) {
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (std::size_t j = 0; j < kLanes; ++j) out[i + j] = element(x[i + j]);
  }
  if (i == n) return;
  alignas(64) float in[kLanes] = {}, result[kLanes];
  for (std::size_t j = 0; i + j < n; ++j) in[j] = x[i + j];
  for (std::size_t j = 0; j < kLanes; ++j) result[j] = element(in[j]);
  for (std::size_t j = 0; i + j < n; ++j) out[i + j] = result[j];
}

template <Rounding Mode, class Shape>
BITSIM_BLOCK_LOOP void scaled_span(const float* x, float* out, std::size_t n, const LatticePlan<float>& shared) {
  const LatticePlan<float> plan = shared;  // a local copy: no store to out can change it
  for_lanes(x, out, n, [&plan](float v) {
    return std::bit_cast<float>(round_pattern<Mode, float, Shape>(std::bit_cast<std::uint32_t>(v), plan));
  });
}

template <Rounding Mode, class Shape>
BITSIM_BLOCK_LOOP void two_level_span(const float* x, float* out, std::size_t n, const LatticePlan<float>& shared,
                                      float factor, float stored, float tensor_scale) {
  const LatticePlan<float> plan = shared;
  for_lanes(x, out, n, [&](float v) {
    const float q = std::bit_cast<float>(round_pattern<Mode, float, Shape>(std::bit_cast<std::uint32_t>(v * factor), plan));
    return (q * stored) / tensor_scale;
  });
}

// x / s rounded to odd in float32 (s > 0 finite; x finite). Written with integer selects
// so that the loop vectorises; bits are tested in the sign position (as in round_pattern).
inline float quotient_to_odd_float(float x, float s) {
  const float q = x / s;
  const float remainder = std::fma(-q, s, x);  // exact: q is the rounded quotient
  const std::uint32_t qb = std::bit_cast<std::uint32_t>(q), rb = std::bit_cast<std::uint32_t>(remainder);
  const std::uint32_t magnitude = qb & 0x7fffffffu;
  // Inexact with an even last bit: one unit toward the remainder (the exact quotient lies
  // between q and that odd neighbour): away from zero when remainder and q share a sign or
  // q is zero (then with the remainder's sign), else toward zero.
  // (Conditions as 0/1 integers: bool && and || become branches GCC cannot vectorise.)
  const std::int32_t inexact_even = std::int32_t((rb & 0x7fffffffu) != 0) & std::int32_t(std::int32_t(qb << 31) >= 0);
  const std::int32_t q_zero = magnitude == 0;
  const std::int32_t away = q_zero | std::int32_t(std::int32_t(qb ^ rb) >= 0);
  const std::uint32_t stepped = (magnitude + std::uint32_t(2 * away - 1)) | ((q_zero ? rb : qb) & 0x80000000u);
  return std::bit_cast<float>(inexact_even ? stepped : qb);
}

template <Rounding Mode, class Shape>
BITSIM_BLOCK_LOOP void divided_span(const float* x, float* out, std::size_t n, const LatticePlan<float>& shared,
                                    float s) {
  const LatticePlan<float> plan = shared;
  for_lanes(x, out, n, [&](float v) {
    const float q = std::bit_cast<float>(
        round_pattern<Mode, float, Shape>(std::bit_cast<std::uint32_t>(quotient_to_odd_float(v, s)), plan));
    return q * s;
  });
}

// Integer element lattices (integer_rounding.hpp's integer_plan) in the mode the vector
// units round to integers in (nearest-even): the quotient rounded to odd, rounded to an
// integer, clamped, times s. Exact as divided_span is: a quotient below 2^22 has at least two bits below the
// units place, so rounding it to an integer rounds the exact quotient; larger ones lie
// beyond max either way and saturate.
template <Rounding Mode>
BITSIM_BLOCK_LOOP void divided_integer_span(const float* x, float* out, std::size_t n, const LatticePlan<float>& p,
                                            float s) {
  static_assert(Mode == Rounding::nearest_even);
  const float top = std::bit_cast<float>(p.max_positive), bottom = -std::bit_cast<float>(p.max_negative);
  for_lanes(x, out, n, [&](float v) { return round_integer_value<Mode>(quotient_to_odd_float(v, s), bottom, top) * s; });
}

// What power_of_two_blocks needs to choose a block's plan: the scale rule's inputs and, per
// scale exponent min_exponent + k, plans[k]: the element lattice times 2^e as a float32 plan
// of the loop's shape, or null where that plan is unusable or of another shape.
struct PowerOfTwoTable {
  const LatticePlan<float>* const* plans = nullptr;
  int min_exponent = 0, max_exponent = 0;
  ScaleRule rule = ScaleRule::floor;
  double element_max = 0;
  int element_emax = 0;
  const NearestEvenPlan* nearest_even = nullptr;  // per exponent as plans (rne's shortcut), or null
};

// The row loops work in groups of kGroup blocks: first every block's scale (independent
// short chains: amax, its reduction, the scale), then every block's elements. Taken one
// block at a time, each block's elements would wait on its scale's chain of latencies.
constexpr std::size_t kGroup = 16;

// Asks for x[0, n) ahead of use, one request per 64-byte line. power_of_two_blocks asks for
// the next group while it rounds this one: at one thread the hardware prefetchers alone
// left its loop waiting on memory (2^26 elements: 0.41-0.53 of memcpy without, 0.59-0.70
// with, on the shared 2-core machine; the other row loops showed no gain).
inline void prefetch(const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; i += kLanes) __builtin_prefetch(x + i, 0, 0);
}

// amax[k] = amax_pattern of block k < n (n <= kGroup) of `len` elements (a multiple of
// kLanes) laid end to end from x; amax[k] = 0 for k >= n. With AVX-512 the 16 blocks'
// lane-wise maxima are folded into one vector together (fold_block_maxima, a transposing
// reduction: 15 shuffle pairs for 16 blocks instead of 4 per block).
template <std::size_t BlockLength>
[[gnu::always_inline]] inline void group_amax(const float* x, std::size_t runtime_length, std::size_t n,
                                              std::uint32_t* amax) {
  const std::size_t len = BlockLength != 0 ? BlockLength : runtime_length;
#if defined(__AVX512F__)
  constexpr __mmask16 all = 0xffff;
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  __m512i v[kGroup];
  for (std::size_t k = 0; k < kGroup; ++k) {
    __m512i m = _mm512_setzero_si512();
    if (k < n) {
      for (std::size_t i = 0; i < len; i += kLanes) {
        m = _mm512_maskz_max_epu32(all, m, _mm512_and_si512(_mm512_loadu_si512(x + k * len + i), magnitude));
      }
    }
    v[k] = m;
  }
  _mm512_storeu_si512(amax, fold_block_maxima(v));
#else
  for (std::size_t k = 0; k < kGroup; ++k) amax[k] = k < n ? amax_pattern(x + k * len, len) : 0;
#endif
}

// Blocks b < blocks of `len` elements each (a multiple of kLanes), laid end to end from x;
// BlockLength: the length as a constant (the common 16 and 32: loops unrolled whole), or 0.
// Returns the first block not done (its amax is Inf/NaN or 0, or its plan is null), or
// `blocks`; the caller takes that block the exact way and resumes after it.
template <Rounding Mode, class Shape, std::size_t BlockLength>
BITSIM_BLOCK_LOOP std::size_t power_of_two_blocks(const float* x, float* __restrict out, std::size_t blocks,
                                                  std::size_t runtime_length, const PowerOfTwoTable& t) {
  const std::size_t len = BlockLength != 0 ? BlockLength : runtime_length;
  constexpr bool shortcut = Mode == Rounding::nearest_even && Shape::plain_float;
  for (std::size_t first = 0; first < blocks; first += kGroup) {
    const std::size_t n = std::min(kGroup, blocks - first);
    const LatticePlan<float>* plans[kGroup];
    const NearestEvenPlan* nearest[kGroup];  // rne's shortcut where it applies, else null
    prefetch(x + (first + n) * len, std::min(kGroup, blocks - first - n) * len);
    std::uint32_t amax[kGroup];
    group_amax<BlockLength>(x + first * len, len, n, amax);
    std::size_t covered = 0;
    for (; covered < n; ++covered) {
      const std::uint32_t amax_bits = amax[covered];
      if (amax_bits - 1 >= 0x7f800000u - 1) break;  // 0 (all zero), or Inf/NaN
      const int e = std::clamp(power_of_two_exponent(t.rule, std::bit_cast<float>(amax_bits), t.element_max,
                                                     t.element_emax),
                               t.min_exponent, t.max_exponent);
      plans[covered] = t.plans[e - t.min_exponent];
      if (!plans[covered]) break;
      if constexpr (shortcut) {
        const NearestEvenPlan* ne = t.nearest_even ? &t.nearest_even[e - t.min_exponent] : nullptr;
        nearest[covered] = ne && ne->usable && amax_bits < ne->limit ? ne : nullptr;
      }
    }
    for (std::size_t k = 0; k < covered; ++k) {
      const float* xb = x + (first + k) * len;
      float* ob = out + (first + k) * len;
      if constexpr (shortcut) {
        if (nearest[k]) {
          const NearestEvenPlan ne = *nearest[k];
          for (std::size_t i = 0; i < len; i += kLanes) {
            for (std::size_t j = 0; j < kLanes; ++j) ob[i + j] = nearest_even_value(xb[i + j], ne);
          }
          continue;
        }
      }
      const LatticePlan<float> plan = *plans[k];  // a local copy: see scaled_span
      for (std::size_t i = 0; i < len; i += kLanes) {
        for (std::size_t j = 0; j < kLanes; ++j) {
          ob[i + j] = std::bit_cast<float>(round_pattern<Mode, float, Shape>(std::bit_cast<std::uint32_t>(xb[i + j]), plan));
        }
      }
    }
    if (covered < n) return first + covered;
  }
  return blocks;
}

// A group's block scales: v[k] (>= 0, not NaN) rounded to nearest-even onto the scale
// lattice, by rne's shortcut where it holds for every lane (else by the lattice core).
[[gnu::always_inline]] inline void round_scales(const float* v, float* scale, const LatticePlan<float>& plan,
                                                const NearestEvenPlan& nearest_even) {
  std::uint32_t top = 0;
  for (std::size_t k = 0; k < kGroup; ++k) top = std::max(top, std::bit_cast<std::uint32_t>(v[k]));
  if (nearest_even.usable && top < nearest_even.limit) {
    for (std::size_t k = 0; k < kGroup; ++k) scale[k] = nearest_even_value(v[k], nearest_even);
    return;
  }
  for (std::size_t k = 0; k < kGroup; ++k) {
    scale[k] = std::bit_cast<float>(round_pattern<Rounding::nearest_even, float>(std::bit_cast<std::uint32_t>(v[k]), plan));
  }
}

// NVFP4's float32 steps for whole blocks: per block the scale stored = round(amax *
// scale_factor) onto the scale format (scale_plan, nearest-even: for a float32 value
// exactly what the scale format's encoding gives) and factor = tensor_scale / stored, then
// two_level_span's element steps. With AVX-512, whole groups of blocks of 16 go through
// two_level_group16 where `half_step` is usable and its preconditions hold. Returns the
// first block with an Inf/NaN, or `blocks`.
template <Rounding Mode, class Shape, std::size_t BlockLength>
BITSIM_BLOCK_LOOP std::size_t two_level_blocks(const float* x, float* __restrict out, std::size_t blocks,
                                               std::size_t runtime_length, const LatticePlan<float>& element_plan,
                                               const LatticePlan<float>& scale_plan, float scale_factor,
                                               float tensor_scale, const NearestEvenPlan& nearest_even,
                                               const NearestEvenPlan& scale_nearest_even,
                                               [[maybe_unused]] const HalfStepPlan& half_step) {
  const LatticePlan<float> plan = element_plan, scale = scale_plan;  // local copies: see scaled_span
  const std::size_t len = BlockLength != 0 ? BlockLength : runtime_length;
  for (std::size_t first = 0; first < blocks; first += kGroup) {
    const std::size_t n = std::min(kGroup, blocks - first);
#if defined(__AVX512F__)
    if constexpr (Mode == Rounding::nearest_even && Shape::plain_float && BlockLength == 16) {
      if (half_step.usable && n == kGroup && two_level_group16(x + first * len, out + first * len, half_step)) continue;
    }
#endif
    float amax[kGroup] = {}, stored[kGroup], factor[kGroup];
    std::uint32_t amax_bits[kGroup];
    group_amax<BlockLength>(x + first * len, len, n, amax_bits);
    std::size_t covered = 0;
    for (; covered < n; ++covered) {
      if (amax_bits[covered] >= 0x7f800000u) break;
      amax[covered] = std::bit_cast<float>(amax_bits[covered]);
    }
    // The group's scales side by side (lanes past `covered` compute unused values).
    float unrounded[kGroup];
    for (std::size_t k = 0; k < kGroup; ++k) unrounded[k] = amax[k] * scale_factor;
    round_scales(unrounded, stored, scale, scale_nearest_even);
    for (std::size_t k = 0; k < kGroup; ++k) factor[k] = stored[k] == 0 ? 0.0f : tensor_scale / stored[k];
    for (std::size_t k = 0; k < covered; ++k) {
      const float* xb = x + (first + k) * len;
      float* ob = out + (first + k) * len;
      const float f = factor[k], s = stored[k];
      if constexpr (Mode == Rounding::nearest_even && Shape::plain_float) {
        // rne's shortcut where every y = x * f stays below its limit (|y| <= amax * f:
        // float32 products are monotonic; a NaN or Inf product fails the test).
        if (nearest_even.usable && std::bit_cast<std::uint32_t>(amax[k] * f) < nearest_even.limit) {
          const NearestEvenPlan ne = nearest_even;
          for (std::size_t i = 0; i < len; i += kLanes) {
            for (std::size_t j = 0; j < kLanes; ++j) ob[i + j] = (nearest_even_value(xb[i + j] * f, ne) * s) / tensor_scale;
          }
          continue;
        }
      }
      for (std::size_t i = 0; i < len; i += kLanes) {
        for (std::size_t j = 0; j < kLanes; ++j) {
          const float q = std::bit_cast<float>(
              round_pattern<Mode, float, Shape>(std::bit_cast<std::uint32_t>(xb[i + j] * f), plan));
          ob[i + j] = (q * s) / tensor_scale;
        }
      }
    }
    if (covered < n) return first + covered;
  }
  return blocks;
}


// What divided_blocks needs: the element plan (the loop's shape) with rne's shortcuts, and
// the scale's rounding: s = round(amax / element_max) onto the scale lattice (nearest-even,
// from the quotient rounded to odd in float32: exact for scale lattices of <= 21 bits whose
// finest step is at least 2^-147), min_scale where that is 0.
struct DividedTable {
  const LatticePlan<float>* element = nullptr;
  NearestEvenPlan element_nearest_even;  // rne's shortcut for minifloat elements
  bool integer = false;                  // integer elements: rne by round_integer_value
  float bottom = 0, top = 0;             // integer: -max_negative, max_positive
  const LatticePlan<float>* scale = nullptr;
  NearestEvenPlan scale_nearest_even;
  float element_max = 0;
  float min_scale = 0;
};

// Group INT and the other non-power-of-two `amax` scales, whole 1-D blocks at a time as
// power_of_two_blocks does: every block of the group's scale side by side, then the
// elements as divided_span / divided_integer_span would. Returns the first block not done
// (its amax is 0 or Inf/NaN), or `blocks`.
template <Rounding Mode, class Shape, std::size_t BlockLength>
BITSIM_BLOCK_LOOP std::size_t divided_blocks(const float* x, float* __restrict out, std::size_t blocks,
                                             std::size_t runtime_length, const DividedTable& t) {
  const LatticePlan<float> plan = *t.element, scale_plan = *t.scale;  // local copies: see scaled_span
  const std::size_t len = BlockLength != 0 ? BlockLength : runtime_length;
  for (std::size_t first = 0; first < blocks; first += kGroup) {
    const std::size_t n = std::min(kGroup, blocks - first);
    std::uint32_t amax_bits[kGroup];
    group_amax<BlockLength>(x + first * len, len, n, amax_bits);
    float amax[kGroup] = {}, scale[kGroup];
    std::size_t covered = 0;
    for (; covered < n; ++covered) {
      if (amax_bits[covered] - 1 >= 0x7f800000u - 1) break;  // 0 (all zero), or Inf/NaN
      amax[covered] = std::bit_cast<float>(amax_bits[covered]);
    }
    float quotient[kGroup];  // (lanes past `covered` compute unused values)
    for (std::size_t k = 0; k < kGroup; ++k) quotient[k] = quotient_to_odd_float(amax[k], t.element_max);
    round_scales(quotient, scale, scale_plan, t.scale_nearest_even);
    for (std::size_t k = 0; k < kGroup; ++k) scale[k] = scale[k] > 0 ? scale[k] : t.min_scale;
    for (std::size_t k = 0; k < covered; ++k) {
      const float* xb = x + (first + k) * len;
      float* ob = out + (first + k) * len;
      const float s = scale[k];
      if constexpr (Mode == Rounding::nearest_even) {
        if (t.integer) {
          for (std::size_t i = 0; i < len; i += kLanes) {
            for (std::size_t j = 0; j < kLanes; ++j) {
              ob[i + j] = round_integer_value<Mode>(quotient_to_odd_float(xb[i + j], s), t.bottom, t.top) * s;
            }
          }
          continue;
        }
        if constexpr (Shape::plain_float) {
          // Quotients rounded to odd are monotonic in x: all of them are at most amax's.
          const NearestEvenPlan ne = t.element_nearest_even;
          if (ne.usable && std::bit_cast<std::uint32_t>(quotient_to_odd_float(amax[k], s)) < ne.limit) {
            for (std::size_t i = 0; i < len; i += kLanes) {
              for (std::size_t j = 0; j < kLanes; ++j) ob[i + j] = nearest_even_value(quotient_to_odd_float(xb[i + j], s), ne) * s;
            }
            continue;
          }
        }
      }
      for (std::size_t i = 0; i < len; i += kLanes) {
        for (std::size_t j = 0; j < kLanes; ++j) {
          ob[i + j] = std::bit_cast<float>(round_pattern<Mode, float, Shape>(
                          std::bit_cast<std::uint32_t>(quotient_to_odd_float(xb[i + j], s)), plan)) * s;
        }
      }
    }
    if (covered < n) return first + covered;
  }
  return blocks;
}

}  // namespace bitsim::formats::block_detail
