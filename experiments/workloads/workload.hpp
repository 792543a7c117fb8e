#pragma once
// CONTRACT (lead): a workload is a self-contained computation that `bitsim run` sweeps
// like a model or a synthetic tensor: long sums in a low-precision accumulator, a blocked
// attention kernel, training a small GPT, ... An experiment file names one with
//
//   workload:
//     kind: summation          # a name from workloads()
//     trials: 64               # the workload's own parameters (scalars), defaults applied
//   sweep:
//     n: [100, 1000]           # the workload's own axes, checked by the workload
//     seed: [0, 1]             # `seed` is common to every source (an integer)
//
// instead of `model:`. Each workload lives in its own file in this folder and adds one
// entry to the table in workloads.cpp. The runner asks it for an Evaluator (the reference,
// if any, computed once) and records its metrics, in the order the file lists them, after
// one column per axis (and `weights_bits` / `activations_bits` when the workload has axes of
// those names; such axes must then hold QuantSpec strings).
//
// A workload that runs in steps (training) may also give each point a curve: rows of its
// `curve` columns (one per evaluation step, say), as many per point as it likes. The
// runner stores them in the results file's /curves table, keyed by the point's grid index
// (experiments/README.md, "Curves").
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bitsim::experiments {

struct ExperimentConfig;
struct GridPoint;
class Evaluator;

// One parameter of the `workload:` mapping. The config reader checks the kind (and the
// minimum for numbers) and reports errors at the value's FILE:LINE:COL.
struct WorkloadParam {
  enum class Kind { integer, real, text, boolean };
  std::string name;
  Kind kind = Kind::integer;
  std::string default_value;  // as written in YAML; empty: the parameter is required
  std::string help;           // one line, for docs and error messages
  double min = -1e300;        // numbers only: the smallest accepted value
};

// One sweep axis the workload accepts. `check` throws std::invalid_argument (with the
// valid choices in its message) for a bad value; the config reader adds FILE:LINE:COL.
struct WorkloadAxis {
  std::string name;
  std::string help;
  std::function<void(const std::string&)> check;
};

struct WorkloadMetric {
  std::string name;
  bool integer = false;  // recorded as an integer column (counts)
  std::string help;
};

// The `workload:` mapping after checking: every declared parameter, defaults applied,
// as text; the typed getters convert (they never fail for values the reader accepted).
class WorkloadParams {
 public:
  WorkloadParams() = default;
  explicit WorkloadParams(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  const std::string& text(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::map<std::string, std::string>& all() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

struct Workload {
  std::string name;
  std::string summary;  // one line: what it computes
  std::vector<WorkloadParam> params;
  std::vector<WorkloadAxis> axes;      // `seed` is implicit: never list it here
  std::vector<WorkloadMetric> metrics; // all of them are the default `metrics:` list
  // Optional: the columns of each point's curve (PointMetrics::curve rows, in this order;
  // `integer` ones are int64 cells, the others double). Empty: the workload gives no curves.
  std::vector<WorkloadMetric> curve;
  // Cross-parameter checks (e.g. a block size dividing a length); throws
  // std::invalid_argument. Optional.
  std::function<void(const WorkloadParams&)> check_params;
  // Builds the evaluator for a checked config (config.workload.params). The evaluator's
  // cells come in config.metrics order (select_metrics in runner/evaluator.hpp helps).
  std::function<std::unique_ptr<Evaluator>(const ExperimentConfig&)> make;
  // Optional: the expected seconds of one point on one core, for `bitsim plan` (a model of
  // the cost, not a measurement; e.g. training: tokens / measured tokens-per-second).
  std::function<double(const ExperimentConfig&, const GridPoint&)> estimate_seconds;
};

// Every workload, in documentation order (the table in workloads.cpp).
const std::vector<Workload>& workloads();
// nullptr when no workload has that name.
const Workload* find_workload(const std::string& name);
std::string workload_names();  // "summation, attention_bias, ..." for messages

// --- axis checkers, for the `check` of common kinds of axis values ---------------------
// Each returns a function that throws std::invalid_argument naming the valid choices.
std::function<void(const std::string&)> check_one_of(std::vector<std::string> choices);
std::function<void(const std::string&)> check_integer(std::int64_t min);
std::function<void(const std::string&)> check_real(double min);
std::function<void(const std::string&)> check_format();       // formats::Format::parse
std::function<void(const std::string&)> check_quant_spec();   // sim::parse_quant_spec
std::function<void(const std::string&)> check_accum_spec();   // sim::AccumSpec or "default"
std::function<void(const std::string&)> check_rounding();     // formats rounding spec

}  // namespace bitsim::experiments
