// Every posit<n, es> with n <= 16, es = 0..4: every code decoded against the reference,
// and every rounding mode on every value, every tie point, their float64 neighbours
// (float32 neighbours where the point is a float), the range ends and the specials,
// against the reference of test_posit_reference.hpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "formats/posit.hpp"
#include "formats/random_stream.hpp"
#include "tests/formats/test_posit_reference.hpp"

using namespace bitsim::formats;
using bitsim::test::Rational;
using bitsim::test::ReferencePosit;
using bitsim::test::reference_double;
using bitsim::test::reference_value;

namespace {

constexpr int kMaxEs = 4;
constexpr int kMaxN = 16;

// The inputs that decide every rounding: values, tie points, their neighbours on both
// sides in float64 (and float32 where exact), the ends of the range, the specials.
struct Inputs {
  std::vector<double> doubles;
  std::vector<float> floats;
};

void add_with_neighbours(Inputs& in, double x) {
  for (const double v : {x, std::nextafter(x, 0.0), std::nextafter(x, HUGE_VAL)}) {
    in.doubles.push_back(v);
    in.doubles.push_back(-v);
  }
  const float f = float(x);
  if (double(f) == x) {
    for (const float v : {f, std::nextafter(f, 0.0f), std::nextafter(f, HUGE_VALF)}) {
      in.floats.push_back(v);
      in.floats.push_back(-v);
    }
  }
}

Inputs rounding_inputs(const ReferencePosit& ref) {
  Inputs in;
  for (std::uint64_t c = 1; c <= ref.maxpos_code(); ++c) {
    add_with_neighbours(in, ref.value(c));
    if (c < ref.maxpos_code()) add_with_neighbours(in, reference_double(ref.n() + 1, ref.es(), 2 * c + 1));
  }
  const double maxpos = ref.value(ref.maxpos_code());
  const double minpos = ref.value(1);
  for (const double x : {2 * maxpos, 1e300, std::numeric_limits<double>::max(), minpos / 2,
                         minpos / 3, 1e-300, std::numeric_limits<double>::denorm_min(),
                         std::numeric_limits<double>::min()}) {
    add_with_neighbours(in, x);
  }
  for (const double x : {0.0, -0.0, HUGE_VAL, -HUGE_VAL, std::nan("")}) in.doubles.push_back(x);
  for (const float x : {0.0f, -0.0f, HUGE_VALF, -HUGE_VALF, std::nanf(""),
                        std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()}) {
    in.floats.push_back(x);
  }
  return in;
}

// Stochastic rounding with the top-k rule for a few k; the word comes from the element's index.
RoundingSpec spec_for(int mode, std::size_t index) {
  constexpr int kBits[] = {32, 8, 3, 1};
  return RoundingSpec{Rounding(mode), mode == int(Rounding::stochastic) ? kBits[index % 4] : 32};
}

}  // namespace

TEST_CASE("posit decode: every code of every posit<n<=16, es<=4> equals the reference") {
  for (int n = 2; n <= kMaxN; ++n) {
    for (int es = 0; es <= kMaxEs; ++es) {
      const Posit p{n, es};
      CAPTURE(n);
      CAPTURE(es);
      std::int64_t mismatches = 0;
      double previous = -HUGE_VAL;
      // Walk the codes in signed order, NaR first: values must increase strictly.
      for (std::uint64_t step = 1; step <= p.mask(); ++step) {
        const std::uint64_t code = (p.nar_code() + step) & p.mask();
        const double fast = decode<double>(p, code);
        const Rational exact = reference_value(n, es, code);
        // The reference's double equals it too, so is exact (ReferencePosit's search relies on it).
        if (Rational(fast) != exact || reference_double(n, es, code) != fast) ++mismatches;
        if (!(fast > previous)) ++mismatches;
        previous = fast;
        if (decode<double>(p, p.negate(code)) != -fast) ++mismatches;
        if (p.as_signed(code) != std::int64_t(step) - std::int64_t(p.nar_code())) ++mismatches;
      }
      CHECK(mismatches == 0);
      CHECK(std::isnan(decode<double>(p, p.nar_code())));
      CHECK(std::isnan(decode<float>(p, p.nar_code())));
      CHECK(decode<double>(p, 0) == 0.0);
      // The standard's extremes: maxpos = useed^(n-2), minpos = 1/maxpos.
      CHECK(p.maxpos() == std::ldexp(1.0, (n - 2) * (1 << es)));
      CHECK(p.minpos() == std::ldexp(1.0, -(n - 2) * (1 << es)));
    }
  }
}

TEST_CASE("posit round trip: every code survives encode(decode(code)) in every mode") {
  const RandomStream rng{7, 1};
  for (int n = 2; n <= kMaxN; ++n) {
    for (int es = 0; es <= kMaxEs; ++es) {
      const Posit p{n, es};
      CAPTURE(n);
      CAPTURE(es);
      std::int64_t mismatches = 0;
      for (std::uint64_t code = 0; code <= p.mask(); ++code) {
        const double v = decode<double>(p, code);
        for (int mode = 0; mode < kRoundingModeCount; ++mode) {
          const RoundingSpec spec = spec_for(mode, code);
          if (encode(p, v, spec, rng.word(code)) != code) ++mismatches;
          if (double(float(v)) == v && encode(p, float(v), spec, rng.word(code)) != code) ++mismatches;
        }
      }
      CHECK(mismatches == 0);
    }
  }
}

TEST_CASE("posit rounding: every mode on every value, tie point and neighbour (n <= 16)") {
  const RandomStream rng{2024, 3};
  std::int64_t checked = 0;
  for (int n = 2; n <= kMaxN; ++n) {
    for (int es = 0; es <= kMaxEs; ++es) {
      const Posit p{n, es};
      const ReferencePosit ref(n, es, true);
      const Inputs in = rounding_inputs(ref);
      CAPTURE(n);
      CAPTURE(es);
      std::int64_t mismatches = 0;
      std::size_t index = 0;
      const auto check = [&](auto x) {
        const auto bracket = ref.bracket(double(x));
        const std::uint32_t word = rng.word(index);
        for (int mode = 0; mode < kRoundingModeCount; ++mode) {
          const RoundingSpec spec = spec_for(mode, index);
          const std::uint64_t fast = encode(p, x, spec, word);
          const std::uint64_t expected = ref.decide(double(x), bracket, spec, word);
          if (fast != expected) {
            if (++mismatches <= 5) {
              MESSAGE("x=" << double(x) << " mode=" << to_string(spec) << " fast=" << fast
                           << " reference=" << expected);
            }
          }
        }
        ++index;
      };
      for (const double x : in.doubles) check(x);
      for (const float x : in.floats) check(x);
      checked += std::int64_t(index);
      CHECK(mismatches == 0);
    }
  }
  MESSAGE("inputs checked in every mode: " << checked);
}
