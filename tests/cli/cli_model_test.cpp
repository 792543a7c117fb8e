// bitsim model info: a synthetic safetensors file described, JSON parsed back, and bad
// files reported with exit status 2; model eval / generate on small checkpoints; --device.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/cli/run_bitsim.hpp"
#include "tests/models/temp_file.hpp"

using bitsim::cli_test::run_bitsim;
using bitsim::test::put;
using bitsim::test::TempFile;

namespace {
std::vector<std::uint8_t> tiny_safetensors() {
  const std::string header = R"({"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]}})";
  std::vector<std::uint8_t> out;
  out.reserve(8 + header.size() + 12);
  put<std::uint64_t>(out, header.size());
  out.insert(out.end(), header.begin(), header.end());
  for (int i = 0; i < 6; ++i) put<std::uint16_t>(out, 0x3F80);
  return out;
}
}  // namespace

TEST_CASE("bitsim model info: text and JSON") {
  TempFile file(tiny_safetensors(), ".safetensors");
  const auto text = run_bitsim({"model", "info", file.path(), "--tensors"});
  CHECK(text.exit_status == 0);
  CHECK(text.out.find("safetensors (1 file), 1 tensors, 6 elements, 12 bytes") != std::string::npos);
  CHECK(text.out.find("[2, 3]") != std::string::npos);
  const auto json = run_bitsim({"model", "info", file.path(), "--json"});
  REQUIRE(json.exit_status == 0);
  const auto j = nlohmann::json::parse(json.out);
  CHECK(j["tensors"][0]["name"] == "w");
  CHECK(j["tensors"][0]["type"] == "bf16");
  CHECK(j["tensors"][0]["shape"] == nlohmann::json::array({2, 3}));
}

TEST_CASE("bitsim model info: unreadable files are input errors") {
  auto bytes = tiny_safetensors();
  bytes.resize(bytes.size() - 1);
  TempFile truncated(bytes, ".safetensors");
  const auto r = run_bitsim({"model", "info", truncated.path()});
  CHECK(r.exit_status == 2);
  CHECK(r.err.find("truncated") != std::string::npos);
  CHECK(run_bitsim({"model", "info", "/nonexistent.gguf"}).exit_status == 2);
}

TEST_CASE("bitsim model eval and generate on SmolLM2 (when fetched)") {
  const std::string model = std::string(BITSIM_PRETRAINED) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  const std::string text = std::string(BITSIM_PRETRAINED) + "/texts/janeausten/prideprejudice.txt";
  if (!std::filesystem::exists(model) || !std::filesystem::exists(text)) {
    MESSAGE("skipped: run scripts/fetch-models.sh for the model and the text");
    return;
  }
  const auto r = run_bitsim({"model", "eval", model, "--text", text, "--tokens", "12", "--weights", "int8:per_channel",
                             "--weights", "bf16", "--json"});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["runs"].size() == 2);
  CHECK(j["runs"][0]["weights"] == "int8:per_channel");
  CHECK(j["runs"][0]["kl_mean"].get<double>() > 0);  // quantized weights change the distribution
  CHECK(j["runs"][0]["top1"].get<double>() > 0.5);
  CHECK(j["reference_perplexity"].get<double>() > 1);

  const auto bad = run_bitsim({"model", "eval", model, "--text", text, "--tokens", "4", "--weights", "int9x"});
  CHECK(bad.exit_status == 2);

  const auto g = run_bitsim({"model", "generate", model, "--prompt", "The capital of France is", "--tokens", "4",
                             "--weights", "int8:per_channel", "--json"});
  REQUIRE(g.exit_status == 0);
  const auto gj = nlohmann::json::parse(g.out);
  CHECK(gj["reference_ids"].size() == 4);
  CHECK(gj["agreement"].get<double>() >= 0);
}

TEST_CASE("bitsim model eval/generate on a GPT-2 safetensors checkpoint, with --per-layer") {
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const auto r = run_bitsim({"model", "eval", dir, "--text", dir + "/sample.txt", "--tokens", "24", "--weights", "bf16",
                             "--weights", "int4:per_channel", "--per-layer", "--json"});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["runs"].size() == 2);
  for (const auto& run : j["runs"]) REQUIRE(run["per_layer_sqnr_db"].size() == 2);  // 2 blocks
  CHECK(j["runs"][0]["per_layer_sqnr_db"][1].get<double>() > j["runs"][1]["per_layer_sqnr_db"][1].get<double>());
  CHECK(j["runs"][0]["top1"].get<double>() > j["runs"][1]["top1"].get<double>() - 1e-12);

  const auto text = run_bitsim({"model", "eval", dir, "--text", dir + "/sample.txt", "--tokens", "8", "--per-layer"});
  CHECK(text.exit_status == 0);
  CHECK(text.out.find("residual stream after each block") != std::string::npos);
  CHECK(text.out.find("gpt2: 2 layers") != std::string::npos);

  const auto g = run_bitsim({"model", "generate", dir, "--prompt", "The cat", "--tokens", "5", "--json"});
  REQUIRE(g.exit_status == 0);
  CHECK(nlohmann::json::parse(g.out)["first_divergence"] == -1);  // FP32 against FP32
  CHECK(run_bitsim({"model", "eval", dir, "--weights", "int9x"}).exit_status == 2);
}

TEST_CASE("bitsim model eval on all-MiniLM-L6-v2 (when fetched)") {
  const std::string model = std::string(BITSIM_PRETRAINED) + "/all-minilm-l6-v2";
  const std::string text = std::string(BITSIM_PRETRAINED) + "/texts/janeausten/prideprejudice.txt";
  if (!std::filesystem::exists(model + "/model.safetensors") || !std::filesystem::exists(text)) {
    MESSAGE("skipped: run scripts/fetch-models.sh for the model and the text");
    return;
  }
  const auto r = run_bitsim({"model", "eval", model, "--text", text, "--sentences", "4", "--weights", "int8:per_channel", "--json"});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["sentences"] == 4);
  const auto& run = j["runs"][0];
  CHECK(run["cosine_mean"].get<double>() < 1.0);
  CHECK(run["cosine_mean"].get<double>() > 0.99);
  CHECK(run["retrieval_top1"].get<double>() >= 0);
  CHECK(run_bitsim({"model", "generate", model, "--prompt", "x"}).exit_status == 2);
}

// --device on the commands without an experiment file (model eval, model generate, train):
// cpu gives what the default gives; an unknown name lists the valid ones; cuda either runs
// with the same bits (a CUDA build on a GPU) or is refused before any work with the reason
// (no CUDA in this build, or no usable GPU), exit status 2 and nothing written.
TEST_CASE("bitsim model eval / generate / train --device") {
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const std::vector<std::string> eval = {"model", "eval", dir, "--text", dir + "/sample.txt", "--tokens", "16",
                                         "--weights", "nvfp4", "--json"};
  const std::vector<std::string> generate = {"model", "generate", dir, "--prompt", "The cat", "--tokens", "4",
                                             "--weights", "int4:per_channel", "--json"};
  const std::filesystem::path checkpoint =
      std::filesystem::temp_directory_path() / ("bitsim_cli_device_" + std::to_string(::getpid()) + ".safetensors");
  const std::vector<std::string> train = {"train", "--steps", "2", "--d-model", "16", "--layers", "1", "--seq", "16",
                                          "--batch", "2", "--data", "builtin", "--recipe", "nvfp4",
                                          "--print-every", "1", "--eval-every", "1000", "-o", checkpoint.string()};
  const auto with = [](std::vector<std::string> args, const std::string& device) {
    args.push_back("--device");
    args.push_back(device);
    return args;
  };
  // (Timings differ between runs; everything else must not.)
  const auto without_times = [](const std::string& json_text) {
    auto j = nlohmann::json::parse(json_text);
    j.erase("reference_seconds");
    for (auto& run : j["runs"]) run.erase("seconds");
    return j.dump();
  };
  for (const auto& command : {eval, generate}) {
    const auto plain = run_bitsim(command);
    REQUIRE(plain.exit_status == 0);
    const auto cpu = run_bitsim(with(command, "cpu"));
    REQUIRE(cpu.exit_status == 0);
    CHECK(without_times(cpu.out) == without_times(plain.out));

    const auto bogus = run_bitsim(with(command, "tpu"));
    CHECK(bogus.exit_status == 2);
    CHECK(bogus.err.find("--device tpu: unknown device 'tpu'; valid: cpu, cuda") != std::string::npos);

    const auto cuda = run_bitsim(with(command, "cuda"));
    if (cuda.exit_status == 0) {
      CHECK(without_times(cuda.out) == without_times(plain.out));
    } else {
      CHECK(cuda.exit_status == 2);
      CHECK(cuda.err.find("--device cuda: device 'cuda': ") != std::string::npos);
      CHECK(cuda.out.empty());
    }
  }
  std::filesystem::remove(checkpoint);
  const auto cuda_train = run_bitsim(with(train, "cuda"));
  if (cuda_train.exit_status != 0) {
    CHECK(cuda_train.exit_status == 2);
    CHECK(cuda_train.err.find("--device cuda: device 'cuda': ") != std::string::npos);
    CHECK(!std::filesystem::exists(checkpoint));
  }
  std::filesystem::remove(checkpoint);
  CHECK(run_bitsim(with(train, "cpu")).exit_status == 0);
  CHECK(std::filesystem::exists(checkpoint));
  std::filesystem::remove(checkpoint);
}
