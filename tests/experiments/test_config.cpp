// Experiment files: schema errors (a table of bad files and the message fragments each
// must produce, line:column included), defaults, grid expansion order, zip, filters,
// layer selections, shards, and every shipped example file.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/config/layer_selection.hpp"

using namespace bitsim::experiments;

namespace {

ExperimentConfig parse(const std::string& text) { return parse_experiment(text, "x.yaml"); }

std::string error_of(const std::string& text) {
  try {
    (void)expand_grid(parse(text));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kSynthetic = "name: t\nmodel: {synthetic: gaussian, shape: [8, 64]}\n";

}  // namespace

TEST_CASE("bad experiment files name the file, line, column and the valid choices") {
  struct Case {
    std::string yaml;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16]}\nbogus: 1\n", {"x.yaml:4:1:", "unknown key 'bogus'", "valid keys: name"}},
      {"name: t\nmodel: gaussian\nsweep:\n  weights: [bf16, e9m9]\n", {"x.yaml:4:19:", "e9m9", "e4m3fn"}},
      {"name: t\nmodel: gaussian\nsweep:\n  weights: [\"int4:per_grup(32)\"]\n", {"x.yaml:4:13:", "int4:per_grup(32)", "intB:sym|asym"}},
      {"name: t\nmodel: gaussian\nsweep:\n  wieghts: [bf16]\n", {"x.yaml:4:3:", "unknown key 'wieghts' in sweep", "valid keys: weights, activations, accum, seed"}},
      {"name: t\nmodel: gaussian\nsweep:\n  kv_cache: [bf16]\n", {"x.yaml:4:3:", "unknown key 'kv_cache'"}},
      {"name: t\nmodel: gaussian\nsweep:\n  accum: [\"acc=bf16\"]\n", {"x.yaml:4:10:", "model.gemm_n"}},
      {kSynthetic + "sweep:\n  weights: [bf16]\n  seed: [0, x]\n", {"x.yaml:5:13:", "integer"}},
      {kSynthetic + "sweep:\n  weights: [bf16, bf16]\n", {"x.yaml:4:19:", "appears twice"}},
      {"name: t\nmodel: {synthetic: cauchy}\nsweep: {}\n", {"x.yaml:2:20:", "unknown distribution 'cauchy'", "gaussian, laplace, student_t, with_outliers"}},
      {"name: t\nmodel: {synthetic: gaussian, nu: 3}\nsweep: {}\n", {"x.yaml:2:34:", "student_t"}},
      {"name: t\nmodel: {synthetic: gaussian, shape: 5}\nsweep: {}\n", {"x.yaml:2:37:", "[rows, cols]"}},
      {"name: t\nmodel: llama7b\nsweep: {}\n", {"x.yaml:2:8:", "unknown model 'llama7b'", "smollm2"}},
      {"name: t\nmodel: gaussian\ndata: {tokens: 8}\nsweep: {}\n", {"x.yaml:3:7:", "model sources only"}},
      {"name: t\nmodel: smollm2\ndata: {tokens: 1}\nsweep: {}\n", {"x.yaml:3:16:", "at least 2"}},
      {"name: t\nmodel: smollm2\ndata: {tokens: many}\nsweep: {}\n", {"x.yaml:3:16:", "must be an integer"}},
      {"name: t\nmodel: smollm2\nsweep:\n  layers: [\"0-x\"]\n", {"x.yaml:4:12:", "bad layer", "all, output"}},
      {"name: t\nmodel: smollm2\nsweep:\n  accum: [\"acc=bf16,order=zigzag\"]\n", {"x.yaml:4:11:", "zigzag", "pairwise"}},
      {"name: t\nmodel: smollm2\nsweep:\n  accum: [\"order=pairwise,kahan=true\"]\n", {"x.yaml:4:11:", "kahan"}},
      {"name: t\nmodel: smollm2\nsweep: {weights: [bf16]}\nmetrics: [ppl, accuracy]\n", {"x.yaml:4:16:", "unknown metric 'accuracy'", "kl_mean"}},
      // device: cuda is a valid name; whether it can run here: test_experiments_device.
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16]}\ndevice: tpu\n", {"x.yaml:4:9:", "unknown device 'tpu'", "valid: cpu, cuda"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16]}\nthreads: -1\n", {"x.yaml:4:10:", "at least 0"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16, fp16], seed: [0]}\nzip: [[weights, seed]]\n", {"x.yaml:4:17:", "equal lengths"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16]}\nzip: [[weights, activations]]\n", {"x.yaml:4:17:", "not a sweep axis"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16, fp16]}\nexclude: [{weights: fp8}]\n", {"x.yaml:4:21:", "'fp8' is not a value of sweep.weights", "bf16, fp16"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16]}\nexclude: [{weights: bf16}]\n", {"x.yaml:", "leave no grid point"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16]}\ninclude: {weights: bf16}\n", {"x.yaml:4:10:", "must be a list"}},
      {"name: t\nmodel: gaussian\nsweep: [bf16]\n", {"x.yaml:3:8:", "sweep must be a mapping"}},
      {"name: t\nsweep: {}\n", {"x.yaml:1:1:", "missing key 'model'"}},
      {"model: gaussian\nsweep: {}\n", {"missing key 'name'"}},
      {"name: t\nmodel: gaussian\nsweep: {weights: [bf16\n", {"x.yaml:", "YAML syntax"}},
      {"name: a b\nmodel: gaussian\nsweep: {}\n", {"x.yaml:1:7:", "without spaces"}},
      // Specs that cannot apply to the synthetic tensor's shape: axis 2 of a 2-D tensor,
      // a Hadamard block wider than the 64 columns.
      {kSynthetic + "sweep:\n  weights: [\"int8:per_channel(axis=2)\"]\n", {"x.yaml:4:13:", "cannot quantize a [rows, 64] tensor"}},
      {kSynthetic + "sweep:\n  weights: [\"int4:per_group(32):hadamard(block=128)\"]\n", {"x.yaml:4:13:", "[rows, 64]"}},
      {"name: t\nmodel: model.safetensors\nsweep: {}\n", {"x.yaml:2:8:", "no such file or folder", "GPT-2 or BERT safetensors"}},
      // Metrics, data keys and axes that do not fit the model kind (minilm is known to be an
      // encoder without its files).
      {"name: t\nmodel: minilm\nsweep: {}\nmetrics: [cosine_mean, ppl]\n", {"x.yaml:4:24:", "metric 'ppl' applies to decoders", "not to a bert encoder ('minilm')", "valid here: cosine_mean, cosine_min, retrieval_top1, retrieval_mrr"}},
      {"name: t\nmodel: smollm2\nsweep: {}\nmetrics: [retrieval_mrr]\n", {"x.yaml:4:11:", "applies to encoders", "a llama decoder", "valid here: ppl"}},
      {"name: t\nmodel: gaussian\nsweep: {}\nmetrics: [kl_mean]\n", {"x.yaml:4:11:", "applies to decoders", "not to a synthetic tensor", "valid here: mse"}},
      {"name: t\nmodel: gaussian\nsweep: {}\nmetrics: [gemm_mse]\n", {"x.yaml:4:11:", "model.gemm_n > 0"}},
      {"name: t\nmodel: minilm\ndata: {tokens: 8}\nsweep: {}\n", {"x.yaml:3:16:", "data.tokens applies to decoders", "data.sentences"}},
      {"name: t\nmodel: smollm2\ndata: {sentences: 8}\nsweep: {}\n", {"x.yaml:3:19:", "data.sentences applies to encoders"}},
      {"name: t\nmodel: minilm\ndata: {sentences: 0}\nsweep: {}\n", {"x.yaml:3:19:", "at least 1"}},
      {"name: t\nmodel: minilm\nsweep: {logits: [bf16]}\n", {"x.yaml:3:9:", "unknown key 'logits' in sweep", "attn_probs, accum"}},
      {"name: t\nmodel: smollm2\ndata: {per_layer: yes}\nsweep: {}\n", {"x.yaml:3:19:", "true or false"}},
      {kSynthetic + "checkpoint: {points: 0}\nsweep: {}\n", {"x.yaml:3:22:", "at least 1"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    const auto message = error_of(c.yaml);
    CAPTURE(message);
    for (const auto& fragment : c.fragments) {
      CAPTURE(fragment);
      CHECK(message.find(fragment) != std::string::npos);
    }
  }
}

TEST_CASE("defaults of a minimal file") {
  const auto synthetic = parse("name: s\nmodel: laplace\nsweep: {weights: [bf16]}\n");
  CHECK(synthetic.source == SourceKind::synthetic);
  CHECK(synthetic.synthetic.distribution == Distribution::laplace);
  CHECK(synthetic.synthetic.shape == std::vector<std::int64_t>{256, 256});
  CHECK(synthetic.output == "s.h5");
  CHECK(synthetic.device == "cpu");
  CHECK(synthetic.threads == 0);
  CHECK(synthetic.metrics == metric_names(synthetic));
  CHECK(synthetic.metrics.front() == "mse");

  const auto model = parse("name: m\nmodel: smollm2\nsweep: {weights: [bf16]}\n");
  CHECK(model.source == SourceKind::model);
  CHECK(model.model.tokens == 64);
  CHECK(model.model.text_name == "austen");
  CHECK(model.model.path.filename() == "SmolLM2-135M-Instruct.Q4_1.gguf");
  CHECK(model.model.architecture == bitsim::models::Architecture::llama);
  CHECK_FALSE(model.model.per_layer);
  CHECK(model.model.text.filename() == "prideprejudice.txt");
  CHECK(model.metrics.front() == "ppl");
}

TEST_CASE("grid: cross product in file order, last axis fastest") {
  const auto config = parse(kSynthetic + "sweep:\n  weights: [bf16, fp16, e4m3fn]\n  seed: [5, 6]\n");
  const auto grid = expand_grid(config);
  REQUIRE(grid.size() == 6);
  const std::vector<std::pair<std::string, std::uint64_t>> expected = {
      {"bf16", 5}, {"bf16", 6}, {"fp16", 5}, {"fp16", 6}, {"e4m3fn", 5}, {"e4m3fn", 6}};
  for (std::size_t i = 0; i < grid.size(); ++i) {
    CHECK(grid[i].index == i);
    CHECK(grid[i].value("weights", "") == expected[i].first);
    CHECK(grid[i].seed == expected[i].second);
  }
  CHECK(grid[1].json() == R"({"weights":"bf16","seed":6})");
  CHECK(grid_json(grid).front() == '[');
  // No axes: one point, the reference configuration.
  CHECK(expand_grid(parse(kSynthetic + "sweep: {}\n")).size() == 1);
}

TEST_CASE("grid: zip groups move together; include and exclude filter") {
  const std::string yaml = "name: t\nmodel: {synthetic: gaussian, shape: [8, 64], gemm_n: 4}\n"
                           "sweep:\n  weights: [a8, a4, a4b]\n  accum: [default, \"acc=bf16\"]\n"
                           "  activations: [x8, x8, x4]\n  seed: [0, 1]\nzip: [[activations, weights]]\n";
  // Specs are checked, so use real ones with the same structure.
  const std::string real = [&] {
    std::string s = yaml;
    auto replace = [&](const std::string& from, const std::string& to) {
      for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    };
    replace("a4b", "\"int4:per_group(16)\"");
    replace("a8", "int8");
    replace("a4", "int4");
    replace("x8", "e4m3fn");
    replace("x4", "e2m1fn");
    return s;
  }();
  const auto config = parse(real);
  auto grid = expand_grid(config);
  REQUIRE(grid.size() == 3 * 2 * 2);
  // The zip group sits at its first member (weights), values in file order.
  CHECK(grid[0].values[0] == std::pair<std::string, std::string>("weights", "int8"));
  CHECK(grid[0].values[1].first == "accum");
  CHECK(grid[0].values[2] == std::pair<std::string, std::string>("activations", "e4m3fn"));
  CHECK(grid[4].value("weights", "") == "int4");
  CHECK(grid[4].value("activations", "") == "e4m3fn");
  CHECK(grid[8].value("weights", "") == "int4:per_group(16)");
  CHECK(grid[8].value("activations", "") == "e2m1fn");

  const auto filtered = parse(real + "exclude:\n  - {activations: e2m1fn, accum: \"acc=bf16\"}\n  - {seed: 1, weights: [int8, int4]}\n"
                                     "include:\n  - {accum: default}\n  - {weights: int8}\n  - {activations: e2m1fn}\n");
  grid = expand_grid(filtered);
  // include: accum=default (6 points) or weights=int8 (+2 bf16) or activations=e2m1 (+2 bf16)
  // = 10; exclude: e2m1 with bf16 (-2), seed 1 with int8/int4 (-2 default, -1 int8 bf16) = 5.
  std::vector<std::string> got;
  for (const auto& p : grid) got.push_back(p.value("weights", "") + "/" + p.value("accum", "") + "/" + std::to_string(p.seed));
  CHECK(got == std::vector<std::string>{"int8/default/0", "int8/acc=bf16/0", "int4/default/0", "int4:per_group(16)/default/0",
                                        "int4:per_group(16)/default/1"});
  for (std::size_t i = 0; i < grid.size(); ++i) CHECK(grid[i].index == i);
}

TEST_CASE("zip groups may repeat a value but not a whole combination") {
  const auto ok = parse(kSynthetic + "sweep:\n  weights: [int8, int4, int4]\n  seed: [0, 0, 1]\nzip: [[weights, seed]]\n");
  CHECK(expand_grid(ok).size() == 3);
  const auto message = error_of(kSynthetic + "sweep:\n  weights: [int8, int4, int4]\n  seed: [0, 1, 1]\nzip: [[weights, seed]]\n");
  CAPTURE(message);
  CHECK(message.find("x.yaml:4:25:") != std::string::npos);
  CHECK(message.find("repeats an earlier combination") != std::string::npos);
}

TEST_CASE("layer selections") {
  CHECK(parse_layer_selection("all").patterns("weight", ".*") == std::vector<std::string>{"weight.*"});
  CHECK(parse_layer_selection("all").patterns("attn", ".probs") == std::vector<std::string>{"attn.*.probs"});
  const auto s = parse_layer_selection("3,0-1,output");
  CHECK(s.blocks == std::vector<int>{0, 1, 3});
  CHECK(s.patterns("weight", ".*") == std::vector<std::string>{"weight.blk.0.*", "weight.blk.1.*", "weight.blk.3.*", "weight.output"});
  CHECK(s.patterns("kv", ".*") == std::vector<std::string>{"kv.blk.0.*", "kv.blk.1.*", "kv.blk.3.*"});
  CHECK(parse_layer_selection("output").patterns("act", ".*") == std::vector<std::string>{"act.output"});
  CHECK_THROWS_WITH_AS(parse_layer_selection("2-1"), doctest::Contains("backwards"), std::invalid_argument);
  CHECK_THROWS_AS(parse_layer_selection(""), std::invalid_argument);
  CHECK_THROWS_AS(parse_layer_selection("1,,2"), std::invalid_argument);
}

TEST_CASE("shards") {
  const auto s = Shard::parse("1/3");
  CHECK(s.part == 1);
  CHECK(s.count == 3);
  CHECK(s.contains(4));
  CHECK_FALSE(s.contains(3));
  CHECK(s.to_string() == "1/3");
  for (const char* bad : {"3/3", "-1/2", "1", "a/b", "1/0", "1/2x", ""})
    CHECK_THROWS_WITH_AS(Shard::parse(bad), doctest::Contains("i/N"), std::invalid_argument);
}

TEST_CASE("every shipped example and the quickstart are valid") {
  const std::filesystem::path root = std::filesystem::path(BITSIM_TEST_DATA).parent_path().parent_path() / "experiments";
  std::vector<std::filesystem::path> files = {root / "quickstart.yaml"};
  for (const auto& entry : std::filesystem::directory_iterator(root / "examples"))
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  CHECK(files.size() >= 5);
  for (const auto& file : files) {
    CAPTURE(file);
    const auto config = load_experiment(file);
    CHECK(expand_grid(config).size() >= 1);
  }
  CHECK(expand_grid(load_experiment(root / "examples" / "zip_filters.yaml")).size() == 5);
  CHECK(expand_grid(load_experiment(root / "examples" / "shards.yaml")).size() == 24);
}

TEST_CASE("model sources: specs and layers are checked against the model's dimensions") {
  const auto gguf = std::filesystem::path(BITSIM_TEST_DATA).parent_path().parent_path() / "models" / "pretrained" /
                    "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!std::filesystem::exists(gguf)) {
    MESSAGE("skipped: models/pretrained is absent (scripts/fetch-models.sh)");
    return;
  }
  const std::string head = "name: t\nmodel: " + gguf.string() + "\nsweep:\n";
  auto message = error_of(head + "  weights: [bf16, \"int4:per_group(32):hadamard(block=128)\"]\n");
  CHECK(message.find("x.yaml:4:19:") != std::string::npos);
  CHECK(message.find("dividing the last axis (576)") != std::string::npos);
  message = error_of(head + "  layers: [all, \"0-30\"]\n");
  CHECK(message.find("x.yaml:4:17:") != std::string::npos);
  CHECK(message.find("has blocks 0-29") != std::string::npos);
  CHECK(expand_grid(parse(head + "  weights: [\"int4:per_group(32):hadamard(block=64)\"]\n  layers: [\"0-29\", output]\n")).size() == 2);
}

TEST_CASE("safetensors checkpoints: the engine and dimensions come from the file") {
  const auto tiny = std::filesystem::path(BITSIM_TEST_DATA) / "models" / "tiny_gpt2";
  const std::string head = "name: t\nmodel: " + tiny.string() + "\n";
  const auto config = parse(head + "data: {text: " + (tiny / "sample.txt").string() + ", tokens: 16, per_layer: true}\nsweep: {weights: [bf16]}\n");
  CHECK(config.model.architecture == bitsim::models::Architecture::gpt2);
  REQUIRE(config.model.dims);
  CHECK(config.model.dims->layers == 2);
  CHECK(config.model.dims->d_model == 32);
  CHECK(config.model.dims->context == 32);
  CHECK(config.model.per_layer);
  CHECK(config.metrics == metric_names(config));
  CHECK(config.metrics.front() == "ppl");
  // The tiny model has 32 positions, 2 blocks and d_model 32.
  auto message = error_of(head + "data: {tokens: 33}\nsweep: {}\n");
  CHECK(message.find("x.yaml:3:16:") != std::string::npos);
  CHECK(message.find("exceeds the model's 32 positions") != std::string::npos);
  message = error_of(head + "sweep: {layers: [\"0-2\"]}\n");
  CHECK(message.find("has blocks 0-1") != std::string::npos);
  message = error_of(head + "sweep: {weights: [\"int4:per_group(32):hadamard(block=64)\"]}\n");
  CHECK(message.find("x.yaml:3:19:") != std::string::npos);
  message = error_of(head + "sweep: {}\nmetrics: [cosine_min]\n");
  CHECK(message.find("x.yaml:4:11: metric 'cosine_min' applies to encoders") != std::string::npos);
  // A safetensors file of neither layout is reported at the model line.
  message = error_of("name: t\nmodel: " + (std::filesystem::path(BITSIM_TEST_DATA) / "models").string() + "\nsweep: {}\n");
  CHECK(message.find("x.yaml:2:8:") != std::string::npos);
}
