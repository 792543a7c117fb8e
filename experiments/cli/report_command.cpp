// bitsim report OUT.h5: the results table (filtered, sorted), its Pareto front, and plots
// drawn by gnuplot (experiments/results/README.md, "Reports").
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/text_table.hpp"
#include "experiments/report/pareto.hpp"
#include "experiments/report/plots.hpp"
#include "experiments/report/table_query.hpp"
#include "experiments/results/results_file.hpp"

namespace bitsim::cli {

namespace {

namespace report = experiments::report;

struct ReportOptions {
  std::string file;
  std::vector<std::string> sort_by;
  bool descending = false;
  std::vector<std::string> where;
  std::vector<std::string> columns;
  int precision = 6;
  std::string plots;
  bool no_plots = false;
  bool curves = false;
  std::string bits, metric, quality, better, group, heatmap;
  std::vector<std::string> plot_formats = {"svg", "png"};
};

std::string summary_of(const experiments::ResultsTable& table, const std::string& file) {
  std::string text = file + ": " + std::to_string(table.rows.size()) + " of " + std::to_string(table.info.grid_size) +
                     " grid points";
  text += table.complete ? " (complete)" : " (incomplete: bitsim run --resume continues it)";
  text += ", config " + table.info.config_hash + ", bitsim " + table.build.version + " (" +
          table.build.git_revision.substr(0, 12) + "), device " + table.info.device;
  return text;
}

void print_rows(const experiments::ResultsTable& table, const std::vector<std::size_t>& rows,
                const std::vector<std::size_t>& positions, int precision) {
  const auto columns = report::table_columns(table);
  TableRow header;
  for (std::size_t p : positions) header.push_back(columns[p].name);
  std::vector<TableRow> lines;
  for (std::size_t r : rows) {
    TableRow line;
    for (std::size_t p : positions) line.push_back(report::format_cell(report::cell_at(table.rows[r], p), precision));
    lines.push_back(std::move(line));
  }
  print_table(stdout, header, lines);
}

// The /curves rows of the shown points (experiments/README.md, "Curves"): the point's grid
// index, then the curve columns.
void print_curves(const experiments::ResultsTable& table, const std::vector<std::size_t>& rows, int precision) {
  if (table.curve_columns.empty()) {
    std::printf("\nno curves in this file (no /curves table: its source records none, or the file predates curves)\n");
    return;
  }
  TableRow header = {"index"};
  for (const auto& column : table.curve_columns) header.push_back(column.name);
  std::vector<TableRow> lines;
  for (std::size_t r : rows) {
    for (const auto& cells : table.rows[r].curve) {
      TableRow line = {std::to_string(table.rows[r].index)};
      for (const auto& cell : cells) line.push_back(report::format_cell(cell, precision));
      lines.push_back(std::move(line));
    }
  }
  std::printf("\nCurves: %zu rows of %zu points\n", lines.size(), rows.size());
  print_table(stdout, header, lines);
}

void run(const ReportOptions& options) {
  const experiments::ResultsTable table = experiments::read_results(options.file);
  report::TableQuery query;
  for (const auto& text : options.where) query.filters.push_back(report::parse_filter(text));
  query.sort_by = options.sort_by;
  query.descending = options.descending;
  const std::vector<std::size_t> rows = report::select_rows(table, query);

  std::vector<std::size_t> positions;
  if (options.columns.empty()) {
    for (std::size_t p = 0; p < report::table_columns(table).size(); ++p) positions.push_back(p);
  } else {
    for (const auto& name : options.columns) positions.push_back(report::column_position(table, name));
  }
  std::printf("%s\n", summary_of(table, options.file).c_str());
  if (!query.filters.empty()) std::printf("%zu rows match the filters\n", rows.size());
  std::printf("\n");
  print_rows(table, rows, positions, options.precision);
  if (options.curves) print_curves(table, rows, options.precision);

  report::PlotOptions plot;
  plot.bits_column = options.bits;
  plot.metric_column = options.metric;
  plot.quality_column = options.quality;
  plot.group_column = options.group;
  plot.heatmap_array = options.heatmap;
  plot.image_formats = options.plot_formats;
  if (!options.better.empty()) plot.higher_is_better = options.better == "higher";
  const report::PlotColumns chosen = report::resolve_plot_columns(table, rows, plot);

  // The Pareto front as text: the configurations worth their bits.
  if (!chosen.bits.empty() && !chosen.quality.empty()) {
    const std::size_t bits = report::column_position(table, chosen.bits);
    const std::size_t quality = report::column_position(table, chosen.quality);
    std::vector<double> cost, value;
    for (std::size_t r : rows) {
      cost.push_back(report::numeric_value(report::cell_at(table.rows[r], bits)));
      value.push_back(report::numeric_value(report::cell_at(table.rows[r], quality)));
    }
    std::vector<std::size_t> front;
    for (std::size_t i : report::pareto_front(cost, value, chosen.higher_is_better)) front.push_back(rows[i]);
    std::printf("\nPareto front of %s (%s is better) vs %s: %zu of %zu rows\n", chosen.quality.c_str(),
                chosen.higher_is_better ? "higher" : "lower", chosen.bits.c_str(), front.size(), rows.size());
    if (!front.empty()) print_rows(table, front, positions, options.precision);
  }

  if (options.no_plots) return;
  std::filesystem::path folder = options.plots;
  if (folder.empty()) folder = std::filesystem::path(options.file).replace_extension("").string() + "-plots";
  plot.folder = folder;
  const report::PlotOutcome outcome = report::write_plots(table, rows, plot);
  std::printf("\n");
  for (const auto& image : outcome.images) std::printf("wrote %s\n", image.c_str());
  for (const auto& note : outcome.notes) std::fprintf(stderr, "bitsim report: %s\n", note.c_str());
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto options = std::make_shared<ReportOptions>();
  auto* command = app.add_subcommand(
      "report",
      "Print a results file's table (sortable, filterable), its Pareto front, and draw plots with gnuplot: metric "
      "vs bits per element, Pareto front, per-layer heat map (SVG and PNG)");
  command->add_option("file", options->file, "A results file (bitsim run -o FILE, or bitsim merge)")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option("--sort", options->sort_by, "Sort by these columns (first key first); default: grid order")
      ->delimiter(',');
  command->add_flag("--descending", options->descending, "Sort in decreasing order (NaN stays last)");
  command->add_option("--where", options->where,
                      "Keep rows where COLUMN=V[,V...] (any of), COLUMN!=V, or COLUMN<, <=, >, >= NUMBER; "
                      "repeat for several conditions (all must hold)");
  command->add_option("--columns", options->columns, "Show only these columns, in this order")->delimiter(',');
  command->add_option("--precision", options->precision, "Significant digits of real numbers")
      ->capture_default_str()
      ->check(CLI::Range(1, 17));
  command->add_option("--plots", options->plots, "Folder for the plots (default: FILE without .h5, plus -plots)");
  command->add_flag("--no-plots", options->no_plots, "Print the tables only");
  command->add_flag("--curves", options->curves,
                    "Also print the curve rows (/curves, e.g. training loss curves) of the shown points");
  command->add_option("--bits", options->bits,
                      "x axis of the plots and the Pareto front (default: bits_per_element, else the first *_bits "
                      "column)");
  command->add_option("--metric", options->metric,
                      "y axis of 'metric vs bits' (default: the first of sqnr_db, logits_sqnr_db, delta_ppl, ppl, "
                      "kl_mean, top1, mse)");
  command->add_option("--quality", options->quality, "The Pareto front's quality (default: the metric)");
  command->add_option("--better", options->better, "Whether higher or lower quality is better (default: by name)")
      ->check(CLI::IsMember({"higher", "lower"}));
  command->add_option("--group", options->group, "One plot series per value of this text column (default: the "
                                                 "first text column that varies)");
  command->add_option("--heatmap", options->heatmap,
                      "Per-point array of the heat map (default: the first array named *layer*)");
  command->add_option("--plot-format", options->plot_formats, "Image formats: svg, png (default both)")
      ->delimiter(',')
      ->check(CLI::IsMember({"svg", "png"}));
  command->callback([options] { run(*options); });
}

}  // namespace bitsim::cli
