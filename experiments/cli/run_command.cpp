// bitsim run FILE [-o OUT.h5] [--threads N] [--shard i/N] [--resume] (issue #6)
// TODO(lead scaffolding): replaced by the owner of this command.
#include <stdexcept>

#include "experiments/cli/commands.hpp"

namespace bitsim::cli {

void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "bitsim run FILE [-o OUT.h5] [--threads N] [--shard i/N] [--resume] (issue #6)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("'run' is not implemented yet"); });
}

}  // namespace bitsim::cli
