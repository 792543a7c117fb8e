// bitsim validate FILE: check an experiment file without running it (issue #6)
// TODO(lead scaffolding): replaced by the owner of this command.
#include <stdexcept>

#include "experiments/cli/commands.hpp"

namespace bitsim::cli {

void add_validate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "bitsim validate FILE: check an experiment file without running it (issue #6)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("'validate' is not implemented yet"); });
}

}  // namespace bitsim::cli
