// Study 4 (experiments/research/kbit_inference): k-bit weight PTQ, reduced to the tiny GPT-2
// (ci.yaml). Checks the direction of each effect on the KL divergence of the next-token
// distributions against FP32 (the random test model's perplexity is noise), never a number.
#include "tests/experiments/research_study.hpp"

#include <cmath>
#include <string>

#include "formats/format.hpp"

using research::StudyResults;

namespace {

std::string grouped(const std::string& element) { return element + ":per_group(32):scale(fp16)"; }

double kl(const StudyResults& r, const std::string& weights) {
  return r.number(r.row({{"weights", weights}}), "kl_mean");
}

}  // namespace

TEST_CASE("study 4 (ci.yaml): fewer bits lose more, blocks beat per-tensor, NF4 beats INT4") {
  const StudyResults r(research::study_file("kbit_inference"));
  REQUIRE(r.rows() == r.config().axis("weights")->values.size());
  for (std::size_t row = 0; row < r.rows(); ++row) {
    const std::string weights = r.text(row, "weights");
    CAPTURE(weights);
    CHECK(r.number(row, "kl_mean") > 0);  // every format loses something
    CHECK(std::isfinite(r.number(row, "ppl")));
    // Storage bits: element bits, plus 16 per block of 32 for the grouped points.
    const std::string element = weights.substr(0, weights.find(':'));
    const double element_bits = bitsim::formats::Format::parse(element).bits();
    const bool per_tensor = weights.ends_with(":per_tensor");
    CHECK(r.number(row, "weights_bits") == element_bits + (per_tensor ? 0.0 : 16.0 / 32.0));
  }
  // The error shrinks with every added bit, for integers and for normal quantiles.
  for (const char* type : {"int", "nf"}) {
    CAPTURE(type);
    const auto at = [&](int k) { return kl(r, grouped(type + std::to_string(k))); };
    CHECK(at(3) > at(4));
    CHECK(at(4) > at(6));
    CHECK(at(6) > at(8));
  }
  // At 4 bits, a scale per block of 32 beats one scale per tensor.
  for (const char* element : {"int4", "nf4"}) {
    CAPTURE(element);
    CHECK(kl(r, grouped(element)) < kl(r, std::string(element) + ":per_tensor"));
  }
  // At 4 bits and block 32 the normal-quantile type beats the integer grid (the test
  // model's weights are Gaussian, NF4's design case).
  CHECK(kl(r, grouped("nf4")) < kl(r, grouped("int4")));
}
