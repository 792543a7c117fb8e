// LNS arithmetic (lns_arithmetic.hpp): exact log-domain mul/div/sqrt, and add/sub through
// the Gaussian logarithms, exact or approximate.
#include "formats/lns_arithmetic.hpp"

#include <bit>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>
#include <vector>

namespace bitsim::formats {
namespace {

using wide::kOne;
using wide::u128;
using i128 = __int128;

struct Operand {
  bool nan, zero, negative;
  std::int64_t log;
};

Operand operand(const Lns& f, std::uint64_t code) {
  return {f.is_nan(code), f.is_zero(code), f.is_negative(code), f.log_of(code)};
}

std::uint64_t code_of(const Lns& f, const Operand& x) {
  return x.zero ? f.zero_code() : f.code_of(x.negative, x.log);
}

int leading_zeros128(u128 v) {
  const auto high = std::uint64_t(v >> 64);
  return high != 0 ? std::countl_zero(high) : 64 + std::countl_zero(std::uint64_t(v));
}

// v > 0 as m * 2^e with m in [1, 2) (Q2.126).
std::pair<u128, int> normalise(u128 v) {
  const int shift = leading_zeros128(v) - 1;  // brings the top bit to position 126
  return shift >= 0 ? std::pair{v << shift, -shift} : std::pair{v >> 1, 1};
}

// 2^(-D / 2^F) for D >= 0 in Q2.126; bits shifted out are jammed into the last bit, so
// the result is nonzero and inexact exactly when the true value is.
u128 power_of_minus(std::int64_t D, int frac_bits) {
  const std::int64_t q = D >> frac_bits;
  const std::uint64_t j = std::uint64_t(D) & ((std::uint64_t(1) << frac_bits) - 1);
  // -D / 2^F = -(q + 1) + (2^F - j) / 2^F when j > 0.
  const u128 full = j == 0 ? kOne : wide::exp2_fraction((std::uint64_t(1) << frac_bits) - j, frac_bits);
  const std::int64_t shift = j == 0 ? q : q + 1;
  if (shift >= 127) return 1;
  const bool lost = shift > 0 && (full & ((u128(1) << shift) - 1)) != 0;
  return (full >> shift) | u128(lost);
}

// 1 + w (same signs) or 1 - w (opposite signs) as m * 2^e; w in (0, 1] (Q2.126).
std::pair<u128, int> one_plus_minus(u128 w, bool subtract) {
  return normalise(subtract ? kOne - w : kOne + w);
}

template <Rounding M>
std::uint64_t round_exact_log(const Lns& f, bool negative, std::int64_t log, const RoundingSpec& r,
                              std::uint32_t random) {
  return round_split<M>(f, negative, log, 0, kOne, lns_detail::LogSplit{0, Discarded{0, false}}, random,
                        r.random_bits);
}

// A log given in fixed point with `point` fraction bits below the units of 2^-F (point <=
// 32), relative to `base`, rounded in the log domain.
template <Rounding M>
std::uint64_t round_fixed_log(const Lns& f, bool negative, std::int64_t base, i128 value, int point,
                              const RoundingSpec& r, std::uint32_t random) {
  Lns log_domain = f;
  log_domain.domain = LnsDomain::log;
  const auto truncated = std::int64_t(value >> point);  // floor
  const auto rest = std::uint64_t(value - i128(truncated) * (i128(1) << point));
  const Discarded d{point == 0 ? 0u : std::uint32_t(rest << (32 - point)), false};
  return round_split<M>(log_domain, negative, base, 0, kOne, lns_detail::LogSplit{truncated, d}, random,
                        r.random_bits);
}

// --- tables of the Gaussian logarithms ---------------------------------------------------

constexpr int kGuardBits = 8;  // table entries: units of 2^-(F + kGuardBits)

struct GaussianTables {
  int frac_bits, table_bits;
  std::vector<std::int64_t> sb, db;  // at d = k / 2^table_bits, rounded to nearest
};

// 2^(F + kGuardBits) log2(v) rounded to nearest, v = m * 2^e.
std::int64_t log_entry(std::pair<u128, int> v, int frac_bits) {
  const auto split = lns_detail::split_log(v.second, v.first, frac_bits + kGuardBits, 1);
  return split.truncated + (split.discarded.fraction != 0 ? 1 : 0);
}

std::shared_ptr<const GaussianTables> tables_for(int frac_bits, int table_bits) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, std::shared_ptr<const GaussianTables>> cache;
  const std::lock_guard lock(mutex);
  auto& slot = cache[{frac_bits, table_bits}];
  if (slot) return slot;
  auto t = std::make_shared<GaussianTables>();
  t->frac_bits = frac_bits;
  t->table_bits = table_bits;
  // Beyond d = F + kGuardBits + 2, |sb| and |db| are below 2^-(F + kGuardBits + 1): 0.
  const std::int64_t count = std::int64_t(frac_bits + kGuardBits + 2) << table_bits;
  t->sb.resize(std::size_t(count));
  t->db.resize(std::size_t(count));
  for (std::int64_t k = 0; k < count; ++k) {
    const u128 w = power_of_minus(k, table_bits);
    t->sb[std::size_t(k)] = log_entry(one_plus_minus(w, false), frac_bits);
    t->db[std::size_t(k)] = k == 0 ? 0 : log_entry(one_plus_minus(w, true), frac_bits);
  }
  slot = std::move(t);
  return slot;
}

// --- add / sub ---------------------------------------------------------------------------

// x + y for nonzero, non-NaN operands with x.log >= y.log.
template <Rounding M>
std::uint64_t add_ordered(const Lns& f, const Operand& x, const Operand& y, const RoundingSpec& r,
                          const LnsAddConfig& config, std::uint32_t random) {
  const std::int64_t D = x.log - y.log;
  const bool subtract = x.negative != y.negative;
  if (subtract && D == 0) return f.zero_code();
  const int F = f.frac_bits;

  const auto exact = [&] {
    if (f.domain == LnsDomain::linear && !subtract && D == 1 && F >= 1) {
      // 2^B + 2^(B + 2^-F) is exactly the midpoint of its neighbours 2^(B+1) and
      // 2^(B+1+2^-F): a tie in value, and for F >= 1 the only exact one an LNS sum or
      // difference can hit (LNS.md). Decided as the tie it is.
      Lns tie_rule = f;
      tie_rule.domain = LnsDomain::log;
      return round_split<M>(tie_rule, x.negative, y.log + (std::int64_t(1) << F), 0, kOne,
                            lns_detail::LogSplit{0, Discarded{0x80000000u, false}}, random, r.random_bits);
    }
    const auto [m, e] = one_plus_minus(power_of_minus(D, F), subtract);
    constexpr int kExtra = M == Rounding::stochastic ? 32 : 1;
    return round_split<M>(f, x.negative, x.log, e, m, lns_detail::split_log(e, m, F, kExtra), random,
                          r.random_bits);
  };

  switch (config.method) {
    case LnsAddMethod::exact: return exact();
    case LnsAddMethod::mitchell: {
      // t = 2^floor(-d) (1 + frac(-d)) in fixed point with P fraction bits.
      constexpr int P = 100;
      const std::int64_t up = (D + (std::int64_t(1) << F) - 1) >> F;  // -floor(-d) = ceil(d)
      const std::uint64_t frac = std::uint64_t((up << F) - D);          // (-D) - floor(-d) 2^F
      const u128 mantissa = u128((std::uint64_t(1) << F) + frac) << (P - F);
      if (up >= P) {  // t below 2^-P: the result is x's log, just above (add) or below (sub)
        return round_fixed_log<M>(f, x.negative, x.log, subtract ? -1 : 1, 32, r, random);
      }
      const bool lost = (mantissa & ((u128(1) << up) - 1)) != 0;
      const u128 t = (mantissa >> up) | u128(lost);  // jammed: nonzero and inexact as the truth
      i128 log_fixed;                  // Mitchell's log2(1 ± t) with P fraction bits
      if (!subtract) {
        log_fixed = i128(t);  // log2(1 + t) ~ t for 1 + t in (1, 2]
      } else {
        const u128 u = (u128(1) << P) - t;  // 1 - t in [0, 1)
        if (u == 0) return f.zero_code();
        const int e = leading_zeros128(u) - (127 - P);  // u = m 2^-e, m in [1, 2)
        const u128 m_fixed = u << e;
        log_fixed = i128(m_fixed - (u128(1) << P)) - i128(e) * (i128(1) << P);
      }
      // Units of 2^-F with P - F (> 31) fraction bits: keep 31 and fold the rest into one
      // sticky bit below them, which is all a mode looks at.
      const int keep = 31;
      const i128 scaled = log_fixed >> (P - F - keep);
      const bool dropped = (log_fixed & ((i128(1) << (P - F - keep)) - 1)) != 0;
      return round_fixed_log<M>(f, x.negative, x.log, scaled * 2 + i128(dropped), keep + 1, r, random);
    }
    case LnsAddMethod::table: {
      const int T = config.table_bits;
      const auto tables = tables_for(F, T);
      const auto& table = subtract ? tables->db : tables->sb;
      const int frac_bits = T >= F ? 0 : F - T;                     // position bits below an entry
      const std::int64_t k = T >= F ? D << (T - F) : D >> frac_bits;
      const std::int64_t frac = T >= F ? 0 : D & ((std::int64_t(1) << frac_bits) - 1);
      if (subtract && k == 0) return exact();  // db's singular first interval
      const auto entry = [&](std::int64_t i) {
        return i < std::int64_t(table.size()) ? table[std::size_t(i)] : std::int64_t(0);
      };
      i128 value = i128(entry(k)) * (i128(1) << frac_bits);
      if (config.interpolation == LnsInterpolation::linear) value += i128(entry(k + 1) - entry(k)) * frac;
      return round_fixed_log<M>(f, x.negative, x.log, value, kGuardBits + frac_bits, r, random);
    }
  }
  return exact();
}

std::uint64_t add_codes(const Lns& f, std::uint64_t a, std::uint64_t b, bool subtract, RoundingSpec r,
                        const LnsAddConfig& config, std::uint32_t random) {
  Operand x = operand(f, a), y = operand(f, b);
  y.negative ^= subtract;
  if (x.nan || y.nan) return f.nan_code();
  if (x.zero) return code_of(f, y);
  if (y.zero) return code_of(f, x);
  if (x.log < y.log) std::swap(x, y);
  return with_rounding_mode(r.mode, [&]<Rounding M>() { return add_ordered<M>(f, x, y, r, config, random); });
}

void check(const LnsAddConfig& config) {
  if (config.method == LnsAddMethod::table && (config.table_bits < 0 || config.table_bits > 12)) {
    throw std::invalid_argument("lns add: table_bits must be 0..12, got " + std::to_string(config.table_bits));
  }
}

}  // namespace

std::uint64_t lns_mul(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r, std::uint32_t random) {
  const Operand x = operand(f, a), y = operand(f, b);
  if (x.nan || y.nan) return f.nan_code();
  if (x.zero || y.zero) return f.zero_code();
  return with_rounding_mode(r.mode, [&]<Rounding M>() {
    return round_exact_log<M>(f, x.negative != y.negative, x.log + y.log, r, random);
  });
}

std::uint64_t lns_div(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r, std::uint32_t random) {
  const Operand x = operand(f, a), y = operand(f, b);
  if (x.nan || y.nan || y.zero) return f.nan_code();
  if (x.zero) return f.zero_code();
  return with_rounding_mode(r.mode, [&]<Rounding M>() {
    return round_exact_log<M>(f, x.negative != y.negative, x.log - y.log, r, random);
  });
}

std::uint64_t lns_sqrt(const Lns& f, std::uint64_t a, RoundingSpec r, std::uint32_t random) {
  const Operand x = operand(f, a);
  if (x.nan || (x.negative && !x.zero)) return f.nan_code();
  if (x.zero) return f.zero_code();
  // L / 2 = floor(L / 2) + (L odd ? 1/2 : 0): an exact tie in the log domain; in value the
  // half step is the factor 2^(1 / 2^(F+1)).
  const bool odd = (x.log & 1) != 0;
  const u128 m = odd ? wide::exp2_fraction(1, f.frac_bits + 1) : kOne;
  const lns_detail::LogSplit split{0, Discarded{odd ? 0x80000000u : 0u, false}};
  return with_rounding_mode(r.mode, [&]<Rounding M>() {
    return round_split<M>(f, false, x.log >> 1, 0, m, split, random, r.random_bits);
  });
}

std::uint64_t lns_add(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r,
                      const LnsAddConfig& config, std::uint32_t random) {
  check(config);
  return add_codes(f, a, b, false, r, config, random);
}

std::uint64_t lns_sub(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r,
                      const LnsAddConfig& config, std::uint32_t random) {
  check(config);
  return add_codes(f, a, b, true, r, config, random);
}

LnsAddConfig parse_lns_add_method(std::string_view text) {
  const auto fail = [&] {
    throw std::invalid_argument("lns add method '" + std::string(text) +
                                "': valid are exact, mitchell, table, table:T, table:T:none, "
                                "table:T:linear (T = 0..12 table bits per unit of d)");
  };
  if (text == "exact") return {LnsAddMethod::exact};
  if (text == "mitchell") return {LnsAddMethod::mitchell};
  if (!text.starts_with("table")) fail();
  LnsAddConfig c{LnsAddMethod::table};
  text.remove_prefix(5);
  if (text.empty()) return c;
  if (text.front() != ':') fail();
  text.remove_prefix(1);
  const auto colon = text.find(':');
  const std::string_view bits = text.substr(0, colon);
  if (bits.empty() || bits.size() > 2) fail();
  c.table_bits = 0;
  for (char ch : bits) {
    if (ch < '0' || ch > '9') fail();
    c.table_bits = c.table_bits * 10 + (ch - '0');
  }
  if (c.table_bits > 12) fail();
  if (colon != std::string_view::npos) {
    const std::string_view interpolation = text.substr(colon + 1);
    if (interpolation == "none") c.interpolation = LnsInterpolation::none;
    else if (interpolation == "linear") c.interpolation = LnsInterpolation::linear;
    else fail();
  }
  return c;
}

std::string to_string(const LnsAddConfig& c) {
  switch (c.method) {
    case LnsAddMethod::exact: return "exact";
    case LnsAddMethod::mitchell: return "mitchell";
    default:
      return "table:" + std::to_string(c.table_bits) +
             (c.interpolation == LnsInterpolation::none ? ":none" : ":linear");
  }
}

}  // namespace bitsim::formats
