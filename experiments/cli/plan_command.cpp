// bitsim plan FILE: the expanded grid and an estimate of the work (issue #6)
// TODO(lead scaffolding): replaced by the owner of this command.
#include <stdexcept>

#include "experiments/cli/commands.hpp"

namespace bitsim::cli {

void add_plan_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("plan", "bitsim plan FILE: the expanded grid and an estimate of the work (issue #6)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("'plan' is not implemented yet"); });
}

}  // namespace bitsim::cli
