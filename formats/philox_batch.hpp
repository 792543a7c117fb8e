#pragma once
// The random words of many consecutive Philox counters at once, for the stochastic-rounding
// span loops. Bit-identical to RandomStream::group(): Random123 evaluates Philox4x32-10 one
// counter at a time, which compilers do not vectorise well (the 32x32->64-bit products end
// up shuffled between vector shapes), so here a batch of counters goes through the ten
// rounds side by side:
//   AVX-512: one counter per 64-bit lane, eight per register. A 32x32->64 multiply
//            (vpmuludq) then yields both halves of a product in place, the xors of a round
//            are one three-way ternary-logic op each, and only the low 32 bits of a lane
//            are ever read (the upper ones may hold garbage): 6 instructions per round per
//            8 counters, against 18 for the 32-bit-lane layout below.
//   AVX2:    eight counters in the 32-bit lanes of a register, products split into halves
//            by shifts and blends.
// Several independent register chains run interleaved in both, so that their rounds
// overlap in the pipeline (one chain alone waits on each round's multiply). Elsewhere it is
// RandomStream::group in a loop.
// bench/quantize_fingerprint checks the batch against Random123. Host code only.
#include <cstddef>
#include <cstdint>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "formats/random_stream.hpp"

namespace bitsim::formats {

namespace detail {

// Register chains of 8 counters interleaved per batch: as many as the registers hold
// (AVX-512: 6 x 4 state registers of 32; AVX2: 3 x 4 of 16). Six chains measured 0.16 ns
// per word against 0.21 for three on the project's machine (AVX-512; 0.44 with AVX2).
#if defined(__AVX512F__)
constexpr int kChains = 6;
#else
constexpr int kChains = 3;
#endif

// Philox4x32's multipliers and key increments (Salmon et al., SC'11; Random123).
constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;

}  // namespace detail

// words[4*j + l] = rng.group(first_group + j).v[l] for j < groups. `words` holds
// 4 * philox_padded(groups) entries: whole batches of kPhiloxBatch groups are written.
constexpr std::size_t kPhiloxBatch = 8 * detail::kChains;
constexpr std::size_t philox_padded(std::size_t groups) {
  return (groups + kPhiloxBatch - 1) / kPhiloxBatch * kPhiloxBatch;
}

namespace detail {

#if defined(__AVX512F__)
// All-lanes forms of the three AVX-512 operations used, written as zero-masked ones with
// every lane selected (the same instruction): GCC 12's unmasked intrinsics pass an
// "undefined" placeholder operand that it then warns about (GCC bug 105593).
constexpr __mmask8 kAllLanes = 0xff;
inline __m512i multiply_low_halves(__m512i a, __m512i b) { return _mm512_maskz_mul_epu32(kAllLanes, a, b); }
inline __m512i shift_right_32(__m512i a) { return _mm512_maskz_srli_epi64(kAllLanes, a, 32); }
inline __m512i shift_left_32(__m512i a) { return _mm512_maskz_slli_epi64(kAllLanes, a, 32); }

// kChains x 8 counters (group indices first, first + 1, ... of one stream) through
// Philox4x32-10, written as 32 * kChains consecutive words.
inline void philox_batch(const RandomStream& rng, std::uint64_t first, std::uint32_t* words) {
  // Lane j of chain c holds group first + 8c + j; words 0 and 1 of the counter are its low
  // and high halves (the 64-bit add wraps as the group index does), 2 and 3 the stream's.
  constexpr int kXor3 = 0x96;  // ternary-logic truth table of a ^ b ^ c
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  __m512i c0[kChains], c1[kChains], c2[kChains], c3[kChains];
  for (int chain = 0; chain < kChains; ++chain) {
    c0[chain] = _mm512_add_epi64(_mm512_set1_epi64(std::int64_t(first + 8 * std::uint64_t(chain))), lane);
    c1[chain] = shift_right_32(c0[chain]);
    c2[chain] = _mm512_set1_epi64(std::int64_t(std::uint32_t(rng.stream)));
    c3[chain] = _mm512_set1_epi64(std::int64_t(rng.stream >> 32));
  }
  const __m512i m0 = _mm512_set1_epi64(kPhiloxM0);
  const __m512i m1 = _mm512_set1_epi64(kPhiloxM1);
  std::uint32_t key0 = std::uint32_t(rng.seed);
  std::uint32_t key1 = std::uint32_t(rng.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m512i k0 = _mm512_set1_epi64(key0);
    const __m512i k1 = _mm512_set1_epi64(key1);
    for (int chain = 0; chain < kChains; ++chain) {
      // Full 64-bit products of the low 32 bits: low half in place, high half by a shift.
      const __m512i product0 = multiply_low_halves(c0[chain], m0);
      const __m512i product1 = multiply_low_halves(c2[chain], m1);
      c0[chain] = _mm512_ternarylogic_epi64(shift_right_32(product1), c1[chain], k0, kXor3);
      c1[chain] = product1;
      c2[chain] = _mm512_ternarylogic_epi64(shift_right_32(product0), c3[chain], k1, kXor3);
      c3[chain] = product0;
    }
    key0 += kPhiloxW0;
    key1 += kPhiloxW1;
  }
  // Lane j's words into group order: words 0|1 and 2|3 paired in 64-bit lanes, then the
  // pairs interleaved (group j's four words at 4j).
  const __m512i first_half = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
  const __m512i second_half = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
  constexpr __mmask16 kUpper = 0xAAAA;  // the upper 32-bit half of every 64-bit lane
  for (int chain = 0; chain < kChains; ++chain) {
    const __m512i w01 = _mm512_mask_mov_epi32(c0[chain], kUpper, shift_left_32(c1[chain]));
    const __m512i w23 = _mm512_mask_mov_epi32(c2[chain], kUpper, shift_left_32(c3[chain]));
    _mm512_storeu_si512(words + 32 * chain, _mm512_permutex2var_epi64(w01, first_half, w23));
    _mm512_storeu_si512(words + 32 * chain + 16, _mm512_permutex2var_epi64(w01, second_half, w23));
  }
}
#elif defined(__AVX2__)
// The 64-bit products a * m of eight 32-bit lanes, split into their high and low halves.
inline void multiply_high_low(__m256i a, __m256i m, __m256i& high, __m256i& low) {
  const __m256i even = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);   // lanes 1, 3, 5, 7
  high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  low = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// kChains x 8 counters (group indices first, first + 1, ... of one stream) through
// Philox4x32-10, written as 32 * kChains consecutive words.

inline void philox_batch(const RandomStream& rng, std::uint64_t first, std::uint32_t* words) {
  __m256i c0[kChains], c1[kChains], c2[kChains], c3[kChains];
  for (int chain = 0; chain < kChains; ++chain) {
    alignas(32) std::uint32_t low_half[8];
    alignas(32) std::uint32_t high_half[8];
    for (int j = 0; j < 8; ++j) {
      const std::uint64_t group = first + std::uint64_t(8 * chain + j);
      low_half[j] = std::uint32_t(group);
      high_half[j] = std::uint32_t(group >> 32);
    }
    c0[chain] = _mm256_load_si256(reinterpret_cast<const __m256i*>(low_half));
    c1[chain] = _mm256_load_si256(reinterpret_cast<const __m256i*>(high_half));
    c2[chain] = _mm256_set1_epi32(int(std::uint32_t(rng.stream)));
    c3[chain] = _mm256_set1_epi32(int(std::uint32_t(rng.stream >> 32)));
  }
  const __m256i m0 = _mm256_set1_epi32(int(kPhiloxM0));
  const __m256i m1 = _mm256_set1_epi32(int(kPhiloxM1));
  std::uint32_t key0 = std::uint32_t(rng.seed);
  std::uint32_t key1 = std::uint32_t(rng.seed >> 32);
  for (int round = 0; round < 10; ++round) {
    const __m256i k0 = _mm256_set1_epi32(int(key0));
    const __m256i k1 = _mm256_set1_epi32(int(key1));
    for (int chain = 0; chain < kChains; ++chain) {
      __m256i high0, low0, high1, low1;
      multiply_high_low(c0[chain], m0, high0, low0);
      multiply_high_low(c2[chain], m1, high1, low1);
      c0[chain] = _mm256_xor_si256(_mm256_xor_si256(high1, c1[chain]), k0);
      c1[chain] = low1;
      c2[chain] = _mm256_xor_si256(_mm256_xor_si256(high0, c3[chain]), k1);
      c3[chain] = low0;
    }
    key0 += kPhiloxW0;
    key1 += kPhiloxW1;
  }
  for (int chain = 0; chain < kChains; ++chain) {
    // Lane j of c0..c3 is group j's words 0..3: transpose into group order.
    const __m256i t0 = _mm256_unpacklo_epi32(c0[chain], c1[chain]);  // g0 w0 w1, g1 w0 w1 | g4, g5
    const __m256i t1 = _mm256_unpacklo_epi32(c2[chain], c3[chain]);  // g0 w2 w3, g1 w2 w3 | g4, g5
    const __m256i t2 = _mm256_unpackhi_epi32(c0[chain], c1[chain]);  // g2, g3 | g6, g7
    const __m256i t3 = _mm256_unpackhi_epi32(c2[chain], c3[chain]);
    const __m256i g04 = _mm256_unpacklo_epi64(t0, t1);
    const __m256i g15 = _mm256_unpackhi_epi64(t0, t1);
    const __m256i g26 = _mm256_unpacklo_epi64(t2, t3);
    const __m256i g37 = _mm256_unpackhi_epi64(t2, t3);
    auto* out = reinterpret_cast<__m256i*>(words + 32 * chain);
    _mm256_storeu_si256(out + 0, _mm256_permute2x128_si256(g04, g15, 0x20));
    _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(g26, g37, 0x20));
    _mm256_storeu_si256(out + 2, _mm256_permute2x128_si256(g04, g15, 0x31));
    _mm256_storeu_si256(out + 3, _mm256_permute2x128_si256(g26, g37, 0x31));
  }
}
#endif

}  // namespace detail

// Never inlined: the span loops call it once per run of 752 elements and keep their
// rounding constants in vector registers, which compete with the generator's 24 state
// registers when it is inlined (minifloat sr spans: 0.30 ns per element, 0.33 inlined;
// thread CPU time on the project's machine).
#if defined(__GNUC__)
[[gnu::noinline]]
#endif
inline void philox_groups(const RandomStream& rng, std::uint64_t first_group, std::size_t groups,
                          std::uint32_t* words) {
  for (std::size_t j = 0; j < groups; j += kPhiloxBatch) {
#if defined(__AVX2__) || defined(__AVX512F__)
    detail::philox_batch(rng, first_group + j, words + 4 * j);
#else
    for (std::size_t g = j; g < j + kPhiloxBatch; ++g) {
      const auto group = rng.group(first_group + g);
      for (int lane = 0; lane < 4; ++lane) words[4 * g + lane] = group.v[lane];
    }
#endif
  }
}

}  // namespace bitsim::formats
