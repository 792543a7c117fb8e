// all-MiniLM-L6-v2's FP32 sentence embeddings against an independent float64 numpy
// implementation (tests/data/models/gen_minilm_reference.py) on 8 sentences; then quantized
// numerics measured with the encoder metrics (cosine to FP32, nearest-neighbour retrieval)
// and the per-layer SQNR profile.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/eval/embedding_metrics.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/io/load_error.hpp"
#include "models/tokenizers/wordpiece.hpp"
#include "models/transformer/bert.hpp"

using namespace bitsim::models;
using bitsim::sim::TensorF;

namespace {
const std::string kModel = std::string(BITSIM_PRETRAINED) + "/all-minilm-l6-v2";

struct Reference {
  std::vector<std::vector<std::int32_t>> ids;
  std::vector<std::vector<double>> embeddings;
  std::vector<std::string> texts;
};

Reference load_reference() {
  std::ifstream in(std::string(BITSIM_TEST_DATA) + "/models/minilm_reference.json");
  REQUIRE(in);
  const auto j = nlohmann::json::parse(in);
  Reference r;
  for (const auto& s : j["sentences"]) {
    r.texts.push_back(s["text"].get<std::string>());
    r.ids.push_back(s["ids"].get<std::vector<std::int32_t>>());
    r.embeddings.push_back(s["embedding"].get<std::vector<double>>());
  }
  return r;
}

std::vector<TensorF> embed_all(const BertModel& model, const Numerics& numerics, const Reference& ref) {
  const BertSession session(model, numerics);
  std::vector<TensorF> out;
  for (const auto& ids : ref.ids) out.push_back(session.embed(ids));
  return out;
}

bool present() {
  if (std::filesystem::exists(kModel + "/model.safetensors")) return true;
  MESSAGE("skipped: " << kModel << " is absent (run scripts/fetch-models.sh)");
  return false;
}
}  // namespace

TEST_CASE("bert: MiniLM FP32 embeddings match the float64 reference") {
  if (!present()) return;
  const auto ref = load_reference();
  REQUIRE(ref.ids.size() == 8);
  const auto model = BertModel::from_directory(kModel);
  CHECK(model.config().layers == 6);
  CHECK(model.config().d_model == 384);
  CHECK(model.config().heads == 12);
  CHECK(model.config().vocab == 30522);

  // bitsim's WordPiece gives the ids Hugging Face's tokenizer gave the generator.
  const auto tokenizer = WordPieceTokenizer::from_vocab_file(kModel + "/vocab.txt");
  for (std::size_t i = 0; i < ref.texts.size(); ++i) CHECK(tokenizer.encode(ref.texts[i]) == ref.ids[i]);

  const auto got = embed_all(model, Numerics{}, ref);
  double worst_cos = 1, worst_abs = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].shape() == bitsim::sim::Shape{384});
    const auto e = got[i].span();
    const auto& want = ref.embeddings[i];
    double dot = 0, gg = 0, ww = 0;
    for (std::size_t j = 0; j < want.size(); ++j) {
      dot += e[j] * want[j];
      gg += double(e[j]) * e[j];
      ww += want[j] * want[j];
      worst_abs = std::max(worst_abs, std::abs(e[j] - want[j]));
    }
    worst_cos = std::min(worst_cos, dot / std::sqrt(gg * ww));
    CHECK(std::abs(std::sqrt(gg) - 1) < 1e-6);  // L2-normalised
  }
  MESSAGE("FP32 vs float64: 1 - min cosine " << 1 - worst_cos << ", max abs error " << worst_abs);
  CHECK(worst_cos >= 0.99999);
  CHECK(worst_abs < 1e-5);

  // The reference's retrieval answer (each sentence's paraphrase) is bitsim's too.
  std::vector<TensorF> ref_tensors;
  for (const auto& e : ref.embeddings) ref_tensors.push_back(TensorF(bitsim::sim::Shape{384}, std::vector<float>(e.begin(), e.end())));
  const auto m = embedding_metrics(ref_tensors, got);
  CHECK(m.retrieval_top1 == 1.0);
  CHECK(m.cosine_min >= 0.99999);
}

TEST_CASE("bert: quantized MiniLM — cosine to FP32, retrieval, per-layer SQNR") {
  if (!present()) return;
  const auto ref = load_reference();
  const auto model = BertModel::from_directory(kModel);
  const auto fp32 = embed_all(model, Numerics{}, ref);

  const auto bf16 = embedding_metrics(fp32, embed_all(model, Numerics::from_options("bf16", "", "", ""), ref));
  const auto int4 = embedding_metrics(fp32, embed_all(model, Numerics::from_options("int4:per_channel", "", "", ""), ref));
  MESSAGE("bf16 weights: cosine mean " << bf16.cosine_mean << " min " << bf16.cosine_min << ", retrieval top-1 "
                                       << bf16.retrieval_top1 << ", MRR " << bf16.retrieval_mrr);
  MESSAGE("int4 per-channel weights: cosine mean " << int4.cosine_mean << " min " << int4.cosine_min
                                                   << ", retrieval top-1 " << int4.retrieval_top1);
  CHECK(bf16.cosine_min < 1.0);  // the weights did change
  CHECK(bf16.cosine_min > 0.999);
  CHECK(bf16.retrieval_top1 == 1.0);
  CHECK(int4.cosine_mean < bf16.cosine_mean);  // 4 bits hurt more than 8

  // Per-layer profile: identity is exact at every block; bf16 weights lose accuracy.
  const BertSession ref_session(model, Numerics{}), q_session(model, Numerics::from_options("bf16", "", "", ""));
  std::vector<TensorF> ref_blocks, q_blocks;
  (void)ref_session.encode(ref.ids[0], &ref_blocks);
  (void)q_session.encode(ref.ids[0], &q_blocks);
  REQUIRE(ref_blocks.size() == 6);
  for (double s : layer_sqnr_db(ref_blocks, ref_blocks)) CHECK(std::isinf(s));
  const auto profile = layer_sqnr_db(ref_blocks, q_blocks);
  std::string line;
  for (double s : profile) {
    CHECK(std::isfinite(s));
    CHECK(s > 20.0);
    line += std::to_string(s) + " ";
  }
  MESSAGE("bf16 weights, SQNR dB after each block: " << line);
}

TEST_CASE("bert: bad checkpoints are LoadErrors") {
  CHECK_THROWS_AS(BertModel::from_directory(std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2"), LoadError);
  CHECK_THROWS_AS(BertModel::from_directory("/nonexistent/bitsim"), LoadError);
}
