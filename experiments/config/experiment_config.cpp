#include "experiments/config/experiment_config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "experiments/config/layer_selection.hpp"
#include "models/transformer/numerics.hpp"
#include "sim/device.hpp"
#include "sim/gemm/accum_spec.hpp"
#include "sim/quant/quant_spec.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::experiments {
namespace {

const std::vector<std::string> kQuantRoles = {"weights", "activations", "kv_cache", "attn_scores", "attn_probs", "logits"};
// Model-only role axes (models/README.md): Q/K/V projection outputs, Q entering QK, the MLP
// hidden state, the residual stream, and the norms' statistics (unscaled element formats).
const std::vector<std::string> kExtraRoles = {"qkv", "attn_q", "hidden", "residual", "norm_stats"};

std::string join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

// Reads YAML nodes, turning every problem into a ConfigError that names FILE:LINE:COL.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  // line and column 0-based; negative: no position known.
  [[noreturn]] void fail_at(int line, int column, const std::string& message) const {
    std::string where = file_;
    if (line >= 0) where += ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1);
    throw ConfigError(where + ": " + message);
  }
  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const { fail_at(mark.line, mark.column, message); }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const { fail(node.Mark(), message); }
  [[noreturn]] void fail(const SourceMark& mark, const std::string& message) const {
    fail_at(mark.line - 1, mark.column - 1, message);
  }

  SourceMark mark(const YAML::Node& node) const { return {node.Mark().line + 1, node.Mark().column + 1}; }

  // A mapping whose keys must all be in `allowed` (each at most once).
  void check_map(const YAML::Node& node, const std::string& what, const std::vector<std::string>& allowed) const {
    if (!node.IsMap()) fail(node, what + " must be a mapping of keys (" + join(allowed) + ")");
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const auto key = scalar(entry.first, "a key of " + what);
      if (!contains(allowed, key)) fail(entry.first, "unknown key '" + key + "' in " + what + "; valid keys: " + join(allowed));
      if (!seen.insert(key).second) fail(entry.first, "key '" + key + "' appears twice in " + what);
    }
  }

  std::string scalar(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar()) fail(node, what + " must be a single value (text or number), not a " + kind(node));
    return node.Scalar();
  }
  std::int64_t integer(const YAML::Node& node, const std::string& what, std::int64_t min) const {
    const auto text = scalar(node, what);
    std::int64_t value = 0;
    std::size_t used = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty()) fail(node, what + " must be an integer, not '" + text + "'");
    if (value < min) fail(node, what + " must be at least " + std::to_string(min) + ", not " + text);
    return value;
  }
  double real(const YAML::Node& node, const std::string& what) const {
    const auto text = scalar(node, what);
    double value = 0;
    std::size_t used = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty() || !std::isfinite(value)) fail(node, what + " must be a finite number, not '" + text + "'");
    return value;
  }
  bool boolean(const YAML::Node& node, const std::string& what) const {
    const auto text = scalar(node, what);
    if (text == "true") return true;
    if (text == "false") return false;
    fail(node, what + " must be true or false, not '" + text + "'");
  }
  // A single value or a list of values (each a scalar).
  std::vector<std::pair<std::string, YAML::Node>> values(const YAML::Node& node, const std::string& what) const {
    std::vector<std::pair<std::string, YAML::Node>> out;
    if (node.IsSequence()) {
      if (node.size() == 0) fail(node, what + " is an empty list");
      for (const auto& item : node) out.emplace_back(scalar(item, "each value of " + what), item);
    } else {
      out.emplace_back(scalar(node, what), node);
    }
    return out;
  }

  static std::string number(double v) {
    std::ostringstream ss;
    ss << v;
    return ss.str();
  }
  static std::string kind(const YAML::Node& node) {
    if (node.IsMap()) return "mapping";
    if (node.IsSequence()) return "list";
    if (node.IsNull()) return "null (empty value)";
    return "value";
  }

 private:
  std::string file_;
};

std::string distribution_name(Distribution d) {
  switch (d) {
    case Distribution::gaussian: return "gaussian";
    case Distribution::laplace: return "laplace";
    case Distribution::student_t: return "student_t";
    case Distribution::with_outliers: return "with_outliers";
  }
  return "?";
}

std::optional<Distribution> parse_distribution(const std::string& name) {
  for (auto d : {Distribution::gaussian, Distribution::laplace, Distribution::student_t, Distribution::with_outliers})
    if (distribution_name(d) == name) return d;
  return std::nullopt;
}

const std::string kDistributions = "gaussian, laplace, student_t, with_outliers";
const std::string kModelChoices = "smollm2, minilm, a Llama .gguf file, a GPT-2 or BERT safetensors checkpoint (file or folder), "
                                  "or a synthetic source (" + kDistributions + ")";

void read_synthetic(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  c.source = SourceKind::synthetic;
  auto& s = c.synthetic;
  if (node.IsScalar()) {  // `model: gaussian` shorthand: every other key at its default
    s.distribution = *parse_distribution(node.Scalar());
    return;
  }
  r.check_map(node, "model", {"synthetic", "shape", "seed", "scale", "nu", "base", "outlier_fraction", "outlier_scale", "gemm_n"});
  const auto name = r.scalar(node["synthetic"], "model.synthetic");
  const auto d = parse_distribution(name);
  if (!d) r.fail(node["synthetic"], "unknown distribution '" + name + "'; valid: " + kDistributions);
  s.distribution = *d;
  if (node["shape"]) {
    const auto shape = node["shape"];
    if (!shape.IsSequence() || shape.size() != 2) r.fail(shape, "model.shape must be a list [rows, cols]");
    s.shape = {r.integer(shape[0], "model.shape rows", 1), r.integer(shape[1], "model.shape cols", 1)};
    if (s.shape[0] * s.shape[1] > (std::int64_t(1) << 28))
      r.fail(shape, "model.shape holds more than 2^28 elements; use a smaller tensor");
  }
  if (node["seed"]) s.seed = std::uint64_t(r.integer(node["seed"], "model.seed", 0));
  if (node["scale"]) {
    s.scale = r.real(node["scale"], "model.scale");
    if (s.scale <= 0) r.fail(node["scale"], "model.scale must be positive");
  }
  if (node["nu"]) {
    if (s.distribution != Distribution::student_t && !(s.distribution == Distribution::with_outliers))
      r.fail(node["nu"], "model.nu applies to student_t (and with_outliers with base student_t) only");
    s.nu = r.real(node["nu"], "model.nu");
    if (s.nu <= 0) r.fail(node["nu"], "model.nu (degrees of freedom) must be positive");
  }
  const bool outliers = s.distribution == Distribution::with_outliers;
  for (const char* key : {"base", "outlier_fraction", "outlier_scale"})
    if (node[key] && !outliers) r.fail(node[key], std::string("model.") + key + " applies to synthetic: with_outliers only");
  if (node["base"]) {
    const auto base_name = r.scalar(node["base"], "model.base");
    const auto base = parse_distribution(base_name);
    if (!base || *base == Distribution::with_outliers)
      r.fail(node["base"], "unknown base distribution '" + base_name + "'; valid: gaussian, laplace, student_t");
    s.base = *base;
  }
  if (node["outlier_fraction"]) {
    s.outlier_fraction = r.real(node["outlier_fraction"], "model.outlier_fraction");
    if (s.outlier_fraction < 0 || s.outlier_fraction > 1) r.fail(node["outlier_fraction"], "model.outlier_fraction must lie in [0, 1]");
  }
  if (node["outlier_scale"]) {
    s.outlier_scale = r.real(node["outlier_scale"], "model.outlier_scale");
    if (s.outlier_scale <= 0) r.fail(node["outlier_scale"], "model.outlier_scale must be positive");
  }
  if (node["gemm_n"]) s.gemm_n = r.integer(node["gemm_n"], "model.gemm_n", 0);
}

void read_model(const Reader& r, const YAML::Node& node, ExperimentConfig& c, const std::filesystem::path& base) {
  if (!node) r.fail(YAML::Mark(), "missing key 'model' (" + kModelChoices + ") or 'workload' (one of: " + workload_names() + ")");
  if (node.IsMap()) {
    if (!node["synthetic"]) r.fail(node, "a model mapping describes a synthetic tensor and needs the key 'synthetic' (" + kDistributions + "); write a pretrained model as `model: smollm2`, `model: minilm` or `model: path/to/checkpoint`");
    read_synthetic(r, node, c);
    return;
  }
  const auto name = r.scalar(node, "model");
  if (parse_distribution(name)) {
    read_synthetic(r, node, c);
    return;
  }
  c.source = SourceKind::model;
  auto& m = c.model;
  m.name = name;
  const auto pretrained = [&] { return find_pretrained(base).value_or("models/pretrained"); };
  const auto resolved = [&] { return std::filesystem::path(name).is_absolute() ? std::filesystem::path(name) : base / name; };
  std::error_code ec;
  if (name == "smollm2") {
    m.path = pretrained() / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf";
    m.architecture = models::Architecture::llama;
  } else if (name == "minilm") {
    m.path = pretrained() / "all-minilm-l6-v2";
    m.architecture = models::Architecture::bert;
  } else if (name.ends_with(".gguf")) {
    m.path = resolved();
    m.architecture = models::Architecture::llama;
  } else if (std::filesystem::exists(resolved(), ec)) {
    m.path = resolved();
  } else {
    r.fail(node, "unknown model '" + name + "' (no such file or folder); valid: " + kModelChoices);
  }
  if (!std::filesystem::exists(m.path, ec)) return;  // a bundled model not installed yet: checked when run
  try {
    m.dims = models::read_model_dims(m.path.string());
  } catch (const std::exception& e) {
    r.fail(node, "model '" + name + "': " + e.what());
  }
  m.architecture = m.dims->architecture;
}


// `workload:` — a mapping with `kind` (a name from workloads()) and the workload's own
// parameters, each checked for its kind; absent ones take their defaults.
void read_workload(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  c.source = SourceKind::workload;
  auto& w = c.workload;
  w.mark = r.mark(node);
  if (!node.IsMap() || !node["kind"]) r.fail(node, "workload must be a mapping with the key 'kind' (one of: " + workload_names() + ")");
  const auto name = r.scalar(node["kind"], "workload.kind");
  w.workload = find_workload(name);
  if (!w.workload) r.fail(node["kind"], "unknown workload '" + name + "'; valid: " + workload_names());
  std::vector<std::string> keys = {"kind"};
  for (const auto& p : w.workload->params) keys.push_back(p.name);
  r.check_map(node, "workload '" + name + "'", keys);
  std::map<std::string, std::string> values;
  for (const auto& p : w.workload->params) {
    const auto what = "workload." + p.name;
    const auto item = node[p.name];
    if (!item) {
      if (p.default_value.empty()) r.fail(node, "workload '" + name + "' needs the key '" + p.name + "' (" + p.help + ")");
      values[p.name] = p.default_value;
      continue;
    }
    std::string text = r.scalar(item, what);
    switch (p.kind) {
      case WorkloadParam::Kind::integer: {
        const auto v = r.integer(item, what, std::int64_t(std::max(p.min, -9.2e18)));
        text = std::to_string(v);
        break;
      }
      case WorkloadParam::Kind::real: {
        const auto v = r.real(item, what);
        if (v < p.min) r.fail(item, what + " must be at least " + Reader::number(p.min) + ", not " + text);
        break;
      }
      case WorkloadParam::Kind::boolean: text = r.boolean(item, what) ? "true" : "false"; break;
      case WorkloadParam::Kind::text: break;
    }
    values[p.name] = text;
  }
  w.params = WorkloadParams(std::move(values));
  if (w.workload->check_params) {
    try {
      w.workload->check_params(w.params);
    } catch (const std::exception& e) {
      r.fail(node, "workload '" + name + "': " + e.what());
    }
  }
}

void read_data(const Reader& r, const YAML::Node& node, ExperimentConfig& c, const std::filesystem::path& base) {
  if (c.source == SourceKind::workload) {
    if (node) r.fail(node, "'data' applies to model sources only; a workload takes its settings in the workload mapping");
    return;
  }
  if (c.source == SourceKind::synthetic) {
    if (node) r.fail(node, "'data' applies to model sources only; a synthetic tensor is sized by model.shape");
    return;
  }
  auto& m = c.model;
  m.text_name = "austen";
  if (node) {
    r.check_map(node, "data", {"text", "tokens", "sentences", "per_layer", "generate"});
    const std::string kind = std::string(models::architecture_name(m.architecture)) + (m.decoder() ? " decoder" : " encoder");
    if (node["text"]) m.text_name = r.scalar(node["text"], "data.text");
    if (node["tokens"]) {
      if (!m.decoder()) r.fail(node["tokens"], "data.tokens applies to decoders; '" + m.name + "' is a " + kind + ": use data.sentences (the text's first N paragraphs)");
      m.tokens = r.integer(node["tokens"], "data.tokens", 2);
      if (m.dims && m.dims->context > 0 && m.tokens > m.dims->context)
        r.fail(node["tokens"], "data.tokens = " + std::to_string(m.tokens) + " exceeds the model's " + std::to_string(m.dims->context) + " positions");
    }
    if (node["sentences"]) {
      if (m.decoder()) r.fail(node["sentences"], "data.sentences applies to encoders; '" + m.name + "' is a " + kind + ": use data.tokens");
      m.sentences = r.integer(node["sentences"], "data.sentences", 1);
    }
    if (node["per_layer"]) m.per_layer = r.boolean(node["per_layer"], "data.per_layer");
    if (node["generate"]) {
      if (!m.decoder()) r.fail(node["generate"], "data.generate applies to decoders (greedy decoding); '" + m.name + "' is a " + kind);
      m.generate = r.integer(node["generate"], "data.generate", 1);
      // The prompt fills `tokens` positions and every generated token but the last is fed back.
      const auto positions = m.tokens + m.generate - 1;
      if (m.dims && m.dims->context > 0 && positions > m.dims->context)
        r.fail(node["generate"], "data.tokens + data.generate - 1 = " + std::to_string(positions) + " positions exceed the model's " +
                                     std::to_string(m.dims->context) + " (the prompt plus every generated token but the last)");
    }
  }
  if (m.text_name == "austen") {
    const auto pretrained = find_pretrained(base);
    m.text = pretrained.value_or("models/pretrained") / "texts" / "janeausten" / "prideprejudice.txt";
  } else {
    m.text = std::filesystem::path(m.text_name).is_absolute() ? std::filesystem::path(m.text_name) : base / m.text_name;
  }
}

// Checks a quantization spec applies to the synthetic tensor (or the GEMM's other
// operand): axes in range, Hadamard blocks dividing the row, and so on — by quantizing a
// small zero tensor with the same number of columns.
void dry_run(const Reader& r, const YAML::Node& node, const sim::QuantSpec& spec, std::int64_t cols) {
  try {
    (void)sim::fake_quantize(sim::TensorF({2, cols}), spec);
  } catch (const std::exception& e) {
    r.fail(node, "'" + node.Scalar() + "' cannot quantize a [rows, " + std::to_string(cols) + "] tensor: " + e.what());
  }
}

void read_sweep(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  if (!node) r.fail(YAML::Mark(), "missing key 'sweep' (the axes of the grid; valid axes: " + join(axis_names(c)) + ")");
  const auto valid = axis_names(c);
  r.check_map(node, "sweep", valid);
  for (const auto& entry : node) {
    Axis axis;
    axis.name = entry.first.Scalar();
    axis.mark = r.mark(entry.first);
    const auto what = "sweep." + axis.name;
    for (const auto& [text, item] : r.values(entry.second, what)) {
      std::string value = text;
      if (axis.name == "seed") {
        value = std::to_string(r.integer(item, "each value of " + what, 0));
      } else if (c.source == SourceKind::workload) {
        const auto& axes = c.workload.workload->axes;
        const auto it = std::find_if(axes.begin(), axes.end(), [&](const WorkloadAxis& a) { return a.name == axis.name; });
        try {
          if (it->check) it->check(text);
        } catch (const std::exception& e) {
          r.fail(item, what + ": " + e.what());
        }
      } else if (contains(kQuantRoles, axis.name) || contains(kExtraRoles, axis.name)) {
        sim::QuantSpec spec;
        try {
          spec = sim::parse_quant_spec(text);
        } catch (const std::exception& e) {
          r.fail(item, what + ": " + e.what());
        }
        if (axis.name == "norm_stats" && (spec.is_block || spec.is_scaled() || spec.transform != sim::TransformSpec{}))
          r.fail(item, what + ": norm statistics take an unscaled element format (e.g. bf16, fp16:rz, e4m3fn:sr, fp64), "
                             "not '" + text + "'");
        if (c.source == SourceKind::synthetic && !spec.is_identity())
          dry_run(r, item, spec, c.synthetic.shape[1]);
      } else if (axis.name == "accum") {
        if (text != "default") {
          try {
            sim::AccumSpec::parse(text).validate();
          } catch (const std::exception& e) {
            r.fail(item, what + ": " + e.what() + " (or 'default': sequential fp32)");
          }
        }
      } else if (axis.name == "layers") {
        try {
          (void)parse_layer_selection(text);
        } catch (const std::exception& e) {
          r.fail(item, what + ": " + e.what());
        }
      }
      axis.values.push_back(value);
      axis.marks.push_back(r.mark(item));
    }
    c.axes.push_back(std::move(axis));
  }
  if (c.source == SourceKind::synthetic && c.synthetic.gemm_n == 0)
    for (const char* role : {"activations", "accum"})
      if (node[role]) r.fail(node[role], std::string("sweep.") + role + " needs a GEMM: set model.gemm_n > 0 (rows of the activation operand A in Y = A X^T)");
}

// Model sources whose file is present: the specs must fit the model's dimensions (Hadamard
// blocks dividing the rows, channel axes in range) and `layers` must name existing blocks.
// Only headers and config are read (models::read_model_dims, no weights), so this stays quick.
void check_against_model(const Reader& r, const ExperimentConfig& c) {
  if (c.source != SourceKind::model || !c.model.dims) return;
  const auto& dims = *c.model.dims;
  const std::int64_t d_model = dims.d_model, d_ff = dims.d_ff, blocks = dims.layers, kv_heads = dims.kv_heads;
  const std::int64_t head_dim = dims.head_dim();
  for (const auto& axis : c.axes) {
    std::vector<sim::Shape> shapes;  // the tensors the role quantizes, up to their row count
    if (axis.name == "weights" || axis.name == "activations") shapes = {{2, d_model}, {2, d_ff}};
    else if (axis.name == "kv_cache") shapes = {{kv_heads, 2, head_dim}};
    for (std::size_t v = 0; v < axis.values.size(); ++v) {
      if (axis.name == "layers") {
        const auto selection = parse_layer_selection(axis.values[v]);
        if (selection.max_block() >= blocks)
          r.fail(axis.marks[v], "layers '" + axis.values[v] + "' names block " + std::to_string(selection.max_block()) +
                                    ", but " + c.model.name + " has blocks 0-" + std::to_string(blocks - 1));
        continue;
      }
      if (shapes.empty()) continue;
      const auto spec = sim::parse_quant_spec(axis.values[v]);
      if (spec.is_identity()) continue;
      for (const auto& shape : shapes) {
        try {
          (void)sim::fake_quantize(sim::TensorF(shape), spec);
        } catch (const std::exception& e) {
          r.fail(axis.marks[v], "'" + axis.values[v] + "' cannot quantize " + c.model.name + "'s " + axis.name + " (shape " +
                                    sim::shape_string(shape) + " up to the row count): " + e.what());
        }
      }
    }
  }
}

void read_zip(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  if (!node) return;
  if (!node.IsSequence()) r.fail(node, "zip must be a list of groups, each a list of axis names ([[weights, activations]])");
  std::set<std::string> used;
  for (const auto& group : node) {
    if (!group.IsSequence() || group.size() < 2) r.fail(group, "each zip group must be a list of at least two axis names");
    std::vector<std::string> names;
    std::size_t length = 0;
    for (const auto& item : group) {
      const auto name = r.scalar(item, "a zip axis");
      const Axis* axis = c.axis(name);
      if (!axis) r.fail(item, "zip names '" + name + "', which is not a sweep axis of this file");
      if (!used.insert(name).second) r.fail(item, "axis '" + name + "' is in more than one zip group (or twice in one)");
      if (names.empty()) length = axis->values.size();
      else if (axis->values.size() != length)
        r.fail(item, "zip group axes must have equal lengths: '" + names[0] + "' has " + std::to_string(length) + " values, '" + name + "' has " + std::to_string(axis->values.size()));
      names.push_back(name);
    }
    c.zip.push_back(std::move(names));
  }
}

// Two equal values of an axis (or equal tuples of a zip group) would be two points with
// one description.
void check_duplicates(const Reader& r, const ExperimentConfig& c) {
  for (const auto& axis : c.axes) {
    const auto group = std::find_if(c.zip.begin(), c.zip.end(), [&](const auto& g) { return contains(g, axis.name); });
    if (group != c.zip.end() && group->front() != axis.name) continue;
    std::vector<const Axis*> members = {&axis};
    if (group != c.zip.end())
      for (std::size_t m = 1; m < group->size(); ++m) members.push_back(c.axis((*group)[m]));
    std::set<std::vector<std::string>> seen;
    for (std::size_t i = 0; i < axis.values.size(); ++i) {
      std::vector<std::string> tuple;
      for (const Axis* a : members) tuple.push_back(a->values[i]);
      if (!seen.insert(tuple).second)
        r.fail(axis.marks[i], group == c.zip.end() ? "sweep." + axis.name + ": the value '" + axis.values[i] + "' appears twice"
                                                   : "zip group of '" + axis.name + "': entry " + std::to_string(i + 1) + " repeats an earlier combination");
    }
  }
}

std::vector<FilterEntry> read_filters(const Reader& r, const YAML::Node& node, const std::string& key, const ExperimentConfig& c) {
  std::vector<FilterEntry> out;
  if (!node) return out;
  if (!node.IsSequence()) r.fail(node, key + " must be a list of conditions, each a mapping axis: value (or axis: [values])");
  for (const auto& entry : node) {
    if (!entry.IsMap() || entry.size() == 0) r.fail(entry, "each " + key + " entry must be a mapping axis: value (or axis: [values])");
    FilterEntry filter;
    filter.mark = r.mark(entry);
    for (const auto& cond : entry) {
      const auto name = r.scalar(cond.first, "an axis name in " + key);
      const Axis* axis = c.axis(name);
      if (!axis) r.fail(cond.first, key + " names '" + name + "', which is not a sweep axis of this file");
      std::vector<std::string> accepted;
      for (const auto& [text, item] : r.values(cond.second, key + "." + name)) {
        const auto value = name == "seed" ? std::to_string(r.integer(item, key + ".seed", 0)) : text;
        if (!contains(axis->values, value))
          r.fail(item, key + ": '" + text + "' is not a value of sweep." + name + " (values: " + join(axis->values) + ")");
        accepted.push_back(value);
      }
      filter.conditions.emplace_back(name, std::move(accepted));
    }
    out.push_back(std::move(filter));
  }
  return out;
}

const std::vector<std::string> kDecoderMetrics = {"ppl", "ref_ppl", "delta_ppl", "kl_mean", "kl_p99", "kl_max", "top1",
                                                  "logits_sqnr_db", "nonfinite_rows"};
// Greedy decoding (data.generate > 0) against the FP32 reference's tokens.
const std::vector<std::string> kGenerateMetrics = {"divergence_index", "agreement", "top1_prob_delta"};
const std::vector<std::string> kEncoderMetrics = {"cosine_mean", "cosine_min", "retrieval_top1", "retrieval_mrr"};
const std::vector<std::string> kTensorMetrics = {"mse", "rmse", "bias", "max_abs", "max_rel", "sqnr_db", "cosine", "nonfinite"};
const std::vector<std::string> kGemmMetrics = {"gemm_mse", "gemm_max_abs", "gemm_sqnr_db", "gemm_cosine", "accum_sqnr_db", "accum_max_abs"};

// What a source is, for messages: "a synthetic tensor", "a gpt2 decoder (path)".
std::string source_kind(const ExperimentConfig& c) {
  if (c.source == SourceKind::workload) return "the workload '" + c.workload.workload->name + "'";
  if (c.source == SourceKind::synthetic) return c.synthetic.gemm_n > 0 ? "a synthetic tensor with a GEMM" : "a synthetic tensor without a GEMM (model.gemm_n = 0)";
  return std::string("a ") + models::architecture_name(c.model.architecture) + (c.model.decoder() ? " decoder" : " encoder") + " ('" + c.model.name + "')";
}

// Which kind of source records a metric this source does not ("" for an unknown name).
std::string other_kind_of_metric(const std::string& name) {
  if (contains(kDecoderMetrics, name)) return "decoders (next-token metrics)";
  if (contains(kGenerateMetrics, name)) return "decoders with data.generate > 0 (greedy decoding)";
  if (contains(kEncoderMetrics, name)) return "encoders (sentence-embedding metrics)";
  if (contains(kTensorMetrics, name)) return "synthetic tensors";
  if (contains(kGemmMetrics, name)) return "synthetic tensors with a GEMM (model.gemm_n > 0)";
  return "";
}

void read_metrics(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  const auto valid = metric_names(c);
  if (!node) {
    c.metrics = valid;
    return;
  }
  for (const auto& [name, item] : r.values(node, "metrics")) {
    if (!contains(valid, name)) {
      const auto other = other_kind_of_metric(name);
      r.fail(item, (other.empty() ? "unknown metric '" + name + "'" : "metric '" + name + "' applies to " + other + ", not to " + source_kind(c)) +
                       "; valid here: " + join(valid));
    }
    if (contains(c.metrics, name)) r.fail(item, "metric '" + name + "' is listed twice");
    c.metrics.push_back(name);
  }
}

// `dump: {tensors: [pattern, ...], points: all | [index, ...], values: true, codes: true}`
void read_dump(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  if (!node) return;
  r.check_map(node, "dump", {"tensors", "points", "values", "codes"});
  if (c.source == SourceKind::workload) r.fail(node, "dump applies to model and synthetic sources, not to workloads");
  DumpRequest& d = c.dump;
  d.mark = r.mark(node);
  if (!node["tensors"]) r.fail(node, "dump needs 'tensors': glob patterns over tensor names (synthetic: weights, "
                                     "activations; models: weight.blk.<i>.<linear>, weight.output, and activation "
                                     "roles such as act.blk.<i>.<linear>, qkv.blk.<i>.q, residual.blk.<i>)");
  for (const auto& [pattern, item] : r.values(node["tensors"], "dump.tensors")) {
    if (pattern.empty()) r.fail(item, "dump.tensors: an empty pattern");
    if (c.source == SourceKind::synthetic) {
      const auto names = synthetic_dump_names(c);
      if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return models::glob_match(pattern, n); }))
        r.fail(item, "dump.tensors: '" + pattern + "' matches no tensor of this source; valid: " + join(names));
    }
    d.tensors.push_back(pattern);
  }
  if (const auto points = node["points"]) {
    if (!(points.IsScalar() && points.Scalar() == "all")) {
      if (!points.IsSequence()) r.fail(points, "dump.points must be 'all' or a list of grid indices");
      for (const auto& item : points) {
        const auto index = std::uint64_t(r.integer(item, "each index of dump.points", 0));
        if (std::find(d.points.begin(), d.points.end(), index) != d.points.end())
          r.fail(item, "dump.points lists " + std::to_string(index) + " twice");
        d.points.push_back(index);
      }
      if (d.points.empty()) r.fail(points, "dump.points is an empty list (write 'all', or leave the key out)");
    }
  }
  if (node["values"]) d.values = r.boolean(node["values"], "dump.values");
  if (node["codes"]) d.codes = r.boolean(node["codes"], "dump.codes");
  if (!d.values && !d.codes) r.fail(node, "dump: values and codes are both false; nothing would be dumped");
}

// `reference: fp32 | fp64` (model sources): the numerics of the reference run.
void read_reference(const Reader& r, const YAML::Node& node, ExperimentConfig& c) {
  if (!node) return;
  const auto name = r.scalar(node, "reference");
  if (c.source != SourceKind::model) r.fail(node, "reference applies to model sources (the synthetic reference is float64 already)");
  try {
    (void)models::Numerics::reference(name);
  } catch (const std::invalid_argument& e) {
    r.fail(node, e.what());
  }
  c.reference = name;
}

ExperimentConfig parse(const std::string& text, const std::filesystem::path& file) {
  const Reader r(file.string());
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    r.fail(e.mark, "YAML syntax: " + e.msg);
  }
  if (!root.IsMap()) r.fail(root, "an experiment file is a mapping of keys (name, model, sweep, ...), not a " + Reader::kind(root));
  r.check_map(root, "the experiment", {"name", "description", "model", "data", "sweep", "zip", "include", "exclude",
                                       "metrics", "output", "device", "threads", "checkpoint", "workload",
                                       "dump", "reference"});
  ExperimentConfig c;
  c.file = file;
  c.text = text;
  const auto base = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  if (!root["name"]) r.fail(YAML::Mark(), "missing key 'name' (the study's name, used for the default output file)");
  c.name = r.scalar(root["name"], "name");
  if (c.name.empty() || c.name.find_first_of("/\\ \t") != std::string::npos)
    r.fail(root["name"], "name must be a non-empty word without spaces or slashes (it names the output file)");
  if (root["description"]) (void)r.scalar(root["description"], "description");
  if (root["workload"]) {
    if (root["model"]) r.fail(root["model"], "an experiment has either 'model' or 'workload', not both");
    read_workload(r, root["workload"], c);
  } else {
    read_model(r, root["model"], c, base);
  }
  read_data(r, root["data"], c, base);
  read_sweep(r, root["sweep"], c);
  read_zip(r, root["zip"], c);
  check_duplicates(r, c);
  check_against_model(r, c);
  c.include = read_filters(r, root["include"], "include", c);
  c.exclude = read_filters(r, root["exclude"], "exclude", c);
  read_metrics(r, root["metrics"], c);
  c.output = root["output"] ? r.scalar(root["output"], "output") : c.name + ".h5";
  if (root["device"]) {
    c.device = r.scalar(root["device"], "device");
    c.device_mark = r.mark(root["device"]);
    try {
      (void)sim::parse_device(c.device);  // whether it can run here is checked by check_run_device
    } catch (const std::invalid_argument& e) {
      r.fail(root["device"], e.what());
    }
  }
  if (root["threads"]) c.threads = int(r.integer(root["threads"], "threads", 0));
  if (const auto cp = root["checkpoint"]) {
    r.check_map(cp, "checkpoint", {"points", "seconds"});
    if (cp["points"]) c.checkpoint_points = r.integer(cp["points"], "checkpoint.points", 1);
    if (cp["seconds"]) {
      c.checkpoint_seconds = r.real(cp["seconds"], "checkpoint.seconds");
      if (c.checkpoint_seconds <= 0) r.fail(cp["seconds"], "checkpoint.seconds must be positive");
    }
  }
  read_dump(r, root["dump"], c);
  read_reference(r, root["reference"], c);
  return c;
}

}  // namespace

bool DumpRequest::wants(std::uint64_t index) const {
  return enabled() && (points.empty() || std::find(points.begin(), points.end(), index) != points.end());
}

std::vector<std::string> synthetic_dump_names(const ExperimentConfig& config) {
  std::vector<std::string> names = {"weights"};
  if (config.synthetic.gemm_n > 0) names.push_back("activations");
  return names;
}

const Axis* ExperimentConfig::axis(const std::string& axis_name) const {
  for (const auto& a : axes)
    if (a.name == axis_name) return &a;
  return nullptr;
}

std::string source_name(const ExperimentConfig& config) {
  switch (config.source) {
    case SourceKind::model: return "model";
    case SourceKind::synthetic: return "synthetic";
    case SourceKind::workload: return "workload " + config.workload.workload->name;
  }
  return "?";
}

std::vector<std::string> axis_names(const ExperimentConfig& config) {
  if (config.source == SourceKind::workload) {
    std::vector<std::string> out;
    for (const auto& a : config.workload.workload->axes) out.push_back(a.name);
    out.emplace_back("seed");
    return out;
  }
  if (config.source == SourceKind::synthetic) return {"weights", "activations", "accum", "seed"};
  std::vector<std::string> out = {"weights", "activations", "kv_cache", "attn_scores", "attn_probs"};
  if (config.model.decoder()) out.emplace_back("logits");
  out.insert(out.end(), {"accum", "layers"});
  out.insert(out.end(), kExtraRoles.begin(), kExtraRoles.end());
  out.emplace_back("seed");
  return out;
}

std::vector<std::string> metric_names(const ExperimentConfig& config) {
  if (config.source == SourceKind::workload) {
    std::vector<std::string> out;
    for (const auto& m : config.workload.workload->metrics) out.push_back(m.name);
    return out;
  }
  if (config.source == SourceKind::model) {
    if (!config.model.decoder()) return kEncoderMetrics;
    auto out = kDecoderMetrics;
    if (config.model.generate > 0) out.insert(out.end(), kGenerateMetrics.begin(), kGenerateMetrics.end());
    return out;
  }
  auto out = kTensorMetrics;
  if (config.synthetic.gemm_n > 0) out.insert(out.end(), kGemmMetrics.begin(), kGemmMetrics.end());
  return out;
}

ExperimentConfig parse_experiment(const std::string& text, const std::filesystem::path& file) { return parse(text, file); }

ExperimentConfig load_experiment(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot read the experiment file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file);
}

std::optional<std::filesystem::path> find_pretrained(const std::filesystem::path& near) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::path start : {fs::current_path(ec), fs::absolute(near, ec)}) {
    for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
      if (fs::is_directory(dir / "models" / "pretrained", ec)) return dir / "models" / "pretrained";
      if (dir == dir.parent_path()) break;
    }
  }
#ifdef BITSIM_SOURCE_DIR
  const fs::path built_from = fs::path(BITSIM_SOURCE_DIR) / "models" / "pretrained";
  if (fs::is_directory(built_from, ec)) return built_from;
#endif
  return std::nullopt;
}

}  // namespace bitsim::experiments
