#pragma once
// The reference for arithmetic (formats/arithmetic.hpp): the exact result of an operation
// as a rational (or the square root of one) in arbitrary-precision integers, rounded with
// the Boost.Multiprecision rounding reference (tests/reference) for minifloats and fixed
// point, or by the posit reference's definitions (test_posit_reference.hpp).
//
// Independent of formats/: operands are read with ReferenceFormat::meaning (the value
// formula) or reference_value (posits); the special-value and signed-zero rules are
// restated from IEEE 754 (6.1-6.3, 7.2) here; neighbours come from the reference's lattice.
//
// An exact result q (> 0) is known through floor(q * 2^s) and whether q * 2^s is an integer,
// for q in units of 2^-1074 (every lattice point is an integer in those units):
//   neighbours: the lattice points at or below floor(q) and at or above floor(q) + 1;
//   nearest:    2q against toward_zero + away, read off floor(2q) and its exactness;
//   stochastic: floor(2^k (q - lo) / (hi - lo)) = floor((floor(q 2^k) - lo 2^k) / (hi - lo)).
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "formats/rounding.hpp"
#include "tests/formats/test_posit_reference.hpp"
#include "tests/reference/reference_rounding.hpp"

namespace bitsim::arith_test {

namespace mp = boost::multiprecision;
using BigInt = mp::cpp_int;
using formats::Rounding;
using reference::Exact;

enum class Op { add, sub, mul, div, fma, sqrt };

// What a code means: NaN, ±inf, or a finite value in units of 2^-1074 with a sign bit.
struct Operand {
  bool nan = false;
  bool inf = false;
  bool negative = false;
  BigInt units;  // magnitude
  bool is_zero() const { return !nan && !inf && units == 0; }
};

inline Operand operand_from(const reference::ReferenceFormat& f, std::uint64_t code) {
  const auto m = f.meaning(code);
  Operand o;
  o.nan = m.kind == reference::CodeKind::nan;
  o.inf = m.kind == reference::CodeKind::infinity;
  o.negative = m.negative;
  if (!o.nan && !o.inf) o.units = m.magnitude.convert_to<BigInt>();
  return o;
}

inline Operand operand_from_posit(int n, int es, std::uint64_t code) {
  const auto fields = test::reference_fields(n, es, code);
  Operand o;
  if (fields.nar) {
    o.nan = true;
    return o;
  }
  if (fields.zero) return o;
  const test::Rational v = test::reference_value(n, es, code);
  const test::Rational m = v < 0 ? test::Rational(-v) : v;
  o.negative = v < 0;
  o.units = numerator(m) * (BigInt(1) << 1074) / denominator(m);  // exact: a dyadic >= 2^-1074
  return o;
}

// The exact result: NaN, ±inf, ±0, or (-1)^negative * q with q = num / den units, or
// q = sqrt(radicand) units when `root`.
struct Result {
  bool nan = false;
  bool inf = false;
  bool zero = false;
  bool negative = false;
  bool root = false;
  BigInt num, den = 1, radicand;
  int den_log2 = 0;  // den = 2^den_log2 when >= 0 (sums and products: a shift, not a division)

  // floor(q * 2^s) and whether q * 2^s is an integer.
  BigInt floor_scaled(int s, bool* exact = nullptr) const {
    if (root) {
      const BigInt r = radicand << (2 * s);
      const BigInt f = mp::sqrt(r);
      if (exact) *exact = f * f == r;
      return f;
    }
    const BigInt scaled = num << s;
    if (den_log2 >= 0) {
      if (exact) *exact = den_log2 == 0 || mp::lsb(scaled) >= unsigned(den_log2);
      return scaled >> den_log2;
    }
    if (exact) *exact = scaled % den == 0;
    return scaled / den;
  }
};

inline Result nan_result() {
  Result r;
  r.nan = true;
  return r;
}
inline Result inf_result(bool negative) {
  Result r;
  r.inf = true;
  r.negative = negative;
  return r;
}
inline Result zero_result(bool negative) {
  Result r;
  r.zero = true;
  r.negative = negative;
  return r;
}
inline Result value_result(const BigInt& signed_num, const BigInt& den, bool zero_negative) {
  if (signed_num == 0) return zero_result(zero_negative);
  Result r;
  r.negative = signed_num < 0;
  r.num = r.negative ? BigInt(-signed_num) : signed_num;
  r.den = den;
  r.den_log2 = den > 0 && mp::lsb(den) == mp::msb(den) ? int(mp::msb(den)) : -1;
  return r;
}

inline BigInt signed_units(const Operand& o) { return o.negative ? BigInt(-o.units) : o.units; }

// IEEE 754: x + y with the signed-zero rules of 6.3 (rd: exact zero sums are -0).
inline Result exact_sum(const Operand& x, const Operand& y, bool rd) {
  if (x.nan || y.nan) return nan_result();
  if (x.inf && y.inf) return x.negative == y.negative ? inf_result(x.negative) : nan_result();
  if (x.inf) return inf_result(x.negative);
  if (y.inf) return inf_result(y.negative);
  if (x.is_zero() && y.is_zero()) {
    return zero_result(rd ? (x.negative || y.negative) : (x.negative && y.negative));
  }
  return value_result(signed_units(x) + signed_units(y), 1, rd);
}

inline Result exact(Op op, Operand a, Operand b, const Operand& c, bool rd) {
  const BigInt unit_scale = BigInt(1) << 1074;
  switch (op) {
    case Op::add: return exact_sum(a, b, rd);
    case Op::sub: b.negative = !b.negative; return exact_sum(a, b, rd);
    case Op::mul: {
      if (a.nan || b.nan) return nan_result();
      const bool negative = a.negative != b.negative;
      if (a.inf || b.inf) return a.is_zero() || b.is_zero() ? nan_result() : inf_result(negative);
      if (a.is_zero() || b.is_zero()) return zero_result(negative);
      return value_result(negative ? BigInt(-(a.units * b.units)) : BigInt(a.units * b.units), unit_scale, false);
    }
    case Op::div: {
      if (a.nan || b.nan) return nan_result();
      const bool negative = a.negative != b.negative;
      if (a.inf) return b.inf ? nan_result() : inf_result(negative);
      if (b.inf) return zero_result(negative);
      if (b.is_zero()) return a.is_zero() ? nan_result() : inf_result(negative);
      if (a.is_zero()) return zero_result(negative);
      const BigInt n = a.units << 1074;
      return value_result(negative ? BigInt(-n) : n, b.units, false);
    }
    case Op::fma: {
      if (a.nan || b.nan || c.nan) return nan_result();
      const bool pn = a.negative != b.negative;
      if (a.inf || b.inf) {
        if (a.is_zero() || b.is_zero()) return nan_result();
        if (c.inf && c.negative != pn) return nan_result();
        return inf_result(pn);
      }
      if (c.inf) return inf_result(c.negative);
      if (a.is_zero() || b.is_zero()) {
        Operand product;  // an exact zero with the product's sign
        product.negative = pn;
        return exact_sum(product, c, rd);
      }
      const BigInt p = a.units * b.units;
      const BigInt sum = (pn ? BigInt(-p) : p) + signed_units(c) * unit_scale;
      return value_result(sum, unit_scale, rd);
    }
    case Op::sqrt: {
      if (a.nan) return nan_result();
      if (a.is_zero()) return zero_result(a.negative);
      if (a.negative) return nan_result();
      if (a.inf) return inf_result(false);
      Result r;
      r.root = true;
      r.radicand = a.units << 1074;
      return r;
    }
  }
  return nan_result();
}

// The mode's choice between the neighbour toward zero (false) and away (true), from the
// comparison with the midpoint (-1, 0, 1), the parity of the lower code and, for stochastic
// rounding, floor(fraction * 2^k) and the element's random word.
inline bool goes_away(Rounding mode, int vs_mid, bool lower_odd, bool negative,
                      const BigInt& fraction_k, std::uint32_t word, int k) {
  switch (mode) {
    case Rounding::nearest_even: return vs_mid > 0 || (vs_mid == 0 && lower_odd);
    case Rounding::nearest_away: return vs_mid >= 0;
    case Rounding::nearest_zero: return vs_mid > 0;
    case Rounding::toward_positive: return !negative;
    case Rounding::toward_negative: return negative;
    case Rounding::toward_zero: return false;
    case Rounding::odd: return !lower_odd;
    case Rounding::stochastic: {
      const std::uint64_t random_k = (std::uint64_t(word) << k) >> 32;
      return fraction_k + random_k >= (BigInt(1) << k);
    }
  }
  return false;
}

// q compared with a point m (units, an integer) scaled by 2^s: sign of q 2^s - m.
inline int compare(const Result& q, int s, const BigInt& m) {
  bool exact = false;
  const BigInt f = q.floor_scaled(s, &exact);
  if (f < m) return -1;
  if (f > m) return 1;
  return exact ? 0 : 1;
}

// The code of the exact result rounded into a minifloat / fixed-point format.
inline std::uint64_t round_into(const reference::ReferenceFormat& f, const Result& q, Rounding mode,
                                std::uint32_t word = 0, int k = 32) {
  using reference::ReferenceCase;
  using reference::Source;
  const Rounding settle = mode == Rounding::stochastic ? Rounding::nearest_even : mode;
  const double sign = q.negative ? -1.0 : 1.0;
  if (q.nan) return ReferenceCase(f, std::numeric_limits<double>::quiet_NaN(), Source::float64).round(settle).code;
  if (q.inf) return ReferenceCase(f, sign * HUGE_VAL, Source::float64).round(settle).code;
  if (q.zero) return ReferenceCase(f, sign * 0.0, Source::float64).round(settle).code;
  if (q.negative && !f.has_negatives()) return ReferenceCase(f, -1.0, Source::float64).round(settle).code;
  bool exact = false;
  const BigInt u = q.floor_scaled(0, &exact);
  const auto low = f.bracket(q.negative, Exact(u));
  reference::LatticePoint chosen = low.toward_zero;
  if (!(exact && low.exact)) {
    const auto high = f.bracket(q.negative, Exact(u + 1));
    const reference::LatticePoint& away = high.exact ? high.toward_zero : high.away;
    const BigInt lo = low.toward_zero.magnitude.convert_to<BigInt>();
    const BigInt hi = away.magnitude.convert_to<BigInt>();
    const int vs_mid = compare(q, 1, lo + hi);
    BigInt fraction_k = 0;
    if (mode == Rounding::stochastic) fraction_k = (q.floor_scaled(k) - (lo << k)) / (hi - lo);
    if (goes_away(mode, vs_mid, (low.toward_zero.code & 1) != 0, q.negative, fraction_k, word, k)) {
      chosen = away;
    }
  }
  // The chosen lattice point, exact, through the reference's policies (overflow per mode,
  // ftz_out, the absent zero).
  if (chosen.magnitude == 0) {
    return ReferenceCase(f, sign * std::ldexp(1.0, -1074), Source::float64).round(Rounding::toward_zero).code;
  }
  return ReferenceCase(f, sign * chosen.value, Source::float64).round(settle).code;
}

// The reference's outcome (seven modes) for every in-range lattice point of a format of at
// most 16 bits, indexed by code: the last step of round_into_all, computed once.
class PolicyTable {
 public:
  explicit PolicyTable(const reference::ReferenceFormat& f) {
    for (std::uint64_t code = 0; code < (std::uint64_t(1) << f.bits()); ++code) {
      const auto m = f.meaning(code);
      std::array<std::uint64_t, 7> codes{};
      if (m.kind == reference::CodeKind::finite && m.magnitude != 0) {
        const double v = reference::to_double_exact(m.magnitude);
        const reference::ReferenceCase c(f, m.negative ? -v : v, reference::Source::float64);
        for (int i = 0; i < 7; ++i) codes[i] = c.round(Rounding(i)).code;
      }
      table_.push_back(codes);
    }
  }
  const std::array<std::uint64_t, 7>* find(const reference::LatticePoint& p) const {
    return p.in_range && p.magnitude != 0 && p.code < table_.size() ? &table_[p.code] : nullptr;
  }

 private:
  std::vector<std::array<std::uint64_t, 7>> table_;
};

// round_into for all seven deterministic modes at once (in the order of the Rounding
// enum), sharing the neighbour search. `q_rd` is the exact result under rd (it differs
// from q only in the sign of an exact zero). `table`, when given, holds the last step.
inline std::array<std::uint64_t, 7> round_into_all(const reference::ReferenceFormat& f, const Result& q,
                                                   const Result& q_rd, const PolicyTable* table = nullptr) {
  using reference::ReferenceCase;
  using reference::Source;
  std::array<std::uint64_t, 7> codes{};
  const double sign = q.negative ? -1.0 : 1.0;
  const auto settled = [&](double x) {
    const ReferenceCase c(f, x, Source::float64);
    for (int m = 0; m < 7; ++m) codes[m] = c.round(Rounding(m)).code;
  };
  if (q.nan) settled(std::numeric_limits<double>::quiet_NaN());
  else if (q.inf) settled(sign * HUGE_VAL);
  else if (q.zero) {
    settled(sign * 0.0);
    codes[int(Rounding::toward_negative)] =
        ReferenceCase(f, q_rd.negative ? -0.0 : 0.0, Source::float64).round(Rounding::toward_negative).code;
  } else if (q.negative && !f.has_negatives()) settled(-1.0);
  if (q.nan || q.inf || q.zero || (q.negative && !f.has_negatives())) return codes;

  bool exact = false;
  const BigInt u = q.floor_scaled(0, &exact);
  const auto low = f.bracket(q.negative, Exact(u));
  // The outcomes of a chosen lattice point in the seven modes (its own mode decides overflow).
  const auto policies = [&](const reference::LatticePoint& p) {
    if (const auto* cached = table ? table->find(p) : nullptr) return *cached;
    const ReferenceCase c = p.magnitude == 0 ? ReferenceCase(f, sign * std::ldexp(1.0, -1074), Source::float64)
                                             : ReferenceCase(f, sign * p.value, Source::float64);
    std::array<std::uint64_t, 7> out{};
    for (int m = 0; m < 7; ++m) out[m] = c.round(p.magnitude == 0 ? Rounding::toward_zero : Rounding(m)).code;
    return out;
  };
  const auto lower = policies(low.toward_zero);
  if (exact && low.exact) return lower;
  const auto high = f.bracket(q.negative, Exact(u + 1));
  const reference::LatticePoint& away = high.exact ? high.toward_zero : high.away;
  const auto upper = policies(away);
  const BigInt lo = low.toward_zero.magnitude.convert_to<BigInt>();
  const BigInt hi = away.magnitude.convert_to<BigInt>();
  const int vs_mid = compare(q, 1, lo + hi);
  for (int m = 0; m < 7; ++m) {
    const Rounding mode = Rounding(m);
    const bool up = goes_away(mode, vs_mid, (low.toward_zero.code & 1) != 0, q.negative, 0, 0, 32);
    codes[m] = (up ? upper : lower)[m];
  }
  return codes;
}

// The code of the exact result rounded into posit<n, es> by the standard's rules: never 0
// or NaR for a nonzero real; ties at the posit<n+1, es> point between the neighbours. The
// neighbour search is shared by every mode in `modes`; codes[m] is set for each of them.
template <class Modes>
std::array<std::uint64_t, 8> round_into_posit_modes(const test::ReferencePosit& p, const Result& q,
                                                    const Modes& modes, std::uint32_t word = 0, int k = 32) {
  std::array<std::uint64_t, 8> codes{};
  const auto set_all = [&](std::uint64_t code) {
    for (const Rounding m : modes) codes[int(m)] = code;
  };
  if (q.nan || q.inf) {
    set_all(p.nar());
    return codes;
  }
  if (q.zero) {
    set_all(0);
    return codes;
  }
  const auto units_of = [&](double v) { return reference::exact_from(v).convert_to<BigInt>(); };
  const auto sign = [&](std::uint64_t magnitude) { return q.negative ? p.negate(magnitude) : magnitude; };
  // q against integers m (every posit value is one, in units): from floor(q) and exactness.
  bool q_exact = false;
  const BigInt q_floor = q.floor_scaled(0, &q_exact);
  const auto compare = [&](const Result&, int, const BigInt& m) {
    return q_floor < m ? -1 : q_floor > m ? 1 : (q_exact ? 0 : 1);
  };
  if (compare(q, 0, units_of(p.value(p.maxpos_code()))) >= 0) {
    set_all(sign(p.maxpos_code()));
    return codes;
  }
  if (compare(q, 0, units_of(p.value(1))) <= 0) {
    set_all(sign(1));
    return codes;
  }
  std::uint64_t lo = 1, hi = p.maxpos_code();  // value(lo) <= q < value(hi)
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (compare(q, 0, units_of(p.value(mid))) >= 0 ? lo : hi) = mid;
  }
  const BigInt low = units_of(p.value(lo));
  if (compare(q, 0, low) == 0) {
    set_all(sign(lo));
    return codes;
  }
  const BigInt tie = units_of(test::reference_double(p.n() + 1, p.es(), 2 * lo + 1));
  const BigInt high = units_of(p.value(lo + 1));
  const int vs_tie = compare(q, 0, tie);
  for (const Rounding mode : modes) {
    BigInt fraction_k = 0;
    if (mode == Rounding::stochastic) fraction_k = (q.floor_scaled(k) - (low << k)) / (high - low);
    codes[int(mode)] = sign(lo + (goes_away(mode, vs_tie, (lo & 1) != 0, q.negative, fraction_k, word, k) ? 1 : 0));
  }
  return codes;
}

inline std::uint64_t round_into_posit(const test::ReferencePosit& p, const Result& q, Rounding mode,
                                      std::uint32_t word = 0, int k = 32) {
  const Rounding modes[] = {mode};
  return round_into_posit_modes(p, q, modes, word, k)[int(mode)];
}

}  // namespace bitsim::arith_test
