// Tensor roles of the engines (models/transformer/numerics.hpp): every role named there is
// reached by its rule in the GPT-2 and BERT forward passes (Llama: test_roles_llama.cpp). A role given a format
// that represents float32 exactly (fp32 as a QuantSpec, or fp32 statistics for a norm)
// changes nothing bit for bit — so the rule runs the quantizer and the quantizer is exact —
// and the same role in a coarse format changes the output. Plus the fp64 reference
// numerics (Numerics::reference), checked against the tiny GPT-2's float64 logits.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/transformer/bert.hpp"
#include "models/transformer/gpt2.hpp"
#include "sim/quant/quant_spec.hpp"
#include "tests/models/pretrained.hpp"
#include "tests/models/roles_check.hpp"

using namespace bitsim::models;
using bitsim::sim::TensorF;

namespace {
const std::string kTinyGpt2 = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
}  // namespace

using bitsim::test::bit_identical;
using bitsim::test::check_roles;

TEST_CASE("roles: GPT-2 (tiny checkpoint)") {
  const auto model = Gpt2Model::from_safetensors(kTinyGpt2);
  const std::vector<std::int32_t> ids = {5, 17, 42, 8, 63, 2, 91, 30};
  check_roles("gpt2", "norm.output", [&](const Numerics& n) { return Gpt2Session(model, n).forward(ids); });
}

TEST_CASE("roles: BERT (all-MiniLM-L6-v2)") {
  const std::string dir = bitsim::test::pretrained("all-minilm-l6-v2");
  if (!bitsim::test::present(dir + "/model.safetensors")) return;
  const auto model = BertModel::from_directory(dir);
  const std::vector<std::int32_t> ids = {101, 1996, 4937, 2938, 2006, 1996, 13523, 1012, 102};  // [CLS] ... [SEP]
  check_roles("bert", "norm.embeddings", [&](const Numerics& n) { return BertSession(model, n).encode(ids); });
}

TEST_CASE("reference numerics: fp64 accumulation is closer to a float64 forward pass than fp32") {
  std::ifstream in(kTinyGpt2 + "/reference.json");
  REQUIRE(in);
  const auto j = nlohmann::json::parse(in);
  const auto ids = j["ids"].get<std::vector<std::int32_t>>();
  const auto want = j["logits"].get<std::vector<std::vector<double>>>();
  const auto model = Gpt2Model::from_safetensors(kTinyGpt2);
  const auto error = [&](const TensorF& logits) {
    double sum = 0;
    const std::size_t vocab = want[0].size();
    for (std::size_t t = 0; t < ids.size(); ++t)
      for (std::size_t v = 0; v < vocab; ++v) {
        const double d = logits.span()[t * vocab + v] - want[t][v];
        sum += d * d;
      }
    return std::sqrt(sum);
  };
  const TensorF fp32 = Gpt2Session(model, Numerics::reference("fp32")).forward(ids);
  const TensorF fp64 = Gpt2Session(model, Numerics::reference("fp64")).forward(ids);
  CHECK(bit_identical(fp32, Gpt2Session(model, Numerics{}).forward(ids)));
  CHECK_FALSE(bit_identical(fp64, fp32));
  MESSAGE("L2 error vs the float64 numpy forward: fp32 " << error(fp32) << ", fp64 accumulation " << error(fp64));
  CHECK(error(fp64) < error(fp32));
  CHECK(Numerics::reference("fp64").accum_for("matmul.blk.1.qk").accumulator.format.spec() ==
        bitsim::formats::Format::parse("fp64").spec());
  CHECK_THROWS_WITH_AS(Numerics::reference("fp16"), doctest::Contains("valid: fp32, fp64"), std::invalid_argument);
}
