// Small SmolLM2 and MiniLM runs through the runner, checked against direct forward passes
// with the same rules (the identity point has KL 0 / cosine 1). Skipped without
// models/pretrained.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>

#include "experiments/config/experiment_config.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/runner.hpp"
#include "models/eval/embedding_metrics.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/transformer/bert.hpp"
#include "models/transformer/load_model.hpp"
#include "models/io/gguf.hpp"
#include "models/tokenizers/byte_bpe.hpp"
#include "models/transformer/llama.hpp"
#include "sim/quant/quant_spec.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/quiet_run.hpp"

using namespace bitsim::experiments;
namespace fs = std::filesystem;
using bitsim::testing::quiet_run;
using bitsim::testing::TempDir;
using bitsim::testing::read_text;

namespace {

}  // namespace

TEST_CASE("SmolLM2: the runner's metrics equal a direct forward pass") {
  const fs::path gguf = fs::path(BITSIM_PRETRAINED) / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf";
  const fs::path text = fs::path(BITSIM_PRETRAINED) / "texts" / "janeausten" / "prideprejudice.txt";
  if (!fs::exists(gguf) || !fs::exists(text)) {
    MESSAGE("skipped: models/pretrained is absent (scripts/fetch-models.sh)");
    return;
  }
  TempDir dir;
  const auto config = parse_experiment("name: m\nmodel: " + gguf.string() + "\ndata: {text: " + text.string() +
                                           ", tokens: 8}\nsweep:\n  weights: [none, \"int4:per_group(32)\"]\n  layers: [\"0-1\"]\n",
                                       dir.path / "m.yaml");
  run_experiment(config, quiet_run(dir.path / "m.h5", 2));
  const auto table = read_results(dir.path / "m.h5");
  REQUIRE(table.rows.size() == 2);
  // Columns: weights, layers, weights_bits, ppl, ref_ppl, delta_ppl, kl_mean, kl_p99, kl_max, top1, ...
  CHECK(table.columns[3].name == "ppl");
  CHECK(std::get<double>(table.rows[0].cells[6]) == 0.0);  // none: KL 0
  CHECK(std::get<double>(table.rows[0].cells[5]) == 0.0);  // delta ppl 0

  // int4 groups of 32 in blocks 0 and 1 only, computed directly.
  const auto file = bitsim::models::GgufFile::open(gguf.string());
  const auto model = bitsim::models::LlamaModel::from_gguf(file);
  auto ids = bitsim::models::ByteBpeTokenizer::from_gguf(file).encode(read_text(text));
  ids.resize(8);
  bitsim::models::LlamaSession reference(model, {});
  const auto ref = reference.forward(ids);
  bitsim::models::Numerics numerics;
  numerics.quant = {{"weight.blk.0.*", bitsim::sim::parse_quant_spec("int4:per_group(32)")},
                    {"weight.blk.1.*", bitsim::sim::parse_quant_spec("int4:per_group(32)")}};
  bitsim::models::LlamaSession session(model, numerics);
  const auto m = bitsim::models::next_token_metrics(ref, session.forward(ids), ids);
  const auto& row = table.rows[1];
  CHECK(std::get<std::string>(row.cells[1]) == "0-1");
  CHECK(std::get<double>(row.cells[3]) == m.perplexity);
  CHECK(std::get<double>(row.cells[6]) == m.kl_mean);
  CHECK(m.kl_mean > 0);
}

TEST_CASE("MiniLM: embedding metrics and per-layer SQNR equal a direct run") {
  const fs::path dir_model = fs::path(BITSIM_PRETRAINED) / "all-minilm-l6-v2";
  const fs::path text = fs::path(BITSIM_PRETRAINED) / "texts" / "janeausten" / "prideprejudice.txt";
  if (!fs::exists(dir_model / "model.safetensors") || !fs::exists(text)) {
    MESSAGE("skipped: models/pretrained is absent (scripts/fetch-models.sh)");
    return;
  }
  TempDir dir;
  const auto config = parse_experiment("name: e\nmodel: minilm\ndata: {text: " + text.string() +
                                           ", sentences: 6, per_layer: true}\nsweep:\n  weights: [none, \"int4:per_channel\"]\n",
                                       dir.path / "e.yaml");
  CHECK(config.model.architecture == bitsim::models::Architecture::bert);
  CHECK(config.metrics == std::vector<std::string>{"cosine_mean", "cosine_min", "retrieval_top1", "retrieval_mrr"});
  run_experiment(config, quiet_run(dir.path / "e.h5", 2));
  const auto table = read_results(dir.path / "e.h5");
  REQUIRE(table.rows.size() == 2);
  CHECK(table.columns[2].name == "cosine_mean");
  CHECK(std::get<double>(table.rows[0].cells[2]) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(std::get<double>(table.rows[0].cells[4]) == 1.0);  // retrieval top-1 kept
  REQUIRE(table.rows[1].arrays.size() == 1);
  CHECK(table.rows[1].arrays[0].first == "sqnr_per_layer");

  const auto model = bitsim::models::BertModel::from_directory(dir_model.string());
  const auto sentences = bitsim::models::encoder_sentences(bitsim::models::encoder_tokenizer(dir_model.string()), read_text(text), 6);
  REQUIRE(sentences.size() == 6);
  bitsim::models::Numerics numerics;
  numerics.quant = {{"weight.*", bitsim::sim::parse_quant_spec("int4:per_channel")}};
  const bitsim::models::BertSession reference(model, {}), session(model, numerics);
  std::vector<bitsim::sim::TensorF> ref, test, ref_blocks, blocks;
  for (const auto& ids : sentences) {
    ref.push_back(reference.embed(ids));
    test.push_back(session.embed(ids));
  }
  const auto m = bitsim::models::embedding_metrics(ref, test);
  (void)reference.encode(sentences[0], &ref_blocks);
  (void)session.encode(sentences[0], &blocks);
  CHECK(std::get<double>(table.rows[1].cells[2]) == m.cosine_mean);
  CHECK(std::get<double>(table.rows[1].cells[3]) == m.cosine_min);
  CHECK(std::get<double>(table.rows[1].cells[5]) == m.retrieval_mrr);
  CHECK(m.cosine_mean < 0.999);
  CHECK(table.rows[1].arrays[0].second == bitsim::models::layer_sqnr_db(ref_blocks, blocks));
  CHECK(table.rows[1].arrays[0].second.size() == 6);
}
