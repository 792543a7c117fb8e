#include "experiments/runner/evaluator.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "experiments/config/layer_selection.hpp"
#include "experiments/runner/synthetic_tensor.hpp"
#include "formats/block/block_format.hpp"
#include "formats/format.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/tokenizers/byte_bpe.hpp"
#include "models/transformer/llama.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/metrics/metrics.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::experiments {
namespace {

bool is_count(const std::string& metric) { return metric == "nonfinite" || metric == "nonfinite_rows"; }

// Picks the config's metrics, in its order, from a table of everything computed.
std::vector<Cell> select(const ExperimentConfig& config, const std::vector<std::pair<std::string, double>>& all) {
  std::vector<Cell> cells;
  for (const auto& name : config.metrics) {
    const auto it = std::find_if(all.begin(), all.end(), [&](const auto& m) { return m.first == name; });
    if (it == all.end()) throw std::logic_error("metric '" + name + "' was not computed");
    if (is_count(name)) cells.emplace_back(std::int64_t(it->second));
    else cells.emplace_back(it->second);
  }
  return cells;
}

// Synthetic tensor X: the weights spec quantizes X; with gemm_n > 0 also
// Y = Q_act(A) Q_w(X)^T under the point's AccumSpec, against float64-accumulated products
// (of the original operands: gemm_*; of the quantized operands: accum_*, the accumulation
// error alone).
class SyntheticEvaluator final : public Evaluator {
 public:
  explicit SyntheticEvaluator(const ExperimentConfig& config)
      : config_(config), x_(synthetic_tensor(config.synthetic, 0)) {
    if (config.synthetic.gemm_n > 0) {
      a_ = synthetic_tensor(config.synthetic, 1);
      exact_ = sim::gemm_double(a_, x_, float64_accumulation(), transposed());
    }
  }
  bool parallel_points() const override { return true; }

  std::vector<Cell> metrics(const GridPoint& point) const override {
    const auto xq = sim::fake_quantize(x_, point_quant_spec(point, "weights"), 0);
    const auto t = sim::compare(x_, xq);
    std::vector<std::pair<std::string, double>> all = {
        {"mse", t.mse}, {"rmse", t.rmse}, {"bias", t.bias}, {"max_abs", t.max_abs}, {"max_rel", t.max_rel},
        {"sqnr_db", t.sqnr_db}, {"cosine", t.cosine}, {"nonfinite", double(t.nonfinite_test)}};
    if (config_.synthetic.gemm_n > 0) {
      const auto aq = sim::fake_quantize(a_, point_quant_spec(point, "activations"), 1);
      const auto y = sim::gemm_double(aq, xq, point_accum_spec(point), transposed());
      const auto g = sim::compare(exact_, y);
      const auto accumulation_only = sim::compare(sim::gemm_double(aq, xq, float64_accumulation(), transposed()), y);
      all.insert(all.end(), {{"gemm_mse", g.mse}, {"gemm_max_abs", g.max_abs}, {"gemm_sqnr_db", g.sqnr_db},
                             {"gemm_cosine", g.cosine}, {"accum_sqnr_db", accumulation_only.sqnr_db},
                             {"accum_max_abs", accumulation_only.max_abs}});
    }
    return select(config_, all);
  }

 private:
  static sim::GemmArgs transposed() {
    sim::GemmArgs args;
    args.transpose_b = true;  // X is [rows, cols]: Y = A X^T
    return args;
  }
  // Products of float32 values are exact in float64; only the float64 additions round.
  static sim::AccumSpec float64_accumulation() { return sim::AccumSpec::parse("acc=fp64,wide=fp64"); }

  const ExperimentConfig& config_;
  sim::TensorF x_, a_;
  sim::TensorD exact_;
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read the evaluation text '" + path.string() + "' (the bundled text comes with scripts/fetch-models.sh)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The rules of a point's numerics: each role axis becomes one rule per pattern of the
// point's layer selection (logits have no layer).
models::Numerics point_numerics(const GridPoint& point, int layers) {
  const auto selection = parse_layer_selection(point.value("layers", "all"));
  if (selection.max_block() >= layers)
    throw std::invalid_argument("layers '" + point.value("layers", "all") + "' names block " + std::to_string(selection.max_block()) +
                                " but the model has blocks 0-" + std::to_string(layers - 1));
  struct Role {
    const char* axis;
    const char* prefix;
    const char* suffix;
  };
  static constexpr Role roles[] = {{"weights", "weight", ".*"}, {"activations", "act", ".*"}, {"kv_cache", "kv", ".*"},
                                   {"attn_scores", "attn", ".scores"}, {"attn_probs", "attn", ".probs"}};
  models::Numerics n;
  for (const auto& role : roles) {
    const auto spec = point_quant_spec(point, role.axis);
    if (spec.is_identity()) continue;
    for (const auto& pattern : selection.patterns(role.prefix, role.suffix)) n.quant.emplace_back(pattern, spec);
  }
  if (const auto logits = point_quant_spec(point, "logits"); !logits.is_identity()) n.quant.emplace_back("logits", logits);
  if (point.value("accum", "default") != "default")
    for (const auto& pattern : selection.patterns("matmul", ".*")) n.accum.emplace_back(pattern, point_accum_spec(point));
  return n;
}

// A Llama GGUF on the first `tokens` tokens of a text; the FP32 logits are computed once.
class ModelEvaluator final : public Evaluator {
 public:
  explicit ModelEvaluator(const ExperimentConfig& config) : config_(config) {
    const auto& m = config.model;
    if (!std::filesystem::exists(m.gguf))
      throw std::invalid_argument("model file '" + m.gguf.string() + "' not found" +
                                  (m.name == "smollm2" ? " (install the bundled model with scripts/fetch-models.sh)" : ""));
    try {
      const auto file = models::GgufFile::open(m.gguf.string());
      const auto tokenizer = models::ByteBpeTokenizer::from_gguf(file);
      model_ = std::make_unique<models::LlamaModel>(models::LlamaModel::from_gguf(file));
      tokens_ = tokenizer.encode(read_text(m.text));
    } catch (const models::LoadError& e) {
      throw std::invalid_argument(e.what());
    }
    if (std::int64_t(tokens_.size()) < m.tokens)
      throw std::invalid_argument("the text '" + m.text.string() + "' has only " + std::to_string(tokens_.size()) +
                                  " tokens, fewer than data.tokens = " + std::to_string(m.tokens));
    tokens_.resize(std::size_t(m.tokens));
    models::LlamaSession reference(*model_, models::Numerics{});
    reference_ = reference.forward(tokens_);
  }
  bool parallel_points() const override { return false; }

  std::vector<Cell> metrics(const GridPoint& point) const override {
    models::LlamaSession session(*model_, point_numerics(point, model_->config().layers));
    const auto m = models::next_token_metrics(reference_, session.forward(tokens_), tokens_);
    return select(config_, {{"ppl", m.perplexity}, {"ref_ppl", m.reference_perplexity},
                            {"delta_ppl", m.perplexity - m.reference_perplexity}, {"kl_mean", m.kl_mean},
                            {"kl_p99", m.kl_p99}, {"kl_max", m.kl_max}, {"top1", m.top1},
                            {"logits_sqnr_db", m.logits_sqnr_db}, {"nonfinite_rows", double(m.nonfinite_rows)}});
  }

 private:
  const ExperimentConfig& config_;
  std::unique_ptr<models::LlamaModel> model_;
  std::vector<std::int32_t> tokens_;
  sim::TensorF reference_;
};

const char* const kBitsAxes[] = {"weights", "activations"};

}  // namespace

sim::QuantSpec point_quant_spec(const GridPoint& point, const std::string& role) {
  auto spec = sim::parse_quant_spec(point.value(role, "none"));
  if (!spec.is_identity()) spec.seed += point.seed;  // the identity takes no settings
  return spec;
}

sim::AccumSpec point_accum_spec(const GridPoint& point) {
  const auto text = point.value("accum", "default");
  auto spec = text == "default" ? sim::AccumSpec{} : sim::AccumSpec::parse(text);
  spec.seed += point.seed;
  return spec;
}

double bits_per_element(const sim::QuantSpec& spec) {
  if (spec.is_identity()) return 32;
  if (spec.is_block) return formats::BlockFormat::parse(spec.format).effective_bits();
  const double element = formats::Format::parse(spec.format).bits();
  if (spec.granularity == sim::Granularity::per_group && spec.group > 0)
    return element + double(formats::Format::parse(spec.scale_format).bits()) / double(spec.group);
  return element;
}

std::vector<Column> results_schema(const ExperimentConfig& config) {
  std::vector<Column> columns;
  for (const auto& axis : config.axes)
    columns.push_back({axis.name, axis.name == "seed" ? Column::Kind::integer : Column::Kind::text});
  for (const char* role : kBitsAxes)
    if (config.axis(role)) columns.push_back({std::string(role) + "_bits", Column::Kind::real});
  for (const auto& metric : config.metrics)
    columns.push_back({metric, is_count(metric) ? Column::Kind::integer : Column::Kind::real});
  return columns;
}

PointResult evaluate_point(const ExperimentConfig& config, const Evaluator& evaluator, const GridPoint& point) {
  PointResult r;
  r.index = point.index;
  for (const auto& [axis, value] : point.values) {
    if (axis == "seed") r.cells.emplace_back(std::int64_t(point.seed));
    else r.cells.emplace_back(value);
  }
  for (const char* role : kBitsAxes)
    if (config.axis(role)) r.cells.emplace_back(bits_per_element(sim::parse_quant_spec(point.value(role, "none"))));
  auto metrics = evaluator.metrics(point);
  r.cells.insert(r.cells.end(), std::make_move_iterator(metrics.begin()), std::make_move_iterator(metrics.end()));
  return r;
}

std::unique_ptr<Evaluator> make_evaluator(const ExperimentConfig& config) {
  if (config.source == SourceKind::model) return std::make_unique<ModelEvaluator>(config);
  return std::make_unique<SyntheticEvaluator>(config);
}

}  // namespace bitsim::experiments
