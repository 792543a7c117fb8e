#pragma once
// Synthetic data for the fit suites: points drawn from a law at known constants, optionally
// with multiplicative log-normal noise (seeded, so every run sees the same points).
#include <cmath>
#include <random>
#include <vector>

#include "experiments/fit/huber_fit.hpp"
#include "experiments/fit/law.hpp"

namespace bitsim::fit_test {

namespace fit = bitsim::experiments::fit;

// `raw_inputs`: one row per point, in the law's input order, as a user would give them.
inline fit::FitData synthetic_data(const fit::Law& law, const std::vector<double>& values,
                                   const std::vector<std::vector<double>>& raw_inputs,
                                   double noise_sigma = 0, unsigned seed = 1) {
  std::vector<double> p;
  for (std::size_t k = 0; k < law.params.size(); ++k) p.push_back(law.params[k].fitted(values[k]));
  auto model = law.make_model();
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  fit::FitData data;
  data.inputs = law.inputs;
  for (const auto& row : raw_inputs) {
    std::vector<double> x;
    for (std::size_t k = 0; k < row.size(); ++k) {
      x.push_back(law.log_inputs[k] ? std::log(row[k]) : row[k]);
    }
    data.x.insert(data.x.end(), x.begin(), x.end());
    const double log_y = model->log_predict(p.data(), x.data(), nullptr);
    data.y.push_back(std::exp(log_y + (noise_sigma > 0 ? noise_sigma * normal(gen) : 0.0)));
  }
  return data;
}

// Model sizes 1e7..1e10 and token counts 1e9..1e12, log-spaced: the (N, D) grid.
inline std::vector<std::vector<double>> chinchilla_grid(int sizes = 8, int token_counts = 10) {
  std::vector<std::vector<double>> rows;
  for (int i = 0; i < sizes; ++i) {
    for (int j = 0; j < token_counts; ++j) {
      rows.push_back({std::pow(10.0, 7 + 3.0 * i / (sizes - 1)),
                      std::pow(10.0, 9 + 3.0 * j / (token_counts - 1))});
    }
  }
  return rows;
}

// The Cartesian product of per-parameter start axes, in fitted coordinates.
inline std::vector<std::vector<double>> start_grid(const std::vector<std::vector<double>>& axes) {
  std::vector<std::vector<double>> starts{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<double>> next;
    for (const auto& s : starts) {
      for (double v : axis) {
        auto t = s;
        t.push_back(v);
        next.push_back(t);
      }
    }
    starts = next;
  }
  return starts;
}

}  // namespace bitsim::fit_test
