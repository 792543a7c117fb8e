// bitsim merge OUT.h5 SHARD.h5...: shards into one results file (issue #6)
// TODO(lead scaffolding): replaced by the owner of this command.
#include <stdexcept>

#include "experiments/cli/commands.hpp"

namespace bitsim::cli {

void add_merge_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("merge", "bitsim merge OUT.h5 SHARD.h5...: shards into one results file (issue #6)");
  cmd->allow_extras();
  cmd->callback([] { throw std::runtime_error("'merge' is not implemented yet"); });
}

}  // namespace bitsim::cli
