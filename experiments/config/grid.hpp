#pragma once
// Grid expansion: the cross product of the sweep axes, in a fixed order, with zip groups
// moving together and the include/exclude filters applied.
//
// Order: the axes (a zip group counts as one axis, at the place of its first member) in
// file order, the last one varying fastest, like nested loops written top to bottom.
// Filters remove points; the survivors are numbered 0, 1, ... in that order, so a point's
// index depends only on the file.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "experiments/config/experiment_config.hpp"

namespace bitsim::experiments {

struct GridPoint {
  std::uint64_t index = 0;
  // (axis name, value as written), in the config's axis order.
  std::vector<std::pair<std::string, std::string>> values;
  std::uint64_t seed = 0;  // the `seed` axis value (0 without one)

  // The value of an axis, or `fallback` when the sweep has no such axis.
  std::string value(const std::string& axis, const std::string& fallback) const;
  // A stable one-line JSON object: {"weights": "...", ..., "seed": 0}.
  std::string json() const;
};

std::vector<GridPoint> expand_grid(const ExperimentConfig& config);

// The whole grid as a JSON array of point objects (RunInfo::grid_json).
std::string grid_json(const std::vector<GridPoint>& grid);

// A deterministic slice of the grid: index % count == part.
struct Shard {
  int part = 0, count = 1;
  bool contains(std::uint64_t index) const { return index % std::uint64_t(count) == std::uint64_t(part); }
  std::string to_string() const { return std::to_string(part) + "/" + std::to_string(count); }
  static Shard parse(const std::string& text);  // "i/N", 0 <= i < N; throws std::invalid_argument
};

}  // namespace bitsim::experiments
