#pragma once
// Rounding modes shared by every format, and their spellings on the CLI and in YAML.
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/hd.hpp"

namespace bitsim::formats {

enum class Rounding : std::uint8_t {
  nearest_even,       // rne: IEEE 754 default
  nearest_away,       // rna: ties away from zero
  nearest_zero,       // rnz: ties toward zero
  toward_positive,    // ru
  toward_negative,    // rd
  toward_zero,        // rz: truncation
  odd,                // rto: truncate, then set the last kept bit if anything was discarded
  stochastic,         // sr: round up with probability equal to the discarded fraction
};

inline constexpr int kRoundingModeCount = 8;

// Stochastic rounding draws one 32-bit random word per element. `random_bits` k says how
// many of its top bits the hardware compares against the top k bits of the discarded
// fraction (k = 32: the full word, the finest resolution bitsim models).
struct RoundingSpec {
  Rounding mode = Rounding::nearest_even;
  int random_bits = 32;

  friend constexpr bool operator==(const RoundingSpec&, const RoundingSpec&) = default;
};

// Calls fn.template operator()<M>() with the run-time `mode` as the compile-time constant M:
// the one place where a run-time mode becomes a template argument, so that hot loops
// are instantiated per mode and dispatched once per span.
template <class Fn>
BITSIM_HD constexpr decltype(auto) with_rounding_mode(Rounding mode, Fn&& fn) {
  switch (mode) {
    case Rounding::nearest_away: return fn.template operator()<Rounding::nearest_away>();
    case Rounding::nearest_zero: return fn.template operator()<Rounding::nearest_zero>();
    case Rounding::toward_positive: return fn.template operator()<Rounding::toward_positive>();
    case Rounding::toward_negative: return fn.template operator()<Rounding::toward_negative>();
    case Rounding::toward_zero: return fn.template operator()<Rounding::toward_zero>();
    case Rounding::odd: return fn.template operator()<Rounding::odd>();
    case Rounding::stochastic: return fn.template operator()<Rounding::stochastic>();
    default: return fn.template operator()<Rounding::nearest_even>();
  }
}

// "rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr", "sr:k" (1 <= k <= 32).
// Throws std::invalid_argument naming the valid spellings.
RoundingSpec parse_rounding(std::string_view text);
std::string to_string(const RoundingSpec& spec);
std::string_view short_name(Rounding mode);
std::string_view valid_rounding_names();

}  // namespace bitsim::formats
