// The `attention_bias` workload and the flash-attention bias study (Qiu & Yao 2025): the
// reduced study's direction of effects (BF16 round-to-nearest is biased when V's mean is
// negative and scores tie the maximum; the shifted-maximum fix and stochastic rounding shrink
// the bias), the blocked recurrence's algebra (float64 everywhere: equal to the reference,
// fix or not), and config errors at FILE:LINE:COL.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/runner/evaluator.hpp"
#include "research_checks.hpp"

using namespace bitsim::experiments;

namespace {

using Metrics = std::map<std::string, double>;

// Every point's metrics, keyed by "rounding/fix".
std::map<std::string, Metrics> run(const ExperimentConfig& config) {
  const auto evaluator = make_evaluator(config);
  const auto schema = results_schema(config);
  std::map<std::string, Metrics> out;
  for (const auto& point : expand_grid(config)) {
    const auto r = evaluate_point(config, *evaluator, point);
    auto& m = out[point.value("rounding", "rne") + "/" + point.value("fix", "none")];
    for (std::size_t i = 0; i < schema.size(); ++i)
      if (schema[i].kind == Column::Kind::real) m[schema[i].name] = std::get<double>(r.cells[i]);
  }
  return out;
}

}  // namespace

TEST_CASE("flash attention bias (reduced study): the fix and stochastic rounding shrink the bias") {
  const auto results = run(load_experiment(BITSIM_RESEARCH_DIR "/flash_attention_bias/ci.yaml"));
  for (const auto& [key, m] : results)
    MESSAGE(key << ": mean signed " << m.at("mean_signed_error") << ", mean abs " << m.at("mean_abs_error") << ", z "
                << m.at("bias_z"));
  const auto& rn = results.at("rne/none");
  // The bias: clearly one-signed across columns (|z| far beyond noise).
  CHECK(std::abs(rn.at("bias_z")) > 5);
  // The fix: a smaller signed error, and a smaller share of the error that is bias.
  CHECK(std::abs(results.at("rne/shifted_max").at("mean_signed_error")) < std::abs(rn.at("mean_signed_error")));
  CHECK(results.at("rne/shifted_max").at("bias_ratio") < rn.at("bias_ratio"));
  // Stochastic rounding: roughly unbiased. What is left is a second-order effect of the
  // ratio o / l of two independently rounded values, a small fraction of RN's bias.
  for (const std::string fix : {"none", "shifted_max"}) {
    CAPTURE(fix);
    const auto& sr = results.at("sr/" + fix);
    CHECK(std::abs(sr.at("bias_z")) < std::abs(rn.at("bias_z")) / 4);
    CHECK(std::abs(sr.at("mean_signed_error")) < std::abs(rn.at("mean_signed_error")) / 4);
    CHECK(sr.at("bias_ratio") < rn.at("bias_ratio") / 4);
  }
}

TEST_CASE("attention_bias: in float64 the blocked recurrence is the reference, with or without the fix") {
  const auto results = run(parse_experiment(
      "name: t\nworkload: {kind: attention_bias, rows: 16, keys: 100, dv: 8, block_k: 16}\n"
      "sweep:\n  p_format: [fp64]\n  fix: [none, shifted_max]\n  tie_fraction: [0.3]\n",
      "x.yaml"));
  for (const auto& [key, m] : results) {
    CAPTURE(key);
    CHECK(m.at("mean_abs_error") < 1e-14);
  }
}

TEST_CASE("attention_bias config errors name FILE:LINE:COL and the valid choices") {
  const std::string head = "name: t\nworkload: {kind: attention_bias}\nsweep:\n";
  const auto fix = research::config_error_of(head + "  fix: [none, shifted]\n");
  CHECK(fix.find("x.yaml:4:15:") != std::string::npos);
  CHECK(fix.find("none, shifted_max") != std::string::npos);
  CHECK(research::config_error_of(head + "  tie_fraction: [0.5, 2]\n").find("x.yaml:4:23:") != std::string::npos);
  CHECK(research::config_error_of(head + "  rounding: [rne, banker]\n").find("x.yaml:4:19:") != std::string::npos);
  CHECK(research::config_error_of("name: t\nworkload: {kind: attention_bias, acc: fp99}\nsweep: {}\n").find("fp99") != std::string::npos);
}
