#pragma once
// RunOptions for suites that run studies through the runner: the given output file,
// thread count and shard, without the progress line.
#include <filesystem>

#include "experiments/runner/runner.hpp"

namespace bitsim::testing {

inline experiments::RunOptions quiet_run(const std::filesystem::path& out, int threads,
                                         experiments::Shard shard = {}) {
  experiments::RunOptions o;
  o.output = out;
  o.threads = threads;
  o.shard = shard;
  o.progress = false;
  return o;
}

}  // namespace bitsim::testing
