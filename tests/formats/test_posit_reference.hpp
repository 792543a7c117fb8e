#pragma once
// An independent posit reference, written from the Posit Standard's definitions rather
// than from formats/posit.hpp's bit-window tricks:
//   decode: walk the bits one by one (sign, two's complement, regime run length, es
//           exponent bits with missing ones read as 0, fraction) and form
//           (-1)^s * useed^k * 2^e * (1 + f / 2^fb) as an exact cpp_rational;
//   round:  find the two neighbouring posits by binary search over the codes, take the
//           tie point as the value of the posit<n+1,es> code between them (the standard's
//           definition), and decide per mode; stochastic rounding's probability is
//           (x - lo) / (hi - lo), its 32-bit floor computed exactly with cpp_int.
// Neighbour search and tie comparisons run on doubles: every posit<n<=33,es<=4> value is
// a double exactly (fraction <= 30 bits, |scale| <= 496), which the exhaustive suite checks
// against cpp_rational for every code it uses, and the inputs are doubles.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "formats/rounding.hpp"

namespace bitsim::test {

using Rational = boost::multiprecision::cpp_rational;
using BigInt = boost::multiprecision::cpp_int;

struct ReferenceFields {
  bool zero = false;
  bool nar = false;
  bool negative = false;
  int regime = 0;    // k
  int exponent = 0;  // e, 0 .. 2^es - 1
  std::uint64_t fraction = 0;
  int fraction_bits = 0;
};

inline ReferenceFields reference_fields(int n, int es, std::uint64_t code) {
  ReferenceFields out;
  const std::uint64_t all = n == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << n) - 1;
  code &= all;
  const std::uint64_t sign_only = std::uint64_t(1) << (n - 1);
  if (code == 0) {
    out.zero = true;
    return out;
  }
  if (code == sign_only) {
    out.nar = true;
    return out;
  }
  out.negative = (code & sign_only) != 0;
  if (out.negative) code = (all - code + 1) & all;  // two's complement: 2^n - code
  int bit[64] = {};
  for (int i = 0; i < n; ++i) bit[i] = int((code >> (n - 1 - i)) & 1);
  int i = 1;
  const int first = bit[1];
  int run = 0;
  while (i < n && bit[i] == first) {
    ++run;
    ++i;
  }
  if (i < n) ++i;  // the bit that ended the run
  out.regime = first == 1 ? run - 1 : -run;
  for (int j = 0; j < es; ++j) {
    out.exponent *= 2;
    if (i < n) out.exponent += bit[i++];  // bits cut off by the end of the code count as 0
  }
  while (i < n) {
    out.fraction = out.fraction * 2 + std::uint64_t(bit[i++]);
    ++out.fraction_bits;
  }
  return out;
}

inline Rational power_of_two(int p) {
  BigInt one = 1;
  return p >= 0 ? Rational(one << p) : Rational(BigInt(1), one << -p);
}

// Exact value; NaR has none (callers check .nar first).
inline Rational reference_value(int n, int es, std::uint64_t code) {
  const ReferenceFields f = reference_fields(n, es, code);
  if (f.zero || f.nar) return Rational(0);
  // (1 + f / 2^fb) * 2^scale = (2^fb + f) * 2^(scale - fb)
  const int scale = f.regime * (1 << es) + f.exponent;
  const BigInt significand = (BigInt(1) << f.fraction_bits) + BigInt(f.fraction);
  const Rational magnitude = power_of_two(scale - f.fraction_bits) * Rational(significand);
  return f.negative ? Rational(-magnitude) : magnitude;
}

inline double reference_double(int n, int es, std::uint64_t code) {
  const ReferenceFields f = reference_fields(n, es, code);
  if (f.zero) return 0.0;
  if (f.nar) return std::nan("");
  const double magnitude =
      std::ldexp(1.0 + std::ldexp(double(f.fraction), -f.fraction_bits),
                 f.regime * (1 << es) + f.exponent);
  return f.negative ? -magnitude : magnitude;
}

// Rounds x by the definitions above. `positive_values`, when given, holds the values of
// codes 1 .. 2^(n-1)-1 in code order (a cache for the exhaustive suite); otherwise the
// search decodes codes as it goes.
class ReferencePosit {
 public:
  ReferencePosit(int n, int es, bool cache) : n_(n), es_(es) {
    if (cache) {
      for (std::uint64_t c = 1; c < maxpos_code() + 1; ++c) values_.push_back(reference_double(n, es, c));
    }
  }
  int n() const { return n_; }
  int es() const { return es_; }
  std::uint64_t nar() const { return std::uint64_t(1) << (n_ - 1); }
  std::uint64_t maxpos_code() const { return nar() - 1; }
  std::uint64_t negate(std::uint64_t c) const { return ((std::uint64_t(1) << n_) - c) & ((std::uint64_t(1) << n_) - 1); }
  double value(std::uint64_t code) const {
    return values_.empty() || code == 0 || code > maxpos_code() ? reference_double(n_, es_, code)
                                                                : values_[code - 1];
  }

  // Where a magnitude lies: the code at or below it, and whether it is exact (or clamped).
  struct Bracket {
    std::uint64_t lo = 0;
    bool settled = true;  // no rounding decision left: exact, clamped, zero or NaR
    double magnitude = 0;
    double tie = 0;  // the posit<n+1,es> value between lo and lo + 1
  };

  Bracket bracket(double x) const {
    if (std::isnan(x) || std::isinf(x)) return {nar(), true, 0, 0};
    const double a = std::fabs(x);
    if (a == 0) return {0, true, 0, 0};
    // Never to 0, never to NaR: clamp into [minpos, maxpos] in every mode.
    if (a >= value(maxpos_code())) return {maxpos_code(), true, a, 0};
    if (a <= value(1)) return {1, true, a, 0};
    std::uint64_t lo = 1, hi = maxpos_code();  // value(lo) <= a < value(hi)
    while (hi - lo > 1) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      (value(mid) <= a ? lo : hi) = mid;
    }
    const bool exact = value(lo) == a;
    return {lo, exact, a, exact ? 0.0 : reference_double(n_ + 1, es_, 2 * lo + 1)};
  }

  std::uint64_t round(double x, formats::RoundingSpec r, std::uint32_t random = 0) const {
    return decide(x, bracket(x), r, random);
  }

  // The code for x in mode r, given x's bracket.
  std::uint64_t decide(double x, const Bracket& b, formats::RoundingSpec r,
                       std::uint32_t random = 0) const {
    if (b.lo == nar() || b.lo == 0) return b.lo;
    const bool negative = x < 0;
    const std::uint64_t magnitude = b.settled ? b.lo : b.lo + (up(b, negative, r, random) ? 1 : 0);
    return negative ? negate(magnitude) : magnitude;
  }

 // The same rule for an exact rational (quire sums, which need not be doubles).
  std::uint64_t round_exact(const Rational& x, formats::RoundingSpec r, std::uint32_t random = 0) const {
    if (x == 0) return 0;
    const bool negative = x < 0;
    const Rational a = negative ? Rational(-x) : x;
    const auto exact_value = [this](std::uint64_t c) { return Rational(value(c)); };
    std::uint64_t magnitude = 0;
    if (a >= exact_value(maxpos_code())) {
      magnitude = maxpos_code();
    } else if (a <= exact_value(1)) {
      magnitude = 1;
    } else {
      std::uint64_t lo = 1, hi = maxpos_code();
      while (hi - lo > 1) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        (exact_value(mid) <= a ? lo : hi) = mid;
      }
      magnitude = lo;
      if (exact_value(lo) != a) {
        const Rational tie(reference_double(n_ + 1, es_, 2 * lo + 1));
        const int vs_tie = a < tie ? -1 : a > tie ? 1 : 0;
        const auto fraction = [&] {
          const Rational p = (a - exact_value(lo)) / (exact_value(lo + 1) - exact_value(lo)) *
                             Rational(BigInt(1) << 32);
          return std::uint64_t(BigInt(numerator(p) / denominator(p)));
        };
        magnitude += choose_up(r, (lo & 1) != 0, negative, vs_tie, fraction, random) ? 1 : 0;
      }
    }
    return negative ? negate(magnitude) : magnitude;
  }

 private:
  bool up(const Bracket& b, bool negative, formats::RoundingSpec r, std::uint32_t random) const {
    const double a = b.magnitude;
    const std::uint64_t lo = b.lo;
    const double tie = b.tie;
    const int vs_tie = a < tie ? -1 : a > tie ? 1 : 0;
    const auto fraction = [&] { return stochastic_fraction(a, value(lo), value(lo + 1)); };
    return choose_up(r, (lo & 1) != 0, negative, vs_tie, fraction, random);
  }

  // Whether to take the upper neighbour: vs_tie compares the magnitude with the tie point;
  // sr_fraction() gives floor(2^32 * (x - lo) / (hi - lo)).
  template <class Fraction>
  static bool choose_up(formats::RoundingSpec r, bool odd, bool negative, int vs_tie,
                        const Fraction& sr_fraction, std::uint32_t random) {
    using formats::Rounding;
    switch (r.mode) {
      case Rounding::nearest_even: return vs_tie > 0 || (vs_tie == 0 && odd);
      case Rounding::nearest_away: return vs_tie >= 0;
      case Rounding::nearest_zero: return vs_tie > 0;
      case Rounding::toward_positive: return !negative;
      case Rounding::toward_negative: return negative;
      case Rounding::toward_zero: return false;
      case Rounding::odd: return !odd;
      case Rounding::stochastic: {
        const std::uint64_t f = sr_fraction();
        const int k = r.random_bits;
        return (f >> (32 - k)) + (std::uint64_t(random) >> (32 - k)) >= (std::uint64_t(1) << k);
      }
    }
    return false;
  }

  // floor(2^32 * (a - lo) / (hi - lo)), exactly: the three doubles as integers in units of
  // the smallest last bit among them. They span at most 53 + 30 + 2^es + 1 bits, so with
  // the 32-bit shift a fixed 256-bit cpp_int holds every step.
  static std::uint64_t stochastic_fraction(double a, double lo, double hi) {
    using Fixed = boost::multiprecision::int256_t;
    int ea, el, eh;
    const double ma = std::frexp(a, &ea), ml = std::frexp(lo, &el), mh = std::frexp(hi, &eh);
    const auto as_int = [](double m, int e, int unit) {  // m * 2^e / 2^unit, m in [0.5, 1)
      return Fixed(std::int64_t(std::ldexp(m, 53))) << (e - 53 - unit);
    };
    const int unit = std::min({ea, el, eh}) - 53;
    const Fixed num = (as_int(ma, ea, unit) - as_int(ml, el, unit)) << 32;
    const Fixed den = as_int(mh, eh, unit) - as_int(ml, el, unit);
    return std::uint64_t(Fixed(num / den));
  }

  int n_;
  int es_;
  std::vector<double> values_;
};

}  // namespace bitsim::test
