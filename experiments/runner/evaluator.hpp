#pragma once
// Evaluates grid points: the per-source work behind `bitsim run`. An evaluator computes
// its reference once (the synthetic tensor and its exact GEMM, or the model's FP32
// logits / embeddings on the evaluation text) and then any point, from any thread.
//
// Columns of the results table, in order: one per sweep axis (text; `seed` an integer),
// `weights_bits` / `activations_bits` (storage bits per element, scales included) when
// those axes exist, then the config's metrics (real; counts integer). Model sources with
// data.per_layer also give each point the array `sqnr_per_layer` (one SQNR per block);
// decoders with data.generate = N the arrays `top1_prob_per_step` and `generated_tokens` (N each).
// Workloads with curve columns give each point curve rows (the /curves table).
#include <memory>
#include <string>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"
#include "models/transformer/numerics.hpp"
#include "sim/gemm/accum_spec.hpp"
#include "sim/quant/quant_spec.hpp"

namespace bitsim::experiments {

// What one point measured: the metric cells (config.metrics order), per-point arrays, and
// its curve (rows of curve_schema(config); any number per point, empty without curves).
struct PointMetrics {
  std::vector<Cell> cells;
  std::vector<std::pair<std::string, std::vector<double>>> arrays;
  std::vector<std::vector<Cell>> curve;
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Whether points may run concurrently. Model points run one at a time, each using every
  // thread inside its kernels (a session holds a copy of the weights).
  virtual bool parallel_points() const = 0;
  // The metric cells and arrays of one point. Thread-safe.
  virtual PointMetrics evaluate(const GridPoint& point) const = 0;
};

// Builds the evaluator for the config's source (loads the model and computes the
// reference: seconds for SmolLM2). Throws std::invalid_argument for a missing file.
std::unique_ptr<Evaluator> make_evaluator(const ExperimentConfig& config);

std::vector<Column> results_schema(const ExperimentConfig& config);
// The columns of the points' curves (the workload's `curve`); empty when the source gives none.
std::vector<Column> curve_schema(const ExperimentConfig& config);

// Whether a metric is recorded as an integer column (counts such as `nonfinite`).
bool metric_is_integer(const ExperimentConfig& config, const std::string& metric);
// Picks config.metrics, in that order, from (name, value) pairs of everything computed;
// integer metrics become integer cells. Throws std::logic_error for a metric not computed.
std::vector<Cell> select_metrics(const ExperimentConfig& config, const std::vector<std::pair<std::string, double>>& all);

// A full row: axis cells, bits cells, then `evaluator.evaluate(point)`'s cells, arrays and curve.
PointResult evaluate_point(const ExperimentConfig& config, const Evaluator& evaluator, const GridPoint& point);

// A point's spec for a role axis ("none" / "default" when the sweep lacks the axis), with
// the point's seed added to the spec's own seed.
sim::QuantSpec point_quant_spec(const GridPoint& point, const std::string& role);
sim::AccumSpec point_accum_spec(const GridPoint& point);
// A model point's numerics (every role axis as rules over its layer selection), as the
// model evaluators apply them; `layers` is the model's block count (tensor dumps use it).
models::Numerics model_point_numerics(const GridPoint& point, int layers);

// Storage bits per element of a spec: element bits plus the scale's share (per group,
// block formats' effective bits); per-tensor and per-channel scales count as 0; 32 for none.
double bits_per_element(const sim::QuantSpec& spec);

}  // namespace bitsim::experiments
