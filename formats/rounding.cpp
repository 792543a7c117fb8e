#include "formats/rounding.hpp"

#include <array>
#include <charconv>
#include <stdexcept>
#include <string>

namespace bitsim::formats {
namespace {
constexpr std::array<std::string_view, kRoundingModeCount> kNames = {"rne", "rna", "rnz", "ru",
                                                                      "rd",  "rz",  "rto", "sr"};
}

std::string_view short_name(Rounding mode) { return kNames[std::size_t(mode)]; }

std::string_view valid_rounding_names() {
  return "rne, rna, rnz, ru, rd, rz, rto, sr, sr:k (k = 1..32 random bits)";
}

RoundingSpec parse_rounding(std::string_view text) {
  std::string_view mode = text, bits;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    mode = text.substr(0, colon);
    bits = text.substr(colon + 1);
  }
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] != mode) continue;
    RoundingSpec spec{Rounding(i), 32};
    if (bits.empty() && text.find(':') == std::string_view::npos) return spec;
    if (spec.mode != Rounding::stochastic) break;
    int k = 0;
    const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), k);
    if (ec != std::errc() || end != bits.data() + bits.size() || k < 1 || k > 32) {
      throw std::invalid_argument("rounding mode '" + std::string(text) +
                                  "': the random bit count after 'sr:' must be 1..32");
    }
    spec.random_bits = k;
    return spec;
  }
  throw std::invalid_argument("unknown rounding mode '" + std::string(text) +
                              "'; valid: " + std::string(valid_rounding_names()));
}

std::string to_string(const RoundingSpec& spec) {
  std::string s(short_name(spec.mode));
  if (spec.mode == Rounding::stochastic && spec.random_bits != 32) {
    s += ':';
    s += std::to_string(spec.random_bits);
  }
  return s;
}

}  // namespace bitsim::formats
