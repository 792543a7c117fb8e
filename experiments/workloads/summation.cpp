// Workload `summation`: the relative error of sums of n random values accumulated in a
// low-precision format (Connolly, Higham & Mary, "Stochastic rounding and its probabilistic
// backward error analysis", SISC 2021).
//
// Each trial is one column of B [n, trials]; the sums are the GEMM ones[1, n] · B, so the
// accumulation is exactly sim/gemm's AccumSpec model (sequential, pairwise, Kahan, chunked,
// every rounding mode) and trial t's stochastic rounding draws from RandomStream{seed, t}:
// the result does not depend on the thread count. Products x·1 are exact, so every addend
// reaches the accumulator unrounded (float32 values, one rounding per addition).
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/workloads/workload.hpp"
#include "formats/format.hpp"
#include "formats/random_stream.hpp"
#include "sim/gemm/gemm.hpp"

namespace bitsim::experiments {
namespace {

using formats::Rounding;

// How the n values are added. `spec` fills in the accumulator format; `round_at_end`
// methods sum in fp32 and round the total once into the accumulator format.
struct Method {
  const char* name;
  const char* help;
  Rounding rounding;
  sim::SumOrder order;
  bool kahan;
  bool chunked;
  bool round_at_end;
};

const Method kMethods[] = {
    {"seq_rn", "sequential, round to nearest even", Rounding::nearest_even, sim::SumOrder::sequential, false, false, false},
    {"seq_sr", "sequential, stochastic rounding", Rounding::stochastic, sim::SumOrder::sequential, false, false, false},
    {"pairwise", "pairwise (recursive halving), round to nearest even", Rounding::nearest_even, sim::SumOrder::pairwise, false, false, false},
    {"pairwise_sr", "pairwise, stochastic rounding", Rounding::stochastic, sim::SumOrder::pairwise, false, false, false},
    {"kahan", "sequential compensated (Kahan) summation, every operation in the format", Rounding::nearest_even, sim::SumOrder::sequential, true, false, false},
    {"chunked", "sequential in the format within chunks of `chunk` values, chunk sums added in fp32", Rounding::nearest_even, sim::SumOrder::sequential, false, true, false},
    {"fp32_round", "sequential in fp32, the total rounded once (rne) into the format", Rounding::nearest_even, sim::SumOrder::sequential, false, false, true},
};

const Method& find_method(const std::string& name) {
  for (const auto& m : kMethods)
    if (name == m.name) return m;
  throw std::invalid_argument("unknown summation method '" + name + "'");
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const auto& m : kMethods) out.push_back(m.name);
  return out;
}

const std::vector<std::string> kDistributions = {"uniform", "uniform_pm1", "normal"};

// Value k of trial t: drawn from its own Philox stream (2^32 + t, so never one of the
// stochastic-rounding streams 0..trials-1 under the same seed).
// uniform: [0, 1) on the 2^-24 grid; uniform_pm1: [-1, 1); normal: N(0, 1) rounded to float.
float draw(const std::string& distribution, const formats::RandomStream& rng, std::int64_t k) {
  constexpr double kUnit = 0x1p-24;
  if (distribution == "uniform") return float(double(rng.word(2 * std::uint64_t(k)) >> 8) * kUnit);
  if (distribution == "uniform_pm1") return float(double(rng.word(2 * std::uint64_t(k)) >> 8) * 2 * kUnit - 1);
  // Box-Muller from two words (u1 in (0, 1] so that the logarithm is finite).
  const double u1 = (double(rng.word(2 * std::uint64_t(k)) >> 8) + 1) * kUnit;
  const double u2 = double(rng.word(2 * std::uint64_t(k) + 1) >> 8) * kUnit;
  return float(std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (v.size() % 2) return *mid;
  return (*mid + *std::max_element(v.begin(), mid)) / 2;
}

class SummationEvaluator final : public Evaluator {
 public:
  explicit SummationEvaluator(const ExperimentConfig& config)
      : config_(config),
        trials_(config.workload.params.integer("trials")),
        chunk_(config.workload.params.integer("chunk")),
        distribution_(config.workload.params.text("distribution")) {}

  bool parallel_points() const override { return true; }

  PointMetrics evaluate(const GridPoint& point) const override {
    const std::int64_t n = std::stoll(point.value("n", "1000"));
    const auto format = formats::Format::parse(point.value("accumulator", "bf16"));
    const Method& method = find_method(point.value("method", "seq_rn"));

    sim::AccumSpec spec;
    spec.accumulator = {method.round_at_end ? formats::Format::parse("fp32") : format, {method.rounding, 32}};
    spec.order = method.order;
    spec.kahan = method.kahan;
    spec.chunk = method.chunked ? chunk_ : 0;
    spec.seed = point.seed;
    spec.validate();

    // The values (trial t = column t) and each trial's exact total and exact prefix.
    const std::int64_t prefix = n / 2;  // the sum of the first half
    const bool on_grid = distribution_ != "normal" && n < (std::int64_t(1) << 29);
    sim::TensorF values(sim::Shape{n, trials_});
    std::vector<double> exact(static_cast<std::size_t>(trials_)), exact_prefix(static_cast<std::size_t>(trials_));
    std::vector<float> column(static_cast<std::size_t>(n));
    const std::vector<float> ones(on_grid ? 0 : static_cast<std::size_t>(n), 1.0f);
    for (std::int64_t t = 0; t < trials_; ++t) {
      const formats::RandomStream rng{point.seed, (std::uint64_t(1) << 32) + std::uint64_t(t)};
      for (std::int64_t k = 0; k < n; ++k) column[std::size_t(k)] = draw(distribution_, rng, k);
      for (std::int64_t k = 0; k < n; ++k) values.data()[k * trials_ + t] = column[std::size_t(k)];
      if (on_grid) {
        // Multiples of 2^-24 (uniform) or 2^-23 (uniform_pm1) of magnitude below 1: every
        // partial sum of n < 2^29 of them needs at most 53 bits, so float64 adds them exactly.
        double sum = 0;
        for (std::int64_t k = 0; k < n; ++k) {
          if (k == prefix) exact_prefix[std::size_t(t)] = sum;
          sum += column[std::size_t(k)];
        }
        exact[std::size_t(t)] = sum;
      } else {
        exact[std::size_t(t)] = sim::exact_dot(column, ones);
        exact_prefix[std::size_t(t)] = sim::exact_dot(std::span<const float>(column).first(std::size_t(prefix)),
                                                      std::span<const float>(ones).first(std::size_t(prefix)));
      }
    }

    // The computed sums: one GEMM for the totals, one for the prefixes (the same additions,
    // keys and random words up to `prefix`, so for sequential orders it is the running sum).
    const sim::TensorF all_ones(sim::Shape{1, n}, 1.0f);
    const auto totals = sim::gemm_double(all_ones, values, spec);
    const auto prefixes = sim::gemm_double(all_ones.slice(1, 0, prefix), values.slice(0, 0, prefix), spec);

    std::vector<double> errors;
    double stagnated = 0, nonfinite = 0;
    for (std::int64_t t = 0; t < trials_; ++t) {
      double sum = totals.data()[t], head = prefixes.data()[t];
      if (method.round_at_end) {
        sum = format.round(sum);
        head = format.round(head);
      }
      if (!std::isfinite(sum)) {
        ++nonfinite;
        continue;
      }
      const double e = exact[std::size_t(t)];
      errors.push_back(e != 0 ? std::abs(sum - e) / std::abs(e) : std::abs(sum));
      // Stagnation: the second half of the values moved the sum by less than half of what
      // it adds up to exactly (or by more than 1.5 times). A half, not a shorter tail, so that
      // two correct roundings into a format of 3 or more mantissa bits never trip the test.
      const double tail = e - exact_prefix[std::size_t(t)];
      if (std::abs((sum - head) - tail) > 0.5 * std::abs(tail)) ++stagnated;
    }
    const double mean = errors.empty() ? std::numeric_limits<double>::quiet_NaN()
                                       : std::accumulate(errors.begin(), errors.end(), 0.0) / double(errors.size());
    const double max = errors.empty() ? std::numeric_limits<double>::quiet_NaN() : *std::max_element(errors.begin(), errors.end());
    PointMetrics out;
    out.cells = select_metrics(config_, {{"rel_error_mean", mean},
                                         {"rel_error_median", median(errors)},
                                         {"rel_error_max", max},
                                         {"stagnated", stagnated / double(trials_)},
                                         {"nonfinite", nonfinite / double(trials_)}});
    return out;
  }

 private:
  const ExperimentConfig& config_;
  std::int64_t trials_, chunk_;
  std::string distribution_;
};

}  // namespace

Workload summation_workload() {
  Workload w;
  w.name = "summation";
  w.summary = "relative error of sums of n random values accumulated in a low-precision format";
  using K = WorkloadParam::Kind;
  w.params = {
      {"trials", K::integer, "32", "independent sums per point (mean, median and max are over them)", 1},
      {"distribution", K::text, "uniform", "the values: uniform [0,1), uniform_pm1 [-1,1) or normal N(0,1)"},
      {"chunk", K::integer, "64", "values per chunk of the `chunked` method", 1},
  };
  w.check_params = [](const WorkloadParams& p) {
    try {
      check_one_of(kDistributions)(p.text("distribution"));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("distribution: ") + e.what());
    }
  };
  w.axes = {
      {"n", "number of values summed (default 1000)", check_integer(2)},
      {"accumulator", "the accumulator's format: bf16, fp16, e4m3fn, e5m2, fp32, any format spec (default bf16)", check_format()},
      {"method", "how the values are added (default seq_rn): seq_rn, seq_sr, pairwise, pairwise_sr, kahan, chunked, fp32_round",
       check_one_of(method_names())},
  };
  w.metrics = {
      {"rel_error_mean", false, "mean over the trials of |sum - exact| / |exact| (finite sums only)"},
      {"rel_error_median", false, "median of the same"},
      {"rel_error_max", false, "largest of the same"},
      {"stagnated", false, "fraction of trials whose second half of values moved the sum by less than half (or more than 1.5x) its exact total"},
      {"nonfinite", false, "fraction of trials whose sum overflowed to inf or NaN"},
  };
  w.make = [](const ExperimentConfig& config) -> std::unique_ptr<Evaluator> {
    return std::make_unique<SummationEvaluator>(config);
  };
  // Measured: about 1e7 additions per second per core through the GEMM model, totals and
  // half-length prefixes together (SR and Kahan at the slow end), plus drawing the values.
  w.estimate_seconds = [](const ExperimentConfig& config, const GridPoint& point) {
    const double n = std::stod(point.value("n", "1000"));
    return 1.5 * n * double(config.workload.params.integer("trials")) / 1e7;
  };
  return w;
}

}  // namespace bitsim::experiments
