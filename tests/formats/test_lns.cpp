// LNS: specs and properties, every code of every 8-bit LNS (and of the 16-bit ones with
// BITSIM_LNS16, the slow suite) decoded against the Boost reference, and rounding in every
// mode and both domains at every value, log-domain boundary and linear midpoint and their
// float64/float32 neighbours; spans equal the single-value calls.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "formats/format.hpp"
#include "formats/lns.hpp"
#include "tests/formats/test_lns_checks.hpp"

using namespace bitsim::formats;
using bitsim::test::Big;
using bitsim::test::ReferenceLns;
using bitsim::test::decode_mismatches;
using bitsim::test::rounding_mismatches;

namespace {

std::vector<Lns> eight_bit_formats() {
  std::vector<Lns> all;
  for (int i = 1; i <= 7; ++i) {
    for (const LnsDomain domain : {LnsDomain::log, LnsDomain::linear}) {
      all.push_back(Lns{i, 7 - i, domain, i % 2 ? Overflow::saturate : Overflow::nan});
    }
  }
  return all;
}

}  // namespace

TEST_CASE("lns specs and properties") {
  const Format f = Format::parse("lns<4,3>");
  CHECK(f.spec() == "lns8");
  CHECK(f.kind() == "lns");
  CHECK_FALSE(f.has_lattice());
  CHECK(f.bits() == 8);
  CHECK(Format::parse("lns<int=4,frac=3>") == f);
  CHECK(Format::parse("lns16").spec() == "lns16");
  CHECK(Format::parse("lns<5,10>").spec() == "lns16");
  CHECK(Format::parse("lns<4,3,round=linear>").spec() == "lns<4,3,round=linear>");
  CHECK(Format::parse("lns8<overflow=nan,round=linear>").spec() == "lns<4,3,round=linear,overflow=nan>");
  CHECK(Format::parse("lns<3,2,round=log,overflow=saturate>").spec() == "lns<3,2>");
  // max = 2^(63/8), min = 1/max (each the nearest double), epsilon = decode(2^(1/8)) - 1.
  const ReferenceLns ref(std::get<Lns>(f.repr()));
  CHECK(f.max_value() == ReferenceLns::nearest<double>(ref.value(63)));
  CHECK(f.min_value() == -f.max_value());
  CHECK(f.min_subnormal() == ReferenceLns::nearest<double>(ref.value(-63)));
  CHECK(f.epsilon() == ReferenceLns::nearest<double>(ref.value(1)) - 1);  // spacing of the decoded values
  CHECK(f.finite_code_count() == 255);
  CHECK(f.has_nan());
  CHECK_FALSE(f.has_infinity());
  CHECK(f.is_nan_code(0xC0));
  CHECK(f.decode(0x40) == 0.0);
  CHECK(f.decode(0x00) == 1.0);
  CHECK(f.decode(0x80) == -1.0);
  CHECK(f.decode(0x08) == 2.0);
  CHECK(f.encode(0.0) == 0x40);
  CHECK(f.encode(-0.0) == 0x40);
  CHECK(f.encode(std::nan("")) == 0xC0);
  CHECK(f.encode(HUGE_VAL) == 0x3F);
  CHECK(Format::parse("lns8<overflow=nan>").encode(HUGE_VAL) == 0xC0);
  for (const char* bad : {"lns<0,3>", "lns<11,3>", "lns<4,24>", "lns<4>", "lns<4,3,round=up>",
                          "lns<4,3,overflow=inf>", "lns<4,3,bias=2>", "lns<4,3,5>", "lns<4,x>"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(Format::parse(bad), std::invalid_argument);
  }
}

TEST_CASE("lns decode: every code of every 8-bit LNS equals the Boost reference") {
  for (const Lns& f : eight_bit_formats()) {
    CAPTURE(to_spec(f));
    CHECK(decode_mismatches(f) == 0);
  }
  // Wider codes, where float's range ends inside the format's (subnormal and inf results).
  CHECK(decode_mismatches(Lns{8, 3}) == 0);
  CHECK(decode_mismatches(Lns{10, 1}) == 0);
}

TEST_CASE("lns rounding: every 8-bit LNS, both domains, every mode at every boundary") {
  std::size_t checked = 0;
  for (const Lns& f : eight_bit_formats()) {
    CAPTURE(to_spec(f));
    CHECK(rounding_mismatches(f, 1, 1, checked) == 0);
  }
  CHECK(rounding_mismatches(Lns{2, 0}, 2, 1, checked) == 0);  // F = 0: dyadic values, real ties
  CHECK(rounding_mismatches(Lns{1, 1, LnsDomain::linear}, 2, 1, checked) == 0);
  CHECK(rounding_mismatches(Lns{3, 0, LnsDomain::linear}, 2, 1, checked) == 0);
  MESSAGE("encodes checked: " << checked);
}

TEST_CASE("lns: directed modes bracket the input, nearest modes round-trip every code") {
  for (const Lns& f : eight_bit_formats()) {
    CAPTURE(to_spec(f));
    std::int64_t bad = 0;
    for (std::uint64_t code = 0; code <= f.mask(); ++code) {
      if (f.is_nan(code)) continue;
      const double v = decode<double>(f, code);
      for (const Rounding m : {Rounding::nearest_even, Rounding::nearest_away, Rounding::nearest_zero}) {
        if (encode(f, v, RoundingSpec{m}) != (f.is_zero(code) ? f.zero_code() : code)) ++bad;
      }
      for (double x = v * 0.8 + 1e-3; x < v * 1.25 + 2e-3; x += (std::fabs(v) + 1e-3) / 37) {
        const double up = decode<double>(f, encode(f, x, RoundingSpec{Rounding::toward_positive}));
        const double down = decode<double>(f, encode(f, x, RoundingSpec{Rounding::toward_negative}));
        // Within range the exact neighbours bracket x; decode's rounding to double can only
        // move them by half an ulp, so compare with a relative slack far below the gap.
        if (std::fabs(x) < f.max_value() && !(up >= x * (1 - 1e-15) && down <= x * (1 + 1e-15))) ++bad;
      }
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("lns spans equal the single-value calls, and packed codes round-trip") {
  const RandomStream rng{5, 6};
  std::vector<float> in;
  for (int i = -17000; i <= 17000; ++i) in.push_back(std::ldexp(float(i) * 1.37f + 0.11f, i % 40 - 20));
  in.push_back(std::numeric_limits<float>::infinity());
  in.push_back(std::nanf(""));
  in.push_back(0.0f);
  const std::vector<double> in_double(in.begin(), in.end());
  const std::uint64_t offset = 77;
  for (const std::string spec : {"lns8", "lns16", "lns<8,23,round=linear>", "lns<3,5,overflow=nan>"}) {
    const Format format = Format::parse(spec);
    CAPTURE(spec);
    for (const char* mode : {"rne", "rd", "sr", "sr:5"}) {
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
        if (std::memcmp(&out[i], &want, sizeof want) != 0) ++mismatches;
        if (std::memcmp(&out_double[i], &want_double, sizeof want_double) != 0) ++mismatches;
        if (codes[i] != format.encode(in[i], r, rng, i)) ++mismatches;
      }
      CHECK(mismatches == 0);
      const auto packed = format.encode_packed(in, r, rng);
      std::vector<float> unpacked(in.size()), decoded(in.size());
      format.decode_packed(packed, unpacked);
      format.decode(codes, decoded);
      CHECK(std::memcmp(unpacked.data(), decoded.data(), decoded.size() * sizeof(float)) == 0);
    }
  }
}
