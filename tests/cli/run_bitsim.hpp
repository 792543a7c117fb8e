#pragma once
// Runs the built bitsim executable the way a script would: arguments, text on stdin, and
// stdout, stderr and the exit status captured separately.
#include <string>
#include <vector>

namespace bitsim::cli_test {

struct CommandResult {
  int exit_status = -1;  // the process's exit code; 128 + signal number if it was killed
  std::string out;
  std::string err;
};

CommandResult run_bitsim(const std::vector<std::string>& args, const std::string& input = "");

// The lines of a text, without their newlines.
std::vector<std::string> lines_of(const std::string& text);

// The whitespace-separated words of one line.
std::vector<std::string> words_of(const std::string& line);

}  // namespace bitsim::cli_test
