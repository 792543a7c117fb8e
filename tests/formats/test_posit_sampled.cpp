// Posits too wide to enumerate (n = 17..32), sampled against the reference; the standard's
// known values; spec names; the stochastic rounding probability.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "formats/posit.hpp"
#include "formats/random_stream.hpp"
#include "tests/formats/test_posit_reference.hpp"

using namespace bitsim::formats;
using bitsim::test::ReferencePosit;
using bitsim::test::reference_double;

namespace {

// Values and tie points of random and of extreme codes, their float64 neighbours,
// log-uniform doubles across and beyond the range, and random float32 patterns.
std::vector<double> sampled_inputs(const ReferencePosit& ref, std::mt19937_64& gen, int random_codes) {
  std::vector<double> out;
  const auto add = [&out](double x) {
    for (const double v : {x, std::nextafter(x, 0.0), std::nextafter(x, HUGE_VAL)}) {
      out.push_back(v);
      out.push_back(-v);
    }
  };
  const auto add_code = [&](std::uint64_t c) {
    add(ref.value(c));
    if (c < ref.maxpos_code()) add(reference_double(ref.n() + 1, ref.es(), 2 * c + 1));
  };
  std::uniform_int_distribution<std::uint64_t> code(1, ref.maxpos_code());
  for (int i = 0; i < random_codes; ++i) add_code(code(gen));
  for (std::uint64_t c = 1; c <= 48; ++c) {
    add_code(c);
    add_code(ref.maxpos_code() + 1 - c);
  }
  const double top = std::log2(ref.value(ref.maxpos_code())) + 4;
  std::uniform_real_distribution<double> log2_magnitude(-top, top);
  for (int i = 0; i < random_codes / 4; ++i) add(std::exp2(log2_magnitude(gen)));
  std::uniform_int_distribution<std::uint32_t> float_bits;
  for (int i = 0; i < random_codes / 4; ++i) out.push_back(double(std::bit_cast<float>(float_bits(gen))));
  return out;
}

}  // namespace

TEST_CASE("posit n = 17..32, es = 0..4: sampled inputs in every mode match the reference") {
  std::mt19937_64 gen(31337);
  const RandomStream rng{99, 5};
  std::int64_t inputs = 0;
  for (const int n : {17, 20, 24, 28, 31, 32}) {
    for (int es = 0; es <= 4; ++es) {
      const Posit p{n, es};
      const ReferencePosit ref(n, es, false);
      CAPTURE(n);
      CAPTURE(es);
      std::int64_t mismatches = 0;
      const std::vector<double> xs = sampled_inputs(ref, gen, 2700);
      for (std::size_t i = 0; i < xs.size(); ++i) {
        const double x = xs[i];
        const auto bracket = ref.bracket(x);
        const std::uint32_t word = rng.word(std::uint64_t(inputs) + i);
        for (int mode = 0; mode < kRoundingModeCount; ++mode) {
          const RoundingSpec spec{Rounding(mode), mode == int(Rounding::stochastic) ? 1 + int(i % 32) : 32};
          const std::uint64_t fast = encode(p, x, spec, word);
          const std::uint64_t expected = ref.decide(x, bracket, spec, word);
          if (fast != expected && ++mismatches <= 5) {
            MESSAGE("x=" << x << " mode=" << to_string(spec) << " fast=" << fast << " reference=" << expected);
          }
          // Float inputs take the same path after an exact widening.
          if (double(float(x)) == x && encode(p, float(x), spec, word) != expected) ++mismatches;
        }
        // Decoding agrees with the reference on the code it rounded to.
        const std::uint64_t code = encode(p, x);
        const double decoded = decode<double>(p, code), expected = reference_double(n, es, code);
        if (decoded != expected && !(std::isnan(decoded) && std::isnan(expected))) ++mismatches;
      }
      inputs += std::int64_t(xs.size());
      CHECK(mismatches == 0);
    }
  }
  MESSAGE("sampled inputs, each in all 8 modes: " << inputs);
  CHECK(inputs >= 1000000);
}

TEST_CASE("posit known values from the standard") {
  for (int es = 0; es <= 4; ++es) {
    for (const int n : {8, 16, 32}) {
      const Posit p{n, es};
      CAPTURE(n);
      CAPTURE(es);
      // useed = 2^(2^es): the code 0 1 1 0 ... (regime k = 1, all else zero).
      CHECK(decode<double>(p, std::uint64_t(3) << (n - 3)) == std::ldexp(1.0, 1 << es));
      CHECK(decode<double>(p, std::uint64_t(1) << (n - 2)) == 1.0);
      CHECK(decode<double>(p, p.negate(std::uint64_t(1) << (n - 2))) == -1.0);
      CHECK(p.maxpos() == std::ldexp(1.0, (n - 2) << es));
      CHECK(p.minpos() == std::ldexp(1.0, -((n - 2) << es)));
    }
  }
  // Posit Standard 2022, es = 2: maxpos = 2^(4n-8), minpos = 2^(8-4n).
  CHECK(Posit{8, 2}.maxpos() == 0x1p24);
  CHECK(Posit{16, 2}.maxpos() == 0x1p56);
  CHECK(Posit{32, 2}.minpos() == 0x1p-120);
  CHECK(Posit{16, 2}.quire_bits() == 256);
  CHECK(Posit{32, 2}.quire_bits() == 512);

  // The geometric tie of the spec: in posit<8,2>, 0x7E = 2^20, 0x7F = 2^24, and 2^22 is the
  // tie, resolved to the even code; anything above goes up.
  const Posit p8{8, 2};
  CHECK(decode<double>(p8, 0x7E) == 0x1p20);
  CHECK(decode<double>(p8, 0x7F) == 0x1p24);
  CHECK(encode(p8, 0x1p22) == 0x7E);
  CHECK(encode(p8, std::nextafter(0x1p22, 1e300)) == 0x7F);
  CHECK(encode(p8, std::nextafter(0x1p22, 0.0)) == 0x7E);
  CHECK(encode(p8, -0x1p22) == 0x82);
  CHECK(encode(p8, 0x1p22, {Rounding::nearest_away}) == 0x7F);
  // Saturation in every mode; 0 and NaR are reached only from 0 and NaN/inf.
  for (int mode = 0; mode < kRoundingModeCount; ++mode) {
    const RoundingSpec r{Rounding(mode), 32};
    CHECK(encode(p8, 1e30, r, 0xffffffffu) == 0x7F);
    CHECK(encode(p8, -1e30, r, 0xffffffffu) == 0x81);
    CHECK(encode(p8, 1e-30, r, 0xffffffffu) == 0x01);
    CHECK(encode(p8, -1e-30, r, 0xffffffffu) == 0xFF);
    CHECK(encode(p8, std::nan(""), r) == 0x80);
    CHECK(encode(p8, -HUGE_VAL, r) == 0x80);
    CHECK(encode(p8, -0.0, r) == 0x00);
  }
  // Directed modes step along the lattice: 1 + tiny lies between 1 (0x40) and 1.125 (0x41).
  CHECK(encode(p8, 1.01, {Rounding::toward_positive}) == 0x41);
  CHECK(encode(p8, 1.01, {Rounding::toward_negative}) == 0x40);
  CHECK(encode(p8, -1.01, {Rounding::toward_negative}) == 0xBF);
  CHECK(encode(p8, -1.01, {Rounding::toward_zero}) == 0xC0);
  CHECK(encode(p8, 1.01, {Rounding::odd}) == 0x41);
}

TEST_CASE("posit stochastic rounding is unbiased in value where exponent bits are cut") {
  // posit<8,2>: 2^21 lies between 0x7E = 2^20 and 0x7F = 2^24, a quarter of the way in
  // log2 but 1/15 of the way in value; SR must pick 2^24 with probability 1/15.
  const Posit p{8, 2};
  const RandomStream rng{1, 2};
  constexpr int kTrials = 150000;
  int ups = 0;
  for (int i = 0; i < kTrials; ++i) ups += encode(p, 0x1p21, {Rounding::stochastic}, rng.word(i)) == 0x7F;
  const double rate = double(ups) / kTrials;
  CHECK(rate == doctest::Approx(1.0 / 15).epsilon(0.05));
  // And the mean of the rounded values is the input.
  double mean = 0;
  for (int i = 0; i < kTrials; ++i) mean += round(p, 0x1p21, {Rounding::stochastic}, rng.word(i));
  CHECK(mean / kTrials == doctest::Approx(0x1p21).epsilon(0.02));
}

TEST_CASE("posit spec names") {
  const auto spec = [](std::string_view s) { return parse_posit_spec(s); };
  CHECK(spec("posit<8,2>") == Posit{8, 2});
  CHECK(spec(" posit< 12 , 1 > ") == Posit{12, 1});
  CHECK(spec("posit<n=10,es=3>") == Posit{10, 3});
  CHECK(spec("posit<es=0,n=6>") == Posit{6, 0});
  CHECK(spec("posit8") == Posit{8, 2});
  CHECK(spec("posit16") == Posit{16, 2});
  CHECK(spec("posit32") == Posit{32, 2});
  CHECK(spec("posit16es1") == Posit{16, 1});
  CHECK(spec("posit8es0") == Posit{8, 0});
  CHECK(spec("posit32es2") == Posit{32, 2});
  CHECK(spec("posit16<es=1>") == Posit{16, 1});
  CHECK(spec("posit<24>") == Posit{24, 2});
  CHECK_FALSE(spec("e4m3fn").has_value());
  CHECK_FALSE(spec("positron").has_value());
  CHECK_THROWS_AS(spec("posit<33,2>"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit<8,5>"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit<1,0>"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit<8,2,1>"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit<8,x>"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit<8,2"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit<bits=8>"), std::invalid_argument);
  CHECK_THROWS_AS(spec("posit"), std::invalid_argument);
  CHECK(parse_posit_name("posit", {{"n", "8"}, {"es", "1"}}) == Posit{8, 1});
  CHECK(parse_posit_name("posit16es1", {}) == Posit{16, 1});
  CHECK_FALSE(parse_posit_name("fp", {}).has_value());
  CHECK_THROWS_AS(parse_posit_name("posit8", {{"m", "3"}}), std::invalid_argument);
  CHECK(to_spec(Posit{16, 1}) == "posit<16,1>");
  CHECK(parse_posit_spec(to_spec(Posit{20, 4})) == Posit{20, 4});
}

TEST_CASE("posit core is constexpr") {
  constexpr Posit p{16, 1};
  static_assert(decode<double>(p, 0x4000) == 1.0);
  static_assert(encode<Rounding::nearest_even>(p, 3.0) == 0x5800);
  static_assert(encode(PositType<8, 2>::format, 0x1p22) == 0x7E);
  CHECK(decode<double>(p, 0x5800) == 3.0);
}
