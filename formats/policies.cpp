#include "formats/policies.hpp"

#include <stdexcept>
#include <string>

#include "formats/minifloat.hpp"

namespace bitsim::formats {

std::string_view to_string(Overflow o) {
  switch (o) {
    case Overflow::saturate: return "saturate";
    case Overflow::infinity: return "inf";
    case Overflow::nan: return "nan";
  }
  return "?";
}

std::string_view to_string(NanRule r) { return r == NanRule::zero ? "zero" : "max"; }

std::string_view to_string(Specials s) {
  switch (s) {
    case Specials::ieee: return "ieee";
    case Specials::fn: return "fn";
    case Specials::fnuz: return "fnuz";
    case Specials::none: return "none";
  }
  return "?";
}

Overflow parse_overflow(std::string_view text) {
  if (text == "saturate") return Overflow::saturate;
  if (text == "inf") return Overflow::infinity;
  if (text == "nan") return Overflow::nan;
  throw std::invalid_argument("unknown overflow policy '" + std::string(text) +
                              "'; valid: saturate, inf, nan");
}

NanRule parse_nan_rule(std::string_view text) {
  if (text == "zero") return NanRule::zero;
  if (text == "max") return NanRule::max;
  throw std::invalid_argument("unknown NaN rule '" + std::string(text) + "'; valid: zero, max");
}

}  // namespace bitsim::formats
