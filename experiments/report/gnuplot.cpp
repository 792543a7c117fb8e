#include "experiments/report/gnuplot.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace bitsim::experiments::report {

namespace {

std::string shell_quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

int run_shell(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

std::optional<std::filesystem::path> find_gnuplot() {
  if (const char* chosen = std::getenv("BITSIM_GNUPLOT")) {
    if (*chosen == '\0') return std::nullopt;
    return std::filesystem::path(chosen);
  }
  const char* path = std::getenv("PATH");
  std::string folders = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= folders.size()) {
    const std::size_t end = std::min(folders.find(':', start), folders.size());
    const std::filesystem::path candidate =
        std::filesystem::path(end > start ? folders.substr(start, end - start) : ".") / "gnuplot";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string png_terminal(const std::filesystem::path& gnuplot) {
  const std::string probe = shell_quote(gnuplot.string()) + " -e 'set terminal pngcairo' > /dev/null 2>&1";
  return run_shell(probe) == 0 ? "pngcairo" : "png";
}

void run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& script) {
  const std::filesystem::path folder = script.parent_path();
  const std::filesystem::path log = std::filesystem::path(script).replace_extension(".log");
  const std::string command = "cd " + shell_quote(folder.empty() ? "." : folder.string()) + " && " +
                              shell_quote(gnuplot.string()) + " " + shell_quote(script.filename().string()) +
                              " > " + shell_quote(log.filename().string()) + " 2>&1";
  const int status = run_shell(command);
  std::ifstream in(log);
  const std::string messages((std::istreambuf_iterator<char>(in)), {});
  if (status != 0) {
    throw std::runtime_error("gnuplot failed on " + script.string() + " (exit status " + std::to_string(status) +
                             "): " + messages);
  }
  std::error_code ignored;
  std::filesystem::remove(log, ignored);  // an empty log on success
}

std::string gnuplot_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace bitsim::experiments::report
