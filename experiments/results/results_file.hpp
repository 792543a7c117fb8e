#pragma once
// CONTRACT (lead): the results-file API the runner, merge, report and fit code against.
// The owner of experiments/results/ implements it and may extend it; changing what is
// declared here needs the lead's agreement (other helpers code against it).
//
// One HDF5 file per run. Reproducible part (depends only on config + seeds): the results
// table (one row per finished grid point, sorted by grid index), per-point arrays, and
// the run attributes (config text, hash, grid). Environment part (host, threads, times,
// per-point seconds) lives in its own group, so reruns differ only there.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "experiments/build_info.hpp"

namespace bitsim::experiments {

struct Column {
  enum class Kind { text, integer, real };
  std::string name;
  Kind kind = Kind::real;
};

using Cell = std::variant<std::string, std::int64_t, double>;

// Added by the results owner: the raw dump of one tensor of one point (the experiment
// file's `dump:` key), stored under /dumps/<index>/<name> (experiments/results/README.md).
// Everything here depends only on the config and the seeds (reproducible).
struct TensorDump {
  std::string name;                   // "weights", "weight.blk.0.attn_q", ...: no '/', unique per point
  std::string spec;                   // the canonical QuantSpec the tensor was quantized with
  std::vector<std::int64_t> shape;
  std::vector<float> values;          // the quantize-dequantized values, row-major; empty: not recorded
  // The stored form (sim::encode), empty when not recorded: element codes packed end to end,
  // least significant bit first, `code_bits` each (formats::pack_codes; an identity spec
  // stores the float32 bit patterns, 32 bits); scale codes likewise over `scale_shape`;
  // block zero points likewise; NVFP4's second-level tensor scale.
  bool has_codes = false;
  int code_bits = 0;
  std::vector<std::uint8_t> codes;
  std::vector<std::int64_t> scale_shape;
  int scale_bits = 0;
  std::vector<std::uint8_t> scales;
  int zero_point_bits = 0;
  std::vector<std::uint8_t> zero_points;
  double tensor_scale = 1.0;
};

struct PointResult {
  std::uint64_t index = 0;     // position in the expanded grid (0-based)
  std::vector<Cell> cells;     // one per schema column, in schema order, kinds matching
  // Optional per-point arrays (e.g. "sqnr_per_layer"); every point of a run gives the same
  // names with the same lengths, or none.
  std::vector<std::pair<std::string, std::vector<double>>> arrays;
  double seconds = 0;          // wall time of the point: environment, not reproducible
  // Added by the results owner: raw tensor dumps of this point (sorted by name by add()).
  std::vector<TensorDump> dumps;
  // The point's curve: rows of the run's curve schema (ResultsTable::curve_columns), in the
  // order the evaluator gave them (e.g. one per evaluation step of a training run). Their
  // number may differ from point to point. Stored in /curves, reproducible like /results.
  std::vector<std::vector<Cell>> curve;
};

struct RunInfo {
  // Reproducible.
  std::string config_text;     // the experiment file as read
  std::string config_hash;     // hex digest of config_text
  std::string config_path;     // as given on the command line (environment)
  std::uint64_t grid_size = 0; // points in the whole grid (not just this shard)
  std::string grid_json;       // the expanded grid, one object per point
  // Environment.
  std::string shard = "0/1";   // "i/N"
  std::string host;
  int threads = 0;
  std::string started_utc, finished_utc;
  std::string device = "cpu";
  // Added by the results owner (defaults keep the contract): the shard files a merged
  // file came from, one per line; empty for a file written by a run (environment).
  std::string merged_from;
};

struct ResultsTable {
  std::vector<Column> columns;
  std::vector<PointResult> rows;   // sorted by index
  RunInfo info;
  // Added by the results owner, filled by read_results (writers record build_info()):
  BuildInfo build;        // what wrote the file (version, git revision, compiler, deps)
  bool complete = false;  // finish() was called (every point of the run/shard is stored)
  // The columns of /curves after its `index` column (the point's grid index); empty when
  // the run records no curves (the file then has no /curves dataset).
  std::vector<Column> curve_columns;
};

// The layout's version, stored in every file (attribute `format_version`); readers refuse
// files of a newer version. experiments/results/README.md describes the layout.
inline constexpr std::int64_t kResultsFormatVersion = 1;

class ResultsWriter {
 public:
  // A new results file at `path`. Throws (never overwrites) when `path` exists.
  // `curve_schema`: the columns of the points' curves (/curves); empty: no curves.
  static ResultsWriter create(const std::filesystem::path& path, std::vector<Column> schema,
                              RunInfo info, std::vector<Column> curve_schema = {});
  // Reopens the partial results of an interrupted run for --resume (the curves of its
  // finished points included). Throws with a clear message when the file is not a bitsim
  // results file, is corrupt, or was written for a different config (hash), schema or
  // curve schema.
  static ResultsWriter resume(const std::filesystem::path& path, std::vector<Column> schema,
                              RunInfo info, std::vector<Column> curve_schema = {});

  ResultsWriter(ResultsWriter&&) noexcept;
  ResultsWriter& operator=(ResultsWriter&&) noexcept;
  ~ResultsWriter();

  const std::set<std::uint64_t>& finished() const;  // indices already stored
  void add(PointResult result);  // kinds checked against the schema (curve rows: the curve schema)
  // Writes everything added so far: a temporary sibling, then rename, so the file on disk
  // is always a complete, readable results file.
  void checkpoint();
  // Final checkpoint with the end time; marks the file complete.
  void finish(const std::string& finished_utc);

 private:
  struct State;
  explicit ResultsWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Reads a results file (throws with a clear message for a missing, foreign or corrupt file).
ResultsTable read_results(const std::filesystem::path& path);

// Merges shard files of one run (same config hash, disjoint points) into `out`; the
// reproducible datasets of `out` equal those of a single-machine run. Throws when the
// shards disagree, overlap, or `out` exists.
void merge_results(const std::filesystem::path& out,
                   const std::vector<std::filesystem::path>& shards);

}  // namespace bitsim::experiments
