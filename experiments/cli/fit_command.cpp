// bitsim fit --law NAME --input FILE ...: scaling-law fits (issue #11)
// TODO(lead scaffolding): replaced by the owner of this command.
#include <stdexcept>

#include "experiments/cli/commands.hpp"

namespace bitsim::cli {

void add_fit_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("fit", "bitsim fit --law NAME --input FILE ...: scaling-law fits (issue #11)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("'fit' is not implemented yet"); });
}

}  // namespace bitsim::cli
