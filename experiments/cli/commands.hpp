#pragma once
// The subcommands of `bitsim`. Each registers itself on the app; its callback does the
// work, printing results on stdout. Bad user input (specs, modes, numbers) is reported
// by throwing std::invalid_argument, which main() turns into a message on stderr and
// exit status 2.
#include <CLI/CLI.hpp>

namespace bitsim::cli {

void add_formats_command(CLI::App& app);   // bitsim formats [--json]
void add_format_command(CLI::App& app);    // bitsim format SPEC [--table] [--json]
void add_quantize_command(CLI::App& app);  // bitsim quantize --format SPEC ... < numbers
void add_model_command(CLI::App& app);     // bitsim model info|eval|generate PATH ...

void add_arith_command(CLI::App& app);     // bitsim arith --format SPEC OP a [b [c]]

// Experiments (experiments/README.md).
void add_validate_command(CLI::App& app);  // bitsim validate FILE
void add_plan_command(CLI::App& app);      // bitsim plan FILE
void add_run_command(CLI::App& app);       // bitsim run FILE [-o OUT.h5] [--threads N] ...
void add_merge_command(CLI::App& app);     // bitsim merge OUT.h5 SHARD.h5...
void add_report_command(CLI::App& app);    // bitsim report OUT.h5 [...]
void add_fit_command(CLI::App& app);       // bitsim fit --law NAME --input FILE ...
void add_train_command(CLI::App& app);    // bitsim train --recipe NAME --steps N ... -o CKPT

}  // namespace bitsim::cli
