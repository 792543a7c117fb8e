#pragma once
// LNS arithmetic on codes (docs: formats/LNS.md, "Arithmetic").
//
// mul, div and sqrt are exact in the log domain (La ± Lb, La / 2) and then rounded once by
// the format's rule (round_split in lns.hpp): only the range ends, and sqrt's half step,
// round. add and sub need the Gaussian logarithms
//   sb(d) = log2(1 + 2^-d),   db(d) = log2|1 - 2^-d|,   d = |La - Lb| / 2^F >= 0,
// with result log = max(La, Lb) + 2^F sb(d) (same signs) or + 2^F db(d) (opposite), and
// come in three methods:
//   exact    : sb/db in 128-bit fixed point, rounded once (as if computed exactly);
//   mitchell : Mitchell's piecewise-linear 2^y ~ 2^floor(y) (1 + frac(y)) and
//              log2(m 2^e) ~ e + (m - 1), in exact fixed point, then rounded once;
//   table    : sb/db tabulated at d = k / 2^table_bits (entries rounded to nearest at
//              F + 8 fraction bits), read with no interpolation (the entry at floor) or
//              linear interpolation, then rounded once. db's singular first interval
//              0 < d < 2^-table_bits is computed exactly (as a cotransformation would).
// The approximate methods produce a log, so they round in the log domain whatever the
// format's domain option; exact add/sub/mul/div/sqrt honour it.
//
// Specials: NaN in -> NaN; x / 0 -> NaN; sqrt of a negative -> NaN; 0 * x = 0 / x = 0;
// x - x = 0 (there is one zero). Overflow follows Lns::overflow, underflow the zero rule.
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/lns.hpp"

namespace bitsim::formats {

enum class LnsAddMethod : std::uint8_t { exact, mitchell, table };
enum class LnsInterpolation : std::uint8_t { none, linear };

struct LnsAddConfig {
  LnsAddMethod method = LnsAddMethod::exact;
  int table_bits = 8;  // table: 2^table_bits entries per unit of d (0..16)
  LnsInterpolation interpolation = LnsInterpolation::linear;

  friend constexpr bool operator==(const LnsAddConfig&, const LnsAddConfig&) = default;
};

// "exact", "mitchell", "table", "table:T", "table:T:none" / "table:T:linear".
LnsAddConfig parse_lns_add_method(std::string_view text);
std::string to_string(const LnsAddConfig& config);

std::uint64_t lns_mul(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r = {},
                      std::uint32_t random = 0);
std::uint64_t lns_div(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r = {},
                      std::uint32_t random = 0);
std::uint64_t lns_sqrt(const Lns& f, std::uint64_t a, RoundingSpec r = {}, std::uint32_t random = 0);
std::uint64_t lns_add(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r = {},
                      const LnsAddConfig& config = {}, std::uint32_t random = 0);
std::uint64_t lns_sub(const Lns& f, std::uint64_t a, std::uint64_t b, RoundingSpec r = {},
                      const LnsAddConfig& config = {}, std::uint32_t random = 0);

}  // namespace bitsim::formats
