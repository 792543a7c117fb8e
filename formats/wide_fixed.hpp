#pragma once
// 128-bit fixed-point helpers for the logarithmic number system: log2 and exp2 of values
// near 1, computed with integer arithmetic only, so host and device give the same bits
// and nothing depends on the platform's libm.
//
// Numbers are unsigned Q2.126 (value = word / 2^126, so [0, 4)). Every routine truncates;
// the error bounds are stated where they matter. Callers round the results once.
#include <cstdint>
#include <utility>

#include "formats/hd.hpp"

namespace bitsim::formats::wide {

using u128 = unsigned __int128;

inline constexpr int kPoint = 126;  // binary point of the Q2.126 words
inline constexpr u128 kOne = u128(1) << kPoint;

// floor(a * b / 2^shift) for 64 <= shift <= 128; the caller guarantees it fits 128 bits.
BITSIM_HD constexpr u128 mul_shift(u128 a, u128 b, int shift) {
  const std::uint64_t al = std::uint64_t(a), ah = std::uint64_t(a >> 64);
  const std::uint64_t bl = std::uint64_t(b), bh = std::uint64_t(b >> 64);
  const u128 p0 = u128(al) * bl, p1 = u128(al) * bh, p2 = u128(ah) * bl, p3 = u128(ah) * bh;
  const u128 mid = (p0 >> 64) + std::uint64_t(p1) + std::uint64_t(p2);
  const u128 high = p3 + (p1 >> 64) + (p2 >> 64) + (mid >> 64);
  const u128 low = (mid << 64) | std::uint64_t(p0);
  return shift == 128 ? high : (high << (128 - shift)) | (low >> shift);
}

// ln 2 in Q0.128, rounded down.
inline constexpr u128 kLn2 = (u128(0xB17217F7D1CF79ABull) << 64) | 0xC9E3B39803F2F6AFull;

// 1/k in Q2.126, folded at compile time.
template <int K>
inline constexpr u128 kInverse = (u128(1) << kPoint) / K;

// e^t for 0 <= t < 2^-8 (Q2.126): the Taylor series to t^N/N! in Horner form,
// 1 + t(1 + t/2(1 + ... (1 + t/N))), with the divisions as multiplications by kInverse.
template <int N>
BITSIM_HD constexpr u128 exp_small(u128 t) {
  u128 acc = kOne;
  [&]<int... K>(std::integer_sequence<int, K...>) {
    ((acc = kOne + mul_shift(mul_shift(t, acc, kPoint), kInverse<N - K>, kPoint)), ...);
  }(std::make_integer_sequence<int, N>{});
  return acc;
}

// 2^(j / 2^f) for 0 <= j < 2^f, f <= 64, as Q2.126: e^t with t = (j / 2^f) ln 2 < 0.7,
// as (e^(t/256))^(2^8). With t/256 < 2^-8 twelve terms leave a remainder below 2^-126;
// the truncations (about 2^-121 in all) and the cut of t/256 grow 256-fold in the
// squarings: the result is within 2^-112 (relative) of the exact value.
BITSIM_HD constexpr u128 exp2_fraction(std::uint64_t j, int f) {
  if (j == 0) return kOne;
  const u128 position = u128(j) << (128 - f);              // j / 2^f in Q0.128 (f >= 1 here)
  const u128 t = mul_shift(position, kLn2, 128) >> (2 + 8);  // (j / 2^f) ln 2 / 256 in Q2.126
  u128 y = exp_small<12>(t);
  for (int i = 0; i < 8; ++i) y = mul_shift(y, y, kPoint);
  return y;
}

// The first `count` bits after the binary point of log2(m), m in [1, 2) given as Q2.126,
// by repeated squaring: each step squares y and halves it when it reaches 2, which is
// the next bit. `count` <= 64. Squaring doubles the relative error of y each step, so
// after k steps it is below 2^(k+1-126): a bit can come out wrong only if some y lies
// within that of 2, i.e. if log2(m) has a run of about 126 - k equal bits there.
BITSIM_HD constexpr std::uint64_t log2_bits(u128 m, int count) {
  std::uint64_t bits = 0;
  u128 y = m;
  for (int i = 0; i < count; ++i) {
    y = mul_shift(y, y, kPoint);
    const bool bit = y >= (kOne << 1);
    if (bit) y >>= 1;
    bits = (bits << 1) | std::uint64_t(bit);
  }
  return bits;
}

// floor(2^32 * num / den) for num < den (both Q2.126 magnitudes, den >= 2^70), and whether
// the quotient was inexact.
struct Fraction32 {
  std::uint32_t fraction;
  bool inexact;
};
BITSIM_HD constexpr Fraction32 fraction32(u128 num, u128 den) {
  // Both are scaled down by 2^40 first so that num * 2^32 fits; bits shifted out of num
  // count as inexact.
  const bool lost = (num & ((u128(1) << 40) - 1)) != 0 || (den & ((u128(1) << 40) - 1)) != 0;
  const u128 n = (num >> 40) << 32, d = den >> 40;
  return {std::uint32_t(n / d), lost || (n % d) != 0};
}

}  // namespace bitsim::formats::wide
