#pragma once
// Fitting a Law to data: Huber loss on log(target), minimised with L-BFGS (Ceres) from
// every start of the law's grid in parallel (oneTBB), keeping the best; bootstrap
// confidence intervals; R^2 and residuals. The answer does not depend on the thread
// count: each start is solved on one thread, and the best is chosen by (loss, start index).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "experiments/fit/law.hpp"

namespace bitsim::experiments::fit {

// The points a law is fitted to, in the law's input order.
struct FitData {
  std::vector<std::string> inputs;  // roles, = Law::inputs
  std::vector<double> x;            // [point][input], natural log taken where Law::log_inputs
  std::vector<double> y;            // the target, as measured (> 0)
  std::size_t size() const { return y.size(); }
};

struct FitOptions {
  double huber_delta = 1e-3;
  // How the per-point Huber losses combine. `sum` is the objective of Hoffmann et al. as
  // Besiroglu et al. replicated it; `mean` is what made the published fit stop early.
  enum class Reduction { sum, mean } reduction = Reduction::sum;
  // `tight` runs L-BFGS to the last digits; `scipy_default` stops where SciPy's L-BFGS-B
  // stops by default (projected gradient 1e-5, relative decrease 2.2e-9).
  enum class Stopping { tight, scipy_default } stopping = Stopping::tight;
  std::size_t bootstrap = 0;  // resamples; 0 = no confidence intervals
  std::uint64_t seed = 0;     // of the bootstrap resampling
  double confidence = 0.95;
  // Starts in fitted coordinates; empty = the law's grid.
  std::vector<std::vector<double>> starts;
};

struct FitResult {
  std::string law;
  std::vector<std::string> names;  // parameter names
  std::vector<double> fitted;      // best point, fitted coordinates
  std::vector<double> values;      // best point, reported values (exp of log-scale ones)
  double loss = 0;                 // objective at the best point
  double r2 = 0;                   // 1 - SS_res/SS_tot of the target (not its log)
  std::vector<double> predicted;   // target predicted at each point
  std::vector<double> residuals;   // log(target) - log(predicted)
  std::size_t starts = 0;          // starts tried
  std::size_t best_start = 0;      // index of the start that won
  std::size_t iterations = 0;      // L-BFGS iterations of the winning start
  // Bootstrap: per parameter, the [lo, hi] percentile interval of the reported value, and
  // every resample's reported values. Empty without --bootstrap.
  std::vector<std::pair<double, double>> ci;
  std::vector<std::vector<double>> bootstrap_values;
};

// The objective at fitted coordinates `p` (weights: per-point multiplicities; empty = 1).
double huber_objective(const Law& law, const FitData& data, const std::vector<double>& p,
                       const FitOptions& options, const std::vector<double>& weights = {});

// Fits `law` to `data`. Throws std::invalid_argument for unusable data (too few points,
// non-positive targets or log inputs) and std::runtime_error when no start converges.
FitResult fit_law(const Law& law, const FitData& data, const FitOptions& options = {});

}  // namespace bitsim::experiments::fit
