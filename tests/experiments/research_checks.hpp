#pragma once
// Small helpers of the research_* suites that evaluate grid points directly (studies 1, 2,
// 5, 6): a point's metric by name, and the message a malformed study file gives.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"

namespace research {

// The metric `name` of one evaluated point (cells in the order of config.metrics);
// integer metrics come back as doubles.
inline double metric_of(const bitsim::experiments::ExperimentConfig& config,
                        const std::vector<bitsim::experiments::Cell>& cells, const std::string& name) {
  const auto at = std::size_t(std::find(config.metrics.begin(), config.metrics.end(), name) - config.metrics.begin());
  REQUIRE(at < cells.size());
  const auto& c = cells[at];
  return std::holds_alternative<double>(c) ? std::get<double>(c) : double(std::get<std::int64_t>(c));
}

// The ConfigError message of parsing and expanding `text` (named x.yaml in messages), or
// "(no error)" when it is accepted.
inline std::string config_error_of(const std::string& text) {
  try {
    (void)bitsim::experiments::expand_grid(bitsim::experiments::parse_experiment(text, "x.yaml"));
  } catch (const bitsim::experiments::ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace research
