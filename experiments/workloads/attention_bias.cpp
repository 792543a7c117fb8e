// Workload `attention_bias`: the rounding bias of low-precision flash attention (Qiu & Yao,
// "Why Low-Precision Transformer Training Fails: An Analysis on Flash Attention", arXiv
// 2510.04212). When several scores of a row tie the row maximum, the unnormalised
// probabilities P̄ = exp(S - m) hold entries exactly 1 and the rounding of P̄V in BF16 is
// biased when V's columns have a negative mean; their fix shifts the maximum (below).
//
// Why a kernel here and not sim::flash_attention: the paper's fix changes the maximum each
// block subtracts, which sim's kernel computes internally with no hook, and the paper's
// pipeline keeps the block's P̄V product, the running output and the running sum in the
// low-precision format (their PyTorch reference runs every tensor in bf16), while sim's
// kernel accumulates products one by one. The recurrence below is that reference, one row
// at a time, every operation rounded once through sim::Precision.
//
// Per query row, key blocks [j0, j0 + block_k) in order, with m = -inf, l = 0, o[dv] = 0 and
// P the pipeline's precision (p_format with the point's rounding):
//   b      = max_j S[j] over the block
//   fix:   if more than one S[j] >= b - tie_tolerance:  b = beta * b (b > 0), 0 (b < 0)
//   m'     = max(m, b)
//   p[j]   = P.exp(P.sub(S[j], m'))                      (P̄, rounded into the format)
//   s      = P.round(sum_j p[j])                          (exact sum, one rounding)
//   pv[c]  = P.round(sum_j p[j] * V[j][c])                (exact dot product, one rounding:
//                                                          an FP32 tensor-core product stored
//                                                          in the format)
//   a      = P.exp(P.sub(m, m'))                          (0 on the first block)
//   l      = P.add(P.mul(a, l), s);   o[c] = P.add(P.mul(a, o[c]), pv[c])
//   out[c] = P.div(o[c], l)
// The `acc` parameter can move s, pv, l, o and out to another precision (e.g. fp32).
// Stochastic rounding: row r draws from RandomStream{seed, r}, operations numbered in order.
//
// Data: the scores of row r are s_max for a `tie_fraction` of the keys and
// s_max - gap - spread * u (u uniform [0, 1)) for the others (a peaked row: the tied keys
// carry most of the weight, the others add a small tail of one sign when V's mean is not 0); V[j][c] = v_mean + v_std * N(0, 1);
// both rounded (rne) into p_format, as a bf16 model stores them. The reference is the
// float64 softmax(S) V of those same values.
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
#include "formats/rounding.hpp"
#include "sim/kernels/precision.hpp"

namespace bitsim::experiments {
namespace {

constexpr double kUnit = 0x1p-24;
double uniform(const formats::RandomStream& rng, std::uint64_t i) { return double(rng.word(i) >> 8) * kUnit; }
double normal(const formats::RandomStream& rng, std::uint64_t i) {
  const double u1 = uniform(rng, 2 * i) + kUnit, u2 = uniform(rng, 2 * i + 1);
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

struct Settings {
  std::int64_t rows, keys, dv, block_k;
  double s_max, gap, spread, v_std, beta, tie_tolerance;
  std::string acc;
};

struct Point {
  bool fix;
  formats::Format format;
  formats::RoundingSpec rounding;
  double v_mean, tie_fraction;
};

class AttentionBiasEvaluator final : public Evaluator {
 public:
  explicit AttentionBiasEvaluator(const ExperimentConfig& config) : config_(config) {
    const auto& p = config.workload.params;
    s_ = {p.integer("rows"), p.integer("keys"), p.integer("dv"), p.integer("block_k"), p.real("s_max"),
          p.real("gap"), p.real("spread"), p.real("v_std"), p.real("beta"), p.real("tie_tolerance"), p.text("acc")};
  }

  bool parallel_points() const override { return true; }

  PointMetrics evaluate(const GridPoint& gp) const override {
    const Point pt{gp.value("fix", "none") == "shifted_max", formats::Format::parse(gp.value("p_format", "bf16")),
                   formats::parse_rounding(gp.value("rounding", "rne")), std::stod(gp.value("v_mean", "-0.5")),
                   std::stod(gp.value("tie_fraction", "0.25"))};
    const auto store = [&](double x) { return pt.format.round(x); };

    // V [keys, dv], shared by every row.
    const formats::RandomStream v_rng{gp.seed, std::uint64_t(1) << 33};
    std::vector<double> V(std::size_t(s_.keys * s_.dv));
    for (std::size_t i = 0; i < V.size(); ++i) V[i] = store(pt.v_mean + s_.v_std * normal(v_rng, i));

    const auto n_out = std::size_t(s_.rows * s_.dv);
    std::vector<double> err(n_out);
    std::vector<double> S(std::size_t(s_.keys)), out(std::size_t(s_.dv)), ref(std::size_t(s_.dv));
    for (std::int64_t r = 0; r < s_.rows; ++r) {
      const formats::RandomStream s_rng{gp.seed, (std::uint64_t(1) << 32) + std::uint64_t(r)};
      for (std::int64_t j = 0; j < s_.keys; ++j) {
        const bool tie = uniform(s_rng, 2 * std::uint64_t(j)) < pt.tie_fraction;
        S[std::size_t(j)] = store(tie ? s_.s_max : s_.s_max - s_.gap - s_.spread * uniform(s_rng, 2 * std::uint64_t(j) + 1));
      }
      reference(S, V, ref);
      flash_row(pt, formats::RandomStream{gp.seed, std::uint64_t(r)}, S, V, out);
      for (std::int64_t c = 0; c < s_.dv; ++c) err[std::size_t(r * s_.dv + c)] = out[std::size_t(c)] - ref[std::size_t(c)];
    }
    return metrics(err);
  }

 private:
  // float64 softmax(S) V.
  void reference(const std::vector<double>& S, const std::vector<double>& V, std::vector<double>& ref) const {
    const double m = *std::max_element(S.begin(), S.end());
    double l = 0;
    std::fill(ref.begin(), ref.end(), 0.0);
    for (std::int64_t j = 0; j < s_.keys; ++j) {
      const double w = std::exp(S[std::size_t(j)] - m);
      l += w;
      for (std::int64_t c = 0; c < s_.dv; ++c) ref[std::size_t(c)] += w * V[std::size_t(j * s_.dv + c)];
    }
    for (auto& x : ref) x /= l;
  }

  // The blocked recurrence of the header comment, for one row.
  void flash_row(const Point& pt, const formats::RandomStream& rng, const std::vector<double>& S,
                 const std::vector<double>& V, std::vector<double>& out) const {
    const sim::Precision P(pt.format, pt.rounding, rng);
    sim::Precision A = P;
    if (s_.acc != "same") {
      const auto parsed = sim::Precision::parse(s_.acc);
      if (parsed.format()) A = sim::Precision(*parsed.format(), parsed.rounding(), rng);
      else A = parsed;
    }
    std::uint64_t op = 0;  // operation number: the stochastic-rounding word index
    constexpr double kNegInf = -std::numeric_limits<double>::infinity();
    double m = kNegInf, l = 0;
    std::vector<double> o(std::size_t(s_.dv), 0.0), p(std::size_t(s_.block_k));
    for (std::int64_t j0 = 0; j0 < s_.keys; j0 += s_.block_k) {
      const std::int64_t j1 = std::min(s_.keys, j0 + s_.block_k);
      double b = *std::max_element(S.begin() + j0, S.begin() + j1);
      if (pt.fix) {
        const auto near = std::count_if(S.begin() + j0, S.begin() + j1, [&](double x) { return x >= b - s_.tie_tolerance; });
        if (near > 1) b = b > 0 ? s_.beta * b : (b < 0 ? 0.0 : b);
      }
      const double m_new = std::max(m, b);
      double block_sum = 0;
      for (std::int64_t j = j0; j < j1; ++j) {
        const double d = P.sub(S[std::size_t(j)], m_new, op++);
        p[std::size_t(j - j0)] = P.exp(d, op++);
        block_sum += p[std::size_t(j - j0)];  // exact: at most block_k values of a narrow format
      }
      const double s = A.round(block_sum, op++);
      double alpha = 0;
      if (m != kNegInf) {
        const double d = P.sub(m, m_new, op++);
        alpha = P.exp(d, op++);
      }
      const double scaled_l = A.mul(alpha, l, op++);  // one statement per numbered operation
      l = A.add(scaled_l, s, op++);
      for (std::int64_t c = 0; c < s_.dv; ++c) {
        double dot = 0;  // float64 sum of exact products (up to rounding far below the format's)
        for (std::int64_t j = j0; j < j1; ++j) dot += p[std::size_t(j - j0)] * V[std::size_t(j * s_.dv + c)];
        const double pv = A.round(dot, op++);
        const double scaled_o = A.mul(alpha, o[std::size_t(c)], op++);
        o[std::size_t(c)] = A.add(scaled_o, pv, op++);
      }
      m = m_new;
    }
    for (std::int64_t c = 0; c < s_.dv; ++c) out[std::size_t(c)] = A.div(o[std::size_t(c)], l, op++);
  }

  PointMetrics metrics(const std::vector<double>& err) const {
    const double n = double(err.size());
    double sum = 0, abs_sum = 0;
    for (double e : err) {
      sum += e;
      abs_sum += std::abs(e);
    }
    // Per-column mean signed errors; their spread across columns gives the bias's z score.
    std::vector<double> column(std::size_t(s_.dv), 0.0);
    for (std::int64_t r = 0; r < s_.rows; ++r)
      for (std::int64_t c = 0; c < s_.dv; ++c) column[std::size_t(c)] += err[std::size_t(r * s_.dv + c)] / double(s_.rows);
    const double mean = sum / n;
    double var = 0;
    for (double b : column) var += (b - mean) * (b - mean);
    var /= std::max<double>(1, double(s_.dv - 1));
    const double z = var > 0 ? mean / std::sqrt(var / double(s_.dv)) : (mean == 0 ? 0.0 : std::copysign(INFINITY, mean));
    const double worst = *std::max_element(column.begin(), column.end(), [](double a, double b) { return std::abs(a) < std::abs(b); });
    const double negative = double(std::count_if(column.begin(), column.end(), [](double b) { return b < 0; }));
    PointMetrics out;
    out.cells = select_metrics(config_, {{"mean_signed_error", mean},
                                         {"mean_abs_error", abs_sum / n},
                                         {"bias_ratio", abs_sum > 0 ? std::abs(sum) / abs_sum : 0.0},
                                         {"bias_z", z},
                                         {"worst_column_bias", worst},
                                         {"negative_columns", negative / double(s_.dv)}});
    out.arrays.emplace_back("column_bias", std::move(column));
    return out;
  }

  const ExperimentConfig& config_;
  Settings s_{};
};

}  // namespace

Workload attention_bias_workload() {
  Workload w;
  w.name = "attention_bias";
  w.summary = "mean signed error of low-precision blocked (flash) attention per output column, with and without the shifted-maximum fix";
  using K = WorkloadParam::Kind;
  w.params = {
      {"rows", K::integer, "256", "query rows per point (each its own scores)", 1},
      {"keys", K::integer, "256", "keys per row", 1},
      {"dv", K::integer, "64", "columns of V (output features)", 1},
      {"block_k", K::integer, "64", "keys per block of the online softmax", 1},
      {"s_max", K::real, "4", "the row maximum score (the tied value)", -1e300},
      {"gap", K::real, "6", "non-tied scores are s_max - gap - spread * U[0,1)", 0},
      {"spread", K::real, "4", "see gap", 0},
      {"v_std", K::real, "1", "standard deviation of V's entries", 0},
      {"beta", K::real, "2", "the fix's factor: a tied positive maximum b becomes beta * b", 1},
      {"tie_tolerance", K::real, "0.001", "scores within this of the block maximum count as ties (the fix's test)", 0},
      {"acc", K::text, "same", "precision of the P̄V product, sums and output: 'same' (p_format, the point's rounding) or a precision spec such as fp32"},
  };
  w.check_params = [](const WorkloadParams& p) {
    if (p.text("acc") != "same") (void)sim::Precision::parse(p.text("acc"));
  };
  const auto fraction = [](const std::string& text) {
    check_real(0)(text);
    if (std::stod(text) > 1) throw std::invalid_argument("'" + text + "' is above 1 (a fraction of the keys)");
  };
  w.axes = {
      {"fix", "none, or shifted_max: the paper's fix (default none)", check_one_of({"none", "shifted_max"})},
      {"rounding", "rounding of every low-precision operation: rne, sr, rz, ... (default rne)", check_rounding()},
      {"p_format", "the pipeline's format: bf16, fp16, any format spec (default bf16)", check_format()},
      {"v_mean", "mean of V's entries (default -0.5)", check_real(-1e300)},
      {"tie_fraction", "fraction of keys whose score ties the row maximum, in [0, 1] (default 0.25)", fraction},
  };
  w.metrics = {
      {"mean_signed_error", false, "mean of out - reference over every row and column"},
      {"mean_abs_error", false, "mean of |out - reference|"},
      {"bias_ratio", false, "|mean signed error| / mean abs error: 1 all errors one way, ~0 unbiased"},
      {"bias_z", false, "mean of the per-column mean errors over its standard error across columns"},
      {"worst_column_bias", false, "the per-column mean error of largest magnitude"},
      {"negative_columns", false, "fraction of columns whose mean error is negative"},
  };
  w.make = [](const ExperimentConfig& config) -> std::unique_ptr<Evaluator> {
    return std::make_unique<AttentionBiasEvaluator>(config);
  };
  // Measured: about 6e7 products per second per core (rows x keys x dv), the rounded
  // operations included.
  w.estimate_seconds = [](const ExperimentConfig& config, const GridPoint&) {
    const auto& p = config.workload.params;
    return double(p.integer("rows") * p.integer("keys") * p.integer("dv")) / 6e7;
  };
  return w;
}

}  // namespace bitsim::experiments
