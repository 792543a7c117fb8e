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
#include "models/eval/embedding_metrics.hpp"
#include "models/eval/greedy.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/transformer/bert.hpp"
#include "models/transformer/gpt2.hpp"
#include "models/transformer/llama.hpp"
#include "models/transformer/load_model.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/metrics/metrics.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::experiments {
namespace {

std::vector<Cell> select(const ExperimentConfig& config, const std::vector<std::pair<std::string, double>>& all) {
  return select_metrics(config, all);
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

  PointMetrics evaluate(const GridPoint& point) const override {
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
    return {select(config_, all), {}, {}};
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
                                   {"attn_scores", "attn", ".scores"}, {"attn_probs", "attn", ".probs"},
                                   // the role axes of models/README.md's newer roles
                                   {"qkv", "qkv", ".*"}, {"attn_q", "attn", ".q"}, {"hidden", "hidden", ".*"},
                                   {"residual", "residual", ""}, {"norm_stats", "norm", ".*"}};
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

// The per-layer array of a point: one SQNR (dB) per block against the reference's.
constexpr const char* kLayerArray = "sqnr_per_layer";

// The per-point arrays of greedy decoding (data.generate): each generated token's top-1
// probability, and the tokens themselves (ids as reals; NaN past a row without a number).
constexpr const char* kTop1ProbArray = "top1_prob_per_step";
constexpr const char* kTokenArray = "generated_tokens";

// One greedy decoding of data.generate tokens: the tokens and their top-1 probabilities.
struct Generation {
  std::vector<std::int32_t> tokens;
  std::vector<double> top1_probs;
};

// The greedy-decoding metrics of a point against the reference's decoding of the same
// prompt: divergence_index (first differing step; N when none), agreement (fraction of
// the N steps with equal tokens) and top1_prob_delta, the mean |p_top1 - p_top1_ref| over
// the steps whose context still equals the reference's — steps 0 .. divergence_index,
// the divergent step included (its token is picked from the same context), all N when
// the decodings agree.
std::vector<std::pair<std::string, double>> generation_metrics(const Generation& reference, const Generation& test, std::size_t steps) {
  const auto c = models::compare_greedy(reference.tokens, test.tokens);
  const std::size_t divergence = c.first_divergence < 0 ? steps : std::size_t(c.first_divergence);
  const std::size_t compared = std::min(steps, divergence + 1);
  double delta = 0;
  for (std::size_t i = 0; i < compared; ++i) {
    const double ref = i < reference.top1_probs.size() ? reference.top1_probs[i] : std::nan("");
    const double got = i < test.top1_probs.size() ? test.top1_probs[i] : std::nan("");
    delta += std::abs(got - ref);  // NaN (a row without a number) makes the mean NaN
  }
  return {{"divergence_index", double(divergence)}, {"agreement", c.agreement},
          {"top1_prob_delta", compared ? delta / double(compared) : 0.0}};
}

// A decoder (Llama GGUF, GPT-2 safetensors) on the first `tokens` tokens of a text; the
// FP32 logits (and block outputs, with per_layer) are computed once. With data.generate,
// each point (and the reference, once) then decodes N tokens greedily from its own prefill
// through its KV cache, so the prompt's forward pass serves both kinds of metric.
template <class Model, class Session>
class DecoderEvaluator final : public Evaluator {
 public:
  DecoderEvaluator(const ExperimentConfig& config, Model model, std::vector<std::int32_t> tokens)
      : config_(config), model_(std::move(model)), tokens_(std::move(tokens)) {
    const auto& m = config.model;
    if (std::int64_t(tokens_.size()) < m.tokens)
      throw std::invalid_argument("the text '" + m.text.string() + "' has only " + std::to_string(tokens_.size()) +
                                  " tokens, fewer than data.tokens = " + std::to_string(m.tokens));
    tokens_.resize(std::size_t(m.tokens));
    Session reference(model_, models::Numerics::reference(config.reference));  // reference: fp32 | fp64
    reference_ = reference.forward(tokens_, m.per_layer ? &reference_blocks_ : nullptr);
    reference_generation_ = generate(reference, reference_);
  }
  bool parallel_points() const override { return false; }

  PointMetrics evaluate(const GridPoint& point) const override {
    Session session(model_, point_numerics(point, model_.config().layers));
    std::vector<sim::TensorF> blocks;
    const auto logits = session.forward(tokens_, config_.model.per_layer ? &blocks : nullptr);
    const auto m = models::next_token_metrics(reference_, logits, tokens_);
    std::vector<std::pair<std::string, double>> all = {
        {"ppl", m.perplexity}, {"ref_ppl", m.reference_perplexity}, {"delta_ppl", m.perplexity - m.reference_perplexity},
        {"kl_mean", m.kl_mean}, {"kl_p99", m.kl_p99}, {"kl_max", m.kl_max}, {"top1", m.top1},
        {"logits_sqnr_db", m.logits_sqnr_db}, {"nonfinite_rows", double(m.nonfinite_rows)}};
    PointMetrics out;
    if (config_.model.per_layer) out.arrays.emplace_back(kLayerArray, models::layer_sqnr_db(reference_blocks_, blocks));
    if (steps() > 0) {
      const auto g = generate(session, logits);
      const auto greedy = generation_metrics(reference_generation_, g, steps());
      all.insert(all.end(), greedy.begin(), greedy.end());
      out.arrays.emplace_back(kTop1ProbArray, padded(g.top1_probs));
      std::vector<double> ids(g.tokens.begin(), g.tokens.end());
      out.arrays.emplace_back(kTokenArray, padded(ids));
    }
    out.cells = select(config_, all);
    return out;
  }

 private:
  std::size_t steps() const { return std::size_t(config_.model.generate); }
  // Greedy decoding after the prompt's forward pass (`logits`), continuing the session.
  Generation generate(Session& session, const sim::TensorF& logits) const {
    Generation g;
    if (steps() > 0) g.tokens = models::greedy_continue(session, logits, int(steps()), &g.top1_probs);
    return g;
  }
  // Every point's arrays have N entries (a decoding cut short by a row without a number is NaN after it).
  std::vector<double> padded(std::vector<double> values) const {
    values.resize(steps(), std::nan(""));
    return values;
  }

  const ExperimentConfig& config_;
  Model model_;
  std::vector<std::int32_t> tokens_;
  sim::TensorF reference_;
  std::vector<sim::TensorF> reference_blocks_;
  Generation reference_generation_;
};

// A BERT encoder on the text's first `sentences` paragraphs: embedding metrics against the
// FP32 embeddings (computed once); with per_layer, the block outputs of the first sentence
// (as `bitsim model eval --per-layer` reports them).
class EncoderEvaluator final : public Evaluator {
 public:
  explicit EncoderEvaluator(const ExperimentConfig& config)
      : config_(config), model_(models::BertModel::from_directory(models::checkpoint_folder(config.model.path.string()).string())) {
    const auto& m = config.model;
    sentences_ = models::encoder_sentences(models::encoder_tokenizer(m.path.string()), read_text(m.text), int(m.sentences));
    if (std::int64_t(sentences_.size()) < m.sentences)
      throw std::invalid_argument("the text '" + m.text.string() + "' has only " + std::to_string(sentences_.size()) +
                                  " paragraphs, fewer than data.sentences = " + std::to_string(m.sentences));
    const models::BertSession reference(model_, models::Numerics::reference(config.reference));  // reference: fp32 | fp64
    reference_ = embed_all(reference);
    if (m.per_layer) (void)reference.encode(sentences_[0], &reference_blocks_);
  }
  bool parallel_points() const override { return false; }

  PointMetrics evaluate(const GridPoint& point) const override {
    const models::BertSession session(model_, point_numerics(point, model_.config().layers));
    const auto m = models::embedding_metrics(reference_, embed_all(session));
    PointMetrics out;
    out.cells = select(config_, {{"cosine_mean", m.cosine_mean}, {"cosine_min", m.cosine_min},
                                 {"retrieval_top1", m.retrieval_top1}, {"retrieval_mrr", m.retrieval_mrr}});
    if (config_.model.per_layer) {
      std::vector<sim::TensorF> blocks;
      (void)session.encode(sentences_[0], &blocks);
      out.arrays.emplace_back(kLayerArray, models::layer_sqnr_db(reference_blocks_, blocks));
    }
    return out;
  }

 private:
  std::vector<sim::TensorF> embed_all(const models::BertSession& session) const {
    std::vector<sim::TensorF> out;
    for (const auto& ids : sentences_) out.push_back(session.embed(ids));
    return out;
  }

  const ExperimentConfig& config_;
  models::BertModel model_;
  std::vector<std::vector<std::int32_t>> sentences_;
  std::vector<sim::TensorF> reference_, reference_blocks_;
};

// Loads the checkpoint with the engine load_model picks and computes the reference.
std::unique_ptr<Evaluator> make_model_evaluator(const ExperimentConfig& config) {
  const auto& m = config.model;
  if (!std::filesystem::exists(m.path))
    throw std::invalid_argument("model '" + m.path.string() + "' not found" +
                                (m.name == "smollm2" || m.name == "minilm" ? " (install the bundled models with scripts/fetch-models.sh)" : ""));
  const auto path = m.path.string();
  try {
    switch (models::detect_architecture(path)) {
      case models::Architecture::llama: {
        auto tokens = models::decoder_tokenizer(path)->encode(read_text(m.text));
        return std::make_unique<DecoderEvaluator<models::LlamaModel, models::LlamaSession>>(
            config, models::LlamaModel::from_gguf(models::GgufFile::open(path)), std::move(tokens));
      }
      case models::Architecture::gpt2: {
        auto tokens = models::decoder_tokenizer(path)->encode(read_text(m.text));
        return std::make_unique<DecoderEvaluator<models::Gpt2Model, models::Gpt2Session>>(
            config, models::Gpt2Model::from_safetensors(path), std::move(tokens));
      }
      case models::Architecture::bert: return std::make_unique<EncoderEvaluator>(config);
    }
  } catch (const models::LoadError& e) {
    throw std::invalid_argument(e.what());
  }
  throw std::logic_error("unknown architecture");
}

const char* const kBitsAxes[] = {"weights", "activations"};

}  // namespace

models::Numerics model_point_numerics(const GridPoint& point, int layers) { return point_numerics(point, layers); }

bool metric_is_integer(const ExperimentConfig& config, const std::string& metric) {
  if (config.source == SourceKind::workload) {
    for (const auto& m : config.workload.workload->metrics)
      if (m.name == metric) return m.integer;
    return false;
  }
  return metric == "nonfinite" || metric == "nonfinite_rows" || metric == "divergence_index";
}

std::vector<Cell> select_metrics(const ExperimentConfig& config, const std::vector<std::pair<std::string, double>>& all) {
  std::vector<Cell> cells;
  for (const auto& name : config.metrics) {
    const auto it = std::find_if(all.begin(), all.end(), [&](const auto& m) { return m.first == name; });
    if (it == all.end()) throw std::logic_error("metric '" + name + "' was not computed");
    if (metric_is_integer(config, name)) cells.emplace_back(std::int64_t(it->second));
    else cells.emplace_back(it->second);
  }
  return cells;
}

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
    columns.push_back({metric, metric_is_integer(config, metric) ? Column::Kind::integer : Column::Kind::real});
  return columns;
}

std::vector<Column> curve_schema(const ExperimentConfig& config) {
  std::vector<Column> columns;
  if (config.source != SourceKind::workload || config.workload.workload == nullptr) return columns;
  for (const auto& c : config.workload.workload->curve)
    columns.push_back({c.name, c.integer ? Column::Kind::integer : Column::Kind::real});
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
  auto metrics = evaluator.evaluate(point);
  r.cells.insert(r.cells.end(), std::make_move_iterator(metrics.cells.begin()), std::make_move_iterator(metrics.cells.end()));
  r.arrays = std::move(metrics.arrays);
  r.curve = std::move(metrics.curve);
  return r;
}

std::unique_ptr<Evaluator> make_evaluator(const ExperimentConfig& config) {
  if (config.source == SourceKind::model) return make_model_evaluator(config);
  if (config.source == SourceKind::workload) return config.workload.workload->make(config);
  return std::make_unique<SyntheticEvaluator>(config);
}

}  // namespace bitsim::experiments
