// Posits through the runtime Format: specs and properties, every code of posit8 and
// posit16 against the independent posit reference (test_posit_reference.hpp) in every
// rounding mode at every value, tie point and their neighbours, and spans equal to the
// single-value calls (element i takes random word offset + i).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "formats/format.hpp"
#include "tests/formats/test_posit_reference.hpp"

using namespace bitsim::formats;
using bitsim::test::ReferencePosit;
using bitsim::test::reference_double;

namespace {

// Values, tie points (the posit<n+1> codes between neighbours), their float64 neighbours,
// the range ends and the specials.
std::vector<double> rounding_inputs(const ReferencePosit& ref) {
  std::vector<double> in;
  const auto add = [&](double x) {
    for (const double v : {x, std::nextafter(x, 0.0), std::nextafter(x, HUGE_VAL)}) {
      in.push_back(v);
      in.push_back(-v);
    }
  };
  for (std::uint64_t c = 1; c <= ref.maxpos_code(); ++c) {
    add(ref.value(c));
    if (c < ref.maxpos_code()) add(reference_double(ref.n() + 1, ref.es(), 2 * c + 1));
  }
  const double maxpos = ref.value(ref.maxpos_code()), minpos = ref.value(1);
  for (const double x : {2 * maxpos, 1e300, minpos / 2, 1e-300, 5e-324}) add(x);
  for (const double x : {0.0, -0.0, HUGE_VAL, -HUGE_VAL, std::nan("")}) in.push_back(x);
  return in;
}

RoundingSpec spec_for(int mode, std::size_t index) {
  constexpr int kBits[] = {32, 8, 3, 1};
  return RoundingSpec{Rounding(mode), mode == int(Rounding::stochastic) ? kBits[index % 4] : 32};
}

}  // namespace

TEST_CASE("posit specs parse into Format with the posit's properties") {
  CHECK(Format::parse("posit<8,2>").spec() == "posit8");
  CHECK(Format::parse("posit<n=16,es=2>").spec() == "posit16");
  CHECK(Format::parse("posit32").spec() == "posit32");
  CHECK(Format::parse("posit16es1").spec() == "posit<16,1>");
  CHECK(Format::parse(" posit<10, 0> ").spec() == "posit<10,0>");
  CHECK(Format::parse("posit<10,0>") == Format::parse(Format::parse("posit<10,0>").spec()));

  const Format p8 = Format::parse("posit8");
  CHECK(p8.kind() == "posit");
  CHECK_FALSE(p8.has_lattice());
  CHECK_THROWS_AS(p8.lattice(), std::invalid_argument);
  CHECK(p8.bits() == 8);
  CHECK(p8.max_value() == std::ldexp(1.0, 24));  // useed^(n-2) = 16^6
  CHECK(p8.min_value() == -std::ldexp(1.0, 24));
  CHECK(p8.min_subnormal() == std::ldexp(1.0, -24));
  CHECK(p8.min_normal() == std::ldexp(1.0, -24));
  CHECK(p8.epsilon() == 0.125);  // 1 = 0x40: regime 10, exponent 00, three fraction bits
  CHECK(p8.finite_code_count() == 255);
  CHECK(p8.has_nan());
  CHECK_FALSE(p8.has_infinity());
  CHECK(p8.overflow() == Overflow::saturate);
  CHECK(p8.is_nan_code(0x80));
  CHECK_FALSE(p8.is_nan_code(0x00));
  CHECK(std::isnan(p8.decode(0x80)));

  const Format p16 = Format::parse("posit16es1");
  CHECK(p16.max_value() == std::ldexp(1.0, 28));
  CHECK(p16.epsilon() == std::ldexp(1.0, -12));

  CHECK_THROWS_AS(Format::parse("posit<40,2>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("posit<8,7>"), std::invalid_argument);
  CHECK_THROWS_AS(Format::parse("posit<8,2,3>"), std::invalid_argument);
  for (const auto& named : extra_named_formats()) {
    CHECK(Format::parse(named.name).spec() == named.name);
  }
}

TEST_CASE("Format posit8 and posit16: every code and every rounding against the reference") {
  const RandomStream rng{99, 4};
  for (const std::string spec : {"posit8", "posit16", "posit<8,0>", "posit<12,3>"}) {
    const Format format = Format::parse(spec);
    const auto& p = std::get<Posit>(format.repr());
    const ReferencePosit ref(p.n, p.es, true);
    CAPTURE(spec);
    std::int64_t mismatches = 0;
    for (std::uint64_t code = 0; code <= p.mask(); ++code) {
      const double v = format.decode(code);
      const double expected = code == p.nar_code() ? std::nan("") : reference_double(p.n, p.es, code);
      if (!(v == expected || (std::isnan(v) && std::isnan(expected)))) ++mismatches;
      if (format.is_nan_code(code) != (code == p.nar_code())) ++mismatches;
    }
    CHECK(mismatches == 0);

    const std::vector<double> inputs = rounding_inputs(ref);
    std::size_t index = 0;
    for (const double x : inputs) {
      const auto bracket = ref.bracket(x);
      for (int mode = 0; mode < kRoundingModeCount; ++mode) {
        const RoundingSpec r = spec_for(mode, index);
        const std::uint64_t expected = ref.decide(x, bracket, r, rng.word(index));
        const std::uint64_t got = format.encode(x, r, rng, index);
        if (got != expected) {
          if (++mismatches <= 5) MESSAGE("x=" << x << " " << to_string(r) << " got " << got << " want " << expected);
        }
        const double rounded = format.round(x, r, rng, index);
        const double want = format.decode(expected);
        if (!(rounded == want || (std::isnan(rounded) && std::isnan(want)))) ++mismatches;
        const float xf = float(x);
        if (double(xf) == x) {
          if (format.encode(xf, r, rng, index) != expected) ++mismatches;
          const float rf = format.round(xf, r, rng, index);
          if (!(rf == float(want) || (std::isnan(rf) && std::isnan(want)))) ++mismatches;
        }
      }
      ++index;
    }
    CHECK(mismatches == 0);
    MESSAGE(spec << ": " << inputs.size() << " inputs in every mode");
  }
}

TEST_CASE("posit spans equal the single-value calls, and packed codes round-trip") {
  const RandomStream rng{5, 6};
  std::vector<float> in;
  for (int i = -35000; i <= 35000; ++i) in.push_back(std::ldexp(float(i) * 1.37f + 0.11f, i % 40 - 20));
  in.push_back(std::numeric_limits<float>::infinity());
  in.push_back(std::nanf(""));
  in.push_back(0.0f);
  const std::vector<double> in_double(in.begin(), in.end());
  const std::uint64_t offset = 1001;
  for (const std::string spec : {"posit8", "posit16", "posit32", "posit<6,4>"}) {
    const Format format = Format::parse(spec);
    CAPTURE(spec);
    for (const char* mode : {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr", "sr:5"}) {
      CAPTURE(mode);
      const RoundingSpec r = parse_rounding(mode);
      std::vector<float> out(in.size());
      std::vector<double> out_double(in.size());
      std::vector<std::uint64_t> codes(in.size());
      format.quantize(in, out, r, rng, offset);
      format.quantize(in_double, out_double, r, rng, offset);
      format.encode(in, codes, r, rng);
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i < in.size(); ++i) {
        const float want = format.round(in[i], r, rng, offset + i);
        const double want_double = format.round(in_double[i], r, rng, offset + i);
        if (std::bit_cast<std::uint32_t>(out[i]) != std::bit_cast<std::uint32_t>(want)) ++mismatches;
        if (std::bit_cast<std::uint64_t>(out_double[i]) != std::bit_cast<std::uint64_t>(want_double)) ++mismatches;
        if (codes[i] != format.encode(in[i], r, rng, i)) ++mismatches;
      }
      CHECK(mismatches == 0);
      const auto packed = format.encode_packed(in, r, rng);
      CHECK(packed.size() == (in.size() * std::size_t(format.bits()) + 7) / 8);
      std::vector<float> unpacked(in.size()), decoded(in.size());
      format.decode_packed(packed, unpacked);
      format.decode(codes, decoded);
      CHECK(std::memcmp(unpacked.data(), decoded.data(), decoded.size() * sizeof(float)) == 0);
    }
  }
}
