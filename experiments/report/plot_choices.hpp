#pragma once
// Which columns the report plots when the user does not say (README.md here): the bits
// axis, the metric, the series, the per-point array of the heat map, and whether a metric
// is better high or low. Each returns "" when the table has nothing suitable.
#include <string>
#include <vector>

#include "experiments/results/results_file.hpp"

namespace bitsim::experiments::report {

// `bits_per_element` if present, else the first numeric column named `*_bits` (the runner
// writes `weights_bits`, `activations_bits`), else the first numeric column whose name
// contains "bits".
std::string default_bits_column(const ResultsTable& table);

// The first present of sqnr_db, logits_sqnr_db, delta_ppl, ppl, kl_mean, top1, mse, else
// the first real column that is not `bits_column`.
std::string default_metric_column(const ResultsTable& table, const std::string& bits_column);

// The first text column whose value varies over `rows` (e.g. the format axis).
std::string default_group_column(const ResultsTable& table, const std::vector<std::size_t>& rows);

// The first per-point array whose name contains "layer", else the first array.
std::string default_heatmap_array(const ResultsTable& table);

// Lower is better for errors, divergences, perplexities and counts of non-finite values
// (names containing mse, rmse, err, kl, ppl, loss, max_abs, max_rel, bias, nonfinite);
// higher for the rest (sqnr, cosine, top1, accuracy).
bool higher_is_better(const std::string& metric);

}  // namespace bitsim::experiments::report
