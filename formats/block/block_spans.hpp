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
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

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
  constexpr std::size_t kChunk = 16;
  std::uint32_t lanes[kChunk] = {};
  std::size_t i = 0;
  for (; i + kChunk <= n; i += kChunk) {
    for (std::size_t j = 0; j < kChunk; ++j) {
      lanes[j] = std::max(lanes[j], std::bit_cast<std::uint32_t>(x[i + j]) & 0x7fffffffu);
    }
  }
  std::uint32_t m = 0;
  for (; i < n; ++i) m = std::max(m, std::bit_cast<std::uint32_t>(x[i]) & 0x7fffffffu);
  for (std::size_t j = 0; j < kChunk; ++j) m = std::max(m, lanes[j]);
  return m;
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

}  // namespace bitsim::formats::block_detail
