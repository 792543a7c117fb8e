// Study 7 (experiments/research/format_comparison): format pairs for inference, reduced to
// the tiny GPT-2 (ci.yaml). Checks the direction of each comparison on the KL divergence
// of the next-token distributions against FP32, never a number.
#include "tests/experiments/research_study.hpp"

#include <string>

using research::StudyResults;

namespace {

// KL of the point quantizing the weights (and activations) as given.
double kl(const StudyResults& r, const std::string& weights, const std::string& activations) {
  return r.number(r.row({{"weights", weights}, {"activations", activations}}), "kl_mean");
}

}  // namespace

TEST_CASE("study 7 (ci.yaml): E4M3 > E5M2, MXINT8 > MXFP8, NVFP4 > MXFP4, on the tiny GPT-2") {
  const StudyResults r(research::study_file("format_comparison"));
  REQUIRE(r.rows() == r.config().axis("weights")->values.size());
  for (std::size_t row = 0; row < r.rows(); ++row) {
    CAPTURE(r.text(row, "weights"));
    CAPTURE(r.text(row, "activations"));
    CHECK(r.number(row, "kl_mean") > 0);  // every format loses something
  }
  // FP8: three mantissa bits beat two (the weights and activations are far from E4M3's range).
  CHECK(kl(r, "e4m3fn:per_channel", "none") < kl(r, "e5m2:per_channel", "none"));
  CHECK(kl(r, "e4m3fn:per_channel", "e4m3fn:per_channel(axis=0)") < kl(r, "e5m2:per_channel", "e5m2:per_channel(axis=0)"));
  // Blocks of 32 with a shared power-of-two scale: 8-bit integers beat FP8 elements.
  CHECK(kl(r, "mxint8", "none") < kl(r, "mxfp8_e4m3", "none"));
  CHECK(kl(r, "mxint8", "mxint8") < kl(r, "mxfp8_e4m3", "mxfp8_e4m3"));
  CHECK(kl(r, "mxfp8_e4m3", "none") < kl(r, "mxfp8_e5m2", "none"));
  // 4 bits: NVFP4 (blocks of 16, E4M3 scales) beats MXFP4 (blocks of 32, power-of-two scales).
  CHECK(kl(r, "nvfp4", "none") < kl(r, "mxfp4", "none"));
  CHECK(kl(r, "nvfp4", "nvfp4") < kl(r, "mxfp4", "mxfp4"));
  // (INT4 +- Hadamard is not checked here: the tiny model's weights are Gaussian, without
  // the outliers a rotation spreads out, and there it changes little either way.)
}

TEST_CASE("study 7: a Hadamard rotation helps INT4 on a tensor with outlier channels") {
  research::TempDir dir;
  const auto yaml = dir.write("h.yaml",
                              "name: h\nmodel: {synthetic: with_outliers, shape: [64, 256], outlier_fraction: 0.02, outlier_scale: 20}\n"
                              "sweep:\n  weights: [\"int4:per_channel\", \"int4:per_channel:hadamard\", \"int4:per_group(32)\", "
                              "\"int4:per_group(32):hadamard\"]\nmetrics: [sqnr_db]\n");
  const StudyResults r(yaml);
  const auto sqnr = [&](const std::string& w) { return r.number(r.row({{"weights", w}}), "sqnr_db"); };
  CHECK(sqnr("int4:per_channel:hadamard") > sqnr("int4:per_channel"));
  CHECK(sqnr("int4:per_group(32):hadamard") > sqnr("int4:per_group(32)"));
}
