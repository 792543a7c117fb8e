#pragma once
// An independent LNS reference in Boost.Multiprecision (cpp_bin_float, 160 bits), written
// from the definitions in formats/LNS.md rather than from lns.hpp's integer algorithms:
//   value(L)   = 2^(L / 2^F) via Boost's exp2-free pow at 160 bits;
//   decode     = the double (float) nearest to value(L), chosen among the neighbours of
//                Boost's conversion by exact comparison;
//   rounding   = the neighbours are found by binary search over value(L); the discarded
//                part is 2^F log2|x| - L_lo (log domain) or (|x| - lo) / (hi - lo) (linear
//                domain), and the mode decides from it directly (no shared round_up()).
// The values 2^(L/2^F) and the log-domain boundaries 2^((L + 1/2)/2^F) are irrational, so
// 160 bits decide every comparison with a double (53 bits) by a wide margin.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <boost/multiprecision/cpp_bin_float.hpp>

#include "formats/lns.hpp"

namespace bitsim::test {

using Big = boost::multiprecision::number<
    boost::multiprecision::cpp_bin_float<160, boost::multiprecision::digit_base_2>>;

class ReferenceLns {
 public:
  explicit ReferenceLns(const formats::Lns& f) : f_(f) {
    max_log_ = (std::int64_t(1) << (f.int_bits + f.frac_bits - 1)) - 1;
    scale_ = Big(std::ldexp(1.0, f.frac_bits));
    for (std::int64_t L = -max_log_ - 1; L <= max_log_ + 1; ++L) {
      values_.push_back(power(Big(L)));
      boundaries_.push_back(power(Big(L) + Big(0.5)));
    }
  }

  // The same tables for a format of the same shape with other options (domain, overflow).
  ReferenceLns(const ReferenceLns& shape, const formats::Lns& f) : ReferenceLns(shape) { f_ = f; }

  std::int64_t max_log() const { return max_log_; }
  // 2^(L / 2^F) for integer or fractional L.
  Big power(const Big& L) const { return boost::multiprecision::pow(Big(2), L / scale_); }
  // value(L) for L in [-max_log - 1, max_log + 1].
  const Big& value(std::int64_t L) const { return values_[std::size_t(L + max_log_ + 1)]; }
  // 2^((L + 1/2) / 2^F): the log-domain tie point above value(L).
  const Big& boundary(std::int64_t L) const { return boundaries_[std::size_t(L + max_log_ + 1)]; }

  std::uint64_t code(bool negative, std::int64_t L) const {
    const int w = f_.int_bits + f_.frac_bits;
    return (negative ? std::uint64_t(1) << w : 0) | (std::uint64_t(L) & ((std::uint64_t(1) << w) - 1));
  }
  std::uint64_t zero_code() const { return code(false, -max_log_ - 1); }
  std::uint64_t nan_code() const { return code(true, -max_log_ - 1); }

  // The Real nearest to v > 0 (ties cannot occur for irrational v; for dyadic v, F = 0,
  // v is a Real itself).
  template <class Real>
  static Real nearest(const Big& v) {
    const Real guess = static_cast<Real>(v);
    Real best = guess;
    Big best_error = abs(Big(guess) - v);
    for (const Real c : {std::nextafter(guess, Real(0)), std::nextafter(guess, std::numeric_limits<Real>::infinity())}) {
      if (std::isinf(c)) continue;
      const Big error = abs(Big(c) - v);
      if (error < best_error) {
        best = c;
        best_error = error;
      }
    }
    return best;
  }

  // Where |x| lies and what is left to decide: the kept log and the discarded part, as
  // its comparison with 1/2 and (for stochastic rounding) its top 32 bits.
  struct Bracket {
    bool settled = false;         // the code is `code` whatever the mode
    std::uint64_t code = 0;
    bool negative = false;
    bool beyond = false;          // |x| >= value(max + 1): overflow in every mode
    std::int64_t kept = 0;
    bool inexact = false;
    int vs_half = 0;              // -1, 0, +1
    std::uint64_t fraction32 = 0; // floor(fraction * 2^32)
  };

  Bracket bracket(double x, bool want_fraction) const {
    Bracket b;
    if (std::isnan(x)) return {true, nan_code()};
    b.negative = std::signbit(x);
    if (std::isinf(x)) return {true, f_.overflow == formats::Overflow::nan ? nan_code() : code(b.negative, max_log_)};
    if (x == 0) return {true, zero_code()};
    const Big a = abs(Big(x));
    const std::int64_t zero_log = -max_log_ - 1;
    if (a >= value(max_log_ + 1)) {
      b.beyond = true;
      return b;
    }
    std::int64_t lo = zero_log - 1;  // the largest L with value(L) <= a
    if (a >= value(zero_log)) {
      std::int64_t l = zero_log, h = max_log_ + 1;  // value(l) <= a < value(h)
      while (h - l > 1) {
        const std::int64_t m = l + (h - l) / 2;
        (value(m) <= a ? l : h) = m;
      }
      lo = l;
    }
    // The zero code stands below the smallest magnitude: at log position zero_log in the
    // log domain (anything at or below it is "just above zero": a nonzero fraction below
    // every threshold), at 0 in the linear one.
    const bool log_domain = f_.domain == formats::LnsDomain::log;
    b.kept = lo < zero_log ? zero_log : lo;
    b.inexact = true;
    Big fraction;
    if (b.kept == zero_log && (!log_domain || lo < zero_log || value(zero_log) == a)) {
      if (log_domain) {
        b.vs_half = -1;
        fraction = 0;  // floor(tiny * 2^32)
      } else {
        fraction = a / value(zero_log + 1);
        b.vs_half = fraction < 0.5 ? -1 : fraction > 0.5 ? 1 : 0;
      }
    } else if (value(lo) == a) {
      b.inexact = false;
      b.vs_half = -1;
    } else if (log_domain) {
      b.vs_half = a < boundary(lo) ? -1 : a > boundary(lo) ? 1 : 0;
      if (want_fraction) fraction = log2(a) * scale_ - Big(lo);
    } else {
      const Big twice = 2 * a, ends = value(lo) + value(lo + 1);
      b.vs_half = twice < ends ? -1 : twice > ends ? 1 : 0;
      if (want_fraction) fraction = (a - value(lo)) / (value(lo + 1) - value(lo));
    }
    if (want_fraction && b.inexact) b.fraction32 = static_cast<std::uint64_t>(floor(fraction * Big(4294967296.0)));
    return b;
  }

  // The same for an exact result given by its log ell = 2^F log2|s| (units of the last log
  // bit) and its magnitude s > 0: `integral` says that ell is exactly an integer (mul, div,
  // and sums that are powers of two), which no 160-bit comparison could tell.
  Bracket bracket_log(bool negative, const Big& ell, const Big& s, bool integral) const {
    Bracket b;
    b.negative = negative;
    const std::int64_t zero_log = -max_log_ - 1;
    if (ell >= Big(max_log_ + 1)) {
      b.beyond = true;
      return b;
    }
    const Big floor_ell = floor(ell);
    const std::int64_t lo = floor_ell < Big(zero_log) ? zero_log - 1 : static_cast<std::int64_t>(floor_ell);
    const bool log_domain = f_.domain == formats::LnsDomain::log;
    b.kept = lo < zero_log ? zero_log : lo;
    b.inexact = true;
    Big fraction;
    if (b.kept == zero_log && (!log_domain || lo < zero_log || integral)) {
      if (log_domain) {
        b.vs_half = -1;
        fraction = 0;
      } else {
        fraction = s / value(zero_log + 1);
        b.vs_half = fraction < 0.5 ? -1 : fraction > 0.5 ? 1 : 0;
      }
    } else if (integral) {
      b.inexact = false;
      b.vs_half = -1;
    } else if (log_domain) {
      fraction = ell - floor_ell;
      b.vs_half = fraction < 0.5 ? -1 : fraction > 0.5 ? 1 : 0;
    } else {
      fraction = (s - value(lo)) / (value(lo + 1) - value(lo));
      b.vs_half = fraction < 0.5 ? -1 : fraction > 0.5 ? 1 : 0;
    }
    if (b.inexact) b.fraction32 = static_cast<std::uint64_t>(floor(fraction * Big(4294967296.0)));
    return b;
  }

  // The code for the bracketed x in mode r with random word `random`.
  std::uint64_t decide(const Bracket& b, formats::RoundingSpec r, std::uint32_t random) const {
    using formats::Rounding;
    if (b.settled) return b.code;
    const bool away_from_zero = r.mode == Rounding::toward_positive   ? !b.negative
                                : r.mode == Rounding::toward_negative ? b.negative
                                : r.mode != Rounding::toward_zero && r.mode != Rounding::odd;
    const std::uint64_t overflowed =
        f_.overflow == formats::Overflow::nan && away_from_zero ? nan_code() : code(b.negative, max_log_);
    if (b.beyond) return overflowed;
    const bool odd = (b.kept & 1) != 0;
    bool up = false;
    switch (r.mode) {
      case Rounding::nearest_even: up = b.vs_half > 0 || (b.vs_half == 0 && odd); break;
      case Rounding::nearest_away: up = b.vs_half >= 0; break;
      case Rounding::nearest_zero: up = b.vs_half > 0; break;
      case Rounding::toward_positive: up = b.inexact && !b.negative; break;
      case Rounding::toward_negative: up = b.inexact && b.negative; break;
      case Rounding::toward_zero: up = false; break;
      case Rounding::odd: up = b.inexact && !odd; break;
      case Rounding::stochastic: {
        const int drop = 32 - r.random_bits;
        up = (b.fraction32 >> drop) + (std::uint64_t(random) >> drop) >= (std::uint64_t(1) << r.random_bits);
        break;
      }
    }
    const std::int64_t L = b.kept + (up ? 1 : 0);
    if (L > max_log_) return overflowed;
    if (L == -max_log_ - 1) return zero_code();
    return code(b.negative, L);
  }

  std::uint64_t round(double x, formats::RoundingSpec r, std::uint32_t random = 0) const {
    return decide(bracket(x, r.mode == formats::Rounding::stochastic), r, random);
  }

 private:
  formats::Lns f_;
  std::int64_t max_log_ = 0;
  Big scale_;
  std::vector<Big> values_;
  std::vector<Big> boundaries_;
};

}  // namespace bitsim::test
