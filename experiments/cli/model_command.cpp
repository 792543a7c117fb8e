// bitsim model info|eval|generate.
// info PATH: what a weight file holds — its format, the architecture metadata,
// and its tensors (name, stored type, shape) — read with the same validating readers the
// forward passes use, so a corrupt or truncated file is reported here first.
//   PATH: a .gguf file, a .safetensors file, a sharded index (.index.json) or a directory.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/text_table.hpp"
#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/io/safetensors.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/tokenizers/byte_bpe.hpp"
#include "models/transformer/llama.hpp"

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
};

void add_quant_options(CLI::App* command, QuantOptions& o, bool many_weights) {
  if (many_weights)
    command->add_option("--weights", o.weights, "Weight QuantSpec (sim/README.md); repeat it for one row per spec");
  else
    command->add_option("--weights", o.weights, "Weight QuantSpec (sim/README.md)")->expected(1);
  command->add_option("--activations", o.activations, "QuantSpec for the activation entering every linear layer");
  command->add_option("--kv", o.kv, "QuantSpec for the KV cache");
  command->add_option("--accum", o.accum, "AccumSpec for every matmul (sim/README.md), e.g. acc=bf16:rne");
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

void run_eval(const std::string& path, const std::string& text_path, int tokens, const QuantOptions& o, bool json) {
  // Every spec is parsed before anything runs, so a typo fails at once.
  std::vector<std::string> variants = o.weights;
  if (variants.empty()) variants.push_back("");
  std::vector<models::Numerics> numerics;
  for (const auto& weights : variants) numerics.push_back(models::Numerics::from_options(weights, o.activations, o.kv, o.accum));
  const auto file = models::GgufFile::open(path);
  const auto tokenizer = models::ByteBpeTokenizer::from_gguf(file);
  const auto model = models::LlamaModel::from_gguf(file);
  auto ids = tokenizer.encode(read_text(text_path));
  if (int(ids.size()) < tokens)
    throw std::invalid_argument("the text has only " + std::to_string(ids.size()) + " tokens, fewer than --tokens " + std::to_string(tokens));
  if (tokens < 2) throw std::invalid_argument("--tokens must be at least 2");
  ids.resize(std::size_t(tokens));

  auto start = std::chrono::steady_clock::now();
  models::LlamaSession reference(model, models::Numerics{});
  const auto ref_logits = reference.forward(ids);
  const double ref_seconds = seconds_since(start);

  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<TableRow> table;
  double ref_ppl = models::next_token_metrics(ref_logits, ref_logits, ids).perplexity;
  table.push_back({"fp32 (reference)", fixed(ref_ppl, 3), "0", "0", "0", "0", "100.0", "inf", fixed(ref_seconds, 1)});
  for (std::size_t v = 0; v < variants.size(); ++v) {
    const auto& weights = variants[v];
    start = std::chrono::steady_clock::now();
    models::LlamaSession session(model, numerics[v]);
    const auto logits = session.forward(ids);
    const double seconds = seconds_since(start);
    const auto m = models::next_token_metrics(ref_logits, logits, ids);
    const std::string name = weights.empty() ? "fp32" : weights;
    rows.push_back({{"weights", name}, {"activations", o.activations.empty() ? "fp32" : o.activations},
                    {"kv", o.kv.empty() ? "fp32" : o.kv}, {"accum", o.accum.empty() ? "fp32" : o.accum},
                    {"perplexity", m.perplexity}, {"kl_mean", m.kl_mean}, {"kl_p99", m.kl_p99}, {"kl_max", m.kl_max},
                    {"top1", m.top1}, {"logits_sqnr_db", std::isinf(m.logits_sqnr_db) ? nlohmann::ordered_json("inf") : nlohmann::ordered_json(m.logits_sqnr_db)},
                    {"nonfinite_rows", m.nonfinite_rows}, {"seconds", seconds}});
    table.push_back({name, fixed(m.perplexity, 3), fixed(m.perplexity - m.reference_perplexity, 3), fixed(m.kl_mean, 5),
                     fixed(m.kl_p99, 5), fixed(m.kl_max, 5), fixed(100 * m.top1, 1), fixed(m.logits_sqnr_db, 1),
                     fixed(seconds, 1)});
  }
  if (json) {
    nlohmann::ordered_json out = {{"model", path}, {"text", text_path}, {"tokens", tokens},
                                  {"reference_perplexity", ref_ppl}, {"reference_seconds", ref_seconds}, {"runs", rows}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s\n%s\n%d tokens of %s; FP32 reference perplexity %.3f (%.1f s)\n", path.c_str(),
              model.config().describe().c_str(), tokens, text_path.c_str(), ref_ppl, ref_seconds);
  std::printf("activations %s, KV cache %s, accumulation %s\n\n", o.activations.empty() ? "fp32" : o.activations.c_str(),
              o.kv.empty() ? "fp32" : o.kv.c_str(), o.accum.empty() ? "fp32 (sequential)" : o.accum.c_str());
  print_table(stdout, {"weights", "ppl", "dppl", "KL mean", "KL p99", "KL max", "top-1 %", "logit SQNR dB", "s"}, table);
}

void run_generate(const std::string& path, const std::string& prompt, int tokens, const QuantOptions& o, bool json) {
  const auto numerics = models::Numerics::from_options(o.weights.empty() ? "" : o.weights[0], o.activations, o.kv, o.accum);
  if (tokens < 1) throw std::invalid_argument("--tokens must be at least 1");
  const auto file = models::GgufFile::open(path);
  const auto tokenizer = models::ByteBpeTokenizer::from_gguf(file);
  const auto model = models::LlamaModel::from_gguf(file);
  const auto prompt_ids = tokenizer.encode(prompt, true);
  if (prompt_ids.empty()) throw std::invalid_argument("--prompt is empty");
  auto greedy = [&](const models::Numerics& numerics) {
    models::LlamaSession session(model, numerics);
    std::vector<std::int32_t> out;
    auto logits = session.forward(prompt_ids);
    for (int n = 0; n < tokens; ++n) {
      const auto row = logits.span().subspan(std::size_t(logits.shape()[0] - 1) * std::size_t(logits.shape()[1]));
      const auto next = std::int32_t(std::max_element(row.begin(), row.end()) - row.begin());
      out.push_back(next);
      if (n + 1 < tokens) logits = session.forward({next});
    }
    return out;
  };
  const auto ref = greedy(models::Numerics{});
  const auto test = greedy(numerics);
  int diverge = -1, agree = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    agree += ref[i] == test[i];
    if (diverge < 0 && ref[i] != test[i]) diverge = int(i);
  }
  if (json) {
    nlohmann::ordered_json out = {{"prompt", prompt}, {"reference_ids", ref}, {"quantized_ids", test},
                                  {"reference_text", tokenizer.decode(ref)}, {"quantized_text", tokenizer.decode(test)},
                                  {"first_divergence", diverge}, {"agreement", double(agree) / double(ref.size())}};
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("prompt: %s\n\n--- fp32 ---\n%s\n\n--- quantized ---\n%s\n\n", prompt.c_str(), tokenizer.decode(ref).c_str(),
              tokenizer.decode(test).c_str());
  if (diverge < 0) std::printf("identical for all %d tokens\n", tokens);
  else std::printf("first divergence at token %d; %d of %d tokens agree\n", diverge, agree, tokens);
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

  auto* eval = model->add_subcommand("eval", "Perplexity, KL and top-1 of quantized runs against the FP32 run (Llama GGUF)");
  auto eval_path = std::make_shared<std::string>();
  auto text = std::make_shared<std::string>("models/pretrained/texts/janeausten/prideprejudice.txt");
  auto eval_tokens = std::make_shared<int>(128);
  auto eval_json = std::make_shared<bool>(false);
  auto eval_quant = std::make_shared<QuantOptions>();
  eval->add_option("PATH", *eval_path, "a Llama-architecture .gguf file")->required();
  eval->add_option("--text", *text, "evaluation text (UTF-8)")->capture_default_str();
  eval->add_option("--tokens", *eval_tokens, "tokens of the text to evaluate, from its start")->capture_default_str();
  eval->add_flag("--json", *eval_json, "Print JSON");
  add_quant_options(eval, *eval_quant, true);
  eval->callback([=] {
    try {
      run_eval(*eval_path, *text, *eval_tokens, *eval_quant, *eval_json);
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
  generate->add_option("PATH", *gen_path, "a Llama-architecture .gguf file")->required();
  generate->add_option("--prompt", *prompt, "prompt text (control tokens such as <|im_start|> are recognised)")->required();
  generate->add_option("--tokens", *gen_tokens, "tokens to generate")->capture_default_str();
  generate->add_flag("--json", *gen_json, "Print JSON");
  add_quant_options(generate, *gen_quant, false);
  generate->callback([=] {
    try {
      run_generate(*gen_path, *prompt, *gen_tokens, *gen_quant, *gen_json);
    } catch (const models::LoadError& e) {
      throw std::invalid_argument(e.what());
    }
  });
}

}  // namespace bitsim::cli
