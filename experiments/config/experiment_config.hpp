#pragma once
// An experiment file (YAML) as typed data: what to evaluate (a pretrained model on a
// text, or a synthetic tensor), the sweep axes whose cross product is the grid, filters,
// metrics and output. The schema, every key and its default: experiments/README.md.
//
// load_experiment() checks everything that can be checked without running: unknown keys,
// wrong types, unknown formats and modes (the parsers' messages, which list the valid
// choices), axes that do not apply to the source, zip groups of unequal length, filters
// naming unknown axes or values, specs that cannot apply to a synthetic tensor's shape.
// Every error is a ConfigError whose message starts with FILE:LINE:COLUMN.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "experiments/workloads/workload.hpp"
#include "models/transformer/load_model.hpp"

namespace bitsim::experiments {

class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Where a value sits in the file, for messages (1-based line and column).
struct SourceMark {
  int line = 0, column = 0;
};

enum class SourceKind { model, synthetic, workload };
enum class Distribution { gaussian, laplace, student_t, with_outliers };

struct SyntheticSource {
  Distribution distribution = Distribution::gaussian;
  Distribution base = Distribution::gaussian;  // with_outliers: the bulk's distribution
  std::vector<std::int64_t> shape = {256, 256};  // [rows, cols]
  std::uint64_t seed = 0;
  double scale = 1.0;             // standard deviation (gaussian), b (laplace), t's scale
  double nu = 4.0;                // student_t degrees of freedom (> 0)
  double outlier_fraction = 0.01; // with_outliers: fraction of columns (channels) scaled
  double outlier_scale = 20.0;    // ... by this factor
  std::int64_t gemm_n = 0;        // > 0: also Y = A X^T with A [gemm_n, cols] (see README)
};

struct ModelSource {
  std::string name;                 // "smollm2", "minilm" or the checkpoint as written
  std::filesystem::path path;       // resolved checkpoint: a .gguf file, a safetensors file or folder
  models::Architecture architecture = models::Architecture::llama;  // which engine runs it
  std::optional<models::ModelDims> dims;  // read from the checkpoint's headers when it exists
  std::filesystem::path text;       // resolved evaluation text
  std::string text_name;            // "austen" or the file as written
  std::int64_t tokens = 64;         // decoders: the first N tokens of the text
  std::int64_t sentences = 32;      // encoders: the first N paragraphs of the text
  bool per_layer = false;           // record `sqnr_per_layer` (one SQNR per block) per point
  std::int64_t generate = 0;        // decoders: > 0 greedily decodes N tokens after the first `tokens`
  bool decoder() const { return models::is_decoder(architecture); }
};

// A workload (experiments/workloads/workload.hpp): its table entry and its checked
// parameters (every declared one, defaults applied).
struct WorkloadSource {
  const Workload* workload = nullptr;
  WorkloadParams params;
  SourceMark mark;  // the `workload:` mapping
};

// One sweep axis: its name and values as written (QuantSpec / AccumSpec strings, layer
// selections, seeds as decimal text).
struct Axis {
  std::string name;
  std::vector<std::string> values;
  SourceMark mark;                  // the axis name
  std::vector<SourceMark> marks;    // each value
};

// A filter entry: axis -> accepted values (a point matches when every listed axis holds
// one of its values).
struct FilterEntry {
  std::vector<std::pair<std::string, std::vector<std::string>>> conditions;
  SourceMark mark;
};

// The `dump:` key: raw dumps of selected tensors (values and stored codes) of selected
// points into the results file (/dumps; experiments/README.md, "Tensor dumps").
struct DumpRequest {
  std::vector<std::string> tensors;   // glob patterns over tensor names; empty: no dumps
  std::vector<std::uint64_t> points;  // grid indices; empty: every point
  bool values = true;                 // the quantize-dequantized float32 values
  bool codes = true;                  // the packed element codes, scales and zero points
  SourceMark mark;                    // the `dump:` mapping
  bool enabled() const { return !tensors.empty(); }
  bool wants(std::uint64_t index) const;
};

struct ExperimentConfig {
  std::string name;
  std::filesystem::path file;   // the experiment file as given
  std::string text;             // its text, as read
  SourceKind source = SourceKind::synthetic;
  SyntheticSource synthetic;
  ModelSource model;
  WorkloadSource workload;
  std::vector<Axis> axes;                         // in file order
  std::vector<std::vector<std::string>> zip;      // groups of axis names that move together
  std::vector<FilterEntry> include, exclude;
  std::vector<std::string> metrics;               // in the order recorded; never empty
  std::string output;                             // default "<name>.h5"
  std::string device = "cpu";                     // "cpu" | "cuda" (sim::parse_device); see device_choice.hpp
  SourceMark device_mark;                         // the `device:` value; line 0 when absent
  int threads = 0;                                // 0: all cores
  std::int64_t checkpoint_points = 16;            // checkpoint after this many new points
  double checkpoint_seconds = 30;                 // ... or this many seconds
  DumpRequest dump;                               // `dump:` (none by default)
  std::string reference = "fp32";                 // model sources: models::Numerics::reference name

  const Axis* axis(const std::string& name) const;
};

// "model", "synthetic" or "workload <kind>", for summaries.
std::string source_name(const ExperimentConfig& config);

// The axis names a source accepts, in their canonical column order (encoders have no logits).
std::vector<std::string> axis_names(const ExperimentConfig& config);
// The metrics a source can record (the default list when `metrics` is absent).
std::vector<std::string> metric_names(const ExperimentConfig& config);

// The tensors a synthetic source can dump: "weights" (X under the weights spec) and, with
// gemm_n > 0, "activations" (A under the activations spec).
std::vector<std::string> synthetic_dump_names(const ExperimentConfig& config);

// Reads and checks an experiment file; throws ConfigError ("FILE:LINE:COL: ...").
ExperimentConfig load_experiment(const std::filesystem::path& file);
// The same from text (`file` only names it in messages and anchors relative paths).
ExperimentConfig parse_experiment(const std::string& text, const std::filesystem::path& file);

// models/pretrained as found from the current folder, the experiment's folder and their
// parents, then the source tree bitsim was built from; nullopt when none exists.
std::optional<std::filesystem::path> find_pretrained(const std::filesystem::path& near);

}  // namespace bitsim::experiments
