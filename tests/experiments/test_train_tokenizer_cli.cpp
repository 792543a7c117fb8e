// `bitsim train --tokenizer` through the command line (models/train/README.md, "Tokenizers").
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "models/train/checkpoint.hpp"
#include "models/train/corpus.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
namespace tr = bitsim::models::train;
using bitsim::testing::TempDir;
using bitsim::testing::read_text;

namespace {

// Runs the CLI with `args`, output to `log`; returns the exit status.
int run_cli(const std::string& args, const fs::path& log) {
  const int status = std::system((std::string(BITSIM_CLI) + " " + args + " > " + log.string() + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("bitsim train --tokenizer bpe:V: stored in the checkpoint, restored on --resume, read by bitsim model") {
  TempDir dir;
  const std::string ck = (dir.path / "bpe.safetensors").string();
  const std::string common = " train --data builtin --steps 4 --d-model 16 --layers 1 --heads 2 --seq 16 --batch 2 "
                             "--eval-windows 2 --threads 1 -o ";
  REQUIRE(run_cli(common + ck + " --tokenizer bpe:300", dir.path / "log1") == 0);
  const std::string log = read_text(dir.path / "log1");
  CHECK(log.find("tokenizer bpe:300 (trained on the training split)") != std::string::npos);
  CHECK(log.find("bits/byte") != std::string::npos);

  const auto meta = tr::read_checkpoint_metadata(ck);
  const tr::Corpus corpus = tr::builtin_corpus("bpe:300");
  CHECK(meta.at("tokenizer") == "bpe:300");
  CHECK(meta.at("tokenizer.json") == corpus.tokenizer_json);
  CHECK(meta.at("vocab_size") == std::to_string(corpus.vocab_size));

  // Resuming a finished run reads the stored tokenizer and leaves the file as it was.
  const std::string before = read_text(ck);
  REQUIRE(run_cli(common + ck + " --tokenizer bpe:300 --resume", dir.path / "log2") == 0);
  CHECK(read_text(dir.path / "log2").find("(from the checkpoint)") != std::string::npos);
  CHECK(read_text(ck) == before);
  // Another tokenizer cannot resume it; a bad name is refused with the valid forms.
  CHECK(run_cli(common + ck + " --tokenizer bpe:400 --resume", dir.path / "log3") == 2);
  CHECK(read_text(dir.path / "log3").find("trained with tokenizer bpe:300") != std::string::npos);
  CHECK(run_cli(common + ck + "x --tokenizer words", dir.path / "log4") == 2);
  CHECK(read_text(dir.path / "log4").find("valid: bytes, bpe:<V>") != std::string::npos);

  // `bitsim model eval` tokenizes text with the checkpoint's BPE.
  std::ofstream(dir.path / "text.txt") << "The scale of a block is shared by its elements, and rounding picks a mark.";
  CHECK(run_cli("model eval " + ck + " --text " + (dir.path / "text.txt").string() + " --tokens 12 --weights bf16",
               dir.path / "log5") == 0);
  CHECK(read_text(dir.path / "log5").find("12 tokens of") != std::string::npos);

  // The default stays bytes, with no tokenizer.json.
  const std::string bytes_ck = (dir.path / "bytes.safetensors").string();
  REQUIRE(run_cli(common + bytes_ck, dir.path / "log6") == 0);
  const auto bytes_meta = tr::read_checkpoint_metadata(bytes_ck);
  CHECK(bytes_meta.at("tokenizer") == "bytes");
  CHECK(bytes_meta.count("tokenizer.json") == 0);
  CHECK(bytes_meta.at("vocab_size") == "256");
}

TEST_CASE("the training workload's tokenizer parameter: BPE models in the runner's checkpoints") {
  TempDir dir;
  std::ofstream(dir.path / "study.yaml") << R"yaml(name: bpe_training
workload:
  kind: training
  data: builtin
  tokenizer: bpe:300
  checkpoints: ckpt
  layers: 1
  heads: 2
  seq: 16
  batch: 2
  eval_windows: 2
  accum: default
sweep:
  recipe: fp32
  d_model: 16
  tokens: 128
  seed: 1
)yaml";
  REQUIRE(run_cli("run " + (dir.path / "study.yaml").string() + " -o " + (dir.path / "out.h5").string() +
                      " --threads 1 --no-table",
                  dir.path / "log1") == 0);
  std::vector<fs::path> checkpoints;
  for (const auto& e : fs::directory_iterator(dir.path / "ckpt"))
    if (e.path().extension() == ".safetensors") checkpoints.push_back(e.path());
  REQUIRE(checkpoints.size() == 1);
  const auto meta = tr::read_checkpoint_metadata(checkpoints[0].string());
  CHECK(meta.at("tokenizer") == "bpe:300");
  CHECK(meta.at("tokenizer.json") == tr::builtin_corpus("bpe:300").tokenizer_json);
  CHECK(meta.at("vocab_size") == "300");
  CHECK(run_cli("model eval " + checkpoints[0].string() + " --text " + (dir.path / "study.yaml").string() +
                    " --tokens 8 --weights bf16",
                dir.path / "log2") == 0);
  // A bad tokenizer name is refused before anything runs.
  std::ofstream(dir.path / "bad.yaml") << R"yaml(name: bad
workload:
  kind: training
  data: builtin
  tokenizer: bpe:10
sweep:
  seed: 1
)yaml";
  CHECK(run_cli("run " + (dir.path / "bad.yaml").string() + " -o " + (dir.path / "bad.h5").string(), dir.path / "log3") != 0);
}
