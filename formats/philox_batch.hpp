#pragma once
// The random words of many consecutive Philox counters at once, for the stochastic-rounding
// span loops. Bit-identical to RandomStream::group(): Random123 evaluates Philox4x32-10 one
// counter at a time, which compilers do not vectorise well (the 32x32->64-bit products end
// up shuffled between vector shapes), so with AVX2 eight counters go through the ten rounds
// side by side, one 32-bit lane each, three such registers interleaved. Elsewhere it is
// RandomStream::group in a loop.
// bench/quantize_fingerprint checks the two against each other. Host code only.
#include <cstddef>
#include <cstdint>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "formats/random_stream.hpp"

namespace bitsim::formats {

// words[4*j + l] = rng.group(first_group + j).v[l] for j < groups. `words` holds
// 4 * philox_padded(groups) entries: whole batches of kPhiloxBatch groups are written.
constexpr std::size_t kPhiloxBatch = 24;
constexpr std::size_t philox_padded(std::size_t groups) {
  return (groups + kPhiloxBatch - 1) / kPhiloxBatch * kPhiloxBatch;
}

namespace detail {

#if defined(__AVX2__)
// The 64-bit products a * m of eight 32-bit lanes, split into their high and low halves.
inline void multiply_high_low(__m256i a, __m256i m, __m256i& high, __m256i& low) {
  const __m256i even = _mm256_mul_epu32(a, m);                         // lanes 0, 2, 4, 6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);   // lanes 1, 3, 5, 7
  high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  low = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

// kChains x 8 counters (group indices first, first + 1, ... of one stream) through
// Philox4x32-10, written as 32 * kChains consecutive words. The chains are independent, so
// their rounds overlap in the pipeline (one chain alone waits on each round's multiply).
constexpr int kChains = 3;

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
  // Philox4x32's multipliers and key increments (Salmon et al., SC'11; Random123).
  const __m256i m0 = _mm256_set1_epi32(int(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(int(0xCD9E8D57u));
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
    key0 += 0x9E3779B9u;
    key1 += 0xBB67AE85u;
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

inline void philox_groups(const RandomStream& rng, std::uint64_t first_group, std::size_t groups,
                          std::uint32_t* words) {
  for (std::size_t j = 0; j < groups; j += kPhiloxBatch) {
#if defined(__AVX2__)
    static_assert(kPhiloxBatch == 8 * detail::kChains);
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
