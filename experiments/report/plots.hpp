#pragma once
// The report's plots, drawn by gnuplot (README.md here): a metric against bits per
// element, the Pareto front of quality against bits, and a heat map of a per-point array
// (e.g. error per layer). Each plot leaves NAME.dat and NAME.gp beside NAME.svg/NAME.png,
// so it can be restyled and redrawn with `gnuplot NAME.gp`.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "experiments/results/results_file.hpp"

namespace bitsim::experiments::report {

struct PlotOptions {
  std::filesystem::path folder;          // created if missing
  // Empty: chosen by plot_choices.hpp.
  std::string bits_column;               // x axis of both scatter plots
  std::string metric_column;             // y of "metric vs bits"
  std::string quality_column;            // y of the Pareto plot (default: the metric)
  std::string group_column;              // one series per value
  std::string heatmap_array;             // per-point array of the heat map
  std::optional<bool> higher_is_better;  // of the quality (default: by its name)
  std::vector<std::string> image_formats = {"svg", "png"};
};

// The columns the plots use after defaults; names the user gave are checked here (an
// unknown or unsuitable name throws std::invalid_argument listing the valid ones).
struct PlotColumns {
  std::string bits, metric, quality, group, heatmap;
  bool higher_is_better = true;
};
PlotColumns resolve_plot_columns(const ResultsTable& table, const std::vector<std::size_t>& rows,
                                 const PlotOptions& options);

struct PlotOutcome {
  std::vector<std::filesystem::path> images;  // written
  std::vector<std::string> notes;             // plots skipped, and why
};

// Plots of `rows` (row numbers into table.rows). Without gnuplot the data and scripts are
// still written and a note says so.
PlotOutcome write_plots(const ResultsTable& table, const std::vector<std::size_t>& rows, const PlotOptions& options);

}  // namespace bitsim::experiments::report
