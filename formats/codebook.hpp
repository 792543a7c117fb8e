#pragma once
// Codebook (quantile / lookup-table) formats: a code is an index into a sorted table of
// values, as in NF4 (QLoRA's NormalFloat), NF3 and user-given tables. Docs:
// formats/README.md, "Codebook formats".
//
//   values  v_0 < v_1 < ... < v_{n-1}, float32 numbers, 2 <= n <= 256
//   code i  = v_i (codes n .. 2^bits - 1 are unused and decode to NaN)
//   bits    = ceil(log2 n)
//
// Rounding works on the sorted value set, the same question every other format answers
// (round_core.hpp): an input strictly between neighbours lo = v_i and hi = v_{i+1} is cut
// to the neighbour on the side of zero given by its sign bit (t = lo for x >= +0, t = hi
// for x <= -0; for codebooks containing 0 that is the neighbour nearer to zero) and the
// discarded part is |x - t| / (hi - lo). So `rne` ties go to the even code index, `rna`
// ties away from zero, `rnz` toward zero, `rz` to t, `ru`/`rd` to hi/lo, `rto` to the odd
// index, `sr` to the far neighbour with probability |x - t| / (hi - lo). Inputs beyond
// the ends, and ±inf, saturate to v_0 / v_{n-1} in every mode; NaN follows the nan rule
// (zero: the code of +0 rounded rne; max: v_{n-1}, or v_0 for a NaN with its sign bit set).
//
// Where lo + hi is exact in double (neighbours within 2^29: every NF table), modes other
// than sr need one comparison with the midpoint. Otherwise, and for sr, the discarded part
// is computed exactly in integers: lo, hi and x are scaled by
// 2^(34 - q), where 2^q is the float32 quantum of the finer of lo and hi, x rounded to odd
// on that grid (which keeps every decision: every midpoint and stochastic threshold lies
// on an even grid point). Nonzero magnitudes within a factor 2^64 keep this within 128 bits
// (validate() refuses wider tables). Everything here is constexpr and BITSIM_HD, no
// allocation: a Codebook is plain data (a fixed array) that CUDA kernels can take by value.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/hd.hpp"
#include "formats/policies.hpp"
#include "formats/round_core.hpp"
#include "formats/rounding.hpp"

namespace bitsim::formats {

struct Codebook {
  static constexpr int kMaxValues = 256;

  int count = 0;                  // n
  float values[kMaxValues] = {};  // v_0 < ... < v_{n-1}; the rest stay 0
  NanRule nan_rule = NanRule::zero;

  friend constexpr bool operator==(const Codebook&, const Codebook&) = default;

  BITSIM_HD constexpr int bits() const {
    int b = 1;
    while ((1 << b) < count) ++b;
    return b;
  }
  BITSIM_HD constexpr std::uint64_t mask() const { return (std::uint64_t(1) << bits()) - 1; }
  BITSIM_HD constexpr bool is_unused(std::uint64_t code) const { return (code & mask()) >= std::uint64_t(count); }

  double max_value() const { return values[count - 1]; }
  double min_value() const { return values[0]; }
  double min_positive() const;  // smallest value > 0 (0 when there is none)
  double spacing_near_one() const;
  std::uint64_t finite_code_count() const { return std::uint64_t(count); }

  // Throws std::invalid_argument unless 2 <= count <= 256, the values are finite, strictly
  // increasing float32 numbers, and nonzero magnitudes lie within a factor 2^64.
  void validate() const;
};

// A codebook from any list of values: each rounded to nearest float32, then sorted.
// Throws std::invalid_argument for duplicates (after rounding), too few or too many values.
Codebook make_codebook(std::vector<double> values, NanRule nan_rule = NanRule::zero);

// NF<k>, k = 2..8 (formats/README.md, "Codebook formats"): k = 4 is the published NF4 table
// (QLoRA, Dettmers et al. 2023, appendix E; bitsandbytes); other k are built by the same
// normal-quantile construction with outer probability normal_float_outer_probability(k).
Codebook normal_float(int bits);
// QLoRA's outer probability generalised to n = 2^k codes: 1 - (1/(2(n-1)) + 1/(2n)) / 2
// (0.96770833 for k = 4; bitsandbytes hard-codes 0.9677083).
double normal_float_outer_probability(int bits);
// The construction for any k = 2..8 and outer probability P (0: the one above):
// 2^(k-1) positive and 2^(k-1) - 1 negative normal quantiles plus an exact zero,
// normalised to [-1, 1]. construction(4, 0.9677083) is the published NF4 table.
Codebook normal_float_construction(int bits, double outer_probability);
// The standard normal quantile function Phi^-1(p), 0 < p < 1, to about 1 ulp of double.
double normal_quantile(double p);

// "nf4", "nf3", "nfK", "nf<bits=K>", "nf4<nan=max>", "codebook<v0,v1,...[,nan=max]>";
// nullopt when the spec is not a codebook spec; throws std::invalid_argument when it is one
// but malformed.
std::optional<Codebook> parse_codebook_spec(std::string_view spec);
// Canonical spelling: "nfK" (with "<nan=max>" where set) for the NF tables, else
// "codebook<...>" with each value in the shortest decimal that reads back as the float.
std::string to_spec(const Codebook& f);

namespace codebook_detail {

// Largest i with values[i] <= x, for values[0] <= x < values[count-1] (binary search).
BITSIM_HD constexpr int interval_of(const Codebook& f, double x) {
  int lo = 0, hi = f.count - 1;  // invariant: values[lo] <= x < values[hi]
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (double(f.values[mid]) <= x) lo = mid;
    else hi = mid;
  }
  return lo;
}

// The float32 quantum exponent of v (v != 0): 2^q is the spacing of float32 at v.
BITSIM_HD constexpr int quantum_exponent(float v) {
  const auto bits = std::bit_cast<std::uint32_t>(v);
  const int biased = int((bits >> 23) & 0xff);
  return (biased == 0 ? 1 : biased) - 127 - 23;
}

// v * 2^shift as a signed 128-bit integer, v a float32 that is a multiple of 2^-shift.
BITSIM_HD constexpr __int128 scaled_value(float v, int shift) {
  const auto bits = std::bit_cast<std::uint32_t>(v);
  const int biased = int((bits >> 23) & 0xff);
  const std::uint32_t significand = (bits & 0x7fffff) | (biased == 0 ? 0u : 0x800000u);
  if (significand == 0) return 0;
  const int exponent = (biased == 0 ? 1 : biased) - 127 - 23 + shift;  // >= 0 for nonzero v
  const __int128 magnitude = __int128(significand) << exponent;
  return (bits >> 31) ? -magnitude : magnitude;
}

// x * 2^shift rounded to odd onto the integers (x finite double).
BITSIM_HD constexpr __int128 scaled_to_odd(double x, int shift) {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const int biased = int((bits >> 52) & 0x7ff);
  const std::uint64_t significand =
      (bits & ((std::uint64_t(1) << 52) - 1)) | (biased == 0 ? 0 : std::uint64_t(1) << 52);
  const int exponent = (biased == 0 ? 1 : biased) - 1023 - 52 + shift;
  __int128 magnitude = 0;
  if (significand == 0) return 0;
  if (exponent >= 0) {
    magnitude = __int128(significand) << exponent;
  } else if (exponent > -64) {
    const int drop = -exponent;
    const std::uint64_t kept = significand >> drop;
    const bool sticky = (significand & ((std::uint64_t(1) << drop) - 1)) != 0;
    magnitude = __int128(kept | std::uint64_t(sticky));
  } else {
    magnitude = significand != 0 ? 1 : 0;
  }
  return (bits >> 63) ? -magnitude : magnitude;
}

// The discarded part of x in (lo, hi) measured from t (lo or hi) in units of hi - lo:
// `exact_fraction` gives its top 32 bits and the sticky bit (stochastic rounding); without
// it, a stand-in with the same relation to 0 and 1/2, which is all other modes read.
BITSIM_HD constexpr Discarded discarded_part(float lo, float hi, bool from_hi, double x, bool exact_fraction) {
  int q = 1000;
  if (lo != 0) q = quantum_exponent(lo);
  if (hi != 0) q = quantum_exponent(hi) < q ? quantum_exponent(hi) : q;
  const int shift = 34 - q;
  const __int128 n_lo = scaled_value(lo, shift), n_hi = scaled_value(hi, shift);
  const __int128 n_x = scaled_to_odd(x, shift);
  using u128 = unsigned __int128;
  const u128 width = u128(n_hi - n_lo);
  u128 diff = from_hi ? u128(n_hi - n_x) : u128(n_x - n_lo);
  if (!exact_fraction) {
    if (diff == 0) return {};
    const u128 twice = diff << 1;
    if (twice == width) return {0x80000000u, false};
    return {twice > width ? 0xC0000000u : 0x40000000u, false};
  }
  // Long division: 32 fraction bits of diff / width (diff < width < 2^125).
  std::uint32_t fraction = 0;
  for (int b = 0; b < 32; ++b) {
    diff <<= 1;
    const bool bit = diff >= width;
    if (bit) diff -= width;
    fraction = (fraction << 1) | std::uint32_t(bit);
  }
  return {fraction, diff != 0};
}

}  // namespace codebook_detail

// The value of a code: v_code in Real (exact: the values are float32), NaN for unused codes.
template <class Real>
BITSIM_HD constexpr Real decode(const Codebook& f, std::uint64_t code) {
  code &= f.mask();
  if (code >= std::uint64_t(f.count)) return std::numeric_limits<Real>::quiet_NaN();
  return Real(f.values[code]);
}

template <Rounding Mode, class Real>
BITSIM_HD constexpr std::uint64_t encode(const Codebook& f, Real input, std::uint32_t random = 0,
                                         int random_bits = 32) {
  const double x = double(input);  // float -> double is exact
  const bool negative = std::signbit(x);
  if (x != x) {
    if (f.nan_rule == NanRule::max) return negative ? 0 : std::uint64_t(f.count - 1);
    return encode<Rounding::nearest_even>(f, 0.0);
  }
  if (x <= double(f.values[0])) return 0;  // saturate (also -inf)
  if (x >= double(f.values[f.count - 1])) return std::uint64_t(f.count - 1);
  const int i = codebook_detail::interval_of(f, x);
  if (x == double(f.values[i])) return std::uint64_t(i);
  // t: the neighbour on the side of zero for x's sign; a: the other one.
  const int t = negative ? i + 1 : i;
  const int a = negative ? i : i + 1;
  Discarded d;
  const double lo = f.values[i], hi = f.values[i + 1];
  const double sum = lo + hi, lo_back = sum - hi;
  if (Mode != Rounding::stochastic && lo_back == lo && sum - lo_back == hi) {
    // The common case: lo + hi is exact in double (always, for values within 2^29 of each
    // other), so the midpoint is too and one comparison decides every mode but sr.
    const double mid = sum * 0.5;
    if (x == mid) d = {0x80000000u, false};
    else d = {(x > mid) != negative ? 0xC0000000u : 0x40000000u, false};
  } else {
    d = codebook_detail::discarded_part(f.values[i], f.values[i + 1], negative, x, Mode == Rounding::stochastic);
  }
  return std::uint64_t(round_up<Mode>((t & 1) != 0, d, negative, random, random_bits) ? a : t);
}

// Runtime-mode entry point; `random` is the element's word (RandomStream::word(index)).
template <class Real>
BITSIM_HD constexpr std::uint64_t encode(const Codebook& f, Real x, RoundingSpec r = {},
                                         std::uint32_t random = 0) {
  return with_rounding_mode(r.mode, [&]<Rounding M>() { return encode<M>(f, x, random, r.random_bits); });
}

// The code of a value already in the codebook (decode's output).
template <class Real>
BITSIM_HD constexpr std::uint64_t pack(const Codebook& f, Real value) {
  return encode<Rounding::nearest_even>(f, value);
}

}  // namespace bitsim::formats
