// LNS arithmetic against the Boost reference: every pair of lns8 codes for mul, div, add
// and sub (exact method), every code for sqrt, in every rounding mode, in both rounding
// domains and both overflow policies. The approximate add methods are checked for their
// defining properties and their error is reported in ulps of the log (LNS-Madam's measure).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "formats/lns_arithmetic.hpp"
#include "formats/random_stream.hpp"
#include "tests/formats/test_lns_reference.hpp"

using namespace bitsim::formats;
using bitsim::test::Big;
using bitsim::test::ReferenceLns;

namespace {

RoundingSpec spec_for(int mode, std::size_t index) {
  constexpr int kBits[] = {32, 8, 3, 1};
  return RoundingSpec{Rounding(mode), mode == int(Rounding::stochastic) ? kBits[index % 4] : 32};
}

// The exact result of an operation: NaN, zero, or a sign with its log ell (units 2^-F)
// and magnitude s.
struct Exact {
  bool nan = false, zero = false, negative = false, integral = false;
  // 2^B + 2^(B + 2^-F) is exactly the midpoint of 2^(B+1) and 2^(B+1+2^-F) (for F >= 1 the
  // only exact linear-domain tie of a sum: the powers 2^(j/2^F), j < 2^F, are linearly
  // independent over the rationals). 160-bit values cannot see an exact tie; this says it.
  bool linear_tie = false;
  Big ell, s;
};

struct Operands {
  bool nan, zero, negative;
  std::int64_t log;
};

Exact nan_result() {
  Exact e;
  e.nan = true;
  return e;
}

Exact zero_result() {
  Exact e;
  e.zero = true;
  return e;
}

Operands read(const Lns& f, std::uint64_t code) {
  return {f.is_nan(code), f.is_zero(code), f.is_negative(code), f.log_of(code)};
}

Exact from_log(const ReferenceLns& ref, bool negative, const Big& ell, bool integral) {
  Exact e;
  e.negative = negative;
  e.ell = ell;
  e.s = ref.power(ell);
  e.integral = integral;
  return e;
}

Exact exact_mul(const ReferenceLns& ref, const Operands& x, const Operands& y, bool divide) {
  Exact e;
  if (x.nan || y.nan || (divide && y.zero)) return nan_result();
  if (x.zero || y.zero) return zero_result();
  return from_log(ref, x.negative != y.negative, Big(divide ? x.log - y.log : x.log + y.log), true);
}

Exact exact_add(const ReferenceLns& ref, const Lns& f, const Operands& x, Operands y, bool subtract) {
  y.negative ^= subtract;
  if (x.nan || y.nan) return nan_result();
  if (x.zero && y.zero) return zero_result();
  if (x.zero) return from_log(ref, y.negative, Big(y.log), true);
  if (y.zero) return from_log(ref, x.negative, Big(x.log), true);
  const Big sx = x.negative ? -ref.value(x.log) : ref.value(x.log);
  const Big sy = y.negative ? -ref.value(y.log) : ref.value(y.log);
  // Powers of two are exact in Big (|L| / 2^F <= 64 here), so a sum that is a power of two
  // shows as one: its log is that integer.
  const Big sum = sx + sy;
  const bool tie = x.negative == y.negative && std::abs(x.log - y.log) == 1 && f.frac_bits >= 1;
  if (sum == 0) return zero_result();
  Exact e;
  e.negative = sum < 0;
  e.s = abs(sum);
  e.linear_tie = tie;
  // The only sums with an integral log (same linear independence): 2^A + 2^A = 2^(A+1)
  // and 2^A - 2^(A-1) = 2^(A-1).
  const std::int64_t one = std::int64_t(1) << f.frac_bits;
  const std::int64_t high = std::max(x.log, y.log), distance = std::abs(x.log - y.log);
  if (x.negative == y.negative && distance == 0) {
    e.ell = Big(high + one);
    e.integral = true;
  } else if (x.negative != y.negative && distance == one) {
    e.ell = Big(high - one);
    e.integral = true;
  } else {
    e.ell = log2(e.s) * Big(one);
  }
  return e;
}

ReferenceLns::Bracket bracket_of(const ReferenceLns& ref, const Lns& f, const Exact& e) {
  if (e.nan || e.zero) return {true, e.nan ? ref.nan_code() : ref.zero_code()};
  auto b = ref.bracket_log(e.negative, e.ell, e.s, e.integral);
  if (e.linear_tie && f.domain == LnsDomain::linear && !b.beyond) {
    b.vs_half = 0;
    b.fraction32 = 0x80000000u;
  }
  return b;
}

std::uint64_t expected(const ReferenceLns& ref, const Exact& e, const RoundingSpec& r, std::uint32_t word) {
  if (e.nan) return ref.nan_code();
  if (e.zero) return ref.zero_code();
  return ref.decide(ref.bracket_log(e.negative, e.ell, e.s, e.integral), r, word);
}

std::vector<Lns> variants(int int_bits, int frac_bits) {
  std::vector<Lns> all;
  for (const LnsDomain domain : {LnsDomain::log, LnsDomain::linear}) {
    for (const Overflow overflow : {Overflow::saturate, Overflow::nan}) {
      all.push_back(Lns{int_bits, frac_bits, domain, overflow});
    }
  }
  return all;
}

}  // namespace

TEST_CASE("lns8 mul, div, add, sub: every operand pair, every mode, against Boost") {
  const RandomStream rng{31, 7};
  {
    const int int_bits = 4, frac_bits = 3;
    const Lns shape{int_bits, frac_bits};
    const ReferenceLns base_ref(shape);
    const std::vector<Lns> formats = {Lns{4, 3, LnsDomain::log, Overflow::saturate},
                                      Lns{4, 3, LnsDomain::linear, Overflow::nan}};
    std::vector<ReferenceLns> refs;
    for (const Lns& f : formats) refs.emplace_back(base_ref, f);
    std::int64_t mismatches = 0, checked = 0;
    std::size_t index = 0;
    for (std::uint64_t a = 0; a <= shape.mask(); ++a) {
      for (std::uint64_t b = 0; b <= shape.mask(); ++b, ++index) {
        const Operands x = read(shape, a), y = read(shape, b);
        const Exact exact[] = {exact_mul(base_ref, x, y, false), exact_mul(base_ref, x, y, true),
                               exact_add(base_ref, shape, x, y, false), exact_add(base_ref, shape, x, y, true)};
        const std::uint32_t word = rng.word(index);
        for (std::size_t v = 0; v < formats.size(); ++v) {
          const Lns& f = formats[v];
          ReferenceLns::Bracket brackets[4];
          for (int op = 0; op < 4; ++op) brackets[op] = bracket_of(refs[v], f, exact[op]);
          for (int mode = 0; mode < kRoundingModeCount; ++mode) {
            const RoundingSpec r = spec_for(mode, index);
            const std::uint64_t got[] = {lns_mul(f, a, b, r, word), lns_div(f, a, b, r, word),
                                         lns_add(f, a, b, r, {}, word), lns_sub(f, a, b, r, {}, word)};
            for (int op = 0; op < 4; ++op) {
              const std::uint64_t want = refs[v].decide(brackets[op], r, word);
              ++checked;
              if (got[op] != want && ++mismatches <= 8) {
                MESSAGE(to_spec(f) << " op " << "*/+-"[op] << " a=" << a << " b=" << b << " "
                                   << to_string(r) << " got " << got[op] << " want " << want);
              }
            }
          }
        }
      }
    }
    CHECK(mismatches == 0);
    MESSAGE("lns<" << int_bits << "," << frac_bits << ">: " << checked << " results checked");
  }
}

// 16 bits: 10^6 random operand pairs (codes drawn from Philox), every mode, both rounding
// domains. Skipped by default; CTest runs it as its own `slow` entry (lns.cmake).
TEST_CASE("lns16 mul, div, add, sub: 10^6 random operand pairs, every mode, against Boost" * doctest::skip()) {
  const RandomStream pick{41, 3}, rng{43, 5};
  const Lns shape{5, 10};
  const ReferenceLns base_ref(shape);
  const std::vector<Lns> formats = {Lns{5, 10, LnsDomain::log, Overflow::saturate},
                                    Lns{5, 10, LnsDomain::linear, Overflow::nan}};
  std::vector<ReferenceLns> refs;
  for (const Lns& f : formats) refs.emplace_back(base_ref, f);
  constexpr std::size_t kPairs = 1000000;
  std::int64_t mismatches = 0, checked = 0;
  for (std::size_t index = 0; index < kPairs; ++index) {
    const std::uint64_t a = pick.word(2 * index) & shape.mask(), b = pick.word(2 * index + 1) & shape.mask();
    const Operands x = read(shape, a), y = read(shape, b);
    const Exact exact[] = {exact_mul(base_ref, x, y, false), exact_mul(base_ref, x, y, true),
                           exact_add(base_ref, shape, x, y, false), exact_add(base_ref, shape, x, y, true)};
    const std::uint32_t word = rng.word(index);
    const Lns& f = formats[index % 2];
    const ReferenceLns& ref = refs[index % 2];
    ReferenceLns::Bracket brackets[4];
    for (int op = 0; op < 4; ++op) brackets[op] = bracket_of(ref, f, exact[op]);
    for (int mode = 0; mode < kRoundingModeCount; ++mode) {
      const RoundingSpec r = spec_for(mode, index);
      const std::uint64_t got[] = {lns_mul(f, a, b, r, word), lns_div(f, a, b, r, word),
                                   lns_add(f, a, b, r, {}, word), lns_sub(f, a, b, r, {}, word)};
      for (int op = 0; op < 4; ++op) {
        const std::uint64_t want = ref.decide(brackets[op], r, word);
        ++checked;
        if (got[op] != want && ++mismatches <= 8)
          MESSAGE(to_spec(f) << " op " << "*/+-"[op] << " a=" << a << " b=" << b << " " << to_string(r)
                             << " got " << got[op] << " want " << want);
      }
    }
  }
  CHECK(mismatches == 0);
  MESSAGE("lns16: " << checked << " results checked");
}

TEST_CASE("lns sqrt: every code of lns8 and lns16, every mode, against Boost") {
  const RandomStream rng{3, 9};
  for (const auto& [int_bits, frac_bits] : {std::pair{4, 3}, std::pair{5, 10}, std::pair{1, 6}}) {
    const ReferenceLns shape_ref(Lns{int_bits, frac_bits});
    for (const Lns& f : variants(int_bits, frac_bits)) {
      const ReferenceLns ref(shape_ref, f);
      std::int64_t mismatches = 0;
      for (std::uint64_t a = 0; a <= f.mask(); ++a) {
        const Operands x = read(f, a);
        Exact e;
        if (x.nan || (x.negative && !x.zero)) e.nan = true;
        else if (x.zero) e.zero = true;
        else e = from_log(ref, false, Big(x.log) / 2, true);
        e.integral = !e.nan && !e.zero && x.log % 2 == 0;
        const std::uint32_t word = rng.word(a);
        for (int mode = 0; mode < kRoundingModeCount; ++mode) {
          const RoundingSpec r = spec_for(mode, a);
          const std::uint64_t got = lns_sqrt(f, a, r, word), want = expected(ref, e, r, word);
          if (got != want && ++mismatches <= 5) {
            MESSAGE(to_spec(f) << " sqrt a=" << a << " " << to_string(r) << " got " << got << " want " << want);
          }
        }
      }
      CAPTURE(to_spec(f));
      CHECK(mismatches == 0);
    }
  }
}

namespace {

// |result log - exact log| in ulps of the log (units 2^-F), max and mean, over operand
// pairs of positive codes whose exact sum (difference) is a nonzero number in range.
struct ErrorStats {
  double max = 0, mean = 0;
};

struct Sample {
  std::uint64_t a, b;
  Exact sum, difference;
};

// Every pair of positive codes (sign bit clear) when there are at most `limit`, else
// `limit` pseudo-random pairs.
std::vector<Sample> error_samples(const Lns& f, const ReferenceLns& ref, std::uint64_t limit) {
  std::vector<Sample> samples;
  const std::uint64_t positives = f.sign_mask();
  const bool all = positives * positives <= limit;
  std::uint64_t state = 12345;
  const auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % positives;
  };
  for (std::uint64_t n = 0; n < (all ? positives * positives : limit); ++n) {
    const std::uint64_t a = all ? n / positives : next(), b = all ? n % positives : next();
    const Operands x = read(f, a), y = read(f, b);
    if (x.zero || y.zero) continue;
    samples.push_back({a, b, exact_add(ref, f, x, y, false), exact_add(ref, f, x, y, true)});
  }
  return samples;
}

ErrorStats add_error(const Lns& f, const std::vector<Sample>& samples, const LnsAddConfig& config, bool subtract) {
  double sum = 0, max = 0;
  std::uint64_t count = 0;
  for (const Sample& s : samples) {
    const Exact& e = subtract ? s.difference : s.sum;
    if (e.zero || e.ell >= Big(f.max_log()) || e.ell <= Big(-f.max_log())) continue;
    const std::uint64_t code = subtract ? lns_sub(f, s.a, s.b, {}, config) : lns_add(f, s.a, s.b, {}, config);
    if (f.is_zero(code) || f.is_nan(code)) continue;
    const double error = std::fabs(static_cast<double>(Big(f.log_of(code)) - e.ell));
    sum += error;
    max = std::max(max, error);
    ++count;
  }
  return {max, count ? sum / double(count) : 0};
}

}  // namespace

TEST_CASE("lns add/sub approximations: error table (ulps of the log) and sanity") {
  const std::vector<std::string> methods = {"exact", "mitchell", "table:2:none", "table:2:linear",
                                            "table:4:none", "table:4:linear", "table:6:linear"};
  std::printf("\nLNS add/sub error, |log(result) - log(exact)| in ulps of the log, rne:\n");
  std::printf("%-8s %-16s %10s %10s %10s %10s\n", "format", "method", "add max", "add mean", "sub max", "sub mean");
  for (const auto& [name, f] : {std::pair{"lns8", Lns{4, 3}}, std::pair{"lns16", Lns{5, 10}}}) {
    const ReferenceLns ref(f);
    const std::vector<Sample> samples = error_samples(f, ref, 20000);
    double exact_add_max = 0;
    for (const std::string& method : methods) {
      const LnsAddConfig config = parse_lns_add_method(method);
      const ErrorStats add = add_error(f, samples, config, false);
      const ErrorStats sub = add_error(f, samples, config, true);
      std::printf("%-8s %-16s %10.3f %10.4f %10.3f %10.4f\n", name, method.c_str(), add.max, add.mean, sub.max, sub.mean);
      if (method == "exact") {
        exact_add_max = add.max;
        CHECK(add.max <= 0.5);  // correctly rounded
        CHECK(sub.max <= 0.5);
      } else {
        CHECK(add.max >= exact_add_max);
        CHECK(add.max < 0.25 * std::ldexp(1.0, f.frac_bits) + 1);  // within a quarter of a binade
      }
    }
  }
  // With 2^T >= 2^F entries per unit of d every d is a grid point: the only error left is
  // the entries' rounding (half a unit of 2^-(F+8)) on top of the final rounding.
  const Lns f{4, 3};
  const ReferenceLns ref(f);
  const auto samples = error_samples(f, ref, 1 << 20);
  for (const char* method : {"table:3:none", "table:5:linear"}) {
    CAPTURE(method);
    CHECK(add_error(f, samples, parse_lns_add_method(method), false).max <= 0.5 + 1.0 / 512);
    CHECK(add_error(f, samples, parse_lns_add_method(method), true).max <= 0.5 + 1.0 / 512);
  }
  CHECK(parse_lns_add_method("table:5:none") == LnsAddConfig{LnsAddMethod::table, 5, LnsInterpolation::none});
  CHECK(to_string(parse_lns_add_method("table")) == "table:8:linear");
  CHECK_THROWS_AS(parse_lns_add_method("table:13"), std::invalid_argument);
  CHECK_THROWS_AS(parse_lns_add_method("gauss"), std::invalid_argument);
}
