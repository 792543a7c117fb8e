// Study 6, reduced (experiments/research/fp_training_law/ci.yaml): a d = 16 GPT on the
// built-in text trained for 60 steps with every GEMM operand in fp<e=E,m=M> (groups of
// 16) for 2-, 4- and 8-bit splits, and in fp32. At this size every run stays near the
// byte-frequency plateau, so the check is the direction of the precision penalty of Sun
// et al.'s law: the fewer the bits, the further training ends from the fp32 run.
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

TEST_CASE("study 6 (ci): fewer bits in training end further from the fp32 run") {
  const auto config = load_experiment(std::string(BITSIM_RESEARCH) + "/fp_training_law/ci.yaml");
  const auto evaluator = make_evaluator(config);
  auto metric = [&](const std::vector<Cell>& cells, const std::string& name) { return research::metric_of(config, cells, name); };
  double fp32 = NAN;
  std::map<int, std::vector<double>> loss_by_bits;  // bits -> val losses of its E/M splits
  for (const auto& p : expand_grid(config)) {
    const auto cells = evaluator->evaluate(p).cells;
    const double loss = metric(cells, "val_loss"), bits = metric(cells, "train_bits");
    CHECK(std::isfinite(loss));
    if (p.value("recipe", "") == "fp32") {
      fp32 = loss;
      continue;
    }
    // The recorded layout is the recipe's: 1 + E + M bits, groups of 16.
    CHECK(bits == 1 + metric(cells, "train_e") + metric(cells, "train_m"));
    CHECK(metric(cells, "train_group") == 16);
    loss_by_bits[int(bits)].push_back(loss);
  }
  REQUIRE(std::isfinite(fp32));
  REQUIRE(loss_by_bits.size() == 3);
  auto mean_gap = [&](int bits) {
    double sum = 0;
    for (double l : loss_by_bits.at(bits)) sum += std::abs(l - fp32);
    return sum / double(loss_by_bits.at(bits).size());
  };
  CAPTURE(mean_gap(2));
  CAPTURE(mean_gap(4));
  CAPTURE(mean_gap(8));
  CHECK(mean_gap(2) > mean_gap(4));
  CHECK(mean_gap(4) > mean_gap(8));
}
