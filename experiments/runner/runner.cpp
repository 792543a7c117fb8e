#include "experiments/runner/runner.hpp"

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <ctime>
#include <mutex>
#include <stdexcept>

#include <oneapi/tbb/info.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#ifdef BITSIM_HAVE_MPI
// C only: the deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

#include "experiments/config/device_choice.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/point_codec.hpp"
#include "experiments/runner/progress.hpp"
#include "experiments/runner/tensor_dumps.hpp"

namespace bitsim::experiments {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "request_stop runs in a signal handler");

using Clock = std::chrono::steady_clock;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

int resolve_threads(const ExperimentConfig& config, const RunOptions& options) {
  const int t = options.threads > 0 ? options.threads : config.threads;
  return t > 0 ? t : tbb::info::default_concurrency();
}

RunInfo run_info(const ExperimentConfig& config, const RunOptions& options, const std::vector<GridPoint>& grid,
                 const Shard& shard, int threads) {
  RunInfo info;
  info.config_text = config.text;
  info.config_hash = config_hash(config.text);
  info.config_path = options.config_path.empty() ? config.file.string() : options.config_path;
  info.grid_size = grid.size();
  info.grid_json = grid_json(grid);
  info.shard = shard.to_string();
  info.host = host_name();
  info.threads = threads;
  info.started_utc = utc_now();
  info.device = std::string(sim::to_string(run_device(config, options.device)));
  return info;
}

// Evaluates `todo` on `threads` threads, handing each finished point to `done` (called
// under a lock, in completion order). Stops taking points after request_stop().
void evaluate_points(const ExperimentConfig& config, const Evaluator& evaluator, const TensorDumper& dumper,
                     const std::vector<const GridPoint*>& todo, int threads, const std::function<void(PointResult)>& done) {
  std::mutex lock;
  auto run_one = [&](const GridPoint& point) {
    if (g_stop.load()) return;
    const auto start = Clock::now();
    auto result = evaluate_point(config, evaluator, point);
    result.dumps = dumper.dump(point);  // the `dump:` tensors of this point, if any
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const std::lock_guard guard(lock);
    done(std::move(result));
  };
  tbb::task_arena arena(threads);
  arena.execute([&] {
    if (evaluator.parallel_points()) {
      tbb::parallel_for(std::size_t(0), todo.size(), [&](std::size_t i) { run_one(*todo[i]); }, tbb::simple_partitioner());
    } else {
      for (const auto* point : todo) run_one(*point);
    }
  });
}

std::vector<const GridPoint*> points_to_run(const std::vector<GridPoint>& grid, const Shard& shard,
                                            const std::set<std::uint64_t>& finished, RunSummary& summary) {
  std::vector<const GridPoint*> todo;
  for (const auto& point : grid) {
    if (!shard.contains(point.index)) continue;
    ++summary.shard_points;
    if (finished.count(point.index)) ++summary.already_done;
    else todo.push_back(&point);
  }
  return todo;
}

ResultsWriter open_writer(const std::filesystem::path& out, const ExperimentConfig& config, const RunOptions& options,
                          RunInfo info) {
  if (options.resume) {
    if (!std::filesystem::exists(out))
      throw std::invalid_argument("--resume: " + out.string() + " does not exist (drop --resume to start the run)");
    try {
      return ResultsWriter::resume(out, results_schema(config), std::move(info), curve_schema(config));
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());  // a foreign, corrupt or other-config file: bad input (exit 2)
    }
  }
  return ResultsWriter::create(out, results_schema(config), std::move(info), curve_schema(config));
}

void check_output_free(const std::filesystem::path& out, const RunOptions& options) {
  if (!options.resume && std::filesystem::exists(out))
    throw std::invalid_argument(out.string() + " already exists: add --resume to continue that run, or choose another file with -o");
}

RunSummary run_local(const ExperimentConfig& config, const RunOptions& options) {
  const auto start = Clock::now();
  RunSummary summary;
  summary.output = output_path(config, options);
  const auto grid = expand_grid(config);
  summary.grid_size = grid.size();
  const int threads = resolve_threads(config, options);
  check_output_free(summary.output, options);
  const TensorDumper dumper(config, grid.size());  // checks dump: before the (slow) reference
  const auto evaluator = make_evaluator(config);  // the reference, before any file is written
  auto writer = open_writer(summary.output, config, options, run_info(config, options, grid, options.shard, threads));
  const auto todo = points_to_run(grid, options.shard, writer.finished(), summary);

  Progress progress(todo.size(), options.progress);
  std::int64_t since_checkpoint = 0;
  auto last_checkpoint = Clock::now();
  try {
    evaluate_points(config, *evaluator, dumper, todo, threads, [&](PointResult result) {
      writer.add(std::move(result));
      ++summary.evaluated;
      progress.update(summary.evaluated);
      if (++since_checkpoint >= config.checkpoint_points ||
          std::chrono::duration<double>(Clock::now() - last_checkpoint).count() >= config.checkpoint_seconds) {
        writer.checkpoint();
        since_checkpoint = 0;
        last_checkpoint = Clock::now();
      }
    });
  } catch (...) {
    progress.finish();
    writer.checkpoint();  // keep what finished before the failure
    throw;
  }
  progress.finish();
  summary.interrupted = g_stop.load() && summary.evaluated < todo.size();
  if (summary.interrupted) writer.checkpoint();
  else writer.finish(utc_now());
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}

#ifdef BITSIM_HAVE_MPI
void mpi_check(int status, const char* what) {
  if (status != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
}

// Rank 0 opens the output (or fails), then tells every rank which points are done.
// Each rank runs shard rank/size of the rest; rank 0 gathers the points and writes them.
RunSummary run_mpi(const ExperimentConfig& config, const RunOptions& options) {
  const auto start = Clock::now();
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) mpi_check(MPI_Init(nullptr, nullptr), "MPI_Init");
  struct Finalize {
    ~Finalize() {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    }
  } finalize;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (options.shard.count != 1)
    throw std::invalid_argument("--shard cannot be combined with mpirun: each rank already runs shard rank/size");

  RunSummary summary;
  summary.writer = rank == 0;
  summary.output = output_path(config, options);
  const auto grid = expand_grid(config);
  summary.grid_size = grid.size();
  const int threads = resolve_threads(config, options);

  // Rank 0 opens the file; a failure there is sent to every rank as an empty message.
  std::optional<ResultsWriter> writer;
  std::string error;
  std::vector<std::uint64_t> finished;
  if (rank == 0) {
    try {
      check_output_free(summary.output, options);
      writer.emplace(open_writer(summary.output, config, options, run_info(config, options, grid, Shard{}, threads)));
      finished.assign(writer->finished().begin(), writer->finished().end());
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  std::uint64_t header[2] = {error.empty() ? 0u : 1u, finished.size()};
  mpi_check(MPI_Bcast(header, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD), "broadcasting the run state");
  if (header[0] != 0) {
    if (rank == 0) throw std::invalid_argument(error);
    throw std::runtime_error("rank 0 could not open the output");
  }
  finished.resize(std::size_t(header[1]));
  if (!finished.empty())
    mpi_check(MPI_Bcast(finished.data(), int(finished.size()), MPI_UINT64_T, 0, MPI_COMM_WORLD), "broadcasting finished points");

  const Shard mine{rank, size};
  RunSummary local;
  const auto todo = points_to_run(grid, mine, std::set<std::uint64_t>(finished.begin(), finished.end()), local);
  std::vector<PointResult> results;
  std::string failure;
  try {
    const TensorDumper dumper(config, grid.size());
    const auto evaluator = make_evaluator(config);
    Progress progress(todo.size(), options.progress && rank == 0);
    evaluate_points(config, *evaluator, dumper, todo, threads, [&](PointResult r) {
      results.push_back(std::move(r));
      progress.update(results.size());
    });
    progress.finish();
  } catch (const std::exception& e) {
    failure = "rank " + std::to_string(rank) + ": " + e.what();
  }
  // A failed rank still sends what it finished, after its message (empty: no failure), so
  // no rank waits forever: [u64 message length][message][encoded points].
  const std::uint64_t failure_length = failure.size();
  std::vector<std::uint8_t> bytes(sizeof failure_length + failure.size());
  std::memcpy(bytes.data(), &failure_length, sizeof failure_length);
  if (!failure.empty()) std::memcpy(bytes.data() + sizeof failure_length, failure.data(), failure.size());
  encode_points(results, bytes);
  int length = int(bytes.size());
  std::vector<int> lengths(static_cast<std::size_t>(size)), offsets(static_cast<std::size_t>(size));
  mpi_check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "gathering sizes");
  std::vector<std::uint8_t> all;
  if (rank == 0) {
    std::size_t total = 0;
    for (int r = 0; r < size; ++r) {
      offsets[std::size_t(r)] = int(total);
      total += std::size_t(lengths[std::size_t(r)]);
    }
    all.resize(total);
  }
  mpi_check(MPI_Gatherv(bytes.data(), length, MPI_BYTE, all.data(), lengths.data(), offsets.data(), MPI_BYTE, 0, MPI_COMM_WORLD),
            "gathering points");
  if (rank != 0) {
    if (!failure.empty()) throw std::runtime_error(failure);
    summary.evaluated = results.size();
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
  }
  std::string first_failure;
  for (int r = 0; r < size; ++r) {
    const auto* p = all.data() + offsets[std::size_t(r)];
    const std::size_t n = std::size_t(lengths[std::size_t(r)]);
    std::uint64_t message_length = 0;
    std::memcpy(&message_length, p, sizeof message_length);
    const auto* message = reinterpret_cast<const char*>(p + sizeof message_length);
    if (message_length > 0 && first_failure.empty()) first_failure.assign(message, std::size_t(message_length));
    const std::size_t skip = sizeof message_length + std::size_t(message_length);
    for (auto& point : decode_points(p + skip, n - skip)) {
      writer->add(std::move(point));
      ++summary.evaluated;
    }
  }
  summary.shard_points = grid.size();
  summary.already_done = finished.size();
  summary.interrupted = g_stop.load();
  if (!first_failure.empty()) {
    writer->checkpoint();
    throw std::runtime_error(first_failure);
  }
  if (summary.interrupted) writer->checkpoint();
  else writer->finish(utc_now());
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return summary;
}
#endif

extern "C" void stop_on_signal(int) { request_stop(); }

}  // namespace

int mpi_world_size_from_environment() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (const char* value = std::getenv(name)) return std::max(1, std::atoi(value));
  return 1;
}

RunSummary run_experiment(const ExperimentConfig& config, const RunOptions& options) {
  g_stop.store(false);
  const sim::DeviceScope device(check_run_device(config, options.device));  // before any work
  if (mpi_world_size_from_environment() > 1) {
#ifdef BITSIM_HAVE_MPI
    return run_mpi(config, options);
#else
    throw std::invalid_argument("launched under mpirun, but this bitsim was built without MPI; use --shard i/N instead");
#endif
  }
  return run_local(config, options);
}

void request_stop() { g_stop.store(true); }

namespace {
struct sigaction g_previous_int, g_previous_term;
}

StopOnSignals::StopOnSignals() {
  struct sigaction action {};
  action.sa_handler = stop_on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

StopOnSignals::~StopOnSignals() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

std::filesystem::path output_path(const ExperimentConfig& config, const RunOptions& options) {
  if (!options.output.empty()) return options.output;
  std::filesystem::path out = config.output;
  if (options.shard.count > 1) {
    auto stem = out.stem().string() + ".shard-" + std::to_string(options.shard.part) + "-of-" + std::to_string(options.shard.count);
    out.replace_filename(stem + out.extension().string());
  }
  return out;
}

std::string config_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace bitsim::experiments
