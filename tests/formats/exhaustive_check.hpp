#pragma once
// One format, checked exhaustively against the reference: every code (decode, re-encode,
// ordering) and every lattice point and midpoint with their float32/float64 neighbours,
// plus the special inputs, through every entry point in every deterministic mode.
#include <cstdint>
#include <string>

#include "tests/formats/fast_vs_reference.hpp"

namespace bitsim::format_tests {

void check_exhaustively(const std::string& spec, BeyondFloatRange beyond = BeyondFloatRange::strict);

}  // namespace bitsim::format_tests

namespace bitsim::format_tests {

// A format of any size against the reference (neighbours by the formula): `random_count`
// random inputs from a fixed seed, the range boundaries (powers of two, max, min normal,
// min subnormal and their midpoints, with float32/float64 neighbours) and the special
// inputs, through every entry point in every deterministic mode.
void check_sampled(const std::string& spec, std::size_t random_count, std::uint64_t seed,
                   BeyondFloatRange beyond = BeyondFloatRange::strict);

}  // namespace bitsim::format_tests
