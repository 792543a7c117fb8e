#pragma once
// Checks shared by the LNS suites: decode of every code and rounding at every boundary
// against the Boost reference (test_lns_reference.hpp).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "formats/lns.hpp"
#include "formats/random_stream.hpp"
#include "tests/formats/test_lns_reference.hpp"

namespace bitsim::test {

using namespace bitsim::formats;

inline RoundingSpec spec_for(int mode, std::size_t index) {
  constexpr int kBits[] = {32, 8, 3, 1};
  return RoundingSpec{Rounding(mode), mode == int(Rounding::stochastic) ? kBits[index % 4] : 32};
}

template <class Real>
inline Real expected_decode(const ReferenceLns& ref, std::int64_t L) {
  const Big& v = ref.value(L);
  // Beyond Real's range (half an ulp above max) the host type holds inf.
  const Real max = std::numeric_limits<Real>::max();
  const Big limit = Big(max) + Big(std::ldexp(Real(1), std::numeric_limits<Real>::max_exponent - std::numeric_limits<Real>::digits - 1));
  if (v >= limit) return std::numeric_limits<Real>::infinity();
  return ReferenceLns::nearest<Real>(v);
}

inline std::int64_t decode_mismatches(const Lns& f) {
  const ReferenceLns ref(f);
  std::int64_t mismatches = 0;
  for (std::uint64_t code = 0; code <= f.mask(); ++code) {
    const double d = decode<double>(f, code);
    const float s = decode<float>(f, code);
    if (f.is_nan(code)) {
      mismatches += !std::isnan(d) + !std::isnan(s);
      continue;
    }
    if (f.is_zero(code)) {
      mismatches += (std::bit_cast<std::uint64_t>(d) != 0) + (std::bit_cast<std::uint32_t>(s) != 0);
      continue;
    }
    const double sign = f.is_negative(code) ? -1 : 1;
    const std::int64_t L = f.log_of(code);
    const double want = sign * expected_decode<double>(ref, L);
    const float want_float = float(sign) * expected_decode<float>(ref, L);
    if (d != want || s != want_float) {
      if (++mismatches <= 5) MESSAGE("code " << code << " L " << L << " got " << d << " want " << want);
    }
  }
  return mismatches;
}

// Every value, log boundary and linear midpoint, as the nearest double and float, with
// their neighbours; the range ends and the specials.
struct Inputs {
  std::vector<double> doubles;
  std::vector<float> floats;
};

inline Inputs rounding_inputs(const ReferenceLns& ref, int neighbours) {
  Inputs in;
  const auto add = [&](const Big& point) {
    double d = ReferenceLns::nearest<double>(point);
    for (int k = 0; k < neighbours; ++k) d = std::nextafter(d, 0.0);
    for (int k = 0; k <= 2 * neighbours; ++k, d = std::nextafter(d, HUGE_VAL)) {
      in.doubles.push_back(d);
      in.doubles.push_back(-d);
    }
    if (point > Big(std::numeric_limits<float>::max()) || point < Big(std::numeric_limits<float>::min())) return;
    float s = ReferenceLns::nearest<float>(point);
    s = std::nextafter(s, 0.0f);
    for (int k = 0; k < 3; ++k, s = std::nextafter(s, HUGE_VALF)) in.floats.push_back(k == 1 ? -s : s);
  };
  for (std::int64_t L = -ref.max_log() - 1; L <= ref.max_log() + 1; ++L) {
    add(ref.value(L));
    add(ref.boundary(L));
    if (L <= ref.max_log()) add((ref.value(L) + ref.value(L + 1)) / 2);
  }
  for (const double x : {1e300, 1e-300, 5e-324, 0.0, -0.0, HUGE_VAL, -HUGE_VAL, std::nan("")}) in.doubles.push_back(x);
  for (const float x : {0.0f, HUGE_VALF, -HUGE_VALF, std::nanf(""), 1e-45f, 3e38f}) in.floats.push_back(x);
  return in;
}

// Rounds every input in every mode (stochastic with k = 32, 8, 3, 1) and compares with the
// reference; `sr_stride` > 1 checks stochastic rounding on every sr_stride-th input only
// (its reference needs a 160-bit log per input).
inline std::int64_t rounding_mismatches(const Lns& f, int neighbours, std::size_t sr_stride, std::size_t& checked) {
  const ReferenceLns ref(f);
  const Inputs in = rounding_inputs(ref, neighbours);
  const RandomStream rng{11, 2};
  std::int64_t mismatches = 0;
  std::size_t index = 0;
  const auto check = [&](auto x) {
    const bool with_sr = index % sr_stride == 0;
    const auto bracket = ref.bracket(double(x), with_sr);
    const std::uint32_t word = rng.word(index);
    for (int mode = 0; mode < kRoundingModeCount; ++mode) {
      if (mode == int(Rounding::stochastic) && !with_sr) continue;
      const RoundingSpec r = spec_for(mode, index);
      const std::uint64_t got = encode(f, x, r, word);
      const std::uint64_t want = ref.decide(bracket, r, word);
      if (got != want && ++mismatches <= 8) {
        MESSAGE(to_spec(f) << " x=" << std::hexfloat << double(x) << std::defaultfloat << " "
                           << to_string(r) << " got " << got << " want " << want);
      }
      ++checked;
    }
    ++index;
  };
  for (const double x : in.doubles) check(x);
  for (const float x : in.floats) check(x);
  return mismatches;
}

}  // namespace bitsim::test
