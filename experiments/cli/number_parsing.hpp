#pragma once
// Reading numbers from text the way C does: decimal, C99 hex-float ("0x1.8p+3"), and
// the words nan / inf / infinity with an optional sign, in any letter case.
#include <cstdint>
#include <optional>
#include <string>

namespace bitsim::cli {

// The whole token must be a number. A float32 token is rounded once, to nearest, straight
// from its text (strtof), so "0.1" is the float32 nearest to 1/10, not a rounded double.
// Magnitudes beyond the type's range read as ±inf (or ±0 / subnormal), as a float32 or
// float64 value of that text would be; anything that is not a number gives nullopt.
std::optional<float> parse_float32(const std::string& token);
std::optional<double> parse_float64(const std::string& token);

// A decimal integer 0 .. 2^64-1 and nothing else (no sign, no wrap-around), for seeds.
std::optional<std::uint64_t> parse_uint64(const std::string& token);

}  // namespace bitsim::cli
