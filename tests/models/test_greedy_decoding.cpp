// 32 steps of greedy decoding with SmolLM2-135M: the FP32 run twice (identical, token for
// token — decoding is deterministic), and FP32 against bf16 weights (the first step where
// the tokens differ is reported), and the incremental steps against one prefill.
// Slow: three 32-step decodes and a prefill of a 135M model.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "models/eval/greedy.hpp"
#include "models/io/gguf.hpp"
#include "models/tokenizers/byte_bpe.hpp"
#include "models/transformer/llama.hpp"

using namespace bitsim::models;

TEST_CASE("greedy decoding: SmolLM2 FP32 vs FP32 and vs bf16 weights over 32 steps") {
  const std::string path = std::string(BITSIM_PRETRAINED) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(path)) {
    MESSAGE("skipped: " << path << " is absent (run scripts/fetch-models.sh)");
    return;
  }
  const auto file = GgufFile::open(path);
  const auto model = LlamaModel::from_gguf(file);
  const auto tokenizer = ByteBpeTokenizer::from_gguf(file);
  const auto prompt = tokenizer.encode("It is a truth universally acknowledged, that a single man in possession of a good fortune,");

  LlamaSession first(model, Numerics{}), second(model, Numerics{});
  LlamaSession bf16(model, Numerics::from_options("bf16", "", "", ""));
  const auto ref = greedy_decode(first, prompt, 32);
  REQUIRE(ref.size() == 32);
  const auto again = compare_greedy(ref, greedy_decode(second, prompt, 32));
  CHECK(again.first_divergence == -1);
  CHECK(again.agreement == 1.0);

  const auto test = greedy_decode(bf16, prompt, 32);
  const auto c = compare_greedy(ref, test);
  MESSAGE("fp32: " << tokenizer.decode(ref));
  MESSAGE("bf16: " << tokenizer.decode(test));
  MESSAGE("bf16 weights: first divergence at step " << c.first_divergence << " (-1: none), agreement " << c.agreement);
  CHECK(c.first_divergence >= -1);
  CHECK(c.first_divergence < 32);

  // The 32 incremental steps agree with one prefill of prompt + the first 31 tokens: the
  // argmax at each of the last 32 positions is the token decoding chose.
  std::vector<std::int32_t> all = prompt;
  all.insert(all.end(), ref.begin(), ref.end() - 1);
  first.reset();
  const auto logits = first.forward(all);
  const auto vocab = std::size_t(logits.shape()[1]);
  for (std::size_t i = 0; i < 32; ++i) {
    const auto row = logits.span().subspan((prompt.size() - 1 + i) * vocab, vocab);
    CHECK(std::max_element(row.begin(), row.end()) - row.begin() == ref[i]);
  }
}
