// Published facts about the named formats, written here as literals from their sources, and
// checked against Format's properties and decode:
//   ../shared/specs/formats.md (OCP OFP8 rev 1.0, OCP MX v1.0, ml_dtypes), IEEE 754-2019
//   (fp16, fp32, fp64), bfloat16 and NVIDIA TF32 layouts.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>

#include <doctest/doctest.h>

#include "formats/format.hpp"

namespace bf = bitsim::formats;
using bf::Format;

namespace {

struct Fact {
  const char* name;
  int bits;
  double max, min_normal, min_subnormal, epsilon;
  int nan_codes;  // counted over all codes (formats of <= 16 bits); -1: not counted
  bool infinity, negative_zero;
};

// max, min normal, min subnormal, NaN codes, inf, -0: formats.md's table and IEEE 754.
const Fact kFacts[] = {
    {"e4m3fn", 8, 448, 0x1p-6, 0x1p-9, 0x1p-3, 2, false, true},
    {"e4m3", 8, 240, 0x1p-6, 0x1p-9, 0x1p-3, 14, true, true},
    {"e5m2", 8, 57344, 0x1p-14, 0x1p-16, 0x1p-2, 6, true, true},
    {"e3m4", 8, 15.5, 0x1p-2, 0x1p-6, 0x1p-4, 30, true, true},
    {"e4m3fnuz", 8, 240, 0x1p-7, 0x1p-10, 0x1p-3, 1, false, false},
    {"e5m2fnuz", 8, 57344, 0x1p-15, 0x1p-17, 0x1p-2, 1, false, false},
    {"e4m3b11fnuz", 8, 30, 0x1p-10, 0x1p-13, 0x1p-3, 1, false, false},
    {"e3m2fn", 6, 28, 0x1p-2, 0x1p-4, 0x1p-2, 0, false, true},
    {"e2m3fn", 6, 7.5, 1, 0x1p-3, 0x1p-3, 0, false, true},
    {"e2m1fn", 4, 6, 1, 0.5, 0.5, 0, false, true},
    {"e8m0fnu", 8, 0x1p127, 0x1p-127, 0x1p-127, 1, 1, false, false},  // no subnormals: smallest = 2^-127
    {"fp16", 16, 65504, 0x1p-14, 0x1p-24, 0x1p-10, 2046, true, true},
    {"bf16", 16, 0x1.fep127, 0x1p-126, 0x1p-133, 0x1p-7, 254, true, true},
    {"tf32", 19, 0x1.ffcp127, 0x1p-126, 0x1p-136, 0x1p-10, -1, true, true},
    {"fp32", 32, double(std::numeric_limits<float>::max()), double(std::numeric_limits<float>::min()),
     double(std::numeric_limits<float>::denorm_min()), double(std::numeric_limits<float>::epsilon()), -1, true, true},
    {"fp64", 64, std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
     std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::epsilon(), -1, true, true},
};

}  // namespace

TEST_CASE("largest, smallest normal and smallest values, epsilon, specials") {
  for (const auto& fact : kFacts) {
    INFO(fact.name);
    const Format f = Format::parse(fact.name);
    CHECK(f.bits() == fact.bits);
    CHECK(f.max_value() == fact.max);
    CHECK(f.min_value() == (fact.name == std::string("e8m0fnu") ? 0.0 : -fact.max));
    CHECK(f.min_normal() == fact.min_normal);
    CHECK(f.min_subnormal() == fact.min_subnormal);
    CHECK(f.epsilon() == fact.epsilon);
    CHECK(f.has_infinity() == fact.infinity);
    CHECK(f.has_nan() == (fact.nan_codes != 0));
    if (fact.nan_codes < 0) continue;
    int nan_codes = 0, negative_zeros = 0, infinities = 0;
    for (std::uint64_t code = 0; code < (std::uint64_t(1) << fact.bits); ++code) {
      const double v = f.decode(code);
      nan_codes += f.is_nan_code(code);
      CHECK(f.is_nan_code(code) == std::isnan(v));
      negative_zeros += v == 0 && std::signbit(v);
      infinities += std::isinf(v);
    }
    CHECK(nan_codes == fact.nan_codes);
    CHECK(negative_zeros == (fact.negative_zero ? 1 : 0));
    CHECK(infinities == (fact.infinity ? 2 : 0));
    const std::uint64_t non_finite = std::uint64_t(nan_codes + infinities);
    CHECK(f.finite_code_count() == (std::uint64_t(1) << fact.bits) - non_finite);
  }
}

TEST_CASE("OCP MX E2M1 values: 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives") {
  const Format e2m1 = Format::parse("e2m1fn");
  const double values[] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (std::uint64_t code = 0; code < 8; ++code) {
    CHECK(e2m1.decode(code) == values[code]);
    CHECK(e2m1.decode(code | 8) == -values[code]);
    CHECK(std::signbit(e2m1.decode(code | 8)));
  }
}

TEST_CASE("special codes: OCP E4M3 NaN S.1111.111, E5M2 inf S.11111.00, fnuz NaN 0x80, E8M0 NaN 0xFF") {
  const Format e4m3fn = Format::parse("e4m3fn"), e5m2 = Format::parse("e5m2"),
               e4m3fnuz = Format::parse("e4m3fnuz"), e8m0 = Format::parse("e8m0fnu");
  CHECK(std::isnan(e4m3fn.decode(0x7F)));
  CHECK(std::isnan(e4m3fn.decode(0xFF)));
  CHECK(e4m3fn.decode(0x7E) == 448);
  CHECK(e5m2.decode(0x7C) == std::numeric_limits<double>::infinity());
  CHECK(e5m2.decode(0xFC) == -std::numeric_limits<double>::infinity());
  CHECK(e5m2.decode(0x7B) == 57344);
  CHECK(std::isnan(e4m3fnuz.decode(0x80)));
  CHECK(e4m3fnuz.decode(0x00) == 0);
  CHECK(std::isnan(e8m0.decode(0xFF)));
  CHECK(e8m0.decode(0x00) == 0x1p-127);
  CHECK(e8m0.decode(0x7F) == 1.0);
  CHECK(e8m0.decode(0xFE) == 0x1p127);
}

TEST_CASE("integer ranges") {
  const std::tuple<const char*, double, double> ranges[] = {
      {"int2", -2, 1},     {"int4", -8, 7},      {"int8", -128, 127},         {"int8<narrow=true>", -127, 127},
      {"uint4", 0, 15},    {"uint8", 0, 255},    {"int16", -32768, 32767},    {"int32", -2147483648.0, 2147483647.0},
      {"int8<frac=4>", -8, 7.9375}, {"uint8<frac=-2>", 0, 1020}};
  for (const auto& [spec, lowest, highest] : ranges) {
    INFO(spec);
    const Format f = Format::parse(spec);
    CHECK(f.min_value() == lowest);
    CHECK(f.max_value() == highest);
    CHECK(!f.has_nan());
    CHECK(!f.has_infinity());
  }
}
