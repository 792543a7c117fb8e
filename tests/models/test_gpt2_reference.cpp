// The GPT-2 engine on a small random checkpoint in Hugging Face's GPT-2 safetensors layout
// (tests/data/models/gen_tiny_gpt2.py: "transformer." prefix, Conv1D [in, out] weights,
// fused c_attn, tied output, hyper-parameters in the header metadata) against the
// generator's float64 numpy logits; incremental decoding, quantized runs, loader errors.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/eval/greedy.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/io/load_error.hpp"
#include "models/tokenizers/tokenizer_json.hpp"
#include "models/transformer/gpt2.hpp"

using namespace bitsim::models;
using bitsim::sim::TensorF;

namespace {
const std::string kDir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";

struct Reference {
  std::vector<std::int32_t> ids;
  std::vector<std::vector<double>> logits;
};

Reference load_reference(const std::string& dir = kDir) {
  std::ifstream in(dir + "/reference.json");
  REQUIRE(in);
  const auto j = nlohmann::json::parse(in);
  return {j["ids"].get<std::vector<std::int32_t>>(), j["logits"].get<std::vector<std::vector<double>>>()};
}

double max_abs_diff(const TensorF& a, const TensorF& b) {
  double d = 0;
  for (std::size_t i = 0; i < a.span().size(); ++i) d = std::max(d, double(std::abs(a.span()[i] - b.span()[i])));
  return d;
}

// A scratch directory with a copy of the checkpoint and a config.json of our choosing.
struct ScratchCheckpoint {
  std::filesystem::path dir;
  explicit ScratchCheckpoint(const std::string& config) {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() / ("bitsim_gpt2_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(kDir + "/model.safetensors", dir / "model.safetensors");
    std::ofstream(dir / "config.json") << config;
  }
  ~ScratchCheckpoint() { std::filesystem::remove_all(dir); }
};
}  // namespace

TEST_CASE("gpt2: FP32 logits match the float64 reference") {
  const auto ref = load_reference();
  const auto model = Gpt2Model::from_safetensors(kDir);
  const auto& c = model.config();
  CHECK(c.layers == 2);
  CHECK(c.d_model == 32);
  CHECK(c.heads == 4);
  CHECK(c.d_ff == 128);
  CHECK(c.vocab == 96);
  CHECK(c.context == 32);
  CHECK(c.tied_output);
  CHECK(c.gelu == bitsim::sim::GeluApprox::tanh);

  Gpt2Session session(model, Numerics{});
  const auto logits = session.forward(ref.ids);
  REQUIRE(logits.shape() == bitsim::sim::Shape{std::int64_t(ref.ids.size()), 96});
  double worst = 0;
  for (std::size_t t = 0; t < ref.ids.size(); ++t)
    for (std::size_t v = 0; v < 96; ++v) {
      const double want = ref.logits[t][v];
      worst = std::max(worst, std::abs(logits.span()[t * 96 + v] - want) / std::max(1.0, std::abs(want)));
    }
  MESSAGE("max relative logit error vs float64: " << worst);
  CHECK(worst < 1e-5);

  SUBCASE("incremental decoding through the KV cache gives the prefill's logits") {
    Gpt2Session step(model, Numerics{});
    TensorF rows(bitsim::sim::Shape{std::int64_t(ref.ids.size()), 96});
    const std::vector<std::int32_t> head(ref.ids.begin(), ref.ids.begin() + 5);
    auto out = step.forward(head);
    std::copy(out.span().begin(), out.span().end(), rows.span().begin());
    for (std::size_t t = 5; t < ref.ids.size(); ++t) {
      out = step.forward({ref.ids[t]});
      std::copy(out.span().begin(), out.span().end(), rows.span().begin() + std::ptrdiff_t(t * 96));
    }
    CHECK(step.past() == std::int64_t(ref.ids.size()));
    CHECK(max_abs_diff(rows, logits) < 1e-5);
  }
  SUBCASE("a context overflow is an error") {
    Gpt2Session s(model, Numerics{});
    CHECK_THROWS_AS(s.forward(std::vector<std::int32_t>(33, 1)), std::invalid_argument);
    // Counted from past(): 30 positions taken, 3 more do not fit, and nothing is consumed.
    (void)s.forward(std::vector<std::int32_t>(30, 1));
    CHECK_THROWS_WITH_AS(s.forward(std::vector<std::int32_t>(3, 1)),
                         "forward: 33 positions exceed the model's context of 32", std::invalid_argument);
    CHECK(s.past() == 30);
    (void)s.forward(std::vector<std::int32_t>(2, 1));
    CHECK(s.past() == 32);
  }
  SUBCASE("reset starts over: position 0 and an empty cache") {
    Gpt2Session s(model, Numerics{});
    (void)s.forward(std::vector<std::int32_t>(20, 1));
    s.reset();
    CHECK(s.past() == 0);
    CHECK(max_abs_diff(s.forward(ref.ids), logits) == 0);
  }
}

TEST_CASE("gpt2: an untied lm_head outside the prefix, erf GELU, config.json") {
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2_untied";
  const auto ref = load_reference(dir);
  const auto model = Gpt2Model::from_safetensors(dir + "/model.safetensors");
  CHECK(model.config().layers == 1);
  CHECK(!model.config().tied_output);
  CHECK(model.config().gelu == bitsim::sim::GeluApprox::erf);
  Gpt2Session session(model, Numerics{});
  const auto logits = session.forward(ref.ids);
  double worst = 0;
  for (std::size_t t = 0; t < ref.ids.size(); ++t)
    for (std::size_t v = 0; v < 96; ++v)
      worst = std::max(worst, std::abs(logits.span()[t * 96 + v] - ref.logits[t][v]) / std::max(1.0, std::abs(ref.logits[t][v])));
  MESSAGE("untied checkpoint: max relative logit error vs float64: " << worst);
  CHECK(worst < 1e-5);
}

TEST_CASE("gpt2: quantized numerics change the logits by their precision") {
  const auto ref = load_reference();
  const auto model = Gpt2Model::from_safetensors(kDir);
  Gpt2Session fp32(model, Numerics{});
  std::vector<TensorF> ref_blocks;
  const auto ref_logits = fp32.forward(ref.ids, &ref_blocks);
  REQUIRE(ref_blocks.size() == 2);

  // FP32 "quantization" represents every value: bit for bit the reference.
  Gpt2Session same(model, Numerics::from_options("fp32", "fp32", "fp32", ""));
  CHECK(max_abs_diff(same.forward(ref.ids), ref_logits) == 0.0);

  auto run = [&](const std::string& weights, const std::string& acts) {
    Gpt2Session s(model, Numerics::from_options(weights, acts, "", ""));
    std::vector<TensorF> blocks;
    const auto logits = s.forward(ref.ids, &blocks);
    return std::make_pair(next_token_metrics(ref_logits, logits, ref.ids), layer_sqnr_db(ref_blocks, blocks));
  };
  const auto [bf16, bf16_profile] = run("bf16", "");
  const auto [fp4, fp4_profile] = run("e2m1fn:per_channel", "e4m3fn:per_tensor");
  MESSAGE("bf16 weights: logit SQNR " << bf16.logits_sqnr_db << " dB, KL " << bf16.kl_mean << "; block SQNR "
                                      << bf16_profile[0] << ", " << bf16_profile[1]);
  MESSAGE("e2m1fn weights + e4m3 activations: logit SQNR " << fp4.logits_sqnr_db << " dB, KL " << fp4.kl_mean
                                                        << "; block SQNR " << fp4_profile[0] << ", " << fp4_profile[1]);
  CHECK(bf16.logits_sqnr_db > 30);
  CHECK(std::isfinite(bf16.logits_sqnr_db));
  CHECK(fp4.logits_sqnr_db < bf16.logits_sqnr_db);
  CHECK(fp4.kl_mean > bf16.kl_mean);
  for (std::size_t i = 0; i < 2; ++i) CHECK(fp4_profile[i] < bf16_profile[i]);

  // Greedy decoding: the reference against itself never diverges; 2-bit weights do.
  Gpt2Session a(model, Numerics{}), b(model, Numerics{}), coarse(model, Numerics::from_options("int2:per_tensor", "", "", ""));
  const std::vector<std::int32_t> prompt(ref.ids.begin(), ref.ids.begin() + 4);
  const auto ga = greedy_decode(a, prompt, 16);
  CHECK(ga.size() == 16);
  CHECK(compare_greedy(ga, greedy_decode(b, prompt, 16)).first_divergence == -1);
  const auto diverged = compare_greedy(ga, greedy_decode(coarse, prompt, 16));
  MESSAGE("int2 weights: first greedy divergence at step " << diverged.first_divergence << ", agreement " << diverged.agreement);
  CHECK(diverged.first_divergence >= 0);
}

TEST_CASE("gpt2: hyper-parameters from config.json, and bad checkpoints") {
  {
    ScratchCheckpoint ok(R"({"model_type": "gpt2", "n_head": 2, "n_layer": 2, "layer_norm_epsilon": 1e-5, "activation_function": "gelu"})");
    const auto m = Gpt2Model::from_safetensors(ok.dir.string());
    CHECK(m.config().heads == 2);  // config.json wins over the header metadata
    CHECK(m.config().gelu == bitsim::sim::GeluApprox::erf);
  }
  {
    ScratchCheckpoint other(R"({"model_type": "bert", "n_head": 4})");
    CHECK_THROWS_AS(Gpt2Model::from_safetensors(other.dir.string()), LoadError);
  }
  {
    ScratchCheckpoint no_heads(R"({"model_type": "gpt2"})");
    CHECK_THROWS_WITH_AS(Gpt2Model::from_safetensors(no_heads.dir.string()), doctest::Contains("n_head"), LoadError);
  }
  {
    ScratchCheckpoint wrong(R"({"n_head": 4, "n_layer": 3})");
    CHECK_THROWS_WITH_AS(Gpt2Model::from_safetensors(wrong.dir.string()), doctest::Contains("n_layer"), LoadError);
  }
  {
    ScratchCheckpoint odd(R"({"n_head": 5})");
    CHECK_THROWS_AS(Gpt2Model::from_safetensors(odd.dir.string()), LoadError);
  }
  {
    ScratchCheckpoint act(R"({"n_head": 4, "activation_function": "relu"})");
    CHECK_THROWS_WITH_AS(Gpt2Model::from_safetensors(act.dir.string()), doctest::Contains("gelu_new"), LoadError);
  }
}

TEST_CASE("gpt2: the checkpoint's tokenizer.json tokenizes as Hugging Face tokenizers does") {
  std::ifstream in(kDir + "/reference.json");
  REQUIRE(in);
  const auto want = nlohmann::json::parse(in)["sample_ids"].get<std::vector<std::int32_t>>();
  std::ifstream sample_in(kDir + "/sample.txt");
  const std::string sample((std::istreambuf_iterator<char>(sample_in)), std::istreambuf_iterator<char>());
  const auto tokenizer = byte_bpe_from_tokenizer_json(kDir + "/tokenizer.json");
  CHECK(tokenizer.vocab_size() == 96);
  const auto ids = tokenizer.encode(sample);
  CHECK(ids == want);
  CHECK(tokenizer.decode(ids) == sample);
  CHECK_THROWS_AS(byte_bpe_from_tokenizer_json(kDir + "/reference.json"), LoadError);
}
