#pragma once
// Runs an experiment file through the runner as `bitsim run` would (into a temporary
// folder, removed afterwards) and reads its results by column name: what the research_*
// suites (studies 3, 7, 8) use to check the direction of each effect on a study's reduced
// version, experiments/research/<study>/ci.yaml.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/runner.hpp"
#include "tests/support/temp_dir.hpp"

namespace research {

using bitsim::testing::TempDir;

namespace fs = std::filesystem;
using bitsim::experiments::Column;

inline fs::path study_file(const std::string& study, const std::string& file = "ci.yaml") {
  return fs::path(BITSIM_RESEARCH_DIR) / study / file;
}

// A temporary folder, removed with everything in it when the object goes.
class StudyResults {
 public:
  // Runs `yaml` on `threads` threads (0: every core).
  explicit StudyResults(const fs::path& yaml, int threads = 0) : config_(bitsim::experiments::load_experiment(yaml)) {
    TempDir dir;
    bitsim::experiments::RunOptions options;
    options.output = dir.path / "results.h5";
    options.threads = threads;
    options.progress = false;
    bitsim::experiments::run_experiment(config_, options);
    table_ = bitsim::experiments::read_results(options.output);
  }

  const bitsim::experiments::ExperimentConfig& config() const { return config_; }
  const bitsim::experiments::ResultsTable& table() const { return table_; }
  std::size_t rows() const { return table_.rows.size(); }

  std::string text(std::size_t row, const std::string& column) const { return std::get<std::string>(cell(row, column)); }
  // A real or integer cell as a double.
  double number(std::size_t row, const std::string& column) const {
    const auto& c = cell(row, column);
    if (const auto* i = std::get_if<std::int64_t>(&c)) return double(*i);
    return std::get<double>(c);
  }
  const std::vector<double>& array(std::size_t row, const std::string& name) const {
    for (const auto& [n, values] : table_.rows.at(row).arrays)
      if (n == name) return values;
    throw std::invalid_argument("no array '" + name + "'");
  }
  // The rows whose text columns hold the given values (all of them), in grid order.
  std::vector<std::size_t> where(const std::vector<std::pair<std::string, std::string>>& match) const {
    std::vector<std::size_t> out;
    for (std::size_t r = 0; r < rows(); ++r)
      if (std::all_of(match.begin(), match.end(), [&](const auto& m) { return text(r, m.first) == m.second; })) out.push_back(r);
    return out;
  }
  // The one row matching; fails the test otherwise.
  std::size_t row(const std::vector<std::pair<std::string, std::string>>& match) const {
    const auto found = where(match);
    REQUIRE(found.size() == 1);
    return found[0];
  }

 private:
  const bitsim::experiments::Cell& cell(std::size_t row, const std::string& column) const {
    for (std::size_t c = 0; c < table_.columns.size(); ++c)
      if (table_.columns[c].name == column) return table_.rows.at(row).cells.at(c);
    throw std::invalid_argument("no column '" + column + "'");
  }

  bitsim::experiments::ExperimentConfig config_;
  bitsim::experiments::ResultsTable table_;
};

}  // namespace research
