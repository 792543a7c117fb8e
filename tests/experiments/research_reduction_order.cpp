// Study 3 (experiments/research/reduction_order): greedy decoding under emulated reduction
// orders x precisions. First the runner's `data.generate` metrics against a direct greedy
// decoding, then the reduced study (ci.yaml, the tiny GPT-2): the direction of the effects.
#include "tests/experiments/research_study.hpp"

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "models/eval/greedy.hpp"
#include "models/tokenizers/tokenizer_json.hpp"
#include "models/transformer/gpt2.hpp"
#include "sim/quant/quant_spec.hpp"
#include "tests/support/temp_dir.hpp"

using research::StudyResults;
using research::TempDir;
namespace fs = std::filesystem;
using bitsim::testing::read_text;

namespace {

const fs::path kTiny = fs::path(BITSIM_TEST_DATA) / "models" / "tiny_gpt2";

std::string tiny_yaml(const std::string& data, const std::string& rest) {
  return "name: t\nmodel: " + kTiny.string() + "\ndata: {text: " + (kTiny / "sample.txt").string() + ", " + data + "}\n" + rest;
}

// The spread of the top-1 probability across a set of points, step by step: at step i the
// population standard deviation of p_top1 over the points whose context there is still
// the reference's (divergence_index >= i), averaged over the steps with at least two such
// points. (experiments/research/reduction_order/summarize.py computes the same.)
double top1_spread(const StudyResults& r, const std::vector<std::size_t>& rows) {
  const std::size_t steps = std::size_t(r.config().model.generate);
  double total = 0;
  int counted = 0;
  for (std::size_t i = 0; i < steps; ++i) {
    std::vector<double> p;
    for (std::size_t row : rows)
      if (r.number(row, "divergence_index") >= double(i)) p.push_back(r.array(row, "top1_prob_per_step")[i]);
    if (p.size() < 2) continue;
    double mean = 0, var = 0;
    for (double v : p) mean += v / double(p.size());
    for (double v : p) var += (v - mean) * (v - mean) / double(p.size());
    total += std::sqrt(var);
    ++counted;
  }
  return counted ? total / counted : 0.0;
}

double mean_of(const StudyResults& r, const std::vector<std::size_t>& rows, const std::string& column) {
  double s = 0;
  for (std::size_t row : rows) s += r.number(row, column);
  return s / double(rows.size());
}

}  // namespace

TEST_CASE("data.generate: the runner's greedy metrics and arrays equal a direct greedy decoding") {
  TempDir dir;
  const auto yaml = dir.write("g.yaml", tiny_yaml("tokens: 8, generate: 16, per_layer: true",
                                                  "sweep:\n  weights: [none, \"int4:per_channel\", \"int2:per_channel\"]\n"));
  const StudyResults r(yaml, 2);
  REQUIRE(r.rows() == 3);
  // The default metrics of a decoder with data.generate end with the three greedy ones.
  const auto& metrics = r.config().metrics;
  REQUIRE(metrics.size() >= 3);
  CHECK(std::vector<std::string>(metrics.end() - 3, metrics.end()) ==
        std::vector<std::string>{"divergence_index", "agreement", "top1_prob_delta"});

  const auto model = bitsim::models::Gpt2Model::from_safetensors(kTiny.string());
  auto ids = bitsim::models::byte_bpe_from_tokenizer_json((kTiny / "tokenizer.json").string()).encode(read_text(kTiny / "sample.txt"));
  REQUIRE(ids.size() >= 8);
  ids.resize(8);
  bitsim::models::Gpt2Session reference(model, {});
  std::vector<double> ref_probs;
  const auto ref_tokens = bitsim::models::greedy_decode(reference, ids, 16, &ref_probs);
  REQUIRE(ref_tokens.size() == 16);

  bool some_divergence = false;
  for (std::size_t row = 0; row < 3; ++row) {
    CAPTURE(row);
    bitsim::models::Numerics numerics;
    if (row > 0) numerics.quant = {{"weight.*", bitsim::sim::parse_quant_spec(r.text(row, "weights"))}};
    bitsim::models::Gpt2Session session(model, numerics);
    std::vector<double> probs;
    const auto tokens = bitsim::models::greedy_decode(session, ids, 16, &probs);
    // The same decoding, bit for bit: the tokens and each step's top-1 probability.
    CHECK(r.array(row, "generated_tokens") == std::vector<double>(tokens.begin(), tokens.end()));
    CHECK(r.array(row, "top1_prob_per_step") == probs);
    CHECK(r.array(row, "sqnr_per_layer").size() == 2);  // both kinds of array on one point
    // The metrics from their definitions, written out here.
    std::size_t divergence = 16, agree = 0;
    for (std::size_t i = 0; i < 16; ++i) {
      agree += tokens[i] == ref_tokens[i];
      if (tokens[i] != ref_tokens[i] && divergence == 16) divergence = i;
    }
    double delta = 0;
    const std::size_t compared = std::min<std::size_t>(16, divergence + 1);
    for (std::size_t i = 0; i < compared; ++i) delta += std::abs(probs[i] - ref_probs[i]);
    CHECK(r.number(row, "divergence_index") == double(divergence));
    CHECK(r.number(row, "agreement") == double(agree) / 16.0);
    CHECK(r.number(row, "top1_prob_delta") == doctest::Approx(delta / double(compared)).epsilon(1e-12));
    if (row == 0) {  // the reference's numerics: nothing differs
      CHECK(divergence == 16);
      CHECK(r.number(row, "top1_prob_delta") == 0.0);
    }
    some_divergence |= divergence < 16;
    for (double p : probs) CHECK((p > 0 && p <= 1));
  }
  CHECK(some_divergence);  // a 2-bit model decodes differently: the comparison is exercised
}

TEST_CASE("data.generate: checked at validation") {
  TempDir dir;
  using bitsim::experiments::ConfigError;
  using bitsim::experiments::load_experiment;
  // Past the tiny model's 32 positions: 24 + 10 - 1 = 33.
  CHECK_THROWS_WITH_AS(load_experiment(dir.write("a.yaml", tiny_yaml("tokens: 24, generate: 10", "sweep: {}\n"))),
                       doctest::Contains("exceed the model's 32"), ConfigError);
  (void)load_experiment(dir.write("b.yaml", tiny_yaml("tokens: 24, generate: 9", "sweep: {}\n")));
  CHECK_THROWS_WITH_AS(load_experiment(dir.write("c.yaml", tiny_yaml("tokens: 8, generate: 0", "sweep: {}\n"))),
                       doctest::Contains("data.generate must be at least 1"), ConfigError);
  // The greedy metrics need data.generate; encoders have no generation.
  CHECK_THROWS_WITH_AS(load_experiment(dir.write("d.yaml", tiny_yaml("tokens: 8", "sweep: {}\nmetrics: [divergence_index]\n"))),
                       doctest::Contains("data.generate > 0"), ConfigError);
  CHECK_THROWS_WITH_AS(load_experiment(dir.write("e.yaml", "name: e\nmodel: minilm\ndata: {generate: 4}\nsweep: {}\n")),
                       doctest::Contains("data.generate applies to decoders"), ConfigError);
}

TEST_CASE("study 3 (ci.yaml): FP16 storage makes the decoding depend on the reduction order; FP32 compute does not") {
  const StudyResults r(research::study_file("reduction_order"));
  const auto& orders = r.config().axis("accum")->values;
  REQUIRE(orders.size() >= 12);
  REQUIRE(r.rows() == 4 * orders.size());
  const std::map<std::string, std::pair<std::string, std::string>> precisions = {
      {"fp32", {"none", "none"}}, {"bf16", {"bf16", "bf16"}}, {"fp16", {"fp16", "fp16"}}, {"layercast", {"bf16", "none"}}};
  std::map<std::string, std::vector<std::size_t>> rows;
  for (const auto& [name, wa] : precisions) {
    rows[name] = r.where({{"weights", wa.first}, {"activations", wa.second}});
    REQUIRE(rows[name].size() == orders.size());
  }
  // FP32 in the sequential order is the reference itself.
  const auto ref = r.row({{"weights", "none"}, {"accum", "default"}});
  CHECK(r.number(ref, "divergence_index") == double(r.config().model.generate));
  CHECK(r.number(ref, "top1_prob_delta") == 0.0);

  std::map<std::string, double> spread, divergence;
  for (const auto& [name, list] : rows) {
    spread[name] = top1_spread(r, list);
    divergence[name] = mean_of(r, list, "divergence_index");
    MESSAGE(name << ": mean divergence index " << divergence[name] << ", top-1 prob spread across orders " << spread[name]);
  }
  // The orders differ in FP32's last bits, so the top-1 probabilities move a little...
  CHECK(spread["fp32"] > 0);
  CHECK(spread["layercast"] > 0);
  // ... and far more once every GEMM output is stored in FP16: a last-bit difference that
  // crosses an FP16 rounding boundary becomes a whole FP16 ulp. LayerCast (BF16 weights,
  // FP32 compute) stays at FP32's level. (BF16 storage on this 2-block model: no order's
  // difference happens to cross a BF16 boundary — its grid is 8x coarser — so BF16 is
  // not compared here; SmolLM2 in the README shows it.)
  CHECK(spread["fp16"] > spread["fp32"]);
  CHECK(spread["fp16"] > spread["layercast"]);
  // Lower precision never decodes further than FP32 before diverging.
  for (const char* p : {"bf16", "fp16", "layercast"}) CHECK(divergence[p] <= divergence["fp32"]);
}
