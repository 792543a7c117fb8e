// The model-level metrics on hand-made inputs whose answers are known: per-layer SQNR,
// sentence-embedding cosine and retrieval agreement, greedy-decoding comparison, and the
// role-rule lookup the engines share.
#include <doctest/doctest.h>

#include <cmath>

#include "models/eval/embedding_metrics.hpp"
#include "models/eval/greedy.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/transformer/numerics.hpp"

using namespace bitsim::models;
using bitsim::sim::Shape;
using bitsim::sim::TensorF;

TEST_CASE("layer_sqnr_db: one value per block, 10 log10 of signal over error power") {
  const std::vector<TensorF> ref = {TensorF(Shape{2}, {3.0f, 4.0f}), TensorF(Shape{2}, {1.0f, 0.0f})};
  const std::vector<TensorF> test = {TensorF(Shape{2}, {3.0f, 4.5f}), TensorF(Shape{2}, {1.0f, 0.0f})};
  const auto s = layer_sqnr_db(ref, test);
  REQUIRE(s.size() == 2);
  CHECK(s[0] == doctest::Approx(10 * std::log10(25.0 / 0.25)));
  CHECK(std::isinf(s[1]));
  CHECK_THROWS_AS(layer_sqnr_db(ref, {ref[0]}), std::invalid_argument);
}

TEST_CASE("embedding_metrics: cosine and nearest-neighbour agreement") {
  auto v = [](float a, float b) { return TensorF(Shape{2}, {a, b}); };
  // Sentences 0/1 and 2/3 are neighbours in the reference.
  const std::vector<TensorF> ref = {v(1, 0), v(0.99f, 0.14f), v(0, 1), v(0.14f, 0.99f)};
  const auto same = embedding_metrics(ref, ref);
  CHECK(same.cosine_mean == doctest::Approx(1.0));
  CHECK(same.retrieval_top1 == 1.0);
  CHECK(same.retrieval_mrr == 1.0);

  // Sentence 1 moved to (-0.2, 1), beyond sentence 2. Queries: 0's neighbour was 1, now 3
  // (1 ranked 3rd of 3: 1/3); 1's was 0, now 2 (0 ranked 3rd: 1/3); 2 and 3 keep each other.
  std::vector<TensorF> moved = ref;
  moved[1] = v(-0.2f, 1);
  const auto m = embedding_metrics(ref, moved);
  CHECK(m.cosine_min == doctest::Approx((0.99 * -0.2 + 0.14) / std::hypot(0.99, 0.14) / std::hypot(0.2, 1.0)));
  CHECK(m.retrieval_top1 == doctest::Approx(0.5));
  CHECK(m.retrieval_mrr == doctest::Approx((1.0 / 3 + 1.0 / 3 + 1 + 1) / 4));
  CHECK_THROWS_AS(embedding_metrics(ref, {ref[0]}), std::invalid_argument);
}

TEST_CASE("compare_greedy: first divergence and agreement") {
  CHECK(compare_greedy({1, 2, 3}, {1, 2, 3}).first_divergence == -1);
  const auto c = compare_greedy({1, 2, 3, 4}, {1, 5, 3, 6});
  CHECK(c.first_divergence == 1);
  CHECK(c.agreement == 0.5);
  CHECK(compare_greedy({1, 2}, {1}).first_divergence == 1);
}

TEST_CASE("Numerics: the last matching rule wins, unmatched roles are FP32") {
  Numerics n = Numerics::from_options("int8:per_channel", "", "", "");
  n.quant.emplace_back("weight.blk.0.*", bitsim::sim::parse_quant_spec("bf16"));
  CHECK(bitsim::sim::to_string(n.quant_for("weight.blk.0.attn_qkv")) == "bf16");
  CHECK(bitsim::sim::to_string(n.quant_for("weight.blk.1.attn_qkv")) == bitsim::sim::to_string(bitsim::sim::parse_quant_spec("int8:per_channel")));
  CHECK(n.quant_for("act.blk.0.attn_q").is_identity());
  CHECK(glob_match("residual.blk.?", "residual.blk.3"));
  CHECK(!glob_match("residual.blk.?", "residual.blk.12"));
}
