#pragma once
// The policies a format applies around rounding: what overflow becomes, whether
// subnormals survive, what NaN becomes in a format that has none.
#include <cstdint>
#include <string>
#include <string_view>

namespace bitsim::formats {

// Where values beyond the largest finite magnitude go. `infinity` and `nan` follow
// IEEE 754 7.4: a mode that rounds toward zero (rz, rto, and the directed mode pointing
// at zero) still gives the largest finite value.
enum class Overflow : std::uint8_t { saturate, infinity, nan };

// What a NaN input becomes in a format without a NaN code (e2m1fn, e2m3fn, e3m2fn,
// integers). `zero`: +0 (bitsim's default). `max`: the largest magnitude with the NaN's
// sign bit, which keeps the damage visible downstream.
enum class NanRule : std::uint8_t { zero, max };

std::string_view to_string(Overflow o);
std::string_view to_string(NanRule r);
Overflow parse_overflow(std::string_view text);   // saturate | inf | nan
NanRule parse_nan_rule(std::string_view text);    // zero | max

}  // namespace bitsim::formats
