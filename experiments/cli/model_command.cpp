// bitsim model info|eval|generate.
// eval PATH: quantized runs against the FP32 run of a Llama GGUF, a GPT-2 or a BERT
// safetensors checkpoint (the architecture is read from the file); generate PATH: greedy
// continuations of a decoder, FP32 and quantized side by side.
// info PATH: what a weight file holds — its format, the architecture metadata,
// and its tensors (name, stored type, shape) — read with the same validating readers the
// forward passes use, so a corrupt or truncated file is reported here first.
//   PATH: a .gguf file, a .safetensors file, a sharded index (.index.json) or a directory.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/device_option.hpp"
#include "experiments/config/device_choice.hpp"
#include "experiments/cli/text_table.hpp"
#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/io/safetensors.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/tokenizers/byte_bpe.hpp"
#include "models/eval/embedding_metrics.hpp"
#include "models/eval/greedy.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/tokenizers/wordpiece.hpp"
#include "models/transformer/bert.hpp"
#include "models/transformer/gpt2.hpp"
#include "models/transformer/llama.hpp"
#include "models/transformer/load_model.hpp"

namespace bitsim::cli {
namespace {

struct Summary {
  std::string container;
  std::vector<std::pair<std::string, std::string>> metadata;  // key, printable value
  std::vector<models::StoredTensor> tensors;
};

Summary summarize(const std::string& path) {
  Summary s;
  if (path.ends_with(".gguf")) {
    const auto f = models::GgufFile::open(path);
    s.container = "GGUF v" + std::to_string(f.version());
    for (const auto& [key, value] : f.metadata()) s.metadata.emplace_back(key, value.summary());
    s.tensors = f.tensors();
  } else {
    const auto f = models::SafetensorsFile::open(path);
    s.container = "safetensors (" + std::to_string(f.files().size()) + " file" + (f.files().size() == 1 ? ")" : "s)");
    for (const auto& [key, value] : f.metadata()) s.metadata.emplace_back(key, value);
    s.tensors = f.tensors();
  }
  return s;
}

void print_info(const std::string& path, bool json, bool list_tensors) {
  const Summary s = summarize(path);
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> by_type;  // tensors, elements
  std::uint64_t elements = 0, bytes = 0;
  for (const auto& t : s.tensors) {
    const auto n = static_cast<std::uint64_t>(sim::element_count(t.shape));
    auto& entry = by_type[std::string(models::info(t.type).name)];
    ++entry.first;
    entry.second += n;
    elements += n;
    bytes += t.bytes.size();
  }
  if (json) {
    nlohmann::ordered_json out = {{"path", path}, {"container", s.container},
                                  {"tensor_count", s.tensors.size()}, {"elements", elements},
                                  {"bytes", bytes}};
    auto meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : s.metadata) meta[k] = v;
    out["metadata"] = meta;
    auto tensors = nlohmann::ordered_json::array();
    for (const auto& t : s.tensors)
      tensors.push_back({{"name", t.name}, {"type", models::info(t.type).name}, {"shape", t.shape}});
    out["tensors"] = tensors;
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s: %s, %zu tensors, %llu elements, %llu bytes of tensor data\n", path.c_str(),
              s.container.c_str(), s.tensors.size(), static_cast<unsigned long long>(elements),
              static_cast<unsigned long long>(bytes));
  std::vector<TableRow> types;
  for (const auto& [name, counts] : by_type)
    types.push_back({name, std::to_string(counts.first), std::to_string(counts.second)});
  std::printf("\n");
  print_table(stdout, {"stored type", "tensors", "elements"}, types);
  if (!s.metadata.empty()) {
    std::vector<TableRow> meta;
    for (const auto& [k, v] : s.metadata) meta.push_back({k, v});
    std::printf("\n");
    print_table(stdout, {"metadata", "value"}, meta);
  }
  if (list_tensors) {
    std::vector<TableRow> rows;
    for (const auto& t : s.tensors)
      rows.push_back({t.name, std::string(models::info(t.type).name), sim::shape_string(t.shape)});
    std::printf("\n");
    print_table(stdout, {"tensor", "type", "shape"}, rows);
  }
}

struct QuantOptions {
  std::vector<std::string> weights;
  std::string activations, kv, accum;
  std::vector<std::string> roles;  // --role PATTERN=SPEC, applied after the shorthands
};

// The shorthands' rules, then each --role PATTERN=SPEC (a QuantSpec; matmul.* patterns take
// an AccumSpec), in order: the last matching rule wins.
models::Numerics quant_numerics(const QuantOptions& o, const std::string& weights) {
  auto n = models::Numerics::from_options(weights, o.activations, o.kv, o.accum);
  for (const auto& rule : o.roles) {
    const auto eq = rule.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("--role '" + rule + "': expected PATTERN=SPEC, e.g. 'norm.*=bf16' or 'qkv.blk.0.*=int8:per_tensor'");
    const std::string pattern = rule.substr(0, eq), spec = rule.substr(eq + 1);
    if (pattern.rfind("matmul.", 0) == 0) n.accum.emplace_back(pattern, sim::AccumSpec::parse(spec));
    else n.quant.emplace_back(pattern, sim::parse_quant_spec(spec));
  }
  return n;
}

void add_quant_options(CLI::App* command, QuantOptions& o, bool many_weights) {
  if (many_weights)
    command->add_option("--weights", o.weights, "Weight QuantSpec (sim/README.md); repeat it for one row per spec");
  else
    command->add_option("--weights", o.weights, "Weight QuantSpec (sim/README.md)")->expected(1);
  command->add_option("--activations", o.activations, "QuantSpec for the activation entering every linear layer");
  command->add_option("--kv", o.kv, "QuantSpec for the KV cache (K and V of an encoder)");
  command->add_option("--accum", o.accum, "AccumSpec for every matmul (sim/README.md), e.g. acc=bf16:rne");
  command->add_option("--role", o.roles,
                      "PATTERN=SPEC: a rule for any tensor role (models/README.md), e.g. 'norm.*=bf16', "
                      "'qkv.blk.0.*=int8:per_tensor', 'matmul.blk.3.*=acc=bf16'; repeatable, applied last");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read the text file '" + path + "' (run scripts/fetch-models.sh for the default)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string fixed(double v, int digits) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// JSON has no infinity: an exact run's SQNR is written as the string "inf".
nlohmann::ordered_json json_number(double v) {
  return std::isinf(v) ? nlohmann::ordered_json(v > 0 ? "inf" : "-inf") : nlohmann::ordered_json(v);
}

// Which engine runs a checkpoint, and its tokenizer: models/transformer/load_model.hpp,
// shared with the experiment runner.
using models::Architecture;
using models::detect_architecture;

struct EvalOptions {
  std::string text;
  int tokens = 128, sentences = 32;
  bool json = false, per_layer = false;
  QuantOptions quant;
  std::string reference = "fp32";  // models::Numerics::reference: fp32 or fp64
};

std::vector<std::string> weight_variants(const QuantOptions& o) {
  std::vector<std::string> v = o.weights;
  if (v.empty()) v.push_back("");
  return v;
}

std::vector<models::Numerics> numerics_per_variant(const QuantOptions& o) {
  std::vector<models::Numerics> out;
  for (const auto& weights : weight_variants(o))
    out.push_back(quant_numerics(o, weights));
  return out;
}

std::string numerics_line(const QuantOptions& o) {
  std::string line = "activations " + (o.activations.empty() ? std::string("fp32") : o.activations) + ", KV " +
                     (o.kv.empty() ? std::string("fp32") : o.kv) + ", accumulation " +
                     (o.accum.empty() ? std::string("fp32 (sequential)") : o.accum);
  for (const auto& rule : o.roles) line += ", " + rule;
  return line;
}

// The per-layer SQNR table: one row per block, one column per weight spec.
void print_layer_profile(const std::vector<std::string>& names, const std::vector<std::vector<double>>& profiles) {
  if (profiles.empty()) return;
  std::vector<TableRow> rows;
  for (std::size_t b = 0; b < profiles[0].size(); ++b) {
    TableRow row{std::to_string(b)};
    for (const auto& p : profiles) row.push_back(fixed(p[b], 1));
    rows.push_back(row);
  }
  TableRow header{"block"};
  for (const auto& n : names) header.push_back("SQNR dB " + n);
  std::printf("\nresidual stream after each block vs FP32:\n");
  print_table(stdout, header, rows);
}

nlohmann::ordered_json profile_json(const std::vector<double>& profile) {
  auto a = nlohmann::ordered_json::array();
  for (double v : profile) a.push_back(json_number(v));
  return a;
}

// Decoders (Llama, GPT-2): next-token metrics of each weight spec against the FP32 run.
template <class Session, class Model>
void eval_decoder(const std::string& path, const Model& model, const models::Tokenizer& tokenizer, const EvalOptions& o,
                  const std::vector<models::Numerics>& numerics) {
  const auto variants = weight_variants(o.quant);
  auto ids = tokenizer.encode(read_text(o.text));
  if (o.tokens < 2) throw std::invalid_argument("--tokens must be at least 2");
  if (int(ids.size()) < o.tokens)
    throw std::invalid_argument("the text has only " + std::to_string(ids.size()) + " tokens, fewer than --tokens " + std::to_string(o.tokens));
  ids.resize(std::size_t(o.tokens));

  std::vector<sim::TensorF> ref_blocks, blocks;
  auto* want_blocks = o.per_layer ? &blocks : nullptr;
  auto start = std::chrono::steady_clock::now();
  Session reference(model, models::Numerics::reference(o.reference));
  const auto ref_logits = reference.forward(ids, o.per_layer ? &ref_blocks : nullptr);
  const double ref_seconds = seconds_since(start);

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<TableRow> table;
  std::vector<std::string> names;
  std::vector<std::vector<double>> profiles;
  const double ref_ppl = models::next_token_metrics(ref_logits, ref_logits, ids).perplexity;
  table.push_back({o.reference + " (reference)", fixed(ref_ppl, 3), "0", "0", "0", "0", "100.0", "inf", fixed(ref_seconds, 1)});
  for (std::size_t v = 0; v < variants.size(); ++v) {
    start = std::chrono::steady_clock::now();
    Session session(model, numerics[v]);
    const auto logits = session.forward(ids, want_blocks);
    const double seconds = seconds_since(start);
    const auto m = models::next_token_metrics(ref_logits, logits, ids);
    const std::string name = variants[v].empty() ? "fp32" : variants[v];
    nlohmann::ordered_json row = {{"weights", name}, {"activations", o.quant.activations.empty() ? "fp32" : o.quant.activations},
                                  {"kv", o.quant.kv.empty() ? "fp32" : o.quant.kv}, {"accum", o.quant.accum.empty() ? "fp32" : o.quant.accum},
                                  {"perplexity", m.perplexity}, {"kl_mean", m.kl_mean}, {"kl_p99", m.kl_p99}, {"kl_max", m.kl_max},
                                  {"top1", m.top1}, {"logits_sqnr_db", json_number(m.logits_sqnr_db)},
                                  {"nonfinite_rows", m.nonfinite_rows}, {"seconds", seconds}};
    if (o.per_layer) {
      names.push_back(name);
      profiles.push_back(models::layer_sqnr_db(ref_blocks, blocks));
      row["per_layer_sqnr_db"] = profile_json(profiles.back());
    }
    rows.push_back(row);
    table.push_back({name, fixed(m.perplexity, 3), fixed(m.perplexity - m.reference_perplexity, 3), fixed(m.kl_mean, 5),
                     fixed(m.kl_p99, 5), fixed(m.kl_max, 5), fixed(100 * m.top1, 1), fixed(m.logits_sqnr_db, 1),
                     fixed(seconds, 1)});
  }
  if (o.json) {
    nlohmann::ordered_json out = {{"model", path}, {"text", o.text}, {"tokens", o.tokens},
                                  {"reference_perplexity", ref_ppl}, {"reference_seconds", ref_seconds}, {"runs", rows}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s\n%s\n%d tokens of %s; %s reference perplexity %.3f (%.1f s)\n%s\n\n", path.c_str(),
              model.config().describe().c_str(), o.tokens, o.text.c_str(), o.reference == "fp64" ? "FP64-accumulated" : "FP32", ref_ppl, ref_seconds, numerics_line(o.quant).c_str());
  print_table(stdout, {"weights", "ppl", "dppl", "KL mean", "KL p99", "KL max", "top-1 %", "logit SQNR dB", "s"}, table);
  print_layer_profile(names, profiles);
}

// The encoder (BERT): embedding cosine and retrieval agreement of each weight spec.
void eval_encoder(const std::string& path, const EvalOptions& o, const std::vector<models::Numerics>& numerics) {
  const auto variants = weight_variants(o.quant);
  if (o.sentences < 1) throw std::invalid_argument("--sentences must be at least 1");
  const auto tokenizer = models::encoder_tokenizer(path);
  const auto model = models::BertModel::from_directory(models::checkpoint_folder(path).string());
  const auto sentences = models::encoder_sentences(tokenizer, read_text(o.text), o.sentences);
  if (sentences.empty()) throw std::invalid_argument(o.text + " holds no text");

  auto embed_all = [&](const models::Numerics& n, std::vector<std::vector<double>>* profile) {
    const models::BertSession session(model, n);
    std::vector<sim::TensorF> out;
    for (const auto& ids : sentences) out.push_back(session.embed(ids));
    if (profile) {  // per-layer SQNR of the first sentence's hidden states
      std::vector<sim::TensorF> ref_blocks, blocks;
      (void)models::BertSession(model, models::Numerics::reference(o.reference)).encode(sentences[0], &ref_blocks);
      (void)session.encode(sentences[0], &blocks);
      profile->push_back(models::layer_sqnr_db(ref_blocks, blocks));
    }
    return out;
  };
  auto start = std::chrono::steady_clock::now();
  const auto reference = embed_all(models::Numerics::reference(o.reference), nullptr);
  const double ref_seconds = seconds_since(start);

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<TableRow> table{{o.reference + " (reference)", "1", "1", "100.0", "1", fixed(ref_seconds, 1)}};
  std::vector<std::string> names;
  std::vector<std::vector<double>> profiles;
  for (std::size_t v = 0; v < variants.size(); ++v) {
    start = std::chrono::steady_clock::now();
    const auto test = embed_all(numerics[v], o.per_layer ? &profiles : nullptr);
    const double seconds = seconds_since(start);
    const auto m = models::embedding_metrics(reference, test);
    const std::string name = variants[v].empty() ? "fp32" : variants[v];
    names.push_back(name);
    nlohmann::ordered_json row = {{"weights", name}, {"activations", o.quant.activations.empty() ? "fp32" : o.quant.activations},
                                  {"kv", o.quant.kv.empty() ? "fp32" : o.quant.kv}, {"accum", o.quant.accum.empty() ? "fp32" : o.quant.accum},
                                  {"cosine_mean", m.cosine_mean}, {"cosine_min", m.cosine_min},
                                  {"retrieval_top1", m.retrieval_top1}, {"retrieval_mrr", m.retrieval_mrr}, {"seconds", seconds}};
    if (o.per_layer) row["per_layer_sqnr_db"] = profile_json(profiles.back());
    rows.push_back(row);
    table.push_back({name, fixed(m.cosine_mean, 6), fixed(m.cosine_min, 6), fixed(100 * m.retrieval_top1, 1),
                     fixed(m.retrieval_mrr, 3), fixed(seconds, 1)});
  }
  if (o.json) {
    nlohmann::ordered_json out = {{"model", path}, {"text", o.text}, {"sentences", sentences.size()},
                                  {"reference_seconds", ref_seconds}, {"runs", rows}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s\n%s\n%zu paragraphs of %s as sentences (mean pooling, L2-normalised)\n%s\n\n", path.c_str(),
              model.config().describe().c_str(), sentences.size(), o.text.c_str(), numerics_line(o.quant).c_str());
  print_table(stdout, {"weights", "cosine mean", "cosine min", "retrieval top-1 %", "retrieval MRR", "s"}, table);
  print_layer_profile(names, profiles);
}

void run_eval(const std::string& path, const EvalOptions& o) {
  const auto numerics = numerics_per_variant(o.quant);  // a typo in a spec fails before any loading
  switch (detect_architecture(path)) {
    case Architecture::llama: {
      const auto file = models::GgufFile::open(path);
      const auto tokenizer = models::ByteBpeTokenizer::from_gguf(file);
      eval_decoder<models::LlamaSession>(path, models::LlamaModel::from_gguf(file), tokenizer, o, numerics);
      break;
    }
    case Architecture::gpt2: {
      const auto tokenizer = models::decoder_tokenizer(path);
      eval_decoder<models::Gpt2Session>(path, models::Gpt2Model::from_safetensors(path), *tokenizer, o, numerics);
      break;
    }
    case Architecture::bert:
      eval_encoder(path, o, numerics);
      break;
  }
}

template <class Session, class Model>
void generate_with(const Model& model, const models::Tokenizer& tokenizer, const std::string& prompt,
                   const std::vector<std::int32_t>& prompt_ids, int tokens, const models::Numerics& numerics, bool json) {
  if (prompt_ids.empty()) throw std::invalid_argument("--prompt is empty");
  Session ref_session(model, models::Numerics{}), test_session(model, numerics);
  const auto ref = models::greedy_decode(ref_session, prompt_ids, tokens);
  const auto test = models::greedy_decode(test_session, prompt_ids, tokens);
  const auto c = models::compare_greedy(ref, test);
  if (json) {
    nlohmann::ordered_json out = {{"prompt", prompt}, {"reference_ids", ref}, {"quantized_ids", test},
                                  {"reference_text", tokenizer.decode(ref)}, {"quantized_text", tokenizer.decode(test)},
                                  {"first_divergence", c.first_divergence}, {"agreement", c.agreement}};
    // A decoded continuation need not be valid UTF-8 (a byte-level model can stop mid-character).
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("prompt: %s\n\n--- fp32 ---\n%s\n\n--- quantized ---\n%s\n\n", prompt.c_str(), tokenizer.decode(ref).c_str(),
              tokenizer.decode(test).c_str());
  if (c.first_divergence < 0) std::printf("identical for all %d tokens\n", tokens);
  else std::printf("first divergence at token %d; %.0f of %d tokens agree\n", c.first_divergence, c.agreement * tokens, tokens);
}

void run_generate(const std::string& path, const std::string& prompt, int tokens, const QuantOptions& o, bool json) {
  const auto numerics = quant_numerics(o, o.weights.empty() ? "" : o.weights[0]);
  if (tokens < 1) throw std::invalid_argument("--tokens must be at least 1");
  switch (detect_architecture(path)) {
    case Architecture::llama: {
      const auto file = models::GgufFile::open(path);
      const auto tokenizer = models::ByteBpeTokenizer::from_gguf(file);
      // Control tokens such as <|im_start|> in a prompt are taken as such (as llama.cpp does).
      generate_with<models::LlamaSession>(models::LlamaModel::from_gguf(file), tokenizer, prompt,
                                          tokenizer.encode(prompt, true), tokens, numerics, json);
      break;
    }
    case Architecture::gpt2: {
      const auto tokenizer = models::decoder_tokenizer(path);
      generate_with<models::Gpt2Session>(models::Gpt2Model::from_safetensors(path), *tokenizer, prompt,
                                         tokenizer->encode(prompt), tokens, numerics, json);
      break;
    }
    case Architecture::bert:
      throw std::invalid_argument(path + ": a BERT encoder does not generate text (use model eval)");
  }
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Inspect and run pretrained models");
  model->require_subcommand(1);
  auto* info = model->add_subcommand("info", "What a weight file (GGUF, safetensors) holds");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto tensors = std::make_shared<bool>(false);
  info->add_option("PATH", *path, "a .gguf or .safetensors file, a sharded .index.json, or a directory")->required();
  info->add_flag("--json", *json, "Print JSON (always lists the tensors)");
  info->add_flag("--tensors", *tensors, "List every tensor with its type and shape");
  info->callback([=] {
    try {
      print_info(*path, *json, *tensors);
    } catch (const models::LoadError& e) {
      // A file that cannot be read is bad input: exit status 2, like an unknown format.
      throw std::invalid_argument(e.what());
    }
  });

  auto* eval = model->add_subcommand(
      "eval", "Quantized runs against the FP32 run: perplexity, KL, top-1 (Llama GGUF, GPT-2 safetensors) or "
              "embedding cosine and retrieval (BERT safetensors)");
  auto eval_path = std::make_shared<std::string>();
  auto eval_opts = std::make_shared<EvalOptions>();
  eval_opts->text = "models/pretrained/texts/janeausten/prideprejudice.txt";
  eval->add_option("PATH", *eval_path, "a Llama .gguf file, or a GPT-2 / BERT safetensors checkpoint (file or directory)")->required();
  eval->add_option("--text", eval_opts->text, "evaluation text (UTF-8)")->capture_default_str();
  eval->add_option("--tokens", eval_opts->tokens, "decoders: tokens of the text to evaluate, from its start")->capture_default_str();
  eval->add_option("--sentences", eval_opts->sentences, "encoders: the text's first N paragraphs are the sentences")->capture_default_str();
  eval->add_option("--reference", eval_opts->reference,
                   "Numerics of the reference run: fp32, or fp64 (every matmul accumulates in float64, norm "
                   "statistics in float64; models/README.md)")
      ->check(CLI::IsMember({"fp32", "fp64"}))
      ->capture_default_str();
  eval->add_flag("--per-layer", eval_opts->per_layer, "Also print the SQNR of the residual stream after every block");
  eval->add_flag("--json", eval_opts->json, "Print JSON");
  add_quant_options(eval, eval_opts->quant, true);
  auto eval_device = std::make_shared<std::string>("cpu");
  add_device_option(eval, *eval_device);
  eval->callback([=] {
    const sim::DeviceScope device(experiments::check_device_option(*eval_device));
    try {
      run_eval(*eval_path, *eval_opts);
    } catch (const models::LoadError& e) {
      throw std::invalid_argument(e.what());
    }
  });

  auto* generate = model->add_subcommand("generate", "Greedy continuations, FP32 and quantized side by side");
  auto gen_path = std::make_shared<std::string>();
  auto prompt = std::make_shared<std::string>();
  auto gen_tokens = std::make_shared<int>(32);
  auto gen_json = std::make_shared<bool>(false);
  auto gen_quant = std::make_shared<QuantOptions>();
  generate->add_option("PATH", *gen_path, "a Llama .gguf file or a GPT-2 safetensors checkpoint")->required();
  generate->add_option("--prompt", *prompt, "prompt text (control tokens such as <|im_start|> are recognised)")->required();
  generate->add_option("--tokens", *gen_tokens, "tokens to generate")->capture_default_str();
  generate->add_flag("--json", *gen_json, "Print JSON");
  add_quant_options(generate, *gen_quant, false);
  auto gen_device = std::make_shared<std::string>("cpu");
  add_device_option(generate, *gen_device);
  generate->callback([=] {
    const sim::DeviceScope device(experiments::check_device_option(*gen_device));
    try {
      run_generate(*gen_path, *prompt, *gen_tokens, *gen_quant, *gen_json);
    } catch (const models::LoadError& e) {
      throw std::invalid_argument(e.what());
    }
  });
}

}  // namespace bitsim::cli
