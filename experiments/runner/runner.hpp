#pragma once
// The sweep runner behind `bitsim run`: expands the grid, keeps the points of its shard
// that the output does not hold yet, evaluates them (in parallel with oneTBB where the
// source allows), and stores each finished point through ResultsWriter, checkpointing
// every config.checkpoint_points points or checkpoint_seconds seconds.
//
// Results do not depend on the thread count: each point is computed alone by
// deterministic kernels and stored by its grid index.
//
// Under mpirun (OMPI_COMM_WORLD_SIZE or PMI_SIZE > 1 in the environment; MPI is never
// initialised otherwise) rank r of N runs shard r/N and rank 0 gathers every point and
// writes the one output file, as a single-process run would.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <string>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"

namespace bitsim::experiments {

struct RunOptions {
  std::filesystem::path output;  // empty: config.output, or "<name>.shard-i-of-N.h5" for a shard
  int threads = 0;               // 0: config.threads, and 0 there: every core
  Shard shard;
  bool resume = false;
  bool progress = true;          // progress on stderr (a bar on a terminal, lines otherwise)
  std::string config_path;       // as typed, for the results file
  std::string device;            // "cpu" | "cuda" (--device); empty: config.device
};

struct RunSummary {
  std::filesystem::path output;
  std::uint64_t grid_size = 0;
  std::uint64_t shard_points = 0;   // points of this shard (all ranks under MPI)
  std::uint64_t already_done = 0;   // found in the output by --resume
  std::uint64_t evaluated = 0;      // computed by this run
  bool interrupted = false;         // stopped by request_stop() before the end
  bool writer = true;               // false on MPI ranks other than 0 (they write nothing)
  double seconds = 0;
};

// Runs on run_device(config, options.device) (config/device_choice.hpp), checked before
// any work: a device that cannot run here throws ConfigError and writes nothing.
RunSummary run_experiment(const ExperimentConfig& config, const RunOptions& options);

// Asks a running run_experiment to take no new points, store the finished ones and return
// (async-signal-safe: the SIGINT handler calls it).
void request_stop();
// Installs SIGINT/SIGTERM handlers that call request_stop() while the object lives.
class StopOnSignals {
 public:
  StopOnSignals();
  ~StopOnSignals();
  StopOnSignals(const StopOnSignals&) = delete;
  StopOnSignals& operator=(const StopOnSignals&) = delete;
};

// The output path a run would use (options.output, else the config's, shard-suffixed).
std::filesystem::path output_path(const ExperimentConfig& config, const RunOptions& options);
// Hex FNV-1a 64 of the experiment text (RunInfo::config_hash).
std::string config_hash(const std::string& text);
// The MPI world size from the launcher's environment; 1 when not under mpirun.
int mpi_world_size_from_environment();

}  // namespace bitsim::experiments
