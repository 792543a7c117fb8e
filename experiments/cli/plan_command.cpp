// bitsim plan FILE [--points] [--device cpu|cuda]: the expanded grid and an estimate of the work
// (experiments/README.md, "bitsim plan").
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <oneapi/tbb/info.h>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/text_table.hpp"
#include "experiments/config/device_choice.hpp"
#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/runner/evaluator.hpp"
#include "models/transformer/load_model.hpp"

namespace bitsim::cli {
namespace {

// Prefill speed of the SmolLM2 forward pass on one core (build/bench/model_bench, 2-core
// VM: 19.5 tokens/s), the basis of the model estimate; it scales about linearly in cores.
constexpr double kModelTokensPerSecondPerCore = 19.5;
// The encoder's speed on one core (all-MiniLM-L6-v2 embedding 8 sentences of 32 tokens,
// build/bench/model_bench `embed8`: 1.15 s of CPU time, ~220 tokens/s).
constexpr double kEncoderTokensPerSecondPerCore = 220;

// The tokens an encoder run embeds per forward pass over all sentences: counted with the
// model's own tokenizer when the checkpoint and the text are present (exact), else the
// upper bound of data.sentences x 128. Also the first sentence's tokens (per_layer
// encodes it once more per point). `exact` says which.
struct EncoderWork {
  double tokens = 0, first_sentence = 0;
  bool exact = false;
};

EncoderWork encoder_work(const experiments::ModelSource& m) {
  constexpr double kMaxTokens = 128;  // encoder_sentences' cut, as the runner uses it
  EncoderWork w{double(m.sentences) * kMaxTokens, kMaxTokens, false};
  try {
    std::ifstream in(m.text, std::ios::binary);
    if (!in || !std::filesystem::exists(m.path)) return w;
    std::ostringstream text;
    text << in.rdbuf();
    const auto sentences =
        models::encoder_sentences(models::encoder_tokenizer(m.path.string()), text.str(), int(m.sentences));
    if (sentences.empty()) return w;
    w = {0, double(sentences.front().size()), true};
    for (const auto& s : sentences) w.tokens += double(s.size());
  } catch (const std::exception&) {
    // An unreadable tokenizer or text: keep the bound; `bitsim run` reports the problem.
  }
  return w;
}

std::string seconds_text(double s) {
  char buf[64];
  if (s < 1) std::snprintf(buf, sizeof buf, "%.2f s", s);
  else if (s < 120) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
  return buf;
}

void plan(const std::string& file, bool list_points, const std::string& device_override) {
  using namespace experiments;
  const auto config = load_experiment(file);
  const sim::DeviceScope device(check_run_device(config, device_override));  // the measurement runs there too
  const auto grid = expand_grid(config);
  std::size_t cross = 1;
  std::vector<TableRow> rows;
  for (const auto& axis : config.axes) {
    std::string zipped;
    for (const auto& group : config.zip)
      for (const auto& name : group)
        if (name == axis.name) zipped = "zip with " + group.front();
    if (zipped.empty() || zipped == "zip with " + axis.name) cross *= axis.values.size();
    std::string values;
    for (const auto& v : axis.values) values += (values.empty() ? "" : " | ") + v;
    rows.push_back({axis.name, std::to_string(axis.values.size()), zipped, values});
  }
  std::printf("%s: '%s'\n\n", file.c_str(), config.name.c_str());
  if (!rows.empty()) {
    print_table(stdout, {"axis", "values", "zip", "list"}, rows);
    std::printf("\n");
  }
  std::printf("grid: %zu points (%zu in the cross product, %zu removed by include/exclude)\n", grid.size(), cross,
              cross - grid.size());
  std::printf("metrics: ");
  for (std::size_t i = 0; i < config.metrics.size(); ++i) std::printf("%s%s", i ? ", " : "", config.metrics[i].c_str());
  std::printf("\noutput: %s\ndevice: %s\n", config.output.c_str(), std::string(sim::to_string(sim::current_device())).c_str());
  const int cores = config.threads > 0 ? config.threads : tbb::info::default_concurrency();
  if (config.source == SourceKind::model && !config.model.decoder()) {
    const auto& m = config.model;
    const EncoderWork w = encoder_work(m);
    const double passes = double(grid.size() + 1);
    const double tokens = w.tokens * passes + (m.per_layer ? w.first_sentence * passes : 0);
    std::printf("work: %s%.0f tokens (%lld sentences, %s) x %zu embedding passes (+1 FP32 reference)%s = %.0f token-passes\n",
                w.exact ? "" : "at most ", w.tokens, static_cast<long long>(m.sentences),
                w.exact ? "counted with the model's tokenizer" : "each at most 128 tokens; the model or text is absent",
                grid.size(), m.per_layer ? " + the first sentence again per pass (per_layer)" : "", tokens);
    std::printf("estimate: ~%s of forward passes on %d cores (%.0f tokens/s per core, all-MiniLM-L6-v2; larger encoders\n"
                "          scale with their size), plus loading the model and quantizing its weights for each point\n",
                seconds_text(tokens / (kEncoderTokensPerSecondPerCore * cores)).c_str(), cores,
                kEncoderTokensPerSecondPerCore);
  } else if (config.source == SourceKind::model) {
    // data.generate adds one incremental step per generated token (counted as one token).
    const double tokens = double(config.model.tokens + config.model.generate) * double(grid.size() + 1);
    std::printf("work: %lld tokens x %zu forward passes (+1 FP32 reference) = %.0f token-passes\n",
                static_cast<long long>(config.model.tokens + config.model.generate), grid.size(), tokens);
    std::printf("estimate: ~%s of forward passes on %d cores (%.1f tokens/s per core, SmolLM2 prefill; larger models\n"
                "          scale with their size), plus loading the model and quantizing its weights for each point\n",
                seconds_text(tokens / (kModelTokensPerSecondPerCore * cores)).c_str(), cores, kModelTokensPerSecondPerCore);
  } else if (config.source == SourceKind::workload) {
    const auto& w = *config.workload.workload;
    std::printf("work: %zu points of the workload '%s'\n", grid.size(), w.name.c_str());
    if (w.estimate_seconds) {
      double total = 0;
      for (const auto& p : grid) total += w.estimate_seconds(config, p);
      std::printf("estimate: ~%s on %d cores (the workload's cost model, %s per point on average)\n",
                  seconds_text(total / cores).c_str(), cores, seconds_text(total / double(grid.size())).c_str());
    }
  } else {
    const auto& s = config.synthetic;
    const double elements = double(s.shape[0] * s.shape[1] + s.gemm_n * s.shape[1]);
    std::printf("work: %zu points x %.0f elements quantized", grid.size(), elements);
    if (s.gemm_n > 0)
      std::printf(" + 2 GEMMs of %lld x %lld x %lld", static_cast<long long>(s.gemm_n), static_cast<long long>(s.shape[0]),
                  static_cast<long long>(s.shape[1]));
    std::printf("\n");
    // Measured: the reference and the first point, here and now.
    const auto start = std::chrono::steady_clock::now();
    const auto evaluator = make_evaluator(config);
    const auto mid = std::chrono::steady_clock::now();
    (void)evaluate_point(config, *evaluator, grid.front());
    const auto end = std::chrono::steady_clock::now();
    const double reference = std::chrono::duration<double>(mid - start).count();
    const double point = std::chrono::duration<double>(end - mid).count();
    std::printf("estimate: ~%s on %d cores (measured: reference %s, first point %s)\n",
                seconds_text(reference + point * double(grid.size()) / cores).c_str(), cores, seconds_text(reference).c_str(),
                seconds_text(point).c_str());
  }
  if (list_points) {
    std::printf("\n");
    for (const auto& p : grid) std::printf("%llu %s\n", static_cast<unsigned long long>(p.index), p.json().c_str());
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "The expanded grid of an experiment file and an estimate of the work");
  auto file = std::make_shared<std::string>();
  auto points = std::make_shared<bool>(false);
  auto device = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "experiment file (experiments/README.md)")->required();
  cmd->add_flag("--points", *points, "List every grid point (index and JSON)");
  cmd->add_option("--device", *device, "cpu or cuda (default: the file's `device`); checked here, as `bitsim run` would");
  cmd->callback([file, points, device] { plan(*file, *points, *device); });
}

}  // namespace bitsim::cli
