// bitsim fit --law NAME --input FILE [--columns N=col,D=col,L=col,...] [--drop-top K]
//            [--bootstrap R] [--json] ...: scaling-law fits (issue #11,
// experiments/fit/README.md).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "experiments/cli/commands.hpp"
#include "experiments/fit/fit_data.hpp"
#include "experiments/fit/fit_report.hpp"
#include "experiments/fit/float_layout.hpp"
#include "experiments/fit/huber_fit.hpp"
#include "experiments/fit/law.hpp"

namespace bitsim::cli {
namespace {

namespace fit = bitsim::experiments::fit;

struct FitArgs {
  std::string law, input, columns, expr, params, starts, hdf5_out, plot, plot_format = "svg";
  std::string reduction = "sum", stopping = "tight";
  std::size_t drop_top = 0, bootstrap = 0;
  std::uint64_t seed = 0;
  double huber_delta = 1e-3;
  bool json = false;
};

// --starts "alpha=0.2:0.4,E=0" replaces those parameters' start axes (fitted coordinates).
void override_starts(fit::Law& law, const std::string& spec) {
  for (const auto& [name, axis] : fit::parse_column_map(spec)) {
    auto it = std::find_if(law.params.begin(), law.params.end(),
                           [&](const fit::Parameter& p) { return p.name == name; });
    if (it == law.params.end()) {
      std::string valid;
      for (const auto& p : law.params) valid += (valid.empty() ? "" : ", ") + p.name;
      throw std::invalid_argument("unknown parameter '" + name + "' in --starts; law '" +
                                  law.name + "' has: " + valid);
    }
    it->starts.clear();
    std::size_t begin = 0;
    while (begin <= axis.size()) {
      const auto end = std::min(axis.find(':', begin), axis.size());
      const std::string item = axis.substr(begin, end - begin);
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || item.empty()) {
        throw std::invalid_argument("--starts: '" + item + "' is not a number");
      }
      it->starts.push_back(v);
      begin = end + 1;
    }
  }
}

void run_fit(const FitArgs& args) {
  fit::Law law = args.law == "expr" ? fit::expression_law(args.expr, args.params)
                                    : fit::find_law(args.law);
  if (args.law != "expr" && (!args.expr.empty() || !args.params.empty())) {
    throw std::invalid_argument("--expr and --params belong to --law expr");
  }
  if (!args.starts.empty()) override_starts(law, args.starts);
  const auto table = fit::read_table(args.input);
  const auto data = fit::select_data(law, table, fit::parse_column_map(args.columns), args.drop_top);

  fit::FitOptions options;
  if (!(args.huber_delta > 0)) throw std::invalid_argument("--huber-delta must be positive");
  options.huber_delta = args.huber_delta;
  options.reduction = args.reduction == "mean" ? fit::FitOptions::Reduction::mean
                                               : fit::FitOptions::Reduction::sum;
  options.stopping = args.stopping == "scipy" ? fit::FitOptions::Stopping::scipy_default
                                              : fit::FitOptions::Stopping::tight;
  options.bootstrap = args.bootstrap;
  options.seed = args.seed;

  const auto begin = std::chrono::steady_clock::now();
  const auto result = fit::fit_law(law, data, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();

  auto json = fit::fit_json(law, result, data, options);
  if (law.name == "sun") {
    const auto c = fit::sun_constants(result);
    nlohmann::json layouts = nlohmann::json::object();
    for (int bits : {4, 6, 8, 16}) {
      layouts["FP" + std::to_string(bits)] = fit::optimal_float_layout(bits, c.delta, c.nu).name();
    }
    json["optimal_layout"] = layouts;
  }
  if (!args.hdf5_out.empty()) fit::write_fit_hdf5(args.hdf5_out, law, result, json);
  if (!args.plot.empty()) {
    try {
      for (const auto& file : fit::plot_fit(args.plot, args.plot_format, law, data, result)) {
        std::fprintf(stderr, "bitsim fit: wrote %s\n", file.c_str());
      }
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "bitsim fit: plots skipped: %s\n", e.what());
    }
  }

  if (args.json) {
    std::cout << json.dump() << '\n';
    return;
  }
  std::cout << fmt::format("law {}: {}\n", law.name, law.formula);
  std::cout << fmt::format("{} points, {} starts (best: {}), {:.3f} s\n", data.size(),
                           result.starts, result.best_start, seconds);
  for (std::size_t k = 0; k < result.names.size(); ++k) {
    std::cout << fmt::format("  {:<10} {:>14.6g}", result.names[k], result.values[k]);
    if (!result.ci.empty()) {
      std::cout << fmt::format("   {:.0f}% CI [{:.6g}, {:.6g}]", 100 * options.confidence,
                               result.ci[k].first, result.ci[k].second);
    }
    std::cout << '\n';
  }
  std::cout << fmt::format("Huber loss ({}, delta {}) {:.10g}, R^2 {:.6f}\n", args.reduction,
                           options.huber_delta, result.loss, result.r2);
  if (json.contains("optimal_layout")) {
    std::cout << "optimal layouts: " << json["optimal_layout"].dump() << '\n';
  }
}

}  // namespace

void add_fit_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("fit", "Fit a scaling law (Huber loss on log L, L-BFGS from a "
                                        "grid of starts); see experiments/fit/README.md");
  static FitArgs args;
  cmd->add_option("--law", args.law, "law: " + fit::law_names())->required();
  cmd->add_option("--input", args.input, "CSV file with a header, or a bitsim results file")
      ->required();
  cmd->add_option("--columns", args.columns,
                  "ROLE=COLUMN,... (roles: the law's inputs and target; C = training FLOP may "
                  "stand in for D)");
  cmd->add_option("--drop-top", args.drop_top, "drop the K points with the highest targets");
  cmd->add_option("--bootstrap", args.bootstrap, "bootstrap resamples for confidence intervals");
  cmd->add_option("--seed", args.seed, "seed of the bootstrap resampling (default 0)");
  cmd->add_flag("--json", args.json, "print the result as one JSON object");
  cmd->add_option("--huber-delta", args.huber_delta, "Huber delta on log L (default 1e-3)");
  cmd->add_option("--reduction", args.reduction, "sum (default) or mean of the Huber losses")
      ->check(CLI::IsMember({"sum", "mean"}));
  cmd->add_option("--stopping", args.stopping,
                  "tight (default) or scipy (SciPy L-BFGS-B's default tolerances)")
      ->check(CLI::IsMember({"tight", "scipy"}));
  cmd->add_option("--expr", args.expr, "--law expr: the formula for L (muparser grammar)");
  cmd->add_option("--params", args.params,
                  "--law expr: name=start[:start...],... (log:name fits log(value))");
  cmd->add_option("--starts", args.starts, "name=v1:v2,... replaces a parameter's start axis");
  cmd->add_option("--hdf5-out", args.hdf5_out, "also write the fit into group /fits/<law> of FILE");
  cmd->add_option("--plot", args.plot, "write PREFIX_fit.svg and PREFIX_residuals.svg (gnuplot)");
  cmd->add_option("--plot-format", args.plot_format, "svg (default) or png")
      ->check(CLI::IsMember({"svg", "png"}));
  cmd->callback([] { run_fit(args); });
}

}  // namespace bitsim::cli
