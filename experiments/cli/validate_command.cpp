// bitsim validate FILE [--device cpu|cuda]: checks an experiment file without running it
// (experiments/README.md), including that its device can run here.
// Exit 0 with a one-line summary, or 2 with the first problem as FILE:LINE:COLUMN: message.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "experiments/cli/commands.hpp"
#include "experiments/config/device_choice.hpp"
#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"

namespace bitsim::cli {

void add_validate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "Check an experiment file (YAML) without running it");
  auto file = std::make_shared<std::string>();
  auto device = std::make_shared<std::string>();
  cmd->add_option("FILE", *file, "experiment file (experiments/README.md)")->required();
  cmd->add_option("--device", *device, "cpu or cuda (default: the file's `device`): the device `bitsim run` would use");
  cmd->callback([file, device] {
    const auto config = experiments::load_experiment(*file);
    const sim::Device on = experiments::check_run_device(config, *device);
    const auto grid = experiments::expand_grid(config);
    std::string axes;
    for (const auto& axis : config.axes) axes += (axes.empty() ? "" : " x ") + axis.name + "(" + std::to_string(axis.values.size()) + ")";
    std::printf("%s: ok: '%s', %s source, %zu points%s%s, %zu metrics, output %s, device %s\n", file->c_str(),
                config.name.c_str(), experiments::source_name(config).c_str(), grid.size(), axes.empty() ? "" : " from ",
                axes.c_str(), config.metrics.size(), config.output.c_str(), std::string(sim::to_string(on)).c_str());
    // The file is valid either way; running it needs the inputs.
    if (config.source == experiments::SourceKind::model)
      for (const auto& input : {config.model.path, config.model.text})
        if (!std::filesystem::exists(input))
          std::fprintf(stderr, "note: %s does not exist yet (the bundled model and text come with scripts/fetch-models.sh)\n",
                       input.c_str());
  });
}

}  // namespace bitsim::cli
