// bitsim run FILE [-o OUT.h5] [--threads N] [--device cpu|cuda] [--shard i/N] [--resume] [--quiet]
// (experiments/README.md, "bitsim run"). Exit status: 0 done; 2 bad input (the file, an
// option, an existing output without --resume, a device that cannot run here); 1 a failure while running; 130 stopped
// by Ctrl-C / SIGTERM after storing the finished points.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <variant>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/text_table.hpp"
#include "experiments/config/device_choice.hpp"
#include "experiments/config/experiment_config.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/runner.hpp"

namespace bitsim::cli {
namespace {

constexpr int kInterrupted = 130;
constexpr std::size_t kMaxPrintedRows = 60;

std::string cell_text(const experiments::Cell& cell) {
  if (const auto* s = std::get_if<std::string>(&cell)) return *s;
  if (const auto* i = std::get_if<std::int64_t>(&cell)) return std::to_string(*i);
  const double v = std::get<double>(cell);
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void print_results(const std::filesystem::path& file) {
  const auto table = experiments::read_results(file);
  if (table.rows.size() > kMaxPrintedRows) {
    std::printf("(%zu rows: see bitsim report %s)\n", table.rows.size(), file.c_str());
    return;
  }
  TableRow header = {"index"};
  for (const auto& c : table.columns) header.push_back(c.name);
  std::vector<TableRow> rows;
  for (const auto& r : table.rows) {
    TableRow row = {std::to_string(r.index)};
    for (const auto& cell : r.cells) row.push_back(cell_text(cell));
    rows.push_back(std::move(row));
  }
  print_table(stdout, header, rows);
}

struct RunArgs {
  std::string file, output, shard = "0/1", device;
  int threads = 0;
  bool resume = false, quiet = false, no_table = false;
};

void run(const RunArgs& a) {
  experiments::RunOptions options;
  options.output = a.output;
  options.threads = a.threads;
  options.shard = experiments::Shard::parse(a.shard);
  options.resume = a.resume;
  options.progress = !a.quiet;
  options.config_path = a.file;
  options.device = a.device;
  const auto config = experiments::load_experiment(a.file);
  experiments::StopOnSignals stop_on_signals;
  const auto s = experiments::run_experiment(config, options);
  if (!s.writer) return;  // an MPI rank other than 0
  if (s.interrupted) {
    std::fflush(stdout);
    std::fprintf(stderr,
                 "bitsim: interrupted: %llu of %llu points of this run are stored in %s; continue with:\n"
                 "  bitsim run %s -o %s%s --resume\n",
                 static_cast<unsigned long long>(s.already_done + s.evaluated), static_cast<unsigned long long>(s.shard_points),
                 s.output.c_str(), a.file.c_str(), s.output.c_str(), a.shard == "0/1" ? "" : (" --shard " + a.shard).c_str());
    std::exit(kInterrupted);
  }
  std::printf("%s: %llu points (%llu computed now, %llu already there) of a %llu-point grid, %.1f s on %s\n",
              s.output.c_str(), static_cast<unsigned long long>(s.shard_points), static_cast<unsigned long long>(s.evaluated),
              static_cast<unsigned long long>(s.already_done), static_cast<unsigned long long>(s.grid_size), s.seconds,
              std::string(sim::to_string(experiments::run_device(config, a.device))).c_str());
  if (!a.no_table) {
    std::printf("\n");
    print_results(s.output);
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run an experiment file: every grid point into one HDF5 results file");
  auto a = std::make_shared<RunArgs>();
  cmd->add_option("FILE", a->file, "experiment file (experiments/README.md)")->required();
  cmd->add_option("-o,--output", a->output, "results file (default: the file's `output`, shard-suffixed for --shard)");
  cmd->add_option("--threads", a->threads, "threads (default: the file's `threads`, else every core)");
  cmd->add_option("--device", a->device, "cpu or cuda: where the quantize and GEMM kernels run (default: the file's `device`, else cpu)");
  cmd->add_option("--shard", a->shard, "run the slice i/N of the grid (points with index % N == i)")->capture_default_str();
  cmd->add_flag("--resume", a->resume, "continue an interrupted run: skip the points the output already holds");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
  cmd->add_flag("--no-table", a->no_table, "do not print the results table at the end");
  cmd->callback([a] { run(*a); });
}

}  // namespace bitsim::cli
