// Checks of the reference itself, before it judges anything: its exact conversions agree
// with Boost's own double -> cpp_rational conversion; its two neighbour searches (the
// enumerated value set and the floor(m / quantum) formula) agree at every lattice point,
// midpoint and one unit (2^-1074) either side; and it reproduces published facts.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "formats/format.hpp"
#include "tests/reference/reference_rounding.hpp"

namespace br = bitsim::reference;
namespace bf = bitsim::formats;
namespace mp = boost::multiprecision;
using bf::Rounding;

namespace {

std::string hex(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", x);
  return buf;
}

// Exact as a rational, through Boost's own conversions only.
mp::cpp_rational as_rational(const br::Exact& v) {
  return mp::cpp_rational(br::to_cpp_int(v), mp::pow(mp::cpp_int(2), 1074));
}

std::vector<double> sample_doubles() {
  std::vector<double> xs = {0.0, 1.0, -1.0, 0.1, 3.0, std::numeric_limits<double>::max(),
                            std::numeric_limits<double>::min(), std::numeric_limits<double>::denorm_min(),
                            -std::numeric_limits<double>::denorm_min(), double(std::numeric_limits<float>::max()),
                            double(std::numeric_limits<float>::denorm_min()), std::nextafter(std::numeric_limits<double>::min(), 0.0)};
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 2000; ++i) {
    const double x = std::bit_cast<double>(rng());
    if (std::isfinite(x)) xs.push_back(x);
  }
  return xs;
}

br::ReferenceFormat reference_of(const std::string& spec) {
  return br::ReferenceFormat::from(bf::Format::parse(spec).repr());
}

double reference_value(const br::ReferenceFormat& f, double x, Rounding mode) {
  return br::ReferenceCase(f, x, br::Source::float64).round(mode).as_double();
}

}  // namespace

TEST_CASE("exact_from agrees with Boost's exact double -> rational conversion") {
  for (double x : sample_doubles()) {
    const br::Exact e = br::exact_from(x);
    INFO("x = " << hex(x));
    CHECK(as_rational(e) == mp::cpp_rational(x));
    CHECK(br::to_double_exact(e) == x);
    CHECK(br::double_below(e) == x);
    CHECK(br::double_above(e) == x);
  }
}

TEST_CASE("double_below/above and float_below/above bracket non-doubles tightly") {
  for (double x : sample_doubles()) {
    if (x == 0 || std::fabs(x) == std::numeric_limits<double>::max()) continue;
    const br::Exact e = br::exact_from(x) + 1;  // 2^-1074 past a double: no double there unless x is tiny
    const double lo = br::double_below(e), hi = br::double_above(e);
    INFO("x = " << hex(x));
    CHECK(mp::cpp_rational(lo) <= as_rational(e));
    CHECK(mp::cpp_rational(hi) >= as_rational(e));
    CHECK((lo == hi || std::nextafter(lo, HUGE_VAL) == hi));
    // Past float32's range the neighbours are its largest value and infinity.
    const double flo = br::float_below(e), fhi = br::float_above(e);
    CHECK(double(float(flo)) == flo);
    if (std::isfinite(flo)) CHECK(mp::cpp_rational(flo) <= as_rational(e));
    if (std::isfinite(fhi)) {
      CHECK(double(float(fhi)) == fhi);
      CHECK(mp::cpp_rational(fhi) >= as_rational(e));
    }
    if (std::fabs(x) < 1e38) CHECK((flo == fhi || std::nextafter(float(flo), HUGE_VALF) == float(fhi)));
  }
}

TEST_CASE("enumerated and formula neighbour searches agree on every boundary") {
  const std::vector<std::string> specs = {
      "e4m3fn", "e5m2", "e4m3", "e4m3fnuz", "e5m2fnuz", "e4m3b11fnuz", "e3m4", "e3m2fn", "e2m3fn",
      "e2m1fn", "e8m0fnu", "ue4m3", "ue5m3", "int2", "int4", "int8", "uint4", "uint8",
      "int8<narrow=true>", "int6<frac=3>", "uint5<frac=-2>", "fp<e=4,m=0>", "fp<e=5,m=0,bias=14>",
      "fp<e=2,m=1,specials=fn>", "fp<e=4,m=3,subnormals=false,specials=none>",
      "fp<e=11,m=4>", "fp<e=3,m=2,bias=-2>", "fp<e=1,m=3,specials=none>", "fp16", "bf16"};
  for (const auto& spec : specs) {
    const auto f = reference_of(spec);
    REQUIRE(f.enumerated());
    long checked = 0, differ = 0;
    for (bool negative : {false, true}) {
      if (negative && !f.has_negatives()) continue;
      const auto& side = f.lattice(negative);
      for (std::size_t i = 0; i < side.size(); ++i) {
        std::vector<br::Exact> probes = {side[i].magnitude, side[i].magnitude + 1};
        if (side[i].magnitude > 0) probes.push_back(side[i].magnitude - 1);
        if (i + 1 < side.size()) {
          const br::Exact mid = (side[i].magnitude + side[i + 1].magnitude) / 2;
          probes.insert(probes.end(), {mid, mid + 1, mid - 1});
        }
        if (i + 1 == side.size()) probes.push_back(side[i].magnitude * 3);
        for (const auto& m : probes) {
          const br::Bracket a = f.bracket_by_table(negative, m), b = f.bracket_by_formula(negative, m);
          const bool same = a.exact == b.exact && a.toward_zero.magnitude == b.toward_zero.magnitude &&
                            a.away.magnitude == b.away.magnitude &&
                            (a.toward_zero.code & 1) == (b.toward_zero.code & 1) &&
                            (!a.toward_zero.in_range || a.toward_zero.code == b.toward_zero.code) &&
                            (!a.away.in_range || a.away.code == b.away.code) &&
                            a.toward_zero.in_range == b.toward_zero.in_range && a.away.in_range == b.away.in_range;
          ++checked;
          if (!same && ++differ <= 5) {
            FAIL_CHECK(spec << (negative ? " negative" : " positive") << " side, magnitude "
                            << as_rational(m).str() << ": table [" << a.toward_zero.value << " code "
                            << a.toward_zero.code << ", " << a.away.value << " code " << a.away.code
                            << "] formula [" << b.toward_zero.value << " code " << b.toward_zero.code << ", "
                            << b.away.value << " code " << b.away.code << "]");
          }
        }
      }
    }
    INFO(spec << ": " << checked << " magnitudes");
    CHECK(differ == 0);
  }
}

TEST_CASE("published facts: largest values and special codes (OCP OFP8, OCP MX, IEEE 754)") {
  using bf::MiniFloat;
  using bf::Overflow;
  using bf::Specials;
  struct Fact {
    MiniFloat format;
    double max, min_positive;
    std::uint64_t max_code;
  };
  const Fact facts[] = {
      {MiniFloat{4, 3, 7, Specials::fn, true, true, Overflow::nan}, 448, 0x1p-9, 0x7E},
      {MiniFloat{5, 2, 15, Specials::ieee, true, true, Overflow::infinity}, 57344, 0x1p-16, 0x7B},
      {MiniFloat{4, 3, 8, Specials::fnuz, true, true, Overflow::nan}, 240, 0x1p-10, 0x7F},
      {MiniFloat{3, 2, 3, Specials::none, true, true, Overflow::saturate}, 28, 0x1p-4, 0x1F},
      {MiniFloat{2, 3, 1, Specials::none, true, true, Overflow::saturate}, 7.5, 0x1p-3, 0x1F},
      {MiniFloat{2, 1, 1, Specials::none, true, true, Overflow::saturate}, 6, 0.5, 0x7},
      {MiniFloat{8, 0, 127, Specials::fn, false, false, Overflow::nan}, 0x1p127, 0x1p-127, 0xFE},
      {MiniFloat{5, 10, 15, Specials::ieee, true, true, Overflow::infinity}, 65504, 0x1p-24, 0x7BFF},
  };
  for (const auto& fact : facts) {
    const br::ReferenceFormat f(fact.format);
    INFO("E" << fact.format.exponent_bits << "M" << fact.format.mantissa_bits);
    CHECK(f.max_point(false).value == fact.max);
    CHECK(f.max_point(false).code == fact.max_code);
    CHECK(f.min_positive_point(false).value == fact.min_positive);
  }
  // E2M1: 0, 0.5, 1, 1.5, 2, 3, 4, 6 (OCP MX v1.0).
  const br::ReferenceFormat e2m1(MiniFloat{2, 1, 1, Specials::none, true, true, Overflow::saturate});
  const double expected[] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (std::uint64_t code = 0; code < 8; ++code) {
    CHECK(br::to_double_exact(e2m1.meaning(code).magnitude) == expected[code]);
    CHECK(e2m1.meaning(code | 8).negative);
  }
}

TEST_CASE("published rounding facts") {
  const auto e5m2 = reference_of("e5m2");
  // OCP OFP8: (57344, 61440) rounds down to 57344; 61440 is a tie with the even code (inf).
  CHECK(reference_value(e5m2, 61439.0, Rounding::nearest_even) == 57344);
  CHECK(std::isinf(reference_value(e5m2, 61440.0, Rounding::nearest_even)));
  const auto e5m2_sat = reference_of("e5m2<overflow=saturate>");
  CHECK(reference_value(e5m2_sat, 1e6, Rounding::nearest_even) == 57344);
  CHECK(reference_value(e5m2_sat, -INFINITY, Rounding::nearest_even) == -57344);

  const auto e4m3fn = reference_of("e4m3fn");
  CHECK(reference_value(e4m3fn, 464.0, Rounding::nearest_even) == 448);  // tie, 448's code is even
  CHECK(std::isnan(reference_value(e4m3fn, 465.0, Rounding::nearest_even)));
  CHECK(reference_value(e4m3fn, 500.0, Rounding::toward_zero) == 448);  // IEEE 754 7.4
  CHECK(std::isnan(reference_value(e4m3fn, 449.0, Rounding::toward_positive)));
  CHECK(reference_value(e4m3fn, -449.0, Rounding::toward_positive) == -448);

  // E8M0 with true ties-to-even on codes (bitsim's documented rne).
  const auto e8m0 = reference_of("e8m0fnu");
  CHECK(reference_value(e8m0, 3.0, Rounding::nearest_even) == 2.0);
  CHECK(reference_value(e8m0, 6.0, Rounding::nearest_even) == 8.0);
  CHECK(reference_value(e8m0, 3.0, Rounding::nearest_away) == 4.0);
  CHECK(std::isnan(reference_value(e8m0, 0.0, Rounding::nearest_even)));
  CHECK(reference_value(e8m0, 0x1p-140, Rounding::toward_zero) == 0x1p-127);
  CHECK(std::isnan(reference_value(e8m0, -1.0, Rounding::nearest_even)));

  const auto int8 = reference_of("int8");
  CHECK(reference_value(int8, 2.5, Rounding::nearest_even) == 2);
  CHECK(reference_value(int8, -2.5, Rounding::nearest_even) == -2);
  CHECK(reference_value(int8, -2.5, Rounding::nearest_away) == -3);
  CHECK(reference_value(int8, -2.5, Rounding::toward_positive) == -2);
  CHECK(reference_value(int8, 2.5, Rounding::odd) == 3);
  CHECK(reference_value(int8, -1000, Rounding::nearest_even) == -128);
  CHECK(reference_value(reference_of("int8<narrow=true>"), -1000, Rounding::nearest_even) == -127);
  CHECK(br::ReferenceCase(int8, -3.0, br::Source::float64).round(Rounding::nearest_even).code == 0xFD);

  const auto fnuz = reference_of("e4m3fnuz");
  const auto negative_zero = br::ReferenceCase(fnuz, -0.0, br::Source::float64).round(Rounding::nearest_even);
  CHECK(negative_zero.code == 0x00);
  CHECK(!negative_zero.negative);
  CHECK(br::ReferenceCase(fnuz, NAN, br::Source::float64).round(Rounding::nearest_even).code == 0x80);
}

TEST_CASE("stochastic rounding: exact probabilities and the k-bit rule") {
  const auto int8 = reference_of("int8");
  const br::ReferenceCase c(int8, 2.3, br::Source::float64);  // 2.3 is not 2.3 exactly; fraction ~0.3
  CHECK(c.fraction() > mp::cpp_rational(29, 100));
  CHECK(c.fraction() < mp::cpp_rational(31, 100));
  CHECK(c.probability_away(1) == 0);                       // floor(0.6) / 2
  CHECK(c.probability_away(2) == mp::cpp_rational(1, 4));  // floor(1.2) / 4
  CHECK(c.probability_away(4) == mp::cpp_rational(4, 16));  // floor(4.8) / 16
  const br::ReferenceCase quarter(int8, 2.25, br::Source::float64);
  CHECK(quarter.fraction() == mp::cpp_rational(1, 4));
  // k = 2: up iff floor(f * 4) + top two bits of the word >= 4, i.e. word >= 0xC0000000.
  CHECK(!quarter.goes_away(0xBFFFFFFFu, 2));
  CHECK(quarter.goes_away(0xC0000000u, 2));
  CHECK(!quarter.goes_away(0xFFFFFFFFu, 1));  // floor(0.5) = 0: never with one bit
  // k = 32: up iff word >= 2^32 * 3/4.
  CHECK(!quarter.goes_away(0xBFFFFFFFu, 32));
  CHECK(quarter.goes_away(0xC0000000u, 32));
  CHECK(quarter.round_stochastic(0xC0000000u, 32).magnitude == 3);
  const br::ReferenceCase negative(int8, -2.25, br::Source::float64);
  CHECK(negative.round_stochastic(0xC0000000u, 32).code == 0xFD);  // away from zero: -3
  CHECK(br::ReferenceCase(int8, 2.0, br::Source::float64).fraction() == 0);
}
