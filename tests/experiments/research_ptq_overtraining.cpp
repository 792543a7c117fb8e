// Study 5, reduced (experiments/research/ptq_overtraining/ci.yaml): a d = 16 GPT on the
// built-in text trained for 10, 30 and 90 steps, then its weights rounded to INT8/4/2.
// Checks directions, not numbers: more training lowers the validation loss, and 2-bit
// weights hurt more than 8-bit ones at every budget. (The study's claim itself, delta_PTQ
// rising with D, needs models that learn more than byte frequencies: README.md.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <variant>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/runner/evaluator.hpp"
#include "research_checks.hpp"

using namespace bitsim::experiments;

TEST_CASE("study 5 (ci): more tokens lower the loss; INT2 PTQ hurts more than INT8") {
  const auto config = load_experiment(std::string(BITSIM_RESEARCH) + "/ptq_overtraining/ci.yaml");
  const auto evaluator = make_evaluator(config);
  auto metric = [&](const std::vector<Cell>& cells, const std::string& name) { return research::metric_of(config, cells, name); };
  // tokens -> ptq -> (val_loss, delta_ptq)
  std::map<long long, std::map<std::string, std::pair<double, double>>> by;
  for (const auto& p : expand_grid(config)) {
    const auto cells = evaluator->evaluate(p).cells;
    by[std::stoll(p.value("tokens", ""))][p.value("ptq", "")] = {metric(cells, "val_loss"), metric(cells, "delta_ptq")};
  }
  REQUIRE(by.size() == 3);
  double previous = INFINITY;
  for (const auto& [tokens, row] : by) {
    CAPTURE(tokens);
    const double loss = row.at("none").first;
    CHECK(loss < previous);
    previous = loss;
    CHECK(row.at("none").second == 0);
    const double int8 = row.at("int8:per_group(16)").second, int2 = row.at("int2:per_group(16)").second;
    CHECK(int2 > 0);
    CHECK(int2 > std::abs(int8));
  }
}
