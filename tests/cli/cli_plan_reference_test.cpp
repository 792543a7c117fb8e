// `bitsim plan` on an encoder study (the tokens of its sentences, counted with the model's
// own tokenizer), `bitsim model eval --reference fp64` and `--role PATTERN=SPEC`, run as a
// script would.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "models/transformer/load_model.hpp"
#include "tests/cli/run_bitsim.hpp"

using bitsim::cli_test::run_bitsim;

TEST_CASE("bitsim plan: an encoder's work is its sentences' tokens") {
  const std::string root = std::string(BITSIM_TEST_DATA) + "/../..";
  const std::string minilm = std::string(BITSIM_PRETRAINED) + "/all-minilm-l6-v2";
  const std::string text = std::string(BITSIM_PRETRAINED) + "/texts/janeausten/prideprejudice.txt";
  if (!std::filesystem::exists(minilm + "/model.safetensors") || !std::filesystem::exists(text)) {
    MESSAGE("skipped: all-MiniLM-L6-v2 or its text is absent (run scripts/fetch-models.sh)");
    return;
  }
  const auto r = run_bitsim({"plan", root + "/experiments/examples/encoder.yaml"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_status == 0);
  // The same count from the library: the example's 16 sentences.
  std::ifstream in(text, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::size_t tokens = 0;
  for (const auto& s : bitsim::models::encoder_sentences(bitsim::models::encoder_tokenizer(minilm), ss.str(), 16))
    tokens += s.size();
  CHECK(r.out.find("work: " + std::to_string(tokens) + " tokens (16 sentences, counted with the model's tokenizer) x 5 "
                   "embedding passes") != std::string::npos);
  CHECK(r.out.find("per_layer") != std::string::npos);
  CHECK(r.out.find("tokens/s per core, all-MiniLM-L6-v2") != std::string::npos);
}

TEST_CASE("bitsim model eval --reference fp64") {
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const auto r = run_bitsim({"model", "eval", dir, "--text", dir + "/sample.txt", "--tokens", "12", "--reference", "fp64",
                             "--weights", "bf16"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_status == 0);
  CHECK(r.out.find("FP64-accumulated reference perplexity") != std::string::npos);
  CHECK(r.out.find("\nfp64 (reference)") != std::string::npos);
  const auto bad = run_bitsim({"model", "eval", dir, "--reference", "fp16"});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err.find("fp64") != std::string::npos);
}

TEST_CASE("bitsim model eval --role: any tensor role from the command line") {
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const auto run = [&](const std::string& rule) {
    return run_bitsim({"model", "eval", dir, "--text", dir + "/sample.txt", "--tokens", "12", "--role", rule, "--json"});
  };
  // fp32 on every norm's statistics changes nothing; bf16 truncation does.
  const auto exact = run("norm.*=fp32");
  REQUIRE(exact.exit_status == 0);
  CHECK(nlohmann::json::parse(exact.out)["runs"][0]["kl_mean"].get<double>() == 0.0);
  const auto coarse = run("norm.*=bf16:rz");
  REQUIRE(coarse.exit_status == 0);
  CHECK(nlohmann::json::parse(coarse.out)["runs"][0]["kl_mean"].get<double>() > 0.0);
  const auto qkv = run("qkv.blk.1.*=int4:per_tensor");
  REQUIRE(qkv.exit_status == 0);
  CHECK(nlohmann::json::parse(qkv.out)["runs"][0]["kl_mean"].get<double>() > 0.0);
  CHECK(run("matmul.blk.0.*=acc=bf16").exit_status == 0);
  const auto bad = run("norm.*");
  CHECK(bad.exit_status == 2);
  CHECK(bad.err.find("PATTERN=SPEC") != std::string::npos);
  CHECK(run("norm.*=int8:per_tensor").exit_status != 0);
}
