// The block kernels against an independent reference: exact rational arithmetic
// (Boost.Multiprecision cpp_rational) computing amax, the scale and every element by
// definition, rounding onto value sets enumerated from the codes. It shares no code with
// the fast path except Format::decode (to enumerate the value sets).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <random>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "formats/block/block_quantize.hpp"

using namespace bitsim::formats;
using Rational = boost::multiprecision::cpp_rational;

namespace {

Rational pow2(int e) {
  const boost::multiprecision::cpp_int p = pow(boost::multiprecision::cpp_int(2), std::abs(e));
  return e >= 0 ? Rational(p) : Rational(1) / Rational(p);
}

Rational exact(double x) {
  int e = 0;
  const double m = std::frexp(x, &e);
  return Rational(static_cast<long long>(std::ldexp(m, 53))) * pow2(e - 53);
}

// A format's finite non-negative values, ascending, with their codes (zero: code 0).
struct ValueSet {
  std::vector<std::pair<Rational, std::uint64_t>> values;
  bool negative_zero = false;
  std::uint64_t sign_bit = 0;  // the code bit of negative values; 0 for integers
  bool integer = false;
  int bits = 0;

  explicit ValueSet(const Format& f) : bits(f.bits()) {
    integer = f.kind() == "fixed";
    const std::uint64_t n = std::uint64_t(1) << f.bits();
    for (std::uint64_t c = 0; c < n; ++c) {
      const double v = f.decode(c);
      if (std::isnan(v) || std::isinf(v) || v < 0 || std::signbit(v)) continue;
      values.push_back({exact(v), c});
    }
    std::sort(values.begin(), values.end());
    if (!integer) {
      sign_bit = f.min_value() < 0 ? std::uint64_t(1) << (f.bits() - 1) : 0;
      negative_zero = sign_bit != 0 && std::signbit(f.decode(sign_bit));
    }
  }
  Rational max() const { return values.back().first; }
  Rational min_positive() const { return values[0].first > 0 ? values[0].first : values[1].first; }
  std::pair<Rational, std::uint64_t> min_positive_entry() const { return values[0].first > 0 ? values[0] : values[1]; }

  // Rounds v onto the set with `mode` (no stochastic), saturating; returns (value, code).
  std::pair<Rational, std::uint64_t> round(const Rational& v, Rounding mode, const Format& f) const {
    const bool negative = v < 0;
    const Rational a = negative ? Rational(-v) : v;
    // Work on magnitudes: directed modes swap for negative values.
    Rounding m = mode;
    if (negative && m == Rounding::toward_positive) m = Rounding::toward_zero;
    else if (negative && m == Rounding::toward_negative) m = Rounding::toward_positive;
    else if (m == Rounding::toward_negative) m = Rounding::toward_zero;
    std::pair<Rational, std::uint64_t> r;
    auto hi = std::lower_bound(values.begin(), values.end(), std::make_pair(a, std::uint64_t(0)),
                               [](const auto& x, const auto& y) { return x.first < y.first; });
    if (hi == values.end()) {
      r = values.back();
    } else if (hi->first == a) {
      r = *hi;
    } else {
      const auto lo = hi - 1;
      const Rational dlo = a - lo->first, dhi = hi->first - a;
      const bool lo_even = (lo->second & 1) == 0;
      bool up = false;
      switch (m) {
        case Rounding::nearest_even: up = dhi < dlo || (dhi == dlo && !lo_even); break;
        case Rounding::nearest_away: up = dhi <= dlo; break;
        case Rounding::nearest_zero: up = dhi < dlo; break;
        case Rounding::toward_positive: up = true; break;
        case Rounding::toward_zero: up = false; break;
        case Rounding::odd: up = lo_even; break;
        default: FAIL("unsupported mode");
      }
      r = up ? *hi : *lo;
    }
    if (negative) {
      r.first = -r.first;
      if (integer) r.second = std::uint64_t(-std::int64_t(r.second)) & ((std::uint64_t(1) << bits) - 1);
      else if (r.first != 0 || negative_zero) r.second |= sign_bit;
    }
    (void)f;
    return r;
  }
};

// Value sets are costly to enumerate (65536 rationals for fp16/bf16): build each once.
const ValueSet& value_set(const std::string& spec) {
  static std::map<std::string, ValueSet> sets;
  auto it = sets.find(spec);
  if (it == sets.end()) it = sets.emplace(spec, ValueSet(Format::parse(spec))).first;
  return it->second;
}

// float32 as a scale format: too many codes to enumerate, so rounded by search: the
// largest float at or below v, found from a double approximation by exact comparisons.
// Same interface as ValueSet for non-negative values (codes are the float patterns).
struct Float32Set {
  static std::pair<Rational, std::uint64_t> entry(float f) { return {exact(f), std::bit_cast<std::uint32_t>(f)}; }
  Rational max() const { return exact(std::numeric_limits<float>::max()); }
  Rational min_positive() const { return exact(std::numeric_limits<float>::denorm_min()); }
  std::pair<Rational, std::uint64_t> min_positive_entry() const { return entry(std::numeric_limits<float>::denorm_min()); }

  // v >= 0; nearest_even or toward_zero, saturating at the largest float.
  std::pair<Rational, std::uint64_t> round(const Rational& v, Rounding mode, const Format&) const {
    const float inf = std::numeric_limits<float>::infinity();
    float lo = std::min(float(v.convert_to<double>()), std::numeric_limits<float>::max());
    while (lo > 0 && exact(lo) > v) lo = std::nextafter(lo, 0.0f);
    while (lo < std::numeric_limits<float>::max() && exact(std::nextafter(lo, inf)) <= v) lo = std::nextafter(lo, inf);
    if (exact(lo) == v || lo == std::numeric_limits<float>::max() || mode == Rounding::toward_zero) return entry(lo);
    const float hi = std::nextafter(lo, inf);
    const Rational dlo = v - exact(lo), dhi = exact(hi) - v;
    const bool up = dhi < dlo || (dhi == dlo && (std::bit_cast<std::uint32_t>(lo) & 1) != 0);
    return entry(up ? hi : lo);
  }
};

// The sum of squared errors of a block [c0, c1) of row r under scale s (mse rule).
Rational squared_error(const std::vector<float>& x, std::size_t base, std::size_t c0, std::size_t c1,
                       const Rational& s, const ValueSet& elem, const BlockFormat& f) {
  Rational sum = 0;
  for (std::size_t c = c0; c < c1; ++c) {
    const Rational v = exact(x[base + c]);
    const Rational d = v - elem.round(v / s, f.rounding().mode, f.element()).first * s;
    sum += d * d;
  }
  return sum;
}

struct Expected {
  std::vector<std::uint64_t> elements, scales;
  std::vector<float> values;
};

// The definition of a generic symmetric block format, one 1-D block at a time.
template <class ScaleSet>
Expected reference(const BlockFormat& f, const std::vector<float>& x, std::size_t rows, std::size_t cols,
                   const ValueSet& elem, const ScaleSet& scale) {
  Expected out;
  out.elements.resize(x.size());
  out.values.resize(x.size());
  const std::size_t k = std::size_t(f.shape().cols);
  const Rational elem_max = elem.max();
  int emax = 0;
  while (pow2(emax + 1) <= elem_max) ++emax;
  while (pow2(emax) > elem_max) --emax;
  int scale_lo = 0, scale_hi = 0;  // powers of two the scale holds
  while (pow2(scale_lo) > scale.min_positive()) --scale_lo;
  while (pow2(scale_lo) < scale.min_positive()) ++scale_lo;
  while (pow2(scale_hi + 1) <= scale.max()) ++scale_hi;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c0 = 0; c0 < cols; c0 += k) {
      const std::size_t c1 = std::min(cols, c0 + k);
      Rational amax = 0;
      bool special = false;
      for (std::size_t c = c0; c < c1; ++c) {
        const float v = x[r * cols + c];
        if (!std::isfinite(v)) { special = true; continue; }
        const Rational a = abs(exact(v));
        if (a > amax) amax = a;
      }
      if (special) {
        out.scales.push_back(f.scale().encode(std::nan("")));
        for (std::size_t c = c0; c < c1; ++c) {
          out.elements[r * cols + c] = 0;
          out.values[r * cols + c] = NAN;
        }
        continue;
      }
      Rational s;
      std::uint64_t scale_code = 0;
      if (amax == 0) {
        s = exact(f.scale().decode(0));
      } else if (f.rule() == ScaleRule::amax) {
        auto rounded = scale.round(amax / elem_max, Rounding::nearest_even, f.scale());
        if (rounded.first == 0) rounded = scale.min_positive_entry();
        s = rounded.first;
        scale_code = rounded.second;
      } else {
        int e = 0;  // floor(log2 amax)
        while (pow2(e + 1) <= amax) ++e;
        while (pow2(e) > amax) --e;
        if (f.rule() == ScaleRule::floor || f.rule() == ScaleRule::mse) {
          e -= emax;
        } else {
          int ceil_e = e - emax - 1;  // smallest e with amax <= elem_max 2^e
          while (amax > elem_max * pow2(ceil_e)) ++ceil_e;
          e = ceil_e;
          if (f.rule() == ScaleRule::round) {
            const Rational ratio = amax / elem_max;
            if (ratio * ratio < pow2(2 * ceil_e - 1)) e = ceil_e - 1;
          }
        }
        e = std::clamp(e, scale_lo, scale_hi);
        if (f.rule() == ScaleRule::mse) {
          // The floor rule's exponent and its neighbours -1 .. +2 (each clamped), the one
          // with the least exact squared error; ties keep the first (smaller) exponent.
          // (The library sums in double: it could differ only where two errors agree to
          // ~1e-16 without being equal, which random blocks do not produce.)
          const int floor_e = e;
          Rational best_error = -1;
          for (int candidate = floor_e - 1; candidate <= floor_e + 2; ++candidate) {
            const int clamped = std::clamp(candidate, scale_lo, scale_hi);
            const Rational error = squared_error(x, r * cols, c0, c1, pow2(clamped), elem, f);
            if (best_error < 0 || error < best_error) {
              best_error = error;
              e = clamped;
            }
          }
        }
        s = pow2(e);
        scale_code = scale.round(s, Rounding::toward_zero, f.scale()).second;
      }
      out.scales.push_back(scale_code);
      for (std::size_t c = c0; c < c1; ++c) {
        const std::size_t i = r * cols + c;
        auto [q, code] = elem.round(s == 0 ? Rational(0) : Rational(exact(x[i]) / s), f.rounding().mode, f.element());
        if (q == 0 && std::signbit(x[i]) && elem.negative_zero) code |= elem.sign_bit;
        out.elements[i] = code;
        const double value = static_cast<double>(q * s);  // exact: few significant bits
        out.values[i] = (q == 0 && std::signbit(x[i]) && elem.negative_zero) ? -0.0f : float(value);
      }
    }
  }
  return out;
}

// Blocks of several distributions: normal, heavy tails, one outlier, exact ties on the
// element lattice, tiny (subnormal) and huge magnitudes.
std::vector<float> random_blocks(std::size_t n, std::size_t k, std::mt19937_64& rng) {
  std::vector<float> x(n);
  std::normal_distribution<float> normal;
  std::student_t_distribution<float> heavy(1.5f);
  std::uniform_int_distribution<int> kind(0, 5), small(-16, 16), exponent(-140, 120);
  for (std::size_t b = 0; b < n; b += k) {
    const int which = kind(rng);
    const float scale = std::ldexp(1.0f, exponent(rng));
    for (std::size_t i = b; i < std::min(n, b + k); ++i) {
      switch (which) {
        case 0: x[i] = normal(rng); break;
        case 1: x[i] = heavy(rng); break;
        case 2: x[i] = i == b + 3 ? 1000.0f * normal(rng) : normal(rng); break;
        case 3: x[i] = float(small(rng)) / 4.0f; break;  // ties and exact values
        case 4: x[i] = normal(rng) * 1e-40f; break;       // float32 subnormals
        default: x[i] = normal(rng) * scale; break;
      }
    }
  }
  return x;
}

// BITSIM_BLOCK_REFERENCE_ROWS=N widens every case (N rows of 6 blocks) for long runs.
std::size_t rows_per_case() {
  const char* text = std::getenv("BITSIM_BLOCK_REFERENCE_ROWS");
  return text ? std::max<std::size_t>(3, std::strtoul(text, nullptr, 10)) : 6;
}

bool same_bits(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

}  // namespace

TEST_CASE("generic block formats match the exact rational reference") {
  const char* elements[] = {"e5m2", "e4m3fn", "e3m2fn", "e2m3fn", "e2m1fn", "int<bits=8,frac=6,narrow=true>",
                            "int<bits=4,narrow=true>"};
  const char* scales_rules[][2] = {{"e8m0fnu", "floor"}, {"e8m0fnu", "ceil"}, {"e8m0fnu", "round"},
                                   {"ue4m3", "amax"},   {"ue5m3", "amax"},  {"fp16", "amax"},
                                   {"bf16", "amax"},    {"fp16", "floor"}, {"e8m0fnu", "mse"},
                                   {"fp32", "amax"}};
  const char* modes[] = {"rne", "rna", "rnz", "ru", "rd", "rz", "rto"};
  std::mt19937_64 rng(20261125);
  std::size_t blocks = 0;
  for (const char* e : elements) {
    const ValueSet& elem = value_set(e);
    for (const auto& sr : scales_rules) {
      const bool fp32_scale = std::string(sr[0]) == "fp32";  // searched, not enumerated
      const ValueSet& scale = value_set(fp32_scale ? "e8m0fnu" : sr[0]);
      for (const char* m : modes) {
        const std::string spec = std::string("mx<elem=") + e + ",scale=" + sr[0] + ",block=16,rule=" + sr[1] +
                                 ",round=" + m + ">";
        CAPTURE(spec);
        const BlockFormat f = BlockFormat::parse(spec);
        const std::size_t rows = rows_per_case(), cols = 16 * 5 + 7;  // a short last block per row
        std::vector<float> x = random_blocks(rows * cols, 16, rng);
        x[5] = INFINITY;  // a block with Inf, one with NaN, one all zero (with a -0)
        x[cols + 40] = NAN;
        for (std::size_t c = 16; c < 32; ++c) x[2 * cols + c] = 0.0f;
        x[2 * cols + 20] = -0.0f;
        const Expected want = fp32_scale ? reference(f, x, rows, cols, elem, Float32Set{})
                                         : reference(f, x, rows, cols, elem, scale);
        const BlockEncoding got = block_encode(f, x, rows, cols);
        std::vector<float> values(x.size());
        block_quantize(f, x, rows, cols, values);
        blocks += got.scales.size();
        REQUIRE(got.scales.size() == want.scales.size());
        for (std::size_t b = 0; b < want.scales.size(); ++b) {
          CAPTURE(b);
          CHECK(got.scales[b] == want.scales[b]);
        }
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (got.elements[i] != want.elements[i] || !same_bits(values[i], want.values[i])) {
            if (++mismatches <= 3) {
              CAPTURE(i);
              CAPTURE(x[i]);
              CHECK(got.elements[i] == want.elements[i]);
              CHECK(values[i] == want.values[i]);
            }
          }
        }
        CHECK(mismatches == 0);
      }
    }
  }
  MESSAGE("blocks compared: " << blocks);
}

// NVFP4, as the spec file states the Transformer Engine recipe: every step a float32
// operation. Here each step is done in double and rounded to float once (for + - * /
// of floats, double then float is the correctly rounded float result), and the E4M3 and
// E2M1 roundings go through the enumerated value sets.
TEST_CASE("nvfp4 matches its float32 recipe step by step") {
  const ValueSet e2m1(Format::parse("e2m1fn")), ue4m3(Format::parse("e4m3fn"));
  std::mt19937_64 rng(4);
  for (const char* spec : {"nvfp4", "nvfp4<round=rz>", "nvfp4<round=rna>", "nvfp4<block=16x16>"}) {
    CAPTURE(spec);
    const BlockFormat f = BlockFormat::parse(spec);
    for (int trial = 0; trial < 20; ++trial) {
      const std::size_t rows = 35, cols = 16 * 4 + 5;
      std::vector<float> x = random_blocks(rows * cols, 16, rng);
      if (trial == 1) std::fill(x.begin(), x.end(), 0.0f);
      if (trial == 2) x[77] = NAN;
      if (trial == 3) for (auto& v : x) v *= 1e-38f;  // s_enc clamps at the largest float
      float tensor_amax = 0;
      for (float v : x) if (std::isfinite(v)) tensor_amax = std::max(tensor_amax, std::fabs(v));
      float s_enc = tensor_amax == 0 ? 1.0f : float(2688.0 / double(tensor_amax));
      s_enc = std::min(s_enc, std::numeric_limits<float>::max());
      const float t = float(double(s_enc) * double(float(1.0 / 6.0)));
      const BlockEncoding got = block_encode(f, x, rows, cols);
      std::vector<float> values(x.size());
      block_quantize(f, x, rows, cols, values);
      CHECK(got.tensor_scale == s_enc);
      const BlockGrid g = block_grid(f, rows, cols);
      std::size_t mismatches = 0;
      for (std::size_t b = 0; b < g.block_count(); ++b) {
        const std::size_t r0 = b / g.grid_cols * g.block_rows, c0 = b % g.grid_cols * g.block_cols;
        const std::size_t r1 = std::min(rows, r0 + g.block_rows), c1 = std::min(cols, c0 + g.block_cols);
        float amax = 0;
        bool special = false;
        for (std::size_t r = r0; r < r1; ++r)
          for (std::size_t c = c0; c < c1; ++c) {
            special |= !std::isfinite(x[r * cols + c]);
            amax = std::max(amax, std::fabs(x[r * cols + c]));
          }
        if (special) {
          CHECK(got.scales[b] == 0x7F);
          for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t c = c0; c < c1; ++c) CHECK(std::isnan(values[r * cols + c]));
          continue;
        }
        const auto [stored, stored_code] = ue4m3.round(exact(float(double(amax) * double(t))),
                                                        Rounding::nearest_even, f.scale());
        CHECK(got.scales[b] == stored_code);
        const double stored_d = static_cast<double>(stored);
        const float factor = stored_d == 0 ? 0.0f : float(double(s_enc) / stored_d);
        for (std::size_t r = r0; r < r1; ++r)
          for (std::size_t c = c0; c < c1; ++c) {
            const std::size_t i = r * cols + c;
            const float y = float(double(x[i]) * double(factor));
            auto [q, code] = e2m1.round(exact(y), f.rounding().mode, f.element());
            if (q == 0 && std::signbit(y)) code |= e2m1.sign_bit;
            const double qs = static_cast<double>(q) * stored_d;
            float want = float(qs / double(s_enc));
            if (q == 0 && std::signbit(y)) want = -0.0f;
            if ((got.elements[i] != code || !same_bits(values[i], want)) && ++mismatches <= 3) {
              CAPTURE(i);
              CAPTURE(x[i]);
              CHECK(got.elements[i] == code);
              CHECK(values[i] == want);
            }
          }
      }
      CHECK(mismatches == 0);
    }
  }
}

namespace {

// v rounded to an integer with `mode` (no stochastic), exactly: on the magnitude, with the
// directed modes swapped for negative values, as ValueSet::round does.
Rational round_to_integer(const Rational& v, Rounding mode) {
  using boost::multiprecision::cpp_int;
  const bool negative = v < 0;
  const Rational a = negative ? Rational(-v) : v;
  Rounding m = mode;
  if (negative && m == Rounding::toward_positive) m = Rounding::toward_zero;
  else if (negative && m == Rounding::toward_negative) m = Rounding::toward_positive;
  else if (m == Rounding::toward_negative) m = Rounding::toward_zero;
  const cpp_int whole = numerator(a) / denominator(a);  // floor: a >= 0
  const Rational fraction = a - Rational(whole);
  const bool odd = (whole & 1) != 0;
  const Rational half(1, 2);
  bool up = false;
  switch (m) {
    case Rounding::nearest_even: up = fraction > half || (fraction == half && odd); break;
    case Rounding::nearest_away: up = fraction >= half; break;
    case Rounding::nearest_zero: up = fraction > half; break;
    case Rounding::toward_positive: up = fraction > 0; break;
    case Rounding::toward_zero: up = false; break;
    case Rounding::odd: up = fraction > 0 && !odd; break;
    default: FAIL("unsupported mode");
  }
  const Rational r = Rational(whole) + (up ? 1 : 0);
  return negative ? Rational(-r) : r;
}

// Asymmetric group INT by definition: the range [min(lo, 0), max(hi, 0)], scale =
// range / (2^b - 1) rounded (rne) into the scale format (its smallest value if that gives
// 0), z = clamp(rne(-lo / s), 0, 2^b - 1), q = clamp(round(x / s) + z, 0, 2^b - 1),
// value = (q - z) * s. All-zero ranges: scale code 0, elements 0.
template <class ScaleSet>
void check_asymmetric(const BlockFormat& f, const std::vector<float>& x, std::size_t rows, std::size_t cols,
                      const ScaleSet& scale) {
  const BlockEncoding got = block_encode(f, x, rows, cols);
  std::vector<float> values(x.size());
  block_quantize(f, x, rows, cols, values);
  const std::size_t k = std::size_t(f.shape().cols);
  const Rational top = Rational(f.element().max_value());  // 2^b - 1
  std::size_t b = 0, mismatches = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c0 = 0; c0 < cols; c0 += k, ++b) {
      const std::size_t c1 = std::min(cols, c0 + k);
      Rational lo = 0, hi = 0;
      bool special = false;
      for (std::size_t c = c0; c < c1; ++c) {
        const float v = x[r * cols + c];
        if (!std::isfinite(v)) { special = true; continue; }
        lo = std::min(lo, exact(v));
        hi = std::max(hi, exact(v));
      }
      if (special) {
        CHECK(f.scale().is_nan_code(got.scales[b]));
        continue;
      }
      Rational s = 0, z = 0;
      std::uint64_t code = 0;
      if (hi != lo) {
        auto rounded = scale.round((hi - lo) / top, Rounding::nearest_even, f.scale());
        if (rounded.first == 0) rounded = scale.min_positive_entry();
        s = rounded.first;
        code = rounded.second;
        z = std::clamp(round_to_integer(-lo / s, Rounding::nearest_even), Rational(0), top);
      }
      CHECK(got.scales[b] == code);
      CHECK(Rational(got.zero_points[b]) == z);
      for (std::size_t c = c0; c < c1; ++c) {
        const std::size_t i = r * cols + c;
        const Rational q =
            s == 0 ? Rational(0)
                   : std::clamp(round_to_integer(exact(x[i]) / s, f.rounding().mode) + z, Rational(0), top);
        const float want = float(static_cast<double>((q - z) * s));  // exact in double, one rounding
        if ((Rational(got.elements[i]) != q || !same_bits(values[i], want)) && ++mismatches <= 3) {
          CAPTURE(i);
          CAPTURE(x[i]);
          CHECK(Rational(got.elements[i]) == q);
          CHECK(values[i] == want);
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("asymmetric group INT matches the exact rational reference") {
  std::mt19937_64 rng(64);
  const char* modes[] = {"rne", "rna", "rnz", "ru", "rd", "rz", "rto"};
  for (const char* base : {"int4:asym:g16", "int4:asym:g16:bf16", "int4:asym:g16:fp32", "int8:asym:g16",
                           "int3:asym:g16:bf16"}) {
    for (const char* m : modes) {
      const std::string spec_text = base, mode_text = m;
      CAPTURE(spec_text);
      CAPTURE(mode_text);
      BlockDescription d = BlockFormat::parse(base).description();
      d.rounding = parse_rounding(m);
      const BlockFormat f(d);
      const std::size_t rows = rows_per_case(), cols = 16 * 5 + 7;
      std::vector<float> x = random_blocks(rows * cols, 16, rng);
      x[5] = INFINITY;
      for (std::size_t c = 16; c < 32; ++c) x[cols + c] = 0.0f;  // an all-zero block
      for (std::size_t c = 32; c < 48; ++c) x[cols + c] = std::fabs(x[cols + c]);  // lo > 0: range from 0
      const std::string scale = f.description().scale;
      if (scale == "fp32") check_asymmetric(f, x, rows, cols, Float32Set{});
      else check_asymmetric(f, x, rows, cols, value_set(scale));
    }
  }
}

// llama.cpp's Q8_0, Q4_0 and Q4_1 as ggml's reference quantizers define them, every step
// a float32 operation: recomputed here in double and rounded to float after each step
// (exact for one + - * /), with the FP16 roundings through the enumerated value set.
TEST_CASE("q8_0, q4_0 and q4_1 match ggml's float32 steps") {
  // (random_blocks holds subnormal blocks: there 1/d overflows, see the rule for id.)
  const ValueSet half(Format::parse("fp16"));
  const Format fp16 = Format::parse("fp16");
  // fp16 code and value of a float (rne, saturating; zeros keep the input's sign).
  const auto to_half = [&](float v) {
    auto [value, code] = half.round(exact(v), Rounding::nearest_even, fp16);
    if (v == 0 && std::signbit(v)) code = 0x8000;
    const float h = static_cast<float>(static_cast<double>(value));
    return std::make_pair(h == 0 ? std::copysign(0.0f, v) : h, code);
  };
  const auto f32 = [](double v) { return float(v); };
  std::mt19937_64 rng(80);
  for (const char* spec : {"q8_0", "q4_0", "q4_1"}) {
    const std::string spec_text = spec;
    CAPTURE(spec_text);
    const BlockFormat f = BlockFormat::parse(spec);
    const Recipe recipe = f.recipe();
    for (int trial = 0; trial < 10; ++trial) {
      const std::size_t rows = 7, cols = 32 * 3 + 9;
      std::vector<float> x = random_blocks(rows * cols, 32, rng);
      if (trial == 1) std::fill(x.begin(), x.begin() + 64, 0.0f);
      if (trial == 2) x[40] = NAN;
      const BlockEncoding got = block_encode(f, x, rows, cols);
      std::vector<float> values(x.size());
      block_quantize(f, x, rows, cols, values);
      std::size_t b = 0, mismatches = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c0 = 0; c0 < cols; c0 += 32, ++b) {
          const std::size_t c1 = std::min(cols, c0 + 32);
          float amax = 0, signed_max = 0, lo = std::numeric_limits<float>::max(), hi = -lo;
          bool special = false;
          for (std::size_t c = c0; c < c1; ++c) {
            const float v = x[r * cols + c];
            special |= !std::isfinite(v);
            if (std::fabs(v) > amax) {
              amax = std::fabs(v);
              signed_max = v;  // the first element of largest magnitude (Q4_0)
            }
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
          if (special) {
            CHECK(f.scale().is_nan_code(got.scales[b]));
            continue;
          }
          const float d = recipe == Recipe::ggml_q8_0   ? f32(double(amax) / 127.0)
                          : recipe == Recipe::ggml_q4_0 ? f32(double(signed_max) / -8.0)
                                                        : f32((double(f32(double(hi) - double(lo)))) / 15.0);
          // id = 1/d, 0 for d = 0 and where 1/d overflows (the documented rule; ggml: UB).
          const float id = d != 0 && std::isfinite(f32(1.0 / double(d))) ? f32(1.0 / double(d)) : 0.0f;
          const auto [d_half, d_code] = to_half(d);
          CHECK(got.scales[b] == d_code);
          const auto [m_half, m_code] = to_half(lo);
          if (recipe == Recipe::ggml_q4_1) CHECK(got.zero_points[b] == m_code);
          for (std::size_t c = c0; c < c1; ++c) {
            const std::size_t i = r * cols + c;
            float q = 0, want = 0;
            std::uint64_t code = 0;
            if (recipe == Recipe::ggml_q8_0) {
              q = std::round(f32(double(x[i]) * double(id))) + 0.0f;
              code = std::uint64_t(std::int64_t(q)) & 0xff;
              want = f32(double(q) * double(d_half));
            } else if (recipe == Recipe::ggml_q4_0) {
              q = std::min(15.0f, std::trunc(f32(double(f32(double(x[i]) * double(id))) + 8.5)));
              code = std::uint64_t(q);
              want = f32(double(q - 8) * double(d_half));
            } else {
              q = std::min(15.0f, std::trunc(f32(double(f32(double(f32(double(x[i]) - double(lo))) * double(id))) + 0.5)));
              code = std::uint64_t(q);
              want = f32(double(f32(double(q) * double(d_half))) + double(m_half));
            }
            if ((got.elements[i] != code || !same_bits(values[i], want)) && ++mismatches <= 3) {
              CAPTURE(i);
              CAPTURE(x[i]);
              CHECK(got.elements[i] == code);
              CHECK(values[i] == want);
            }
          }
        }
      }
      CHECK(mismatches == 0);
    }
  }
}
