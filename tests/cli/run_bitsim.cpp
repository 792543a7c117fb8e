#include "tests/cli/run_bitsim.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace bitsim::cli_test {
namespace {

// Single quotes keep every character literal for /bin/sh (specs contain '<', '>' and ',');
// an embedded quote is closed, escaped and reopened.
std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// One private scratch folder per test process, for the stdin and stderr files.
const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "bitsim-cli-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a scratch folder");
    return std::filesystem::path(pattern);
  }();
  return folder;
}

struct RemoveScratchAtExit {
  ~RemoveScratchAtExit() {
    std::error_code ignored;
    std::filesystem::remove_all(scratch_folder(), ignored);
  }
} remove_scratch_at_exit;

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

CommandResult run_bitsim(const std::vector<std::string>& args, const std::string& input) {
  const auto stdin_path = scratch_folder() / "stdin";
  const auto stderr_path = scratch_folder() / "stderr";
  std::ofstream(stdin_path, std::ios::binary) << input;

  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on `" <" + std::string`.
  std::string command = shell_quote(BITSIM_CLI);
  const auto append = [&command](std::string_view separator, const std::string& word) {
    command += separator;
    command += shell_quote(word);
  };
  for (const auto& arg : args) append(" ", arg);
  append(" <", stdin_path.string());
  append(" 2>", stderr_path.string());

  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  CommandResult result;
  char buffer[1 << 14];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_status = 128 + WTERMSIG(status);
  result.err = read_file(stderr_path);
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

}  // namespace bitsim::cli_test
