#pragma once
// What built this bitsim: recorded in every results file so that a run can be redone.
#include <string>
#include <vector>
#include <utility>

namespace bitsim::experiments {

struct BuildInfo {
  std::string version;       // project version (CMake)
  std::string git_revision;  // commit the build came from, or "unknown"
  std::string compiler;      // e.g. "GCC 12.2.0"
  std::string build_type;    // "optimised" or "debug" (NDEBUG)
  // Dependency name -> version, for the libraries whose version changes results or files.
  std::vector<std::pair<std::string, std::string>> dependencies;
};

const BuildInfo& build_info();

}  // namespace bitsim::experiments
