// bitsim: the command-line face of the project. Subcommands live in *_command.cpp.
//
// Exit status (scripts rely on it): 0 success; 2 a usage or input error (unknown format,
// rounding mode or option, a token that is not a number), with the reason on stderr;
// 1 anything else that went wrong.
#include <cstdio>
#include <exception>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "experiments/cli/commands.hpp"

namespace {
constexpr int kUsageError = 2;
constexpr int kFailure = 1;
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bitsim: bit-exact emulation of number formats and rounding"};
  app.set_version_flag("--version", BITSIM_VERSION);
  app.require_subcommand(1);
  bitsim::cli::add_formats_command(app);
  bitsim::cli::add_format_command(app);
  bitsim::cli::add_quantize_command(app);
  bitsim::cli::add_arith_command(app);
  bitsim::cli::add_model_command(app);
  bitsim::cli::add_validate_command(app);
  bitsim::cli::add_plan_command(app);
  bitsim::cli::add_run_command(app);
  bitsim::cli::add_merge_command(app);
  bitsim::cli::add_report_command(app);
  bitsim::cli::add_fit_command(app);
  bitsim::cli::add_train_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version also arrive here, with status 0.
    const int status = app.exit(e);
    return status == 0 ? 0 : kUsageError;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "bitsim: %s\n", e.what());
    return kUsageError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bitsim: error: %s\n", e.what());
    return kFailure;
  }
  if (std::fflush(stdout) != 0) {
    std::perror("bitsim: writing the output");
    return kFailure;
  }
  return 0;
}
