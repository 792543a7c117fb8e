// bitsim report OUT.h5: the results table and plots (issue #6)
// TODO(lead scaffolding): replaced by the owner of this command.
#include <stdexcept>

#include "experiments/cli/commands.hpp"

namespace bitsim::cli {

void add_report_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("report", "bitsim report OUT.h5: the results table and plots (issue #6)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("'report' is not implemented yet"); });
}

}  // namespace bitsim::cli
