// Precision: every operation rounds the exact result once. References: the CPU's own
// float32 arithmetic under fesetround (directed modes), exact float64 products/sums
// rounded by Format::round, and the plain-float path.
#include <cfenv>
#include <limits>
#include <cmath>
#include <random>

#include <doctest/doctest.h>

#include "sim/kernels/precision.hpp"

using bitsim::formats::Format;
using bitsim::formats::Rounding;
using bitsim::formats::RoundingSpec;
using bitsim::sim::Precision;

namespace {

// Random floats over many binades, so that sums meet large exponent gaps.
float random_float(std::mt19937& gen) {
  std::uniform_real_distribution<float> mant(1.0f, 2.0f);
  std::uniform_int_distribution<int> exp(-40, 40), sign(0, 1);
  return std::ldexp(mant(gen), exp(gen)) * (sign(gen) ? -1.0f : 1.0f);
}

// a op b in hardware float32 under the C rounding mode `mode`.
float hw(int mode, char op, float a, float b) {
  std::fesetround(mode);
  volatile float x = a, y = b;
  float r = 0;
  switch (op) {
    case '+': r = x + y; break;
    case '*': r = x * y; break;
    case '/': r = x / y; break;
    case 's': r = std::sqrt(std::fabs(x)); break;
  }
  volatile float keep = r;
  std::fesetround(FE_TONEAREST);
  return keep;
}

double op(const Precision& p, char o, float a, float b) {
  switch (o) {
    case '+': return p.add(a, b);
    case '*': return p.mul(a, b);
    case '/': return p.div(a, b);
    default: return p.sqrt(std::fabs(a));
  }
}

}  // namespace

TEST_CASE("precision: fp32 in every directed mode equals the CPU's float32 arithmetic") {
  const Format fp32 = Format::parse("fp32");
  const std::pair<int, Rounding> modes[] = {{FE_TONEAREST, Rounding::nearest_even},
                                            {FE_UPWARD, Rounding::toward_positive},
                                            {FE_DOWNWARD, Rounding::toward_negative},
                                            {FE_TOWARDZERO, Rounding::toward_zero}};
  std::mt19937 gen(7);
  for (auto [fe, mode] : modes) {
    const Precision p(fp32, RoundingSpec{mode});
    int mismatches = 0;
    for (int i = 0; i < 20000; ++i) {
      const float a = random_float(gen), b = random_float(gen);
      for (char o : {'+', '*', '/', 's'})
        if (static_cast<float>(op(p, o, a, b)) != hw(fe, o, a, b)) ++mismatches;
    }
    CAPTURE(static_cast<int>(mode));
    CHECK(mismatches == 0);
  }
}

TEST_CASE("precision: plain float32 is the C++ float operators; parse(\"fp32\") is plain") {
  const Precision plain;
  CHECK(plain.is_float32());
  CHECK(Precision::parse("fp32").is_float32());
  CHECK_FALSE(Precision::parse("fp32:rz").is_float32());
  const Precision via_format(Format::parse("fp32"));
  std::mt19937 gen(3);
  for (int i = 0; i < 20000; ++i) {
    const float a = random_float(gen), b = random_float(gen);
    CHECK(plain.add(a, b) == static_cast<double>(a + b));
    CHECK(plain.mul(a, b) == static_cast<double>(a * b));
    for (char o : {'+', '*', '/', 's'}) REQUIRE(op(plain, o, a, b) == op(via_format, o, a, b));
  }
}

TEST_CASE("precision: narrow formats round exact results once") {
  // bf16 * bf16 and sums of nearby bf16 values are exact in float64, so Format::round of
  // the float64 result is the reference.
  const Format bf16 = Format::parse("bf16");
  std::mt19937 gen(11);
  for (Rounding mode : {Rounding::nearest_even, Rounding::toward_zero, Rounding::toward_positive, Rounding::odd}) {
    const Precision p(bf16, RoundingSpec{mode});
    for (int i = 0; i < 5000; ++i) {
      const double a = bf16.round(static_cast<double>(random_float(gen)));
      const double b = bf16.round(static_cast<double>(random_float(gen)));
      REQUIRE(p.mul(a, b) == bf16.round(a * b, RoundingSpec{mode}));
      const double c = std::ldexp(b, std::ilogb(a) - std::ilogb(b));  // within a few binades of a
      REQUIRE(p.add(a, c) == bf16.round(a + c, RoundingSpec{mode}));
    }
  }
  // A sum far below half an ulp still moves directed roundings: 1 + 2^-60 rounds up under ru.
  const Precision up(bf16, RoundingSpec{Rounding::toward_positive});
  CHECK(up.add(1.0, std::ldexp(1.0, -60)) == 1.0 + std::ldexp(1.0, -7));
  CHECK(Precision(bf16, RoundingSpec{Rounding::toward_zero}).add(1.0, -std::ldexp(1.0, -60)) ==
        1.0 - std::ldexp(1.0, -8));
}

TEST_CASE("precision: parsing and errors") {
  CHECK(Precision::parse("bf16:rz").spec() == "bf16:rz");
  CHECK(Precision::parse("fp<e=8,m=12>:sr:12").rounding().random_bits == 12);
  CHECK(Precision::parse("fp16").spec() == "fp16");
  CHECK_THROWS_AS(Precision::parse(""), std::invalid_argument);
  CHECK_THROWS_AS(Precision::parse("bf17"), std::invalid_argument);
  CHECK_THROWS_AS(Precision::parse("bf16:round"), std::invalid_argument);
}

TEST_CASE("precision: stochastic rounding is keyed by the operation index") {
  const Precision p = Precision::parse("bf16:sr").with_stream(5);
  const double x = 1.0 + std::ldexp(1.0, -9);  // a quarter of an ulp above 1
  int ups = 0;
  for (std::uint64_t i = 0; i < 4000; ++i) {
    const double r = p.round(x, i);
    CHECK((r == 1.0 || r == 1.0 + std::ldexp(1.0, -7)));
    ups += r > 1.0;
    CHECK(p.round(x, i) == r);  // same index, same word
  }
  CHECK(ups > 800);
  CHECK(ups < 1200);
}

TEST_CASE("precision: formats wider than the sticky trick round the float64 result; overflow") {
  const Precision fp64 = Precision::parse("fp64");
  CHECK(fp64.add(1.0, 0x1p-60) == 1.0);  // rne: float64's own rounding
  CHECK(fp64.mul(1.0 + 0x1p-52, 1.0 + 0x1p-52) == 1.0 + 0x1p-51);
  CHECK(bitsim::sim::to_float(1e39) == std::numeric_limits<float>::infinity());
  CHECK(bitsim::sim::to_float(-0x1.ffffffp127) == -std::numeric_limits<float>::infinity());
  CHECK(bitsim::sim::to_float(0x1.fffffefp127) == std::numeric_limits<float>::max());
  CHECK(Precision().round(1e300) == std::numeric_limits<float>::infinity());
  // Integer formats round onto their lattice (saturating as the format says).
  const Precision int8 = Precision::parse("int8:rd");
  CHECK(int8.add(2.0, 0.25) == 2.0);
  CHECK(int8.add(-2.0, -0x1p-40) == -3.0);
}
