#pragma once
// PointResult <-> bytes, for sending finished points between MPI ranks. Little-endian
// host layout (ranks of one run share a machine type); decode checks every length.
#include <cstdint>
#include <vector>

#include "experiments/results/results_file.hpp"

namespace bitsim::experiments {

void encode_points(const std::vector<PointResult>& points, std::vector<std::uint8_t>& out);
// Throws std::runtime_error on a truncated or malformed buffer.
std::vector<PointResult> decode_points(const std::uint8_t* data, std::size_t size);

}  // namespace bitsim::experiments
