#pragma once
// What a fit produces besides its numbers: the JSON object of `bitsim fit --json`, a group
// in an HDF5 file, and gnuplot figures.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/fit/huber_fit.hpp"
#include "experiments/fit/law.hpp"

namespace bitsim::experiments::fit {

// {"law", "params": {name: value}, "loss", "r2", "ci": {name: [lo, hi]}} (ci is {} without
// bootstrap), plus "points", "starts", "best_start", "huber_delta", "formula", "source".
nlohmann::json fit_json(const Law& law, const FitResult& fit, const FitData& data,
                        const FitOptions& options);

// Writes the fit into group /fits/<law> of `file` (created if missing; an existing group
// of that name is replaced): attributes law, formula, source, names, loss, r2, points, json;
// datasets values, ci (when bootstrapped), predicted, residuals.
void write_fit_hdf5(const std::filesystem::path& file, const Law& law, const FitResult& fit,
                    const nlohmann::json& json);

// <prefix>_fit.<ext> (observed against predicted, and for laws of N and D the fitted curves
// L(D) at five model sizes over the data) and <prefix>_residuals.<ext>; ext is svg or png.
// Returns the files written, or throws std::runtime_error naming why gnuplot could not run
// (the caller reports it and carries on).
std::vector<std::filesystem::path> plot_fit(const std::filesystem::path& prefix,
                                            const std::string& ext, const Law& law,
                                            const FitData& data, const FitResult& fit);

bool gnuplot_available();

}  // namespace bitsim::experiments::fit
