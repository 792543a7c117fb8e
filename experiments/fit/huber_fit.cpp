#include "experiments/fit/huber_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <ceres/first_order_function.h>
#include <ceres/gradient_problem.h>
#include <ceres/gradient_problem_solver.h>
#include <glog/logging.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/random_stream.hpp"

namespace bitsim::experiments::fit {
namespace {

double huber(double r, double delta) {
  const double a = std::abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}

double huber_slope(double r, double delta) {
  return std::abs(r) <= delta ? r : std::copysign(delta, r);
}

// sum_i w_i huber(log pred_i - log y_i), or its weighted mean, with the gradient.
class HuberObjective final : public ceres::FirstOrderFunction {
 public:
  HuberObjective(const Law& law, const FitData& data, const FitOptions& options,
                 const std::vector<double>& weights)
      : model_(law.make_model()),
        data_(data),
        inputs_(law.inputs.size()),
        params_(int(law.params.size())),
        delta_(options.huber_delta),
        weights_(weights),
        log_y_(data.size()),
        point_grad_(law.params.size()) {
    for (std::size_t i = 0; i < data.size(); ++i) log_y_[i] = std::log(data.y[i]);
    double total = 0;
    for (std::size_t i = 0; i < data.size(); ++i) total += weight(i);
    scale_ = options.reduction == FitOptions::Reduction::mean ? 1.0 / total : 1.0;
  }

  bool Evaluate(const double* p, double* cost, double* gradient) const override {
    double sum = 0;
    if (gradient != nullptr) std::fill(gradient, gradient + params_, 0.0);
    for (std::size_t i = 0; i < data_.size(); ++i) {
      const double w = weight(i);
      if (w == 0) continue;
      const double* x = data_.x.data() + i * inputs_;
      const double log_pred =
          model_->log_predict(p, x, gradient != nullptr ? point_grad_.data() : nullptr);
      if (!std::isfinite(log_pred)) return false;
      const double r = log_pred - log_y_[i];
      sum += w * huber(r, delta_);
      if (gradient != nullptr) {
        const double slope = w * huber_slope(r, delta_) * scale_;
        for (int k = 0; k < params_; ++k) gradient[k] += slope * point_grad_[std::size_t(k)];
      }
    }
    *cost = sum * scale_;
    if (gradient != nullptr) {
      for (int k = 0; k < params_; ++k) {
        if (!std::isfinite(gradient[k])) return false;
      }
    }
    return std::isfinite(*cost);
  }

  int NumParameters() const override { return params_; }

 private:
  double weight(std::size_t i) const { return weights_.empty() ? 1.0 : weights_[i]; }

  std::unique_ptr<PointModel> model_;
  const FitData& data_;
  std::size_t inputs_;
  int params_;
  double delta_;
  const std::vector<double>& weights_;
  std::vector<double> log_y_;
  double scale_ = 1;
  mutable std::vector<double> point_grad_;
};

struct Solved {
  std::vector<double> p;
  double loss = std::numeric_limits<double>::infinity();
  std::size_t iterations = 0;
};

Solved solve(const Law& law, const FitData& data, const FitOptions& options,
             const std::vector<double>& weights, std::vector<double> start) {
  ceres::GradientProblemSolver::Options solver;
  solver.line_search_direction_type = ceres::LBFGS;
  solver.logging_type = ceres::SILENT;
  solver.minimizer_progress_to_stdout = false;
  if (options.stopping == FitOptions::Stopping::tight) {
    solver.max_num_iterations = 2000;
    solver.function_tolerance = 1e-13;
    solver.gradient_tolerance = 1e-13;
    solver.parameter_tolerance = 1e-13;
  } else {
    solver.max_lbfgs_rank = 10;
    solver.max_num_iterations = 15000;
    solver.function_tolerance = 2.220446049250313e-09;
    solver.gradient_tolerance = 1e-5;
    solver.parameter_tolerance = 0;
  }
  Solved out;
  double start_cost = 0;
  {
    HuberObjective probe(law, data, options, weights);
    if (!probe.Evaluate(start.data(), &start_cost, nullptr)) return out;  // no finite start
  }
  ceres::GradientProblem problem(new HuberObjective(law, data, options, weights));
  ceres::GradientProblemSolver::Summary summary;
  ceres::Solve(solver, problem, start.data(), &summary);
  if (!std::isfinite(summary.final_cost)) return out;
  out.p = std::move(start);
  out.loss = summary.final_cost;
  out.iterations = std::size_t(summary.iterations.size());
  return out;
}

void check_data(const Law& law, const FitData& data) {
  if (data.inputs != law.inputs) {
    throw std::invalid_argument("the data's inputs do not match law '" + law.name + "'");
  }
  if (data.size() < law.params.size() + 1) {
    throw std::invalid_argument("law '" + law.name + "' has " + std::to_string(law.params.size()) +
                                " parameters but only " + std::to_string(data.size()) +
                                " points were given");
  }
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (!(data.y[i] > 0) || !std::isfinite(data.y[i])) {
      throw std::invalid_argument("target " + law.target + " must be positive and finite; point " +
                                  std::to_string(i) + " has " + std::to_string(data.y[i]));
    }
  }
  for (double v : data.x) {
    if (!std::isfinite(v)) {
      throw std::invalid_argument("an input of law '" + law.name +
                                  "' is not finite (or not positive where its log is taken)");
    }
  }
}

double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double pos = q * double(values.size() - 1);
  const auto lo = std::size_t(std::floor(pos));
  const auto hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - double(lo)) * (values[hi] - values[lo]);
}

}  // namespace

double huber_objective(const Law& law, const FitData& data, const std::vector<double>& p,
                       const FitOptions& options, const std::vector<double>& weights) {
  HuberObjective objective(law, data, options, weights);
  double cost = std::nan("");
  if (!objective.Evaluate(p.data(), &cost, nullptr)) return std::nan("");
  return cost;
}

FitResult fit_law(const Law& law, const FitData& data, const FitOptions& options) {
  check_data(law, data);
  // Ceres's line search logs a warning (through glog) each time its interpolating
  // polynomial degenerates, which is harmless and frequent on Huber's flat pieces.
  static const bool quiet = [] {
    if (FLAGS_minloglevel < google::GLOG_ERROR) FLAGS_minloglevel = google::GLOG_ERROR;
    return true;
  }();
  (void)quiet;
  const std::size_t n_starts = options.starts.empty() ? law.grid_size() : options.starts.size();
  auto start_at = [&](std::size_t i) {
    return options.starts.empty() ? law.grid_start(i) : options.starts[i];
  };
  for (const auto& s : options.starts) {
    if (s.size() != law.params.size()) throw std::invalid_argument("a start has the wrong length");
  }

  std::vector<Solved> solved(n_starts);
  const std::vector<double> no_weights;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n_starts, 1),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i != range.end(); ++i) {
                        solved[i] = solve(law, data, options, no_weights, start_at(i));
                      }
                    });
  std::size_t best = n_starts;
  for (std::size_t i = 0; i < n_starts; ++i) {
    if (std::isfinite(solved[i].loss) && (best == n_starts || solved[i].loss < solved[best].loss)) {
      best = i;
    }
  }
  if (best == n_starts) {
    throw std::runtime_error("no start of law '" + law.name + "' reached a finite loss");
  }

  FitResult result;
  result.law = law.name;
  result.names = law.parameter_names();
  result.fitted = solved[best].p;
  for (std::size_t k = 0; k < law.params.size(); ++k) {
    result.values.push_back(law.params[k].value(result.fitted[k]));
  }
  result.loss = solved[best].loss;
  result.starts = n_starts;
  result.best_start = best;
  result.iterations = solved[best].iterations;

  auto model = law.make_model();
  double mean = 0;
  for (double y : data.y) mean += y;
  mean /= double(data.size());
  double ss_res = 0, ss_tot = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    const double log_pred =
        model->log_predict(result.fitted.data(), data.x.data() + i * law.inputs.size(), nullptr);
    result.predicted.push_back(std::exp(log_pred));
    result.residuals.push_back(std::log(data.y[i]) - log_pred);
    ss_res += (data.y[i] - result.predicted.back()) * (data.y[i] - result.predicted.back());
    ss_tot += (data.y[i] - mean) * (data.y[i] - mean);
  }
  result.r2 = ss_tot > 0 ? 1 - ss_res / ss_tot : std::nan("");

  if (options.bootstrap > 0) {
    // Resample points with replacement (as multiplicities, Philox-keyed by seed and
    // resample number), refit from the full-data optimum, keep the reported values.
    const std::size_t n = data.size();
    std::vector<std::vector<double>> values(options.bootstrap);
    tbb::parallel_for(std::size_t(0), options.bootstrap, [&](std::size_t r) {
      const formats::RandomStream stream{options.seed, r};
      std::vector<double> weights(n, 0.0);
      for (std::size_t i = 0; i < n; ++i) weights[stream.word(i) % n] += 1;
      const Solved s = solve(law, data, options, weights, result.fitted);
      if (!std::isfinite(s.loss)) return;
      for (std::size_t k = 0; k < law.params.size(); ++k) {
        values[r].push_back(law.params[k].value(s.p[k]));
      }
    });
    for (auto& v : values) {
      if (!v.empty()) result.bootstrap_values.push_back(std::move(v));
    }
    if (result.bootstrap_values.empty()) throw std::runtime_error("every bootstrap refit failed");
    const double tail = (1 - options.confidence) / 2;
    for (std::size_t k = 0; k < law.params.size(); ++k) {
      std::vector<double> column;
      for (const auto& v : result.bootstrap_values) column.push_back(v[k]);
      result.ci.emplace_back(percentile(column, tail), percentile(column, 1 - tail));
    }
  }
  return result;
}

}  // namespace bitsim::experiments::fit
