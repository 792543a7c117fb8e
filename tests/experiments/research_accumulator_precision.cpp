// Study 8 (experiments/research/accumulator_precision): every GEMM of the tiny GPT-2
// (ci.yaml) accumulated in FP64, FP16, BF16 and BF16 chunks promoted to FP32. Checks the
// direction of each effect on the KL divergence against the FP32 run, never a number.
#include "tests/experiments/research_study.hpp"

#include <string>

using research::StudyResults;

namespace {

double kl(const StudyResults& r, const std::string& accum) { return r.number(r.row({{"accum", accum}}), "kl_mean"); }

}  // namespace

TEST_CASE("study 8 (ci.yaml): narrow accumulators lose accuracy; promoting short chunks to FP32 wins it back") {
  const StudyResults r(research::study_file("accumulator_precision"));
  REQUIRE(r.rows() == r.config().axis("accum")->values.size());
  CHECK(kl(r, "default") == 0.0);  // the reference's own numerics
  const double fp64 = kl(r, "acc=fp64,wide=fp64"), fp16 = kl(r, "acc=fp16"), bf16 = kl(r, "acc=bf16");
  MESSAGE("KL: fp64 " << fp64 << ", fp16 " << fp16 << ", bf16 " << bf16);
  // FP32 and FP64 accumulation differ only in FP32's rounding: far below FP16's and BF16's.
  CHECK(fp64 < fp16);
  CHECK(fp16 < bf16);  // 10 mantissa bits beat 7 (no overflow at this model's scale)
  // Promotion every k products: the shorter the chunk, the closer to FP32.
  const double k2 = kl(r, "acc=bf16,chunk=2"), k4 = kl(r, "acc=bf16,chunk=4"), k16 = kl(r, "acc=bf16,chunk=16"),
               k64 = kl(r, "acc=bf16,chunk=64");
  MESSAGE("bf16 chunks: k=2 " << k2 << ", k=4 " << k4 << ", k=16 " << k16 << ", k=64 " << k64);
  CHECK(k4 < bf16);
  CHECK(k4 < k64);
  CHECK(k2 < k16);
  CHECK(k64 <= bf16 * 1.05);  // a chunk as long as most dot products changes little
}
