// The span kernels (formats/span_kernels.hpp: rne and sr for minifloats and integers, float32
// and float64 spans) against the scalar core, Format::round, which the exhaustive suites
// check against the Boost.Multiprecision reference. Inputs: every value of the format (a
// sample of them for 16-bit formats), its source-type neighbours, every midpoint and its
// neighbours, values a quarter and three quarters of the way between neighbours, zeros,
// subnormal sources, values beyond max and below the smallest step, infinities, NaNs of
// both signs, double inputs that no float holds, and random bit patterns. Stochastic
// rounding: several seeds, streams, random-bit counts and index offsets (odd ones, and
// offsets where the Philox counter carries), and sub-spans that start at odd elements.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "formats/format.hpp"

namespace {

using bitsim::formats::Format;
using bitsim::formats::RandomStream;
using bitsim::formats::Rounding;
using bitsim::formats::RoundingSpec;

// Every named format of at most 16 bits, and variants whose policies take the kernels'
// other branches (overflow unlike inf, NaN to max, narrow and wide integers, tf32 and fp32
// through float64, a min normal below float32's, large and negative biases) or none
// (unsigned formats; a quantum above 2^32, which keep the general core).
std::vector<std::string> formats_under_test() {
  std::vector<std::string> specs;
  for (const auto& named : bitsim::formats::named_formats()) {
    if (Format(named.format).bits() <= 16) specs.emplace_back(named.name);
  }
  for (const char* extra : {"e5m2<overflow=nan>", "e4m3fn<overflow=saturate>", "bf16<overflow=saturate>",
                            "e2m1fn<nan=max>", "e3m2fn<nan=max>", "fp<e=3,m=2,bias=9>", "fp<e=5,m=7,bias=40>",
                            "fp<e=11,m=10>", "fp<e=9,m=5>", "fp<e=3,m=2,bias=-40>", "int8<narrow=true,nan=max>",
                            "int24", "tf32", "fp32"}) {
    specs.emplace_back(extra);
  }
  return specs;
}

template <class Real>
Real next_up(Real x) { return std::nextafter(x, std::numeric_limits<Real>::infinity()); }
template <class Real>
Real next_down(Real x) { return std::nextafter(x, -std::numeric_limits<Real>::infinity()); }

template <class Real>
void add_with_neighbours(std::vector<Real>& inputs, double v) {
  const Real x = Real(v);
  for (Real y : {x, next_up(x), next_down(x), -x, -next_up(x), -next_down(x)}) inputs.push_back(y);
}

template <class Real>
std::vector<Real> boundary_inputs(const Format& f) {
  std::vector<Real> inputs;
  // The format's nonnegative values in increasing order (NaN codes dropped): every code of
  // formats up to 8 bits; of wider ones about 1000 evenly spread codes plus the first and
  // last 256, which hold the subnormals and the overflow edge.
  const int bits = f.bits();
  const std::uint64_t codes = std::uint64_t(1) << bits;
  const std::uint64_t stride = bits <= 8 ? 1 : codes >> 10;
  std::vector<std::uint64_t> sampled;
  for (std::uint64_t code = 0; code < codes; code += stride) sampled.push_back(code);
  for (std::uint64_t code = 0; code < 256 && bits > 8; ++code) {
    sampled.push_back(code);
    sampled.push_back(codes - 1 - code);
    if (bits > 9) sampled.push_back((codes >> 1) - 1 - code);  // signed: the top positive codes
  }
  std::vector<double> values;
  for (std::uint64_t code : sampled) {
    if (f.is_nan_code(code)) continue;
    const double v = f.decode(code);
    if (std::isfinite(v) && v >= 0) values.push_back(v);
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  for (std::size_t i = 0; i < values.size(); ++i) {
    add_with_neighbours(inputs, values[i]);
    if (i + 1 < values.size()) {
      const double lo = values[i], hi = values[i + 1];
      for (double t : {0.5, 0.25, 0.75, 1.0 / 3.0}) add_with_neighbours(inputs, lo + (hi - lo) * t);
      // Not representable in float: a double just off the midpoint.
      if constexpr (std::is_same_v<Real, double>) {
        const double mid = lo + (hi - lo) * 0.5;
        inputs.push_back(mid + (hi - lo) * 0x1p-40);
        inputs.push_back(-(mid - (hi - lo) * 0x1p-40));
      }
    }
  }
  const double max = f.max_value(), tiny = f.min_subnormal();
  for (double v : {0.0, max * 1.5, max * 4, max * 1e6, tiny / 2, tiny / 4, tiny / 3, tiny * 0x1p-30, 1e30, 1e-30}) {
    add_with_neighbours(inputs, v);
  }
  constexpr Real inf = std::numeric_limits<Real>::infinity();
  constexpr Real nan = std::numeric_limits<Real>::quiet_NaN();
  const Real subnormals[] = {std::numeric_limits<Real>::denorm_min(), std::numeric_limits<Real>::denorm_min() * 3,
                             std::numeric_limits<Real>::min() / 2, next_down(std::numeric_limits<Real>::min()),
                             std::numeric_limits<Real>::max(), std::numeric_limits<Real>::min()};
  for (Real x : subnormals) {
    inputs.push_back(x);
    inputs.push_back(-x);
  }
  for (Real x : {inf, -inf, nan, -nan, std::numeric_limits<Real>::signaling_NaN()}) inputs.push_back(x);
  // Random patterns: every exponent, NaN payloads, subnormals.
  using Bits = std::conditional_t<std::is_same_v<Real, float>, std::uint32_t, std::uint64_t>;
  std::mt19937_64 generator(0x5eed + f.bits());
  for (int i = 0; i < 2000; ++i) inputs.push_back(std::bit_cast<Real>(Bits(generator())));
  return inputs;
}

template <class Real>
void check_against_core(const Format& f, const std::vector<Real>& in, RoundingSpec r, RandomStream rng,
                        std::uint64_t index_offset, std::size_t start) {
  using Bits = std::conditional_t<std::is_same_v<Real, float>, std::uint32_t, std::uint64_t>;
  const std::span<const Real> part = std::span<const Real>(in).subspan(start);
  std::vector<Real> out(part.size());
  f.quantize(part, std::span<Real>(out), r, rng, index_offset);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < part.size(); ++i) {
    const Real expected = f.round(part[i], r, rng, index_offset + i);
    if (std::bit_cast<Bits>(out[i]) != std::bit_cast<Bits>(expected) && ++mismatches <= 5) {
      FAIL_CHECK(f.spec() << " " << bitsim::formats::to_string(r) << " seed " << rng.seed << " stream "
                          << rng.stream << " index " << index_offset + i << ": input " << std::hexfloat
                          << double(part[i]) << " span " << double(out[i]) << " core " << double(expected));
    }
  }
  CHECK(mismatches == 0);
}

template <class Real>
void check_format(const std::string& spec) {
  const Format f = Format::parse(spec);
  const std::vector<Real> in = boundary_inputs<Real>(f);
  REQUIRE(in.size() > 2000);
  INFO(spec);
  check_against_core(f, in, {Rounding::nearest_even, 32}, {}, 0, 0);
  // Stochastic: full and k-bit words (23 and 24 bracket float32's mantissa), odd offsets,
  // sub-spans starting at odd elements, counters that carry past 2^32 groups.
  struct Case {
    int bits;
    RandomStream rng;
    std::uint64_t offset;
    std::size_t start;
  };
  const Case cases[] = {
      {32, {12345, 0}, 0, 0},
      {32, {7, 3}, 5, 3},
      {24, {0xdeadbeefcafe, 1}, (std::uint64_t(1) << 34) - 6, 1},
      {23, {99, 0xffffffffffffffff}, 1, 0},
      {8, {1, 2}, 3, 7},
      {1, {2, 2}, 0xffffffff00000001u, 2},  // high counter word in use (no wrap past 2^64)
  };
  for (const Case& c : cases) check_against_core(f, in, {Rounding::stochastic, c.bits}, c.rng, c.offset, c.start);
}

}  // namespace

TEST_CASE("span kernels give the scalar core's bits on float32 spans") {
  for (const auto& spec : formats_under_test()) check_format<float>(spec);
}

TEST_CASE("span kernels give the scalar core's bits on float64 spans") {
  for (const auto& spec : formats_under_test()) check_format<double>(spec);
}

TEST_CASE("span kernels: a span longer than one parallel task matches the core") {
  // 2^16 + 5 elements: two oneTBB tasks and a tail, for an sr run that crosses task edges.
  for (const char* spec : {"e4m3fn", "int8", "bf16"}) {
    const Format f = Format::parse(spec);
    std::vector<double> in((1 << 16) + 5);
    std::mt19937_64 generator(42);
    std::normal_distribution<double> normal(0.0, f.max_value() / 3);
    for (auto& x : in) x = normal(generator);
    check_against_core(f, in, {Rounding::stochastic, 32}, {31, 4}, 17, 0);
    check_against_core(f, in, {Rounding::nearest_even, 32}, {}, 0, 1);
    std::vector<float> in_float(in.begin(), in.end());
    check_against_core(f, in_float, {Rounding::stochastic, 32}, {31, 4}, 17, 3);
  }
}
