// Value<Type>: operators on compile-time formats give the same codes as Arithmetic, one
// rounding per operator; conversion between formats; specials and signed zeros.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "formats/arithmetic.hpp"
#include "formats/format.hpp"
#include "formats/value.hpp"

using namespace bitsim::formats;

namespace {

using E4M3 = MiniFloatType<4, 3, 7, Specials::fn>;
using P16 = PositType<16, 2>;
using FP16 = MiniFloatType<5, 10, 15>;

}  // namespace

TEST_CASE("Value<e4m3fn>: a * b + c rounds after each operator; fma once") {
  const Value<E4M3> a(1.125), b(1.125), c(-1.125);
  // 1.125^2 = 1.265625 -> e4m3fn (step 0.125 in [1, 2)) rne: 1.25; minus 1.125 = 0.125.
  CHECK(double(a * b + c) == 0.125);
  // fused: 0.140625 = 0.125 + 2^-6, exact (step 2^-6 in [0.125, 0.25)).
  CHECK(double(fma(a, b, c)) == 0.140625);
  const Arithmetic& arith = Value<E4M3>::arithmetic();
  CHECK((a * b).code() == arith.mul(a.code(), b.code()));
  CHECK(Value<E4M3>(448.0) + Value<E4M3>(64.0) == Value<E4M3>::from_code(0x7f));  // overflow: NaN
  CHECK(std::isnan(double(Value<E4M3>(0.0) / Value<E4M3>(0.0))));
  CHECK(double(sqrt(Value<E4M3>(2.25))) == 1.5);
  CHECK(double(-Value<E4M3>(3.0)) == -3.0);
}

TEST_CASE("Value: the rounding mode is a template argument") {
  using Down = Value<E4M3, Rounding::toward_zero>;
  using Up = Value<E4M3, Rounding::toward_positive>;
  CHECK(double(Down(1.0) / Down(3.0)) == 0.3125);  // 1/3 in [0.25, 0.5): step 2^-5: 0.3125 <= 1/3
  CHECK(double(Up(1.0) / Up(3.0)) == 0.34375);
  CHECK(double(Value<E4M3, Rounding::toward_zero>(448.0) * Value<E4M3, Rounding::toward_zero>(2.0)) == 448);
  // IEEE 754 6.3: x - x is +0, but -0 rounding toward negative.
  using FpDown = Value<FP16, Rounding::toward_negative>;
  CHECK(std::signbit(double(FpDown(1.5) - FpDown(1.5))));
  CHECK(!std::signbit(double(Value<FP16>(1.5) - Value<FP16>(1.5))));
}

TEST_CASE("Value<posit<16,2>>: operators, saturation and NaR") {
  const Value<P16> x(3.0), y(7.0);
  CHECK(double(x * y) == 21.0);
  CHECK(double(x / y) == Value<P16>(3.0 / 7.0).value());  // one rounding of 3/7 either way
  const Value<P16> big(1e30);  // beyond maxpos = 2^56: saturates
  CHECK(double(big) == std::ldexp(1.0, 56));
  CHECK(double(big * big) == std::ldexp(1.0, 56));
  CHECK(std::isnan(double(x / Value<P16>(0.0))));  // NaR
  Value<P16> acc;
  for (int i = 0; i < 10; ++i) acc += Value<P16>(0.1);
  CHECK(std::fabs(double(acc) - 1.0) < 1e-3);
}

TEST_CASE("convert between formats: exact value, one rounding") {
  const Format fp16 = Format::parse("fp16"), e4m3fn = Format::parse("e4m3fn"), e5m2 = Format::parse("e5m2");
  const Arithmetic to16(fp16);
  // 1 + 2^-10 in fp16 -> e4m3fn: 1 (rne), 1.125 (ru).
  const std::uint64_t code = to16.from_double(1.0 + std::ldexp(1.0, -10));
  CHECK(Format(e4m3fn).decode(convert(fp16, code, e4m3fn)) == 1.0);
  CHECK(e4m3fn.decode(convert(fp16, code, e4m3fn, {Rounding::toward_positive})) == 1.125);
  // e5m2 inf -> e4m3fn: NaN (no infinity; its overflow policy); e4m3fn NaN -> e5m2 NaN.
  CHECK(e4m3fn.is_nan_code(convert(e5m2, 0x7c, e4m3fn)));
  CHECK(e5m2.is_nan_code(convert(e4m3fn, 0x7f, e5m2)));
  // Every e4m3fn code converts to fp16 exactly and back.
  for (std::uint64_t c = 0; c < 256; ++c) {
    if (e4m3fn.is_nan_code(c)) continue;
    CHECK(convert(fp16, convert(e4m3fn, c, fp16), e4m3fn) == c);
  }
  // Posit to float and back.
  if (Format::parse("posit8").bits() == 8) {
    const Format posit8 = Format::parse("posit8");
    for (std::uint64_t c = 0; c < 256; ++c) {
      const std::uint64_t there = convert(posit8, c, Format::parse("fp32"));
      CHECK(convert(Format::parse("fp32"), there, posit8) == c);
    }
  }
}

TEST_CASE("spans: the table path of small formats gives the scalar path's codes") {
  // Spans of >= 4096 elements in formats of <= 8 bits read add/sub/mul/div/sqrt from a table;
  // every pair, every deterministic mode, against the scalar call.
  for (const char* spec : {"e4m3fn", "e2m1fn", "posit8", "int8", "e8m0fnu"}) {
    INFO(spec);
    const Format format = Format::parse(spec);
    const Arithmetic arith(format);
    const std::size_t codes = std::size_t(1) << format.bits();
    std::vector<std::uint64_t> a, b;
    for (std::size_t x = 0; x < codes; ++x) {
      for (std::size_t y = 0; y < codes; ++y) {
        a.push_back(x);
        b.push_back(y);
      }
    }
    while (a.size() < 4096) {  // small formats: repeat the pairs up to the table threshold
      a.insert(a.end(), a.begin(), a.begin() + std::ptrdiff_t(codes * codes));
      b.insert(b.end(), b.begin(), b.begin() + std::ptrdiff_t(codes * codes));
    }
    std::vector<std::uint64_t> out(a.size());
    std::size_t bad = 0;
    for (const Operation op : {Operation::add, Operation::sub, Operation::mul, Operation::div, Operation::sqrt}) {
      for (int m = 0; m < 7; ++m) {
        arith.apply(op, a, b, {}, out, {Rounding(m)});
        for (std::size_t i = 0; i < a.size(); ++i) bad += out[i] != arith.apply(op, a[i], b[i], 0, {Rounding(m)});
      }
    }
    CHECK(bad == 0);
  }
}

#if __has_include("formats/lns_arithmetic.hpp")
#include "formats/lns_arithmetic.hpp"

TEST_CASE("LNS formats: Arithmetic calls the LNS functions (fma: two roundings)") {
  const Format format = Format::parse("lns<4,3>");
  const Arithmetic arith(format);
  const Lns& lns = std::get<Lns>(format.repr());
  const RoundingSpec r{Rounding::nearest_even};
  std::size_t bad = 0;
  for (std::uint64_t a = 0; a < 256; ++a) {
    for (std::uint64_t b = 0; b < 256; b += 3) {
      bad += arith.add(a, b, r) != lns_add(lns, a, b, r);
      bad += arith.sub(a, b, r) != lns_sub(lns, a, b, r);
      bad += arith.mul(a, b, r) != lns_mul(lns, a, b, r);
      bad += arith.div(a, b, r) != lns_div(lns, a, b, r);
      bad += arith.fma(a, b, a, r) != lns_add(lns, lns_mul(lns, a, b, r), a, r);
    }
    bad += arith.sqrt(a, r) != lns_sqrt(lns, a, r);
  }
  CHECK(bad == 0);
}
#endif
