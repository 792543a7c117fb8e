// bitsim merge OUT.h5 SHARD.h5...: the shard files of one run (bitsim run --shard i/N, or
// MPI ranks) into one results file whose reproducible part equals a single-machine run's
// (experiments/results/README.md).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "experiments/cli/commands.hpp"
#include "experiments/results/results_file.hpp"

namespace bitsim::cli {

namespace {

struct MergeOptions {
  std::string out;
  std::vector<std::string> shards;
};

void run(const MergeOptions& options) {
  const std::vector<std::filesystem::path> shards(options.shards.begin(), options.shards.end());
  experiments::merge_results(options.out, shards);
  const experiments::ResultsTable merged = experiments::read_results(options.out);
  const std::uint64_t stored = merged.rows.size();
  std::string state = merged.complete ? " (complete)" : "";
  if (stored < merged.info.grid_size) {
    state = " (" + std::to_string(merged.info.grid_size - stored) +
            " missing: merge the other shards too, or finish them with bitsim run --resume)";
  }
  std::printf("merged %zu shard files into %s: %llu of %llu grid points%s\n", shards.size(), options.out.c_str(),
              static_cast<unsigned long long>(stored), static_cast<unsigned long long>(merged.info.grid_size),
              state.c_str());
}

}  // namespace

void add_merge_command(CLI::App& app) {
  auto options = std::make_shared<MergeOptions>();
  auto* command = app.add_subcommand(
      "merge",
      "Merge the shard files of one run (bitsim run --shard i/N) into one results file, identical in its "
      "reproducible part to a single-machine run; refuses shards of different experiments, overlapping shards, "
      "and an existing OUT");
  command->add_option("out", options->out, "The merged results file to create (must not exist)")->required();
  command->add_option("shards", options->shards, "The shard results files")->required()->check(CLI::ExistingFile);
  command->callback([options] { run(*options); });
}

}  // namespace bitsim::cli
