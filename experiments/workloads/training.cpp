// Workload `training`: every grid point trains a tiny GPT (models/train) on byte-level text
// and records its losses; with a `ptq` axis the trained weights are also fake-quantized
// after training (post-training quantization) and evaluated again. This is the N x D x
// recipe study of issue #10 run by `bitsim run` (experiments/README.md, "training").
//
// Each point also gets its loss curve (the /curves table of the results file): one row per
// validation, i.e. every `eval_every` steps and after the last step.
//
// Points that differ only in `ptq` share one training run (and its curve): the evaluator
// trains each distinct (recipe, d_model, layers, tokens, seed) once, keeps the model, and
// quantizes copies of it. Training is deterministic for a given point, whatever the thread count
// and whichever point runs first, so the results do not depend on either.
#include <cmath>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <variant>
#include <stdexcept>
#include <string>

#include <tbb/task_arena.h>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/runner.hpp"
#include "experiments/workloads/workload.hpp"
#include "formats/block/block_format.hpp"
#include "models/train/checkpoint.hpp"
#include "models/train/corpus.hpp"
#include "models/train/trainer.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::experiments {
namespace {

namespace tr = models::train;
using sim::Index;

// Axes that also exist as parameters: the parameter gives the value when the sweep lacks
// the axis.
constexpr const char* kAxisParams[] = {"recipe", "d_model", "layers", "tokens", "ptq"};

std::string setting(const ExperimentConfig& c, const GridPoint& p, const std::string& name) {
  return p.value(name, c.workload.params.text(name));
}

// Everything a point's training depends on, built from the config and the point.
struct Setup {
  tr::TrainConfig train;
  std::string ptq;  // QuantSpec text ("none": no post-training quantization)
  std::string key;  // identifies the training run (shared by points differing in ptq only)
};

Setup setup(const ExperimentConfig& c, const GridPoint& p) {
  const auto& w = c.workload.params;
  Setup s;
  auto& t = s.train;
  t.model.d_model = std::stoll(setting(c, p, "d_model"));
  t.model.layers = std::stoll(setting(c, p, "layers"));
  t.model.heads = w.integer("heads");
  t.seq = w.integer("seq");
  t.model.context = t.seq;
  t.model.vocab = tr::requested_vocab(w.text("tokenizer"));
  t.model.gelu = tr::parse_gelu(w.text("gelu"));
  t.model.attention = tr::parse_attention(w.text("attention"));
  t.batch = w.integer("batch");
  t.recipe = tr::Recipe::parse(setting(c, p, "recipe"));
  const auto accum = w.text("accum");
  if (accum != "default") t.recipe.set_accumulation(sim::AccumSpec::parse(accum));
  const std::int64_t tokens = std::stoll(setting(c, p, "tokens"));
  t.steps = std::max<std::int64_t>(1, tokens / (t.batch * t.seq));
  t.optimizer.lr = w.real("lr");
  t.optimizer.min_lr_ratio = w.real("min_lr_ratio");
  t.optimizer.weight_decay = w.real("weight_decay");
  t.optimizer.warmup = std::max<std::int64_t>(1, std::llround(w.real("warmup") * double(t.steps)));
  t.eval_windows = w.integer("eval_windows");
  t.eval_every = w.integer("eval_every");  // evaluation only: never changes the trajectory
  t.scaling.scale = w.real("loss_scale");
  t.scaling.dynamic = w.boolean("dynamic_loss_scale");
  t.seed = p.seed;
  s.ptq = setting(c, p, "ptq");
  s.key = tr::describe(t);
  return s;
}

// The corpus named by the `data` parameter: "austen" (models/pretrained/texts/janeausten,
// found near the experiment file), "builtin", or a folder of .txt files (relative paths
// from the experiment file's folder).
tr::Corpus load_corpus(const ExperimentConfig& c) {
  const auto data = c.workload.params.text("data");
  const auto tokenizer = c.workload.params.text("tokenizer");  // bytes | bpe:V (trained on the training split)
  if (data == "builtin") return tr::builtin_corpus(tokenizer);
  std::filesystem::path folder;
  if (data == "austen") {
    const auto pretrained = find_pretrained(c.file);
    folder = pretrained ? *pretrained / "texts" / "janeausten" : std::filesystem::path();
    if (folder.empty() || !std::filesystem::is_directory(folder))
      throw std::invalid_argument(
          "workload 'training': data 'austen' needs models/pretrained/texts/janeausten (run scripts/fetch-models.sh), "
          "or set data: builtin or a folder of .txt files");
  } else {
    folder = data;
    if (folder.is_relative()) folder = c.file.parent_path() / folder;
  }
  return tr::load_text_corpus(folder.string(), tokenizer);
}

// A deep copy (Tensor copies share storage) with every block-linear weight fake-quantized.
tr::Gpt quantized_copy(const tr::Gpt& model, const sim::QuantSpec& spec) {
  tr::Gpt copy = model;
  std::uint64_t id = 0;
  for (auto& p : copy.parameters()) {
    p.grad = p.grad.clone();
    // Linear weights are [out, in]: a per-group spec along the last axis groups along the
    // GEMM's reduction axis, as weight-only quantization does.
    p.value = p.conv1d ? sim::fake_quantize(p.value, spec, id) : p.value.clone();
    ++id;
  }
  return copy;
}

double element_bits(const sim::QuantSpec& spec) {
  if (spec.is_identity()) return 32;
  if (spec.is_block) return formats::BlockFormat::parse(spec.format).element().bits();
  return formats::Format::parse(spec.format).bits();
}

// Exponent and mantissa bits of a float element format, and the elements sharing a scale
// (per_group size or block size; 0 when unscaled, per-tensor or per-channel): the E, M and B
// of Sun et al.'s law. E = M = 0 for float32 (identity) and non-float formats.
struct FloatLayout {
  double e = 0, m = 0, group = 0;
};
FloatLayout float_layout(const sim::QuantSpec& spec) {
  FloatLayout out;
  if (spec.is_identity()) return out;
  const auto block = spec.is_block ? std::optional(formats::BlockFormat::parse(spec.format)) : std::nullopt;
  const formats::Format element = block ? block->element() : formats::Format::parse(spec.format);
  if (const auto* f = std::get_if<formats::MiniFloat>(&element.repr())) {
    out.e = f->exponent_bits;
    out.m = f->mantissa_bits;
  }
  if (block) out.group = double(block->shape().rows) * double(block->shape().cols);
  else if (spec.granularity == sim::Granularity::per_group) out.group = double(spec.group);
  return out;
}

struct Trained {
  tr::Gpt model;
  double val_loss = 0, train_loss = 0;
  std::vector<std::vector<Cell>> curve;  // the kCurve columns, one row per validation
};

// The columns of a point's curve, in the order curve_rows fills them.
const std::vector<WorkloadMetric> kCurve = {
    {"step", true, "optimizer steps done"},
    {"tokens_seen", true, "training tokens seen (step * batch * seq; `tokens` is the budget axis)"},
    {"train_loss", false, "training loss of this step (before its update)"},
    {"train_loss_mean", false, "mean training loss of the steps since the previous row, this one included"},
    {"val_loss", false, "validation loss after this step (nats per byte)"},
    {"grad_norm", false, "gradient norm of this step (before clipping)"},
    {"lr", false, "learning rate of this step"},
    {"loss_scale", false, "loss scale of this step (1 without loss scaling)"},
    {"skipped_steps", true, "steps skipped (non-finite gradients) since the previous row"},
};

// One row per validation of the log: the steps the trainer evaluates (every eval_every
// steps and the last; its rule, restated so that a NaN loss still gets its row).
std::vector<std::vector<Cell>> curve_rows(const std::vector<tr::LogRow>& log, const tr::TrainConfig& config) {
  std::vector<std::vector<Cell>> rows;
  double loss_sum = 0;
  std::int64_t since = 0, skipped = 0;
  for (const tr::LogRow& row : log) {
    loss_sum += row.train_loss;
    ++since;
    skipped += row.skipped ? 1 : 0;
    const std::int64_t done = row.step + 1;
    if (done != config.steps && (config.eval_every <= 0 || done % config.eval_every != 0)) continue;
    rows.push_back({done, row.tokens, row.train_loss, loss_sum / double(since), row.val_loss, row.grad_norm, row.lr,
                    row.loss_scale, skipped});
    loss_sum = 0;
    since = skipped = 0;
  }
  return rows;
}

class TrainingEvaluator final : public Evaluator {
 public:
  explicit TrainingEvaluator(const ExperimentConfig& config) : config_(config), corpus_(load_corpus(config)) {
    const auto& folder_text = config.workload.params.text("checkpoints");
    if (folder_text != "none") {
      std::filesystem::path folder = folder_text;
      if (folder.is_relative()) folder = config.file.parent_path() / folder;
      std::filesystem::create_directories(folder);
      checkpoints_ = folder.string();
    }
  }

  bool parallel_points() const override { return true; }

  PointMetrics evaluate(const GridPoint& point) const override {
    const Setup s = setup(config_, point);
    const Trained& t = trained(s);
    double ptq_loss = t.val_loss;
    const auto spec = sim::parse_quant_spec(s.ptq);
    if (!spec.is_identity()) {
      auto copy = quantized_copy(t.model, spec);
      ptq_loss = tr::validation_loss(copy, corpus_, s.train.eval_windows, s.train.seq, s.train.recipe);
    }
    const double tokens = double(s.train.steps * s.train.batch * s.train.seq);
    const FloatLayout layout = float_layout(s.train.recipe.linear.forward.operands.b);
    const std::vector<std::pair<std::string, double>> all = {
        {"val_loss", t.val_loss},
        {"train_loss", t.train_loss},
        {"bits_per_byte", corpus_.bits_per_byte(t.val_loss)},
        {"params_n", double(s.train.model.non_embedding_parameters())},
        {"tokens_d", tokens},
        {"epochs", tokens / double(corpus_.train.size())},
        {"steps", double(s.train.steps)},
        {"train_bits", s.train.recipe.forward_bits()},
        {"train_e", layout.e},
        {"train_m", layout.m},
        {"train_group", layout.group},
        {"ptq_bits", element_bits(spec)},
        {"ptq_val_loss", ptq_loss},
        {"delta_ptq", ptq_loss - t.val_loss},
    };
    return {select_metrics(config_, all), {}, t.curve};
  }

 private:
  // The trained model of a setup: trained by the first point that needs it; concurrent
  // points with the same key wait for it.
  const Trained& trained(const Setup& s) const {
    std::shared_future<std::shared_ptr<Trained>> future;
    std::promise<std::shared_ptr<Trained>> promise;
    bool mine = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = cache_.find(s.key);
      if (it == cache_.end()) {
        future = promise.get_future().share();
        cache_.emplace(s.key, future);
        mine = true;
      } else {
        future = it->second;
      }
    }
    if (mine) {
      try {
        // Isolated: while this thread waits inside the trainer's parallel loops it must not
        // pick up another point that would wait for this very training.
        promise.set_value(tbb::this_task_arena::isolate([&] { return run(s); }));
      } catch (...) {
        promise.set_exception(std::current_exception());
      }
    }
    return *future.get();
  }

  std::shared_ptr<Trained> run(const Setup& s) const {
    tr::Checkpointing ck;
    if (!checkpoints_.empty()) {
      // Named by the training run, not by the point: points differing only in ptq share it,
      // and whichever of them trains first must write the same file.
      ck.path = (std::filesystem::path(checkpoints_) / ("train-" + config_hash(s.key) + ".safetensors")).string();
      ck.metadata = {{"data", corpus_.source}};
      ck.metadata.merge(corpus_.checkpoint_metadata());  // the tokenizer travels with the model
    }
    auto result = tr::train(s.train, corpus_, {}, ck);
    auto t = std::make_shared<Trained>(Trained{std::move(result.model), 0, 0, curve_rows(result.log, s.train)});
    t->val_loss = result.log.back().val_loss;
    t->train_loss = result.log.back().train_loss;
    return t;
  }

  const ExperimentConfig config_;
  tr::Corpus corpus_;
  std::string checkpoints_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_future<std::shared_ptr<Trained>>> cache_;
};

// Cost model for `bitsim plan`: 6 N_total flop per training token for the linears and the
// tied head, plus attention, at a rate measured on the 2-core development machine with
// order=blas (fp32); emulated recipes cost more (quantizing every operand of every GEMM).
double estimate(const ExperimentConfig& c, const GridPoint& p) {
  const Setup s = setup(c, p);
  const auto& m = s.train.model;
  const double d = double(m.d_model);
  const double flop_per_token = 6.0 * (double(m.non_embedding_parameters()) + double(m.vocab) * d) +
                                12.0 * double(m.layers) * double(s.train.seq) * d;
  const double tokens = double(s.train.steps * s.train.batch * s.train.seq);
  const double per_token_overhead = 2.0e-5;  // seconds: embeddings, norms, optimizer, data
  const double flops_per_second = 1.5e9;
  const double factor = s.train.recipe.name == "fp32" ? 1.0 : 2.0;
  const double eval = double(s.train.eval_windows * s.train.seq) * (flop_per_token / 3.0 / flops_per_second + per_token_overhead);
  // Points after the first `ptq` value reuse the training: only the evaluation remains.
  const Axis* ptq = c.axis("ptq");
  if (ptq && !ptq->values.empty() && p.value("ptq", "") != ptq->values.front()) return eval;
  const std::int64_t every = s.train.eval_every, steps = s.train.steps;  // validations = curve rows
  const double evals = every > 0 ? double(steps / every + (steps % every != 0 ? 1 : 0)) : 1.0;
  return factor * tokens * (flop_per_token / flops_per_second + per_token_overhead) + evals * eval;
}

void check_params(const WorkloadParams& w) {
  (void)tr::Recipe::parse(w.text("recipe"));
  (void)sim::parse_quant_spec(w.text("ptq"));
  (void)tr::requested_vocab(w.text("tokenizer"));
  (void)tr::parse_gelu(w.text("gelu"));
  (void)tr::parse_attention(w.text("attention"));
  const auto accum = w.text("accum");
  if (accum != "default") sim::AccumSpec::parse(accum).validate();
  if (w.real("warmup") > 1) throw std::invalid_argument("warmup is a fraction of the steps, in [0, 1]");
  if (w.real("min_lr_ratio") > 1) throw std::invalid_argument("min_lr_ratio must be in [0, 1]");
  if (!(w.real("loss_scale") > 0)) throw std::invalid_argument("loss_scale must be positive");
}

std::function<void(const std::string&)> check_recipe() {
  return [](const std::string& text) { (void)tr::Recipe::parse(text); };
}

}  // namespace

Workload training_workload() {
  using K = WorkloadParam::Kind;
  Workload w;
  w.name = "training";
  w.summary = "trains a tiny byte-level GPT (models/train) per point; losses, N, D, and post-training-quantization loss";
  w.params = {
      {"recipe", K::text, "fp32", "training recipe when the sweep has no recipe axis (preset, fake:SPEC, fake_fwd:SPEC)"},
      {"d_model", K::integer, "64", "model width when the sweep has no d_model axis", 8},
      {"layers", K::integer, "2", "transformer blocks when the sweep has no layers axis", 1},
      {"tokens", K::integer, "100000", "training tokens D when the sweep has no tokens axis (steps = D / (batch seq))", 1},
      {"ptq", K::text, "none", "weights QuantSpec after training when the sweep has no ptq axis"},
      {"heads", K::integer, "4", "attention heads (divides every d_model)", 1},
      {"seq", K::integer, "64", "tokens per training sequence (= the model's context)", 2},
      {"batch", K::integer, "8", "sequences per step", 1},
      {"lr", K::real, "0.003", "AdamW peak learning rate (cosine schedule)", 0},
      {"min_lr_ratio", K::real, "0.1", "the cosine schedule ends at lr * min_lr_ratio", 0},
      {"weight_decay", K::real, "0.1", "AdamW decoupled weight decay", 0},
      {"warmup", K::real, "0.1", "linear warm-up, as a fraction of the steps (at least 1 step)", 0},
      {"eval_windows", K::integer, "64", "validation windows of seq tokens (fixed, evenly spaced)", 1},
      {"eval_every", K::integer, "0",
       "also validate every N steps, one /curves row each (0: only after the last step, one row per point)", 0},
      {"loss_scale", K::real, "1", "(initial) loss scale: the loss is multiplied by it before the backward pass", 0},
      {"dynamic_loss_scale", K::boolean, "false",
       "halve the loss scale and skip the step on non-finite gradients, double it after 200 clean steps"},
      {"data", K::text, "austen", "austen (models/pretrained/texts/janeausten), builtin, or a folder of .txt files"},
      {"tokenizer", K::text, "bytes", "bytes, or bpe:V: a byte-level BPE of V tokens trained on the training split (models/train/README.md)"},
      {"accum", K::text, "order=blas",
       "AccumSpec of every GEMM; order=blas is fast (OpenBLAS sgemm), default is the bit-defined sequential fp32 sum"},
      {"gelu", K::text, "tanh",
       "MLP GELU numerics: tanh (float64 formula, the default) or tanh_f32 (float32 operations as PyTorch's fp32 kernel, faster)"},
      {"attention", K::text, "exact",
       "causal attention numerics: exact (bit-defined, the default) or blas (float32 OpenBLAS sgemm and softmax as PyTorch's, faster)"},
      {"checkpoints", K::text, "none", "folder for each trained model (train-HASH.safetensors, HASH of its train.config); none: not saved"},
  };
  w.axes = {
      {"recipe", "training recipe: fp32, bf16, fp8, mxfp8, nvfp4, int8, fake:QUANTSPEC, fake_fwd:QUANTSPEC", check_recipe()},
      {"d_model", "model width (a multiple of heads)", check_integer(8)},
      {"layers", "transformer blocks", check_integer(1)},
      {"tokens", "training tokens D", check_integer(1)},
      {"ptq", "weights QuantSpec applied after training (none: skip)", check_quant_spec()},
  };
  w.metrics = {
      {"val_loss", false, "validation loss after training (nats per byte)"},
      {"train_loss", false, "training loss of the last step"},
      {"bits_per_byte", false, "val_loss * validation tokens / bytes / ln 2 (val_loss / ln 2 for bytes)"},
      {"params_n", true, "non-embedding parameters N"},
      {"tokens_d", true, "training tokens D = steps * batch * seq"},
      {"epochs", false, "D / training-split tokens: passes over the training text (windows start at random positions, so above 1 the model sees text again)"},
      {"steps", true, "optimizer steps"},
      {"train_bits", false, "bits of a forward GEMM element in training (32 for fp32)"},
      {"train_e", false, "exponent bits of the forward weight format in training (0: fp32 or not a float)"},
      {"train_m", false, "mantissa bits of the same (0: fp32 or not a float)"},
      {"train_group", false, "elements sharing one scale in training (per_group size, block size; 0: none)"},
      {"ptq_bits", false, "element bits of the ptq format (32 for none)"},
      {"ptq_val_loss", false, "validation loss with the block-linear weights quantized by ptq"},
      {"delta_ptq", false, "ptq_val_loss - val_loss"},
  };
  w.curve = kCurve;
  w.check_params = check_params;
  w.make = [](const ExperimentConfig& c) -> std::unique_ptr<Evaluator> { return std::make_unique<TrainingEvaluator>(c); };
  w.estimate_seconds = estimate;
  return w;
}

}  // namespace bitsim::experiments
