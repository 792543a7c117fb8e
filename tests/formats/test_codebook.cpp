// Codebook formats (NF4, NFk, codebook<...>): the published NF4 table, the NF construction,
// specs and properties, and rounding in every mode against a brute-force reference that
// measures distances to the two neighbours with exact rationals (Boost.Multiprecision),
// on a sweep of inputs: every value and its float/double neighbours, every midpoint and
// the doubles around it, quarter points, random inputs, zeros, out-of-range, ±inf, NaN.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "formats/codebook.hpp"
#include "formats/format.hpp"

using namespace bitsim::formats;
using Rational = boost::multiprecision::cpp_rational;

namespace {

constexpr Rounding kModes[] = {Rounding::nearest_even,    Rounding::nearest_away,    Rounding::nearest_zero,
                               Rounding::toward_positive, Rounding::toward_negative, Rounding::toward_zero,
                               Rounding::odd,             Rounding::stochastic};

// Exact value of a finite double.
Rational exact(double x) {
  int e = 0;
  const double m = std::frexp(x, &e);
  const auto significand = static_cast<std::int64_t>(std::ldexp(m, 53));
  Rational r(significand);
  if (e - 53 >= 0) r *= boost::multiprecision::pow(boost::multiprecision::cpp_int(2), e - 53);
  else r /= boost::multiprecision::pow(boost::multiprecision::cpp_int(2), 53 - e);
  return r;
}

// The reference: read the definition in formats/README.md ("Codebook formats") literally.
// The exact values of a codebook's table, computed once per table.
const std::vector<Rational>& exact_values(const Codebook& f) {
  static std::vector<std::pair<Codebook, std::vector<Rational>>> cache;
  for (const auto& [key, values] : cache) {
    if (key == f) return values;
  }
  std::vector<Rational> values;
  for (int i = 0; i < f.count; ++i) values.push_back(exact(double(f.values[i])));
  cache.emplace_back(f, std::move(values));
  return cache.back().second;
}

std::uint64_t reference_encode(const Codebook& f, double x, Rounding mode, std::uint32_t random, int k) {
  const int n = f.count;
  const bool negative = std::signbit(x);
  if (std::isnan(x)) {
    if (f.nan_rule == NanRule::max) return negative ? 0 : n - 1;
    return reference_encode(f, 0.0, Rounding::nearest_even, 0, 32);
  }
  if (std::isinf(x)) return negative ? 0 : n - 1;
  const Rational v = exact(x);
  const std::vector<Rational>& values = exact_values(f);
  if (v <= values[0]) return 0;
  if (v >= values[n - 1]) return n - 1;
  int lo = -1;  // largest index with value <= x, by linear scan
  for (int i = 0; i < n; ++i) {
    if (values[i] <= v) lo = i;
  }
  if (values[lo] == v) return lo;
  const int hi = lo + 1;
  const Rational below = v - values[lo], above = values[hi] - v;
  const Rational mag_lo = abs(values[lo]), mag_hi = abs(values[hi]);
  // Of the two, the one with the larger magnitude (the input's side of zero when equal).
  const int larger = mag_hi > mag_lo ? hi : mag_lo > mag_hi ? lo : (negative ? lo : hi);
  const int smaller = larger == hi ? lo : hi;
  switch (mode) {
    case Rounding::nearest_even:
      return below < above ? lo : above < below ? hi : (lo % 2 == 0 ? lo : hi);
    case Rounding::nearest_away: return below < above ? lo : above < below ? hi : larger;
    case Rounding::nearest_zero: return below < above ? lo : above < below ? hi : smaller;
    case Rounding::toward_positive: return hi;
    case Rounding::toward_negative: return lo;
    case Rounding::toward_zero: return negative ? hi : lo;
    case Rounding::odd: return lo % 2 == 1 ? lo : hi;
    default: {
      // Toward the far neighbour with probability |x - t| / (hi - lo), t the neighbour in
      // the direction of zero, resolved by the top k bits of fraction and random word.
      const int t = negative ? hi : lo, a = negative ? lo : hi;
      const Rational p = (negative ? above : below) / (values[hi] - values[lo]);
      const Rational scaled = p * Rational(boost::multiprecision::cpp_int(1) << 32);
      const auto fraction = static_cast<std::uint64_t>(boost::multiprecision::cpp_int(
          numerator(scaled) / denominator(scaled)));
      const int drop = 32 - k;
      return (fraction >> drop) > (std::uint64_t(~random) >> drop) ? a : t;
    }
  }
}

// Inputs that probe every decision of a codebook.
std::vector<double> sweep_inputs(const Codebook& f) {
  std::vector<double> xs = {0.0, -0.0, std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(),
                            -std::numeric_limits<double>::quiet_NaN(), 1e-300, -1e-300, 4.9e-324, -4.9e-324};
  const auto around = [&](double x) {
    xs.push_back(x);
    xs.push_back(std::nextafter(x, 1e300));
    xs.push_back(std::nextafter(x, -1e300));
    const float xf = float(x);
    xs.push_back(std::nextafter(xf, 1e30f));
    xs.push_back(std::nextafter(xf, -1e30f));
  };
  for (int i = 0; i < f.count; ++i) around(f.values[i]);
  for (int i = 0; i + 1 < f.count; ++i) {
    const double lo = f.values[i], hi = f.values[i + 1];
    around(lo + (hi - lo) / 2);  // the midpoint (exact for these tables)
    around(lo + (hi - lo) / 4);
    around(lo + 3 * (hi - lo) / 4);
    around(lo + (hi - lo) / 3);
  }
  around(2 * f.values[f.count - 1] + 1);
  around(2 * f.values[0] - 1);
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> u(double(f.values[0]) * 1.1 - 0.1, double(f.values[f.count - 1]) * 1.1 + 0.1);
  for (int i = 0; i < 400; ++i) xs.push_back(u(gen));
  return xs;
}

// Every mode (sr with several words and widths) on every sweep input, through Format's
// double and float entry points and its spans, against the reference.
void check_against_reference(const std::string& spec) {
  INFO(spec);
  const Format format = Format::parse(spec);
  const Codebook& f = std::get<Codebook>(format.repr());
  const std::vector<double> xs = sweep_inputs(f);
  const std::uint32_t words[] = {0u, 1u, 0x7fffffffu, 0x80000000u, 0xdeadbeefu, 0xffffffffu};
  int mismatches = 0;
  for (const Rounding mode : kModes) {
    for (const int k : {32, 8, 3, 1}) {
      if (mode != Rounding::stochastic && k != 32) continue;
      const RoundingSpec r{mode, k};
      for (std::uint64_t seed = 0; seed < (mode == Rounding::stochastic ? 3u : 1u); ++seed) {
        const RandomStream rng{seed, 5};
        std::vector<double> out(xs.size());
        format.quantize(std::span<const double>(xs), std::span<double>(out), r, rng);
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const std::uint32_t word = rng.word(i);
          const std::uint64_t expected = reference_encode(f, xs[i], mode, word, k);
          const std::uint64_t got = format.encode(xs[i], r, rng, i);
          const double value = out[i];
          if (got != expected || std::bit_cast<std::uint64_t>(value) != std::bit_cast<std::uint64_t>(format.decode(expected))) {
            if (++mismatches <= 5) {
              MESSAGE("x=" << xs[i] << " mode=" << to_string(r) << " got " << got << " expected " << expected);
            }
          }
        }
      }
      for (const std::uint32_t word : words) {  // fixed words, single values
        if (mode != Rounding::stochastic && word != 0) continue;
        for (const double x : xs) {
          const float xf = float(x);
          const std::uint64_t expected = reference_encode(f, double(xf), mode, word, k);
          if (encode<Rounding::nearest_even>(f, 0.0) != reference_encode(f, 0.0, Rounding::nearest_even, 0, 32)) ++mismatches;
          const std::uint64_t got = with_rounding_mode(mode, [&]<Rounding M>() { return encode<M>(f, xf, word, k); });
          if (got != expected && ++mismatches <= 5) MESSAGE("float x=" << xf << " got " << got << " expected " << expected);
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("nf4 is the published QLoRA / bitsandbytes table") {
  // QLoRA (arXiv 2305.14314) appendix E; written out again here, independently of the
  // library's copy, as float32 literals.
  const float published[16] = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
                               -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
                               0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f,
                               0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
                               0.7229568362236023f, 1.0f};
  const Format f = Format::parse("nf4");
  CHECK(f.spec() == "nf4");
  CHECK(f.kind() == "codebook");
  CHECK_FALSE(f.has_lattice());
  CHECK(f.bits() == 4);
  CHECK(f.finite_code_count() == 16);
  CHECK(f.max_value() == 1.0);
  CHECK(f.min_value() == -1.0);
  CHECK(f.min_subnormal() == double(published[8]));
  CHECK(f.epsilon() == double(1.0f) - double(published[14]));
  CHECK_FALSE(f.has_nan());
  CHECK_FALSE(f.has_infinity());
  CHECK(f.overflow() == Overflow::saturate);
  for (std::uint64_t code = 0; code < 16; ++code) {
    CHECK(f.decode(code) == double(published[code]));
    CHECK(f.encode(double(published[code])) == code);
  }
  CHECK(f.encode(0.0) == 7);  // the exact zero
  CHECK_THROWS_AS(f.lattice(), std::invalid_argument);
}

TEST_CASE("the NF construction reproduces the published NF4 table bit for bit") {
  // With bitsandbytes' offset 0.9677083; with the exact 1 - (1/30 + 1/32) / 2 the values
  // move by a few float32 ulps.
  const Codebook built = normal_float_construction(4, 0.9677083);
  CHECK(built == normal_float(4));
  CHECK(normal_float_outer_probability(4) == doctest::Approx(0.9677083).epsilon(1e-7));
  int max_ulps = 0;
  const Codebook exact_offset = normal_float_construction(4, 0);
  for (int i = 0; i < 16; ++i) {
    const auto a = std::bit_cast<std::int32_t>(exact_offset.values[i]);
    const auto b = std::bit_cast<std::int32_t>(built.values[i]);
    max_ulps = std::max(max_ulps, std::abs(a - b));
  }
  MESSAGE("exact offset vs published: largest difference " << max_ulps << " ulp");
  CHECK(max_ulps > 0);
  CHECK(max_ulps < 16);
  // Every k: 2^k values, an exact zero at index 2^(k-1) - 1, ends at -1 and 1, and values
  // that are normal quantiles of equally spaced probabilities.
  for (int k = 2; k <= 8; ++k) {
    INFO("k = " << k);
    const Codebook nf = normal_float(k);
    CHECK(nf.count == (1 << k));
    CHECK(nf.bits() == k);
    CHECK(nf.values[(1 << (k - 1)) - 1] == 0.0f);
    CHECK(nf.values[0] == -1.0f);
    CHECK(nf.values[nf.count - 1] == 1.0f);
    CHECK(Format::parse("nf<bits=" + std::to_string(k) + ">").spec() == "nf" + std::to_string(k));
  }
  // The quantile function against known values.
  CHECK(normal_quantile(0.5) == 0.0);
  CHECK(std::fabs(normal_quantile(0.975) - 1.959963984540054) < 1e-14);
  CHECK(std::fabs(normal_quantile(0.025) + 1.959963984540054) < 1e-14);
  CHECK(std::fabs(normal_quantile(0.9677083) / normal_quantile(0.9677083) - 1) == 0);
}

TEST_CASE("codebook specs, canonical spelling and errors") {
  CHECK(Format::parse("nf3").spec() == "nf3");
  CHECK(Format::parse(" nf < bits = 3 > ").spec() == "nf3");
  CHECK(Format::parse("nf4<nan=max>").spec() == "nf4<nan=max>");
  const Format c = Format::parse("codebook<0.5,-1,0,0.25,1>");
  CHECK(c.spec() == "codebook<-1,0,0.25,0.5,1>");
  CHECK(c.bits() == 3);
  CHECK(c.finite_code_count() == 5);
  CHECK(c.is_nan_code(5));
  CHECK(std::isnan(c.decode(7)));
  CHECK_FALSE(c.is_nan_code(4));
  CHECK(Format::parse(c.spec()) == c);
  CHECK(Format::parse("codebook<0.1,0.2,nan=max>").spec() == "codebook<0.1,0.2,nan=max>");
  CHECK(Format::parse("codebook<0.1,0.2>").decode(0) == double(0.1f));  // values are float32
  // The NF4 table written out is nf4.
  CHECK(Format::parse("codebook<-1,-0.696192801,-0.525073051,-0.394917488,-0.284441382,-0.18477343,-0.0910500363,0,"
                      "0.0795802996,0.160930201,0.246112302,0.337915242,0.440709829,0.562617004,0.722956836,1>")
            .spec() == "nf4");
  CHECK_THROWS_AS(Format::parse("nf9"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("nf1"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("nf"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("nf4<round=x>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("codebook<1>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("codebook<1,1>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("codebook<1,x>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("codebook<1,inf>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("codebook<1e-30,1>"), std::invalid_argument);  // beyond 2^64
  CHECK_THROWS_AS(Format::parse("codebook<1,1e39>"), std::invalid_argument);   // beyond float32
  CHECK_THROWS_AS(Format::parse("codebook<1,2"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Format::parse("nf4<bits=3,bits=3>"), doctest::Contains("valid"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("nfoo"), UnknownFormat);
  std::string many = "codebook<";
  for (int i = 0; i < 257; ++i) many += std::to_string(i + 1) + ",";
  many.back() = '>';
  CHECK_THROWS_AS(Format::parse(many), std::invalid_argument);
}

TEST_CASE("codebook rounding in every mode matches the brute-force reference") {
  for (const char* spec : {"nf4", "nf3", "nf2", "nf5", "nf4<nan=max>",
                           // no zero, straddling intervals, an unequal spread of binades
                           "codebook<-3,-0.5,0.25,2>", "codebook<-1,1>", "codebook<-1e-6,1e-9,0.75,1e6>",
                           "codebook<0,1,2,3,4,5,6,7,8>",
                           // neighbours more than 2^29 apart: the exact 128-bit path in every mode
                           "codebook<-1,1e-9,1,3e9>", "codebook<-2.5,-0.001,0,0.001,2.5,nan=max>"}) {
    check_against_reference(spec);
  }
}

TEST_CASE("codebook ties and saturation, by hand") {
  const Format f = Format::parse("codebook<-1,0,1,2>");  // codes 0..3
  const auto enc = [&](double x, Rounding m) { return f.encode(x, RoundingSpec{m}); };
  CHECK(enc(0.5, Rounding::nearest_even) == 2);  // tie between codes 1 and 2: even code 2 (value 1)
  CHECK(enc(1.5, Rounding::nearest_even) == 2);  // tie between codes 2 and 3: code 2 (value 1)
  CHECK(enc(-0.5, Rounding::nearest_even) == 0);  // codes 0 and 1: code 0 (value -1)
  CHECK(enc(0.5, Rounding::nearest_away) == 2);
  CHECK(enc(-0.5, Rounding::nearest_away) == 0);
  CHECK(enc(0.5, Rounding::nearest_zero) == 1);
  CHECK(enc(-0.5, Rounding::nearest_zero) == 1);
  CHECK(enc(0.3, Rounding::toward_zero) == 1);
  CHECK(enc(-0.3, Rounding::toward_zero) == 1);
  CHECK(enc(0.3, Rounding::odd) == 1);
  CHECK(enc(1.3, Rounding::odd) == 3);
  for (const Rounding m : kModes) {
    CHECK(enc(5, m) == 3);
    CHECK(enc(-5, m) == 0);
    CHECK(enc(std::numeric_limits<double>::infinity(), m) == 3);
    CHECK(enc(-std::numeric_limits<double>::infinity(), m) == 0);
    CHECK(enc(std::numeric_limits<double>::quiet_NaN(), m) == 1);  // nan=zero: the code of 0
  }
  const Format g = Format::parse("codebook<-1,0,1,2,nan=max>");
  CHECK(g.encode(std::numeric_limits<double>::quiet_NaN()) == 3);
  CHECK(g.encode(-std::numeric_limits<double>::quiet_NaN()) == 0);
  CHECK(std::bit_cast<std::uint64_t>(f.round(-0.0)) == std::bit_cast<std::uint64_t>(0.0));  // one zero: +0
}

TEST_CASE("stochastic rounding between neighbours is unbiased and reproducible") {
  const Format f = Format::parse("nf4");
  const double x = 0.3;  // between 0.24611230194568634 and 0.33791524171829224
  const std::size_t n = 200000;
  std::vector<double> in(n, x), out(n), again(n);
  f.quantize(std::span<const double>(in), std::span<double>(out), RoundingSpec{Rounding::stochastic}, RandomStream{11, 0});
  f.quantize(std::span<const double>(in), std::span<double>(again), RoundingSpec{Rounding::stochastic}, RandomStream{11, 0});
  CHECK(out == again);
  double mean = 0;
  for (double v : out) mean += v;
  mean /= double(n);
  const double lo = 0.24611230194568634, hi = 0.33791524171829224;
  const double p = (x - lo) / (hi - lo);
  const double sd = (hi - lo) * std::sqrt(p * (1 - p) / double(n));
  CHECK(std::fabs(mean - x) < 5 * sd);
  // Float spans agree with the double ones; packed codes round-trip.
  std::vector<float> inf(n, float(x)), outf(n);
  f.quantize(std::span<const float>(inf), std::span<float>(outf), RoundingSpec{Rounding::stochastic}, RandomStream{11, 0});
  std::vector<std::uint64_t> codes(n);
  f.encode(std::span<const float>(inf), std::span<std::uint64_t>(codes), RoundingSpec{Rounding::stochastic}, RandomStream{11, 0});
  int differ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    differ += outf[i] != float(f.decode(codes[i]));
    differ += outf[i] != f.round(float(x), RoundingSpec{Rounding::stochastic}, RandomStream{11, 0}, i);
  }
  CHECK(differ == 0);
  const std::vector<std::uint8_t> packed = f.encode_packed(inf, RoundingSpec{Rounding::stochastic}, RandomStream{11, 0});
  CHECK(packed.size() == n / 2);
  std::vector<float> unpacked(n);
  f.decode_packed(packed, unpacked);
  CHECK(unpacked == outf);
}
