#include "experiments/config/grid.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace bitsim::experiments {
namespace {

// One loop of the nested loops: a lone axis, or a zip group whose axes advance together.
struct Loop {
  std::vector<const Axis*> axes;
  std::size_t length() const { return axes.front()->values.size(); }
};

std::vector<Loop> loops_of(const ExperimentConfig& config) {
  std::vector<Loop> loops;
  std::vector<std::string> placed;
  for (const auto& axis : config.axes) {
    if (std::find(placed.begin(), placed.end(), axis.name) != placed.end()) continue;
    Loop loop;
    const auto group = std::find_if(config.zip.begin(), config.zip.end(), [&](const auto& g) {
      return std::find(g.begin(), g.end(), axis.name) != g.end();
    });
    if (group == config.zip.end()) {
      loop.axes.push_back(&axis);
    } else {
      // Members in file order, so a point's values keep the axes' order.
      for (const auto& other : config.axes)
        if (std::find(group->begin(), group->end(), other.name) != group->end()) loop.axes.push_back(&other);
    }
    for (const Axis* a : loop.axes) placed.push_back(a->name);
    loops.push_back(std::move(loop));
  }
  return loops;
}

bool matches(const FilterEntry& filter, const GridPoint& point) {
  for (const auto& [axis, accepted] : filter.conditions) {
    const auto value = point.value(axis, "");
    if (std::find(accepted.begin(), accepted.end(), value) == accepted.end()) return false;
  }
  return true;
}

nlohmann::ordered_json to_json(const GridPoint& p) {
  auto j = nlohmann::ordered_json::object();
  for (const auto& [axis, value] : p.values) {
    if (axis == "seed") j[axis] = p.seed;
    else j[axis] = value;
  }
  return j;
}

}  // namespace

std::string GridPoint::value(const std::string& axis, const std::string& fallback) const {
  for (const auto& [name, v] : values)
    if (name == axis) return v;
  return fallback;
}

std::string GridPoint::json() const { return to_json(*this).dump(); }

std::vector<GridPoint> expand_grid(const ExperimentConfig& config) {
  const auto loops = loops_of(config);
  std::size_t total = 1;
  for (const auto& loop : loops) total *= loop.length();
  // Position of each axis in config.axes, so values come out in file order.
  std::vector<GridPoint> grid;
  std::vector<std::size_t> counter(loops.size(), 0);
  for (std::size_t n = 0; n < total; ++n) {
    GridPoint point;
    for (const auto& axis : config.axes) {
      for (std::size_t l = 0; l < loops.size(); ++l)
        for (const Axis* a : loops[l].axes)
          if (a == &axis) point.values.emplace_back(axis.name, axis.values[counter[l]]);
    }
    const auto seed = point.value("seed", "0");
    std::from_chars(seed.data(), seed.data() + seed.size(), point.seed);
    const bool included = config.include.empty() ||
                          std::any_of(config.include.begin(), config.include.end(), [&](const auto& f) { return matches(f, point); });
    const bool excluded = std::any_of(config.exclude.begin(), config.exclude.end(), [&](const auto& f) { return matches(f, point); });
    if (included && !excluded) {
      point.index = grid.size();
      grid.push_back(std::move(point));
    }
    // Advance the odometer: the last loop fastest.
    for (std::size_t l = loops.size(); l-- > 0;) {
      if (++counter[l] < loops[l].length()) break;
      counter[l] = 0;
    }
  }
  if (grid.empty())
    throw ConfigError(config.file.string() + ": the include/exclude filters leave no grid point to run");
  return grid;
}

std::string grid_json(const std::vector<GridPoint>& grid) {
  auto j = nlohmann::ordered_json::array();
  for (const auto& p : grid) j.push_back(to_json(p));
  return j.dump();
}

Shard Shard::parse(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  auto number = [&](std::string_view t, int& out) {
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return ec == std::errc() && end == t.data() + t.size() && !t.empty();
  };
  if (slash == std::string::npos || !number(std::string_view(text).substr(0, slash), s.part) ||
      !number(std::string_view(text).substr(slash + 1), s.count) || s.count < 1 || s.part < 0 || s.part >= s.count)
    throw std::invalid_argument("bad shard '" + text + "': expected i/N with 0 <= i < N (e.g. 0/4)");
  return s;
}

}  // namespace bitsim::experiments
