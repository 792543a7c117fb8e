#include "experiments/report/plots.hpp"

#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "experiments/report/gnuplot.hpp"
#include "experiments/report/pareto.hpp"
#include "experiments/report/plot_choices.hpp"
#include "experiments/report/table_query.hpp"

namespace bitsim::experiments::report {

namespace {

constexpr std::size_t kMaxHeatmapLabels = 40;  // more rows than this: label every k-th
// Filled circle, square, triangle, diamond, pentagon, then open shapes: series that fall
// on the same points stay distinguishable.
constexpr int kPointTypes[] = {7, 5, 9, 13, 15, 6, 4, 8, 12, 14};

std::string numeric_columns(const ResultsTable& table) {
  std::string names;
  for (const Column& column : table.columns) {
    if (column.kind != Column::Kind::text) names += (names.empty() ? "" : ", ") + column.name;
  }
  return names.empty() ? "(none)" : names;
}

void require_numeric(const ResultsTable& table, const std::string& name, const char* option) {
  const std::size_t position = column_position(table, name);
  if (table_columns(table)[position].kind == Column::Kind::text) {
    throw std::invalid_argument(std::string(option) + " " + name + ": a text column; numeric columns: " +
                                numeric_columns(table));
  }
}

std::string label_of(const ResultsTable& table, const PointResult& row, const std::string& group) {
  if (group.empty()) return fmt::format("#{}", row.index);
  return std::get<std::string>(cell_at(row, column_position(table, group)));
}

std::string number(double value) { return fmt::format("{:.17g}", value); }

// A data-file string: double quotes, inner quotes replaced.
std::string data_text(std::string text) {
  for (char& c : text) {
    if (c == '"') c = '\'';
  }
  return "\"" + text + "\"";
}

class ScriptWriter {
 public:
  ScriptWriter(std::filesystem::path folder, std::vector<std::string> formats, std::string png)
      : folder_(std::move(folder)), formats_(std::move(formats)), png_(std::move(png)) {}

  // NAME.gp drawing `body` once per image format; returns the images it will produce.
  std::vector<std::filesystem::path> write(const std::string& name, const std::string& body) const {
    std::ofstream script(folder_ / (name + ".gp"));
    script << "# Written by bitsim report; redraw with: gnuplot " << name << ".gp\n";
    std::vector<std::filesystem::path> images;
    for (const std::string& format : formats_) {
      if (format == "svg") {
        script << "set terminal svg size 900,560 dynamic font 'Sans,12' noenhanced background rgb 'white'\n";
      } else {
        script << "set terminal " << png_ << " size 900,560 noenhanced\n";
      }
      script << "set output " << gnuplot_quote(name + "." + format) << "\n" << body << "unset output\nreset\n";
      images.push_back(folder_ / (name + "." + format));
    }
    if (!script) throw std::runtime_error("cannot write " + (folder_ / (name + ".gp")).string());
    return images;
  }

 private:
  std::filesystem::path folder_;
  std::vector<std::string> formats_;
  std::string png_;
};

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

struct Point {
  double x, y;
  std::string label;
};

// Rows with a finite x and y, and their series label.
std::vector<Point> finite_points(const ResultsTable& table, const std::vector<std::size_t>& rows,
                                 const std::string& x, const std::string& y, const std::string& group) {
  const std::size_t cx = column_position(table, x), cy = column_position(table, y);
  std::vector<Point> points;
  for (std::size_t r : rows) {
    const PointResult& row = table.rows[r];
    const double vx = numeric_value(cell_at(row, cx)), vy = numeric_value(cell_at(row, cy));
    if (std::isfinite(vx) && std::isfinite(vy)) points.push_back({vx, vy, label_of(table, row, group)});
  }
  return points;
}

std::string axis_commands(const std::string& title, const std::string& x, const std::string& y) {
  return "set title " + gnuplot_quote(title) + "\nset xlabel " + gnuplot_quote(x) + "\nset ylabel " +
         gnuplot_quote(y) + "\nset grid\nset key outside right top\nset offsets graph 0.05, graph 0.05, graph 0.05, "
         "graph 0.05\n";
}

std::string metric_vs_bits(const std::vector<Point>& points, const PlotColumns& columns,
                           const std::filesystem::path& folder) {
  std::map<std::string, std::vector<const Point*>> series;  // by label, sorted
  for (const Point& p : points) series[p.label].push_back(&p);
  std::string data, plot = "plot ";
  std::size_t block = 0;
  for (const auto& [label, members] : series) {
    data += "# " + label + "\n";
    for (const Point* p : members) data += number(p->x) + " " + number(p->y) + "\n";
    data += "\n\n";
    plot += std::string(block ? ", \\\n     " : "") + "'metric_vs_bits.dat' index " + std::to_string(block) +
            " using 1:2 with points pointtype " + std::to_string(kPointTypes[block % std::size(kPointTypes)]) +
            " pointsize 1.2 title " + gnuplot_quote(label);
    ++block;
  }
  write_file(folder / "metric_vs_bits.dat", data);
  return axis_commands(columns.metric + " vs " + columns.bits, columns.bits, columns.metric) + plot + "\n";
}

std::string pareto_plot(const std::vector<Point>& points, const PlotColumns& columns,
                        const std::filesystem::path& folder) {
  std::vector<double> cost, quality;
  for (const Point& p : points) {
    cost.push_back(p.x);
    quality.push_back(p.y);
  }
  std::string all, front;
  for (const Point& p : points) all += number(p.x) + " " + number(p.y) + "\n";
  for (std::size_t i : pareto_front(cost, quality, columns.higher_is_better)) {
    front += number(points[i].x) + " " + number(points[i].y) + " " + data_text(points[i].label) + "\n";
  }
  write_file(folder / "pareto.dat", all);
  write_file(folder / "pareto_front.dat", front);
  const std::string title = "Pareto front: " + columns.quality + " (" +
                            (columns.higher_is_better ? "higher" : "lower") + " is better) vs " + columns.bits;
  return axis_commands(title, columns.bits, columns.quality) +
         "plot 'pareto.dat' using 1:2 with points pointtype 7 pointsize 0.9 linecolor rgb '#b0b0b0' title 'all "
         "points', \\\n     'pareto_front.dat' using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 1.3 "
         "linecolor rgb '#c0392b' title 'Pareto front', \\\n     'pareto_front.dat' using 1:2:3 with labels "
         "offset char 1,0.6 left font ',9' notitle\n";
}

std::string heatmap(const ResultsTable& table, const std::vector<std::size_t>& rows, const PlotColumns& columns,
                    const std::filesystem::path& folder) {
  std::string data, tics;
  const std::size_t step = rows.size() <= kMaxHeatmapLabels ? 1 : (rows.size() + kMaxHeatmapLabels - 1) / kMaxHeatmapLabels;
  std::size_t length = 0;
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const PointResult& row = table.rows[rows[k]];
    for (const auto& [name, values] : row.arrays) {
      if (name != columns.heatmap) continue;
      length = values.size();
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) data += ' ';
        data += std::isfinite(values[i]) ? number(values[i]) : std::string("NaN");
      }
      data += "\n";
    }
    if (k % step == 0) {
      std::string label = fmt::format("#{}", row.index);
      if (!columns.group.empty()) label += fmt::format(" {}", label_of(table, row, columns.group));
      tics += fmt::format("{}{} {}", tics.empty() ? "" : ", ", gnuplot_quote(label), k);
    }
  }
  write_file(folder / "layer_heatmap.dat", data);
  return "set title " + gnuplot_quote(columns.heatmap + " per point") + "\nset xlabel " +
         gnuplot_quote("position in " + columns.heatmap + " (layer)") + "\nset ylabel 'point'\nset ytics (" + tics +
         ") font ',8'\n" + (length <= kMaxHeatmapLabels ? "set xtics 1\n" : "") + "set xrange [-0.5:" + std::to_string(length) + "-0.5]\nset yrange [-0.5:" +
         std::to_string(rows.size()) + "-0.5] reverse\nset cblabel " + gnuplot_quote(columns.heatmap) +
         "\nset palette rgbformulae 33,13,10\nplot 'layer_heatmap.dat' matrix with image notitle\n";
}

}  // namespace

PlotColumns resolve_plot_columns(const ResultsTable& table, const std::vector<std::size_t>& rows,
                                 const PlotOptions& options) {
  PlotColumns columns;
  columns.bits = options.bits_column.empty() ? default_bits_column(table) : options.bits_column;
  if (!options.bits_column.empty()) require_numeric(table, columns.bits, "--bits");
  columns.metric = options.metric_column.empty() ? default_metric_column(table, columns.bits) : options.metric_column;
  if (!options.metric_column.empty()) require_numeric(table, columns.metric, "--metric");
  columns.quality = options.quality_column.empty() ? columns.metric : options.quality_column;
  if (!options.quality_column.empty()) require_numeric(table, columns.quality, "--quality");
  columns.group = options.group_column.empty() ? default_group_column(table, rows) : options.group_column;
  if (!options.group_column.empty() &&
      table_columns(table)[column_position(table, columns.group)].kind != Column::Kind::text) {
    throw std::invalid_argument("--group " + columns.group + ": choose a text column (an axis such as the format)");
  }
  columns.heatmap = options.heatmap_array.empty() ? default_heatmap_array(table) : options.heatmap_array;
  if (!options.heatmap_array.empty()) {
    std::string names;
    bool found = false;
    if (!table.rows.empty()) {
      for (const auto& [name, values] : table.rows.front().arrays) {
        found = found || name == columns.heatmap;
        names += (names.empty() ? "" : ", ") + name;
      }
    }
    if (!found) {
      throw std::invalid_argument("--heatmap " + columns.heatmap + ": no such per-point array; arrays: " +
                                  (names.empty() ? std::string("(none)") : names));
    }
  }
  columns.higher_is_better = options.higher_is_better.value_or(higher_is_better(columns.quality));
  return columns;
}

PlotOutcome write_plots(const ResultsTable& table, const std::vector<std::size_t>& rows, const PlotOptions& options) {
  for (const std::string& format : options.image_formats) {
    if (format != "svg" && format != "png") {
      throw std::invalid_argument("plot format '" + format + "': valid: svg, png");
    }
  }
  const PlotColumns columns = resolve_plot_columns(table, rows, options);
  PlotOutcome outcome;
  std::filesystem::create_directories(options.folder);
  const auto gnuplot = find_gnuplot();
  const ScriptWriter scripts(options.folder, options.image_formats, gnuplot ? png_terminal(*gnuplot) : "png");
  std::vector<std::pair<std::filesystem::path, std::vector<std::filesystem::path>>> jobs;  // script, images

  const auto add = [&](const std::string& name, const std::string& body) {
    jobs.emplace_back(options.folder / (name + ".gp"), scripts.write(name, body));
  };
  if (columns.bits.empty() || columns.metric.empty()) {
    outcome.notes.push_back("no metric-vs-bits or Pareto plot: the table has no " +
                            std::string(columns.bits.empty() ? "bits column (give --bits COLUMN)" : "metric column"));
  } else {
    const auto metric_points = finite_points(table, rows, columns.bits, columns.metric, columns.group);
    if (metric_points.empty()) {
      outcome.notes.push_back("no metric-vs-bits plot: no row has a finite " + columns.bits + " and " + columns.metric);
    } else {
      add("metric_vs_bits", metric_vs_bits(metric_points, columns, options.folder));
    }
    const auto quality_points = finite_points(table, rows, columns.bits, columns.quality, columns.group);
    if (quality_points.empty()) {
      outcome.notes.push_back("no Pareto plot: no row has a finite " + columns.bits + " and " + columns.quality);
    } else {
      add("pareto", pareto_plot(quality_points, columns, options.folder));
    }
  }
  std::size_t length = 0;
  if (!columns.heatmap.empty() && !rows.empty()) {
    for (const auto& [name, values] : table.rows[rows.front()].arrays) {
      if (name == columns.heatmap) length = values.size();
    }
  }
  if (columns.heatmap.empty()) {
    outcome.notes.push_back("no heat map: the file has no per-point arrays (e.g. per-layer errors)");
  } else if (rows.size() < 2 || length < 2) {
    outcome.notes.push_back("no heat map: " + columns.heatmap + " needs at least 2 points and 2 entries");
  } else {
    add("layer_heatmap", heatmap(table, rows, columns, options.folder));
  }

  if (!gnuplot) {
    outcome.notes.push_back("gnuplot not found (install gnuplot-nox, or set BITSIM_GNUPLOT): wrote the data and "
                            "scripts to " + options.folder.string() + ", no images");
    return outcome;
  }
  for (const auto& [script, images] : jobs) {
    run_gnuplot(*gnuplot, script);
    outcome.images.insert(outcome.images.end(), images.begin(), images.end());
  }
  return outcome;
}

}  // namespace bitsim::experiments::report
