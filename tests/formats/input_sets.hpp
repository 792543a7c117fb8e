#pragma once
// Inputs for comparing the fast path with the reference, derived from the reference's view
// of a format (never from the fast path): every decision boundary of a rounding function
// is a lattice point or a midpoint, so those, with their float32 and float64 neighbours on
// both sides, cover every decision a monotone rounding can make.
#include <cstdint>
#include <vector>

#include "tests/reference/reference_format.hpp"

namespace bitsim::format_tests {

// The doubles and floats (as doubles) next to an exact boundary b, on both sides, and the
// next ones out: b itself when representable, else the two around it.
void add_neighbours(std::vector<double>& out, const reference::Exact& b);

// Every lattice point and midpoint of an enumerated format (both signs; the first point
// past max and beyond included), with add_neighbours around each.
std::vector<double> lattice_boundary_inputs(const reference::ReferenceFormat& f);

// Boundaries of any format, enumerated or not: around every power of two in its range and
// a little beyond, its largest value, smallest normal, smallest positive value, and the
// midpoints next to each of these.
std::vector<double> range_boundary_inputs(const reference::ReferenceFormat& f);

// Inputs that need no rounding or sit at the edges of the source types: +-0, +-inf, NaNs
// (quiet, signalling, with payloads, both signs), float32 and float64 subnormals, values
// far beyond the format's largest value and below half its smallest.
std::vector<double> special_inputs(const reference::ReferenceFormat& f);

// `count` random inputs with a fixed seed: random float64 and float32 bit patterns, values
// spread over the format's range, and values near random lattice points and midpoints.
std::vector<double> random_inputs(const reference::ReferenceFormat& f, std::size_t count, std::uint64_t seed);

// Sorts by bit pattern and drops repeats.
void deduplicate(std::vector<double>& inputs);

}  // namespace bitsim::format_tests
