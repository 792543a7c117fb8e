// bitsim train [FILE.yaml] [options]: trains a tiny GPT-2 (bytes or --tokenizer bpe:V) in the simulator under a named
// low-precision recipe, printing the loss curve, and writes a GPT-2-layout safetensors
// checkpoint that `bitsim model` loads (models/train/README.md).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <tbb/global_control.h>
#include <yaml-cpp/yaml.h>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/device_option.hpp"
#include "experiments/config/device_choice.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/runner.hpp"
#include "models/train/checkpoint.hpp"
#include "models/train/corpus.hpp"
#include "models/train/trainer.hpp"

namespace bitsim::cli {
namespace {

namespace tr = models::train;

constexpr const char* kDefaultText = "models/pretrained/texts/janeausten";
constexpr int kInterrupted = 130;

// Set by SIGINT/SIGTERM: the trainer saves its checkpoint after the current step and returns.
std::atomic<bool> g_stop{false};
extern "C" void request_stop(int) { g_stop = true; }

struct TrainArgs {
  std::string recipe = "fp32", optimizer = "adamw", schedule = "cosine", master = "fp32", master_rounding = "rne";
  std::string data, output, log, accum, file, h5, tokenizer = "bytes";
  std::string gelu = "tanh";
  std::string attention = "exact";
  std::string device = "cpu";
  std::int64_t steps = 200, warmup = 20, eval_every = 50, print_every = 10;
  std::int64_t d_model = 64, layers = 2, heads = 4, seq = 64, batch = 8, eval_windows = 32;
  double lr = 3e-3, min_lr_ratio = 0.1, weight_decay = 0.1, clip = 1.0, loss_scale = 1.0;
  bool dynamic_loss_scale = false, resume = false;
  std::int64_t save_every = 0;
  std::uint64_t seed = 0;
  int threads = 0;
};

template <class E>
E choose(const std::string& what, const std::string& value, std::initializer_list<std::pair<const char*, E>> choices) {
  std::string valid;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    valid += (valid.empty() ? "" : ", ") + std::string(name);
  }
  throw std::invalid_argument("unknown " + what + " '" + value + "'; valid: " + valid);
}

tr::TrainConfig make_config(const TrainArgs& a, const tr::Corpus& corpus) {
  tr::TrainConfig c;
  c.model.vocab = corpus.vocab_size;
  c.model.d_model = a.d_model;
  c.model.layers = a.layers;
  c.model.heads = a.heads;
  c.model.context = a.seq;
  c.model.gelu = tr::parse_gelu(a.gelu);
  c.model.attention = tr::parse_attention(a.attention);
  c.model.validate();
  c.recipe = tr::Recipe::preset(a.recipe);
  if (!a.accum.empty()) c.recipe.set_accumulation(sim::AccumSpec::parse(a.accum));
  c.optimizer.kind = choose<tr::OptimizerKind>("optimizer", a.optimizer,
                                               {{"adamw", tr::OptimizerKind::adamw}, {"sgd", tr::OptimizerKind::sgd}});
  c.optimizer.schedule = choose<tr::ScheduleKind>(
      "schedule", a.schedule,
      {{"cosine", tr::ScheduleKind::cosine}, {"wsd", tr::ScheduleKind::wsd}, {"constant", tr::ScheduleKind::constant}});
  c.optimizer.lr = a.lr;
  c.optimizer.min_lr_ratio = a.min_lr_ratio;
  c.optimizer.weight_decay = a.weight_decay;
  c.optimizer.clip = a.clip;
  c.optimizer.warmup = a.warmup;
  c.master = tr::MasterWeights::parse(a.master, a.master_rounding);
  c.master.seed = a.seed;
  c.scaling.scale = a.loss_scale;
  c.scaling.dynamic = a.dynamic_loss_scale;
  c.steps = a.steps;
  c.batch = a.batch;
  c.seq = a.seq;
  c.seed = a.seed;
  c.eval_every = a.eval_every;
  c.eval_windows = a.eval_windows;
  if (a.steps < 1 || a.batch < 1 || a.seq < 1) throw std::invalid_argument("--steps, --batch and --seq must be >= 1");
  return c;
}

// Options a training YAML file may set: each top-level key is a long option's name with
// '_' for '-' (d_model: 64 is --d-model 64). Options given on the command line win.
void apply_yaml(const std::string& path, CLI::App& cmd) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(path + ": " + e.what());
  }
  if (!root.IsMap()) throw std::invalid_argument(path + ": a training file is a mapping of option: value");
  std::string valid;
  for (const CLI::Option* o : cmd.get_options()) {
    std::string key = o->get_single_name();
    std::replace(key.begin(), key.end(), '-', '_');
    if (key != "help" && !key.empty() && !o->get_positional()) valid += (valid.empty() ? "" : ", ") + key;
  }
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    CLI::Option* opt = flag == "help" || flag == "file" ? nullptr : cmd.get_option_no_throw("--" + flag);
    const std::string where = path + ":" + std::to_string(kv.first.Mark().line + 1);
    if (!opt) throw std::invalid_argument(where + ": unknown key '" + key + "'; valid keys: " + valid);
    if (opt->count() > 0) continue;  // the command line overrides the file
    if (!kv.second.IsScalar()) throw std::invalid_argument(where + ": '" + key + "' needs a single value");
    try {
      opt->add_result(kv.second.as<std::string>());
      opt->run_callback();
    } catch (const CLI::Error& e) {
      throw std::invalid_argument(where + ": bad value for '" + key + "': " + e.what());
    }
  }
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The loss curve as an experiments results file (experiments/results/README.md): one row
// per step, index = step - 1; reopened and continued on --resume.
class CurveFile {
 public:
  CurveFile(const std::string& path, const tr::TrainConfig& config, bool resume, int threads) {
    using K = experiments::Column::Kind;
    std::vector<experiments::Column> schema{{"step", K::integer},     {"tokens", K::integer},
                                            {"train_loss", K::real},  {"val_loss", K::real},
                                            {"grad_norm", K::real},   {"lr", K::real},
                                            {"loss_scale", K::real},  {"skipped", K::integer},
                                            {"recipe", K::text}};
    experiments::RunInfo info;
    info.config_text = tr::describe(config);
    info.config_hash = experiments::config_hash(info.config_text);
    info.grid_size = static_cast<std::uint64_t>(config.steps);
    info.threads = threads;
    info.started_utc = utc_now();
    recipe_ = config.recipe.name;
    writer_ = resume && std::filesystem::exists(path)
                  ? experiments::ResultsWriter::resume(path, schema, info)
                  : experiments::ResultsWriter::create(path, schema, info);
  }
  void add(const tr::LogRow& row) {
    const auto index = static_cast<std::uint64_t>(row.step);
    if (writer_->finished().count(index)) return;  // stored before an interruption
    experiments::PointResult p;
    p.index = index;
    p.cells = {std::int64_t(row.step + 1), std::int64_t(row.tokens), row.train_loss, row.val_loss,
               row.grad_norm,             row.lr,                    row.loss_scale, std::int64_t(row.skipped),
               recipe_};
    writer_->add(std::move(p));
  }
  void checkpoint() { writer_->checkpoint(); }
  void finish() { writer_->finish(utc_now()); }

 private:
  std::optional<experiments::ResultsWriter> writer_;
  std::string recipe_;
};

// A resumed run takes the BPE stored in its checkpoint rather than training it again, so
// it continues with exactly the tokenizer it started with.
std::string stored_tokenizer(const TrainArgs& a) {
  if (!a.resume || a.output.empty() || !std::filesystem::exists(a.output)) return "";
  const auto meta = tr::read_checkpoint_metadata(a.output);
  const auto name = meta.find("tokenizer");
  const std::string stored = name == meta.end() ? "bytes" : name->second;
  if (stored != a.tokenizer)
    throw std::invalid_argument("cannot resume from '" + a.output + "': it was trained with tokenizer " + stored +
                                ", not " + a.tokenizer);
  const auto json = meta.find("tokenizer.json");
  return json == meta.end() ? "" : json->second;
}

void run(const TrainArgs& a) {
  std::unique_ptr<tbb::global_control> limit;
  if (a.threads > 0)
    limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, a.threads);
  const std::string folder = a.data.empty() ? kDefaultText : a.data;
  const std::string stored = stored_tokenizer(a);
  const auto tokenize_start = std::chrono::steady_clock::now();
  const tr::Corpus corpus = folder == "builtin" || (a.data.empty() && !std::filesystem::is_directory(folder))
                                ? tr::builtin_corpus(a.tokenizer, stored)
                                : tr::load_text_corpus(folder, a.tokenizer, stored);
  const double tokenize_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - tokenize_start).count();
  const tr::TrainConfig config = make_config(a, corpus);
  std::printf("# bitsim train: recipe %s, master %s, %s %s lr %g, GPT d=%lld layers=%lld heads=%lld seq=%lld batch=%lld\n",
              config.recipe.name.c_str(), config.master.to_string().c_str(), a.optimizer.c_str(), a.schedule.c_str(),
              a.lr, static_cast<long long>(a.d_model), static_cast<long long>(a.layers), static_cast<long long>(a.heads),
              static_cast<long long>(a.seq), static_cast<long long>(a.batch));
  std::printf("# %lld non-embedding parameters; data %s (%zu train, %zu validation bytes); seed %llu\n",
              static_cast<long long>(config.model.non_embedding_parameters()), corpus.source.c_str(),
              corpus.train_bytes, corpus.validation_bytes, static_cast<unsigned long long>(a.seed));
  if (corpus.tokenizer != "bytes")
    std::printf("# tokenizer %s%s: %lld tokens, %zu train / %zu validation tokens (%.3f bytes/token), %.1f s\n",
                corpus.tokenizer.c_str(), stored.empty() ? " (trained on the training split)" : " (from the checkpoint)",
                static_cast<long long>(corpus.vocab_size), corpus.train.size(), corpus.validation.size(),
                static_cast<double>(corpus.validation_bytes) / static_cast<double>(corpus.validation.size()),
                tokenize_secs);
  std::printf("%6s %10s %10s %10s %9s %9s %9s %8s %7s\n", "step", "tokens", "train", "val", "gradnorm", "lr", "tok/s",
              "ETA(s)", "scale");
  std::unique_ptr<std::ofstream> log;
  if (!a.log.empty()) {
    const bool append = a.resume && std::filesystem::exists(a.log);  // a resumed run continues its curve
    log = std::make_unique<std::ofstream>(a.log, append ? std::ios::app : std::ios::trunc);
    if (!*log) throw std::invalid_argument("cannot write the log file '" + a.log + "'");
    if (!append) *log << "step,tokens,train_loss,val_loss,grad_norm,lr,loss_scale,skipped,recipe\n";
  }
  tr::Checkpointing ck;
  ck.path = a.output;
  ck.every = a.save_every;
  ck.resume = a.resume;
  ck.stop = &g_stop;
  ck.metadata = {{"recipe", config.recipe.name},
                 {"master_weights", config.master.to_string()},
                 {"steps", std::to_string(a.steps)},
                 {"seed", std::to_string(a.seed)},
                 {"data", corpus.source}};
  ck.metadata.merge(corpus.checkpoint_metadata());
  if (a.resume && a.output.empty()) throw std::invalid_argument("--resume needs the checkpoint given by -o");
  g_stop = false;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  std::optional<CurveFile> curve;
  if (!a.h5.empty()) curve.emplace(a.h5, config, a.resume, a.threads);
  const auto start = std::chrono::steady_clock::now();
  std::int64_t first_step = -1;
  tr::TrainResult result = tr::train(config, corpus, [&](const tr::LogRow& row) {
    if (first_step < 0) first_step = row.step;
    if (curve) {
      curve->add(row);
      if (g_stop || row.step + 1 == a.steps || (a.save_every > 0 && (row.step + 1) % a.save_every == 0) ||
          !std::isnan(row.val_loss))
        curve->checkpoint();
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::int64_t done = row.step + 1 - first_step;
    const double rate = static_cast<double>(done * a.batch * a.seq) / std::max(secs, 1e-9);
    const bool print = (row.step + 1) % std::max<std::int64_t>(1, a.print_every) == 0 || row.step == 0 ||
                       row.step + 1 == a.steps || !std::isnan(row.val_loss);
    if (print) {
      char val[32] = "-";
      if (!std::isnan(row.val_loss)) std::snprintf(val, sizeof val, "%.4f", row.val_loss);
      std::printf("%6lld %10lld %10.4f %10s %9.3g %9.3g %9.0f %8.0f %7g%s\n", static_cast<long long>(row.step + 1),
                  static_cast<long long>(row.tokens), row.train_loss, val, row.grad_norm, row.lr, rate,
                  (a.steps - row.step - 1) * secs / static_cast<double>(done), row.loss_scale,
                  row.skipped ? " (skipped)" : "");
      std::fflush(stdout);
    }
    if (log)
      *log << row.step + 1 << ',' << row.tokens << ',' << row.train_loss << ',' << row.val_loss << ',' << row.grad_norm
           << ',' << row.lr << ',' << row.loss_scale << ',' << row.skipped << ',' << config.recipe.name << std::endl;
  }, ck);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.interrupted) {
    if (curve) curve->checkpoint();  // every row up to the saved step
    std::fflush(stdout);
    std::fprintf(stderr, "bitsim: interrupted after step %lld; checkpoint %s; continue with the same arguments and --resume\n",
                 static_cast<long long>(result.log.back().step + 1), a.output.empty() ? "(none: no -o)" : a.output.c_str());
    std::exit(kInterrupted);
  }
  if (curve) curve->finish();
  if (result.log.empty()) {
    std::printf("# %s already holds all %lld steps; nothing to do\n", a.output.c_str(), static_cast<long long>(a.steps));
    return;
  }
  std::printf("# final validation loss %.4f nats/token (%.3f bits/byte) after %lld steps, %.1f s\n",
              result.log.back().val_loss, corpus.bits_per_byte(result.log.back().val_loss), static_cast<long long>(a.steps),
              secs);
  if (!a.output.empty()) std::printf("# checkpoint: %s (with optimizer state)\n", a.output.c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "Train a tiny GPT-2 (bytes or a BPE of its own) under an emulated low-precision recipe");
  auto a = std::make_shared<TrainArgs>();
  cmd->add_option("--recipe", a->recipe, "fp32 | bf16 | fp8 | fp8_delayed[(H)] | mxfp8 | nvfp4 | int8 (models/train/README.md)")
      ->capture_default_str();
  cmd->add_option("--accum", a->accum,
                  "AccumSpec of every GEMM (sim/gemm/accum_spec.hpp), e.g. order=blas (fast, not bit-defined), "
                  "acc=bf16 (default: fp32, sequential, bit-defined)");
  cmd->add_option("--steps", a->steps, "optimizer steps")->capture_default_str();
  cmd->add_option("--gelu", a->gelu,
                  "tanh (float64 formula, the default) | tanh_f32 (float32 operations as PyTorch's fp32 kernel, faster)")
      ->capture_default_str();
  cmd->add_option("--attention", a->attention,
                  "exact (bit-defined: float32 forward, float64 backward, the default) | blas (float32 OpenBLAS "
                  "sgemm and softmax as PyTorch's fp32 attention, faster)")
      ->capture_default_str();
  cmd->add_option("--d-model", a->d_model, "model width")->capture_default_str();
  cmd->add_option("--layers", a->layers, "transformer blocks")->capture_default_str();
  cmd->add_option("--heads", a->heads, "attention heads (divide d-model)")->capture_default_str();
  cmd->add_option("--seq", a->seq, "tokens (bytes) per sequence = context length")->capture_default_str();
  cmd->add_option("--batch", a->batch, "sequences per step")->capture_default_str();
  cmd->add_option("--seed", a->seed, "initialisation, data order, stochastic rounding")->capture_default_str();
  cmd->add_option("--optimizer", a->optimizer, "adamw | sgd (momentum 0.9)")->capture_default_str();
  cmd->add_option("--lr", a->lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr-ratio", a->min_lr_ratio, "final lr / peak lr")->capture_default_str();
  cmd->add_option("--schedule", a->schedule, "cosine | wsd | constant (after linear warm-up)")->capture_default_str();
  cmd->add_option("--warmup", a->warmup, "warm-up steps")->capture_default_str();
  cmd->add_option("--weight-decay", a->weight_decay, "decoupled weight decay on matrices and embeddings")
      ->capture_default_str();
  cmd->add_option("--clip", a->clip, "global gradient-norm clip (0: off)")->capture_default_str();
  cmd->add_option("--master", a->master, "master-weight format: fp32 or any format spec (bf16, fp16, e5m2, ...)")
      ->capture_default_str();
  cmd->add_option("--master-rounding", a->master_rounding, "rne | sr: rounding of master-weight updates")
      ->capture_default_str();
  cmd->add_option("--loss-scale", a->loss_scale, "(initial) loss scale")->capture_default_str();
  cmd->add_flag("--dynamic-loss-scale", a->dynamic_loss_scale, "halve on overflow (step skipped), double every 200 clean steps");
  cmd->add_option("--data", a->data,
                  std::string("folder of .txt files, or 'builtin' (default: ") + kDefaultText + " if present, else builtin)");
  cmd->add_option("--tokenizer", a->tokenizer,
                  "bytes | bpe:<V>: a byte-level BPE of V tokens trained on the training split, stored in the checkpoint")
      ->capture_default_str();
  cmd->add_option("--eval-every", a->eval_every, "validation loss every N steps (and at the end)")->capture_default_str();
  cmd->add_option("--eval-windows", a->eval_windows, "validation sequences")->capture_default_str();
  cmd->add_option("--print-every", a->print_every, "print every N steps")->capture_default_str();
  cmd->add_option("--threads", a->threads, "threads (default: every core; results do not depend on it)");
  add_device_option(cmd, a->device);
  cmd->add_option("--log", a->log, "also write the loss curve as CSV");
  cmd->add_option("--h5", a->h5,
                  "also write the loss curve as a results file (HDF5; bitsim report reads it), one row per step");
  cmd->add_option("-o,--output", a->output,
                  "checkpoint (.safetensors, GPT-2 layout + optimizer state), written at the end, every --save-every "
                  "steps and on Ctrl-C");
  cmd->add_option("--save-every", a->save_every, "also checkpoint every N steps (0: end and Ctrl-C only)")
      ->capture_default_str();
  cmd->add_flag("--resume", a->resume, "continue from the -o checkpoint if it exists (bit-identical to an uninterrupted run)");
  cmd->add_option("FILE", a->file, "training file (YAML: option: value, e.g. recipe: nvfp4, d_model: 64)");
  cmd->callback([a, cmd] {
    if (!a->file.empty()) apply_yaml(a->file, *cmd);
    const sim::DeviceScope device(experiments::check_device_option(a->device));
    run(*a);
  });
}

}  // namespace bitsim::cli
