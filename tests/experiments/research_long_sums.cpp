// The `summation` workload and the long-sums study (Connolly, Higham & Mary 2021): the
// reduced study's direction of effects (SR error grows more slowly than RN, bf16 RN
// stagnates, pairwise beats sequential), the workload against a literal loop of
// Format::round calls, thread-count independence, and config errors at FILE:LINE:COL.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <oneapi/tbb/global_control.h>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/runner/evaluator.hpp"
#include "research_checks.hpp"
#include "formats/format.hpp"
#include "formats/random_stream.hpp"

using namespace bitsim::experiments;

namespace {

double real_cell(const ExperimentConfig& c, const PointResult& r, const std::string& column) {
  const auto schema = results_schema(c);
  for (std::size_t i = 0; i < schema.size(); ++i)
    if (schema[i].name == column) return std::get<double>(r.cells[i]);
  FAIL("no column " << column);
  return 0;
}

// Least-squares slope of log(y) against log(x).
double loglog_slope(const std::vector<double>& x, const std::vector<double>& y) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = double(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// The mean relative error of `trials` sequential sums of n uniform values, written as the
// workload's contract states it: value k of trial t is word 2k of Philox stream 2^32 + t
// (top 24 bits), and addition k rounds with word 8k + 2 of stream t (sim/gemm's keying).
double literal_mean_error(std::int64_t n, int trials, const std::string& format, bool stochastic, std::uint64_t seed) {
  const auto f = bitsim::formats::Format::parse(format);
  bitsim::formats::RoundingSpec r;
  if (stochastic) r.mode = bitsim::formats::Rounding::stochastic;
  double total = 0;
  for (int t = 0; t < trials; ++t) {
    const bitsim::formats::RandomStream values{seed, (std::uint64_t(1) << 32) + std::uint64_t(t)};
    const bitsim::formats::RandomStream words{seed, std::uint64_t(t)};
    double sum = 0, exact = 0;
    for (std::int64_t k = 0; k < n; ++k) {
      const double x = double(values.word(2 * std::uint64_t(k)) >> 8) * 0x1p-24;
      exact += x;  // exact: multiples of 2^-24 below 2^29
      sum = f.round(sum + x, r, words, 8 * std::uint64_t(k) + 2);  // sum + x is exact in double
    }
    total += std::abs(sum - exact) / exact;
  }
  return total / trials;
}

}  // namespace

TEST_CASE("long sums (reduced study): SR error grows more slowly than RN; bf16 RN stagnates") {
  const auto config = load_experiment(BITSIM_RESEARCH_DIR "/long_sums/ci.yaml");
  const auto evaluator = make_evaluator(config);
  // (accumulator, method) -> (n, error, stagnated) in grid order (n ascending).
  std::map<std::pair<std::string, std::string>, std::vector<std::tuple<double, double, double>>> series;
  for (const auto& point : expand_grid(config)) {
    const auto r = evaluate_point(config, *evaluator, point);
    series[{point.value("accumulator", ""), point.value("method", "")}].emplace_back(
        std::stod(point.value("n", "")), real_cell(config, r, "rel_error_mean"), real_cell(config, r, "stagnated"));
  }
  const auto slope = [&](const std::string& acc, const std::string& method) {
    std::vector<double> x, y;
    for (const auto& [n, e, s] : series.at({acc, method})) x.push_back(n), y.push_back(e);
    return loglog_slope(x, y);
  };
  const auto last = [&](const std::string& acc, const std::string& method) { return series.at({acc, method}).back(); };
  for (const std::string acc : {"bf16", "fp16"}) {
    CAPTURE(acc);
    const double rn = slope(acc, "seq_rn"), sr = slope(acc, "seq_sr");
    MESSAGE(acc << ": log-log slope RN " << rn << ", SR " << sr << ", pairwise " << slope(acc, "pairwise"));
    CHECK(sr < rn);
    // At the largest n: SR, pairwise and fp32-then-round are all more accurate than RN.
    const double rn_error = std::get<1>(last(acc, "seq_rn"));
    CHECK(std::get<1>(last(acc, "seq_sr")) < rn_error);
    CHECK(std::get<1>(last(acc, "pairwise")) < rn_error);
    CHECK(std::get<1>(last(acc, "fp32_round")) < rn_error);
    // SR never stalls.
    CHECK(std::get<2>(last(acc, "seq_sr")) == 0.0);
  }
  // bf16 RN stalls once the sum's ulp exceeds twice the addends (at 256 for values < 1):
  // every trial of n = 10^4 (sum ~5000) has stopped growing, with an error near 1 - 256/5000.
  CHECK(std::get<2>(last("bf16", "seq_rn")) == 1.0);
  CHECK(std::get<1>(last("bf16", "seq_rn")) > 0.9);
}

TEST_CASE("summation equals a literal loop of Format::round, for any thread count") {
  for (const bool sr : {false, true}) {
    CAPTURE(sr);
    const std::string method = sr ? "seq_sr" : "seq_rn";
    const auto config = parse_experiment(
        "name: t\nworkload: {kind: summation, trials: 4}\nsweep:\n  n: [3000]\n  accumulator: [fp16]\n  method: [" + method +
            "]\n  seed: [5]\nmetrics: [rel_error_mean]\n",
        "x.yaml");
    const auto evaluator = make_evaluator(config);
    const auto point = expand_grid(config).at(0);
    double one = 0, two = 0;
    {
      oneapi::tbb::global_control c(oneapi::tbb::global_control::max_allowed_parallelism, 1);
      one = std::get<double>(evaluate_point(config, *evaluator, point).cells.back());
    }
    {
      oneapi::tbb::global_control c(oneapi::tbb::global_control::max_allowed_parallelism, 2);
      two = std::get<double>(evaluate_point(config, *evaluator, point).cells.back());
    }
    CHECK(one == two);
    CHECK(one == doctest::Approx(literal_mean_error(3000, 4, "fp16", sr, 5)).epsilon(1e-12));
  }
}

TEST_CASE("summation config errors name FILE:LINE:COL and the valid choices") {
  const std::string head = "name: t\nworkload: {kind: summation}\nsweep:\n";
  CHECK(research::config_error_of(head + "  method: [seq_rn, zigzag]\n").find("x.yaml:4:20:") != std::string::npos);
  CHECK(research::config_error_of(head + "  method: [seq_rn, zigzag]\n").find("seq_sr, pairwise") != std::string::npos);
  CHECK(research::config_error_of(head + "  accumulator: [bf16, e9m9]\n").find("x.yaml:4:23:") != std::string::npos);
  CHECK(research::config_error_of(head + "  n: [100, 1e3]\n").find("x.yaml:4:12:") != std::string::npos);
  CHECK(research::config_error_of(head + "  m: [1]\n").find("valid keys: n, accumulator, method, seed") != std::string::npos);
  CHECK(research::config_error_of("name: t\nworkload: {kind: summation, distribution: cauchy}\nsweep: {}\n").find("uniform_pm1") != std::string::npos);
  CHECK(research::config_error_of("name: t\nworkload: {kind: summation, trials: 0}\nsweep: {}\n").find("x.yaml:2:37:") != std::string::npos);
}
