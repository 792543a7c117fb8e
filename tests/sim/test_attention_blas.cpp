// Float32 BLAS attention (sim/grad/attention_blas.hpp) against the float64 attention the
// bit-defined backward differentiates (attention_forward_exact / attention_backward, which
// test_grad.cpp checks against finite differences): equal to float32 rounding on odd
// shapes, the same bits on any thread count and with or without the saved probabilities,
// NaN propagation, rows that see no key, and its errors on bad input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "kernel_test_util.hpp"
#include "sim/grad/attention_blas.hpp"
#include "sim/grad/attention_grad.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/quant/quant_spec.hpp"

using namespace bitsim::sim;
using kernel_test::random_tensor;
using kernel_test::same_bits;
using kernel_test::same_on_any_thread_count;

namespace {

// max |x - ref| / max |ref| per head (axis 0): float32 rounding is relative to the
// largest value a head's sums produce, not to each (possibly cancelled) element.
double head_error(const TensorF& x, const TensorD& ref) {
  REQUIRE(x.shape() == ref.shape());
  const Index heads = ref.size(0), per = heads > 0 ? ref.numel() / heads : 0;
  double worst = 0;
  for (Index h = 0; h < heads; ++h) {
    double err = 0, scale = 0;
    for (Index i = h * per; i < (h + 1) * per; ++i) {
      err = std::max(err, std::fabs(double(x.data()[i]) - ref.data()[i]));
      scale = std::max(scale, std::fabs(ref.data()[i]));
    }
    worst = std::max(worst, err / std::max(scale, 1e-30));
  }
  return worst;
}

// dq, dk, dv end to end in one tensor (to compare bits).
TensorF flat(const AttentionGrads<float>& g) {
  std::vector<float> all = g.dq.to_vector();
  for (const TensorF* t : {&g.dk, &g.dv}) {
    const auto v = t->to_vector();
    all.insert(all.end(), v.begin(), v.end());
  }
  const Index n = static_cast<Index>(all.size());
  return TensorF(Shape{n}, std::move(all));
}

}  // namespace

TEST_CASE("attention_blas: forward and gradients equal the float64 attention to float32 rounding") {
  constexpr double kTol = 1e-5;
  for (Index T : {1, 7, 64})
    for (Index d : {1, 5, 64})
      for (auto [H, Hkv] : {std::pair<Index, Index>{1, 1}, {3, 3}, {3, 1}})
        for (bool causal : {true, false}) {
          CAPTURE(T);
          CAPTURE(d);
          CAPTURE(H);
          CAPTURE(Hkv);
          CAPTURE(causal);
          const Index dv = d == 5 ? 3 : d;
          const auto seed = static_cast<std::uint32_t>(T * 1000 + d * 10 + H + Hkv);
          const TensorF q = random_tensor({H, T, d}, seed, -1.5f, 1.5f), k = random_tensor({Hkv, T, d}, seed + 1, -1.5f, 1.5f),
                        v = random_tensor({Hkv, T, dv}, seed + 2), dout = random_tensor({H, T, dv}, seed + 3);
          AttentionSpec spec;
          spec.causal = causal;
          AttentionBlasSaved saved;
          const TensorF out = attention_blas(q, k, v, spec, &saved);
          const TensorD qd = q.cast<double>(), kd = k.cast<double>(), vd = v.cast<double>(), dd = dout.cast<double>();
          CHECK(head_error(out, attention_forward_exact(qd, kd, vd, spec)) < kTol);
          const auto g = attention_blas_backward(q, k, v, dout, spec, &saved);
          const auto ref = attention_backward(qd, kd, vd, dd, spec);
          CHECK(head_error(g.dq, ref.dq) < kTol);
          CHECK(head_error(g.dk, ref.dk) < kTol);
          CHECK(head_error(g.dv, ref.dv) < kTol);
          // Recomputing P in the backward repeats the forward's operations: the same bits.
          CHECK(same_bits(flat(g), flat(attention_blas_backward(q, k, v, dout, spec))));
        }
}

TEST_CASE("attention_blas: the same bits on 1, 2 and 8 threads") {
  const TensorF q = random_tensor({6, 33, 8}, 1), k = random_tensor({3, 33, 8}, 2), v = random_tensor({3, 33, 5}, 3),
                dout = random_tensor({6, 33, 5}, 4);
  AttentionSpec spec;
  spec.causal = true;
  CHECK(same_on_any_thread_count([&] { return attention_blas(q, k, v, spec); }));
  CHECK(same_on_any_thread_count([&] { return flat(attention_blas_backward(q, k, v, dout, spec)); }));
}

TEST_CASE("attention_blas: NaN propagates") {
  constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
  AttentionSpec spec;
  spec.causal = true;
  const Index T = 9, d = 4;
  TensorF q = random_tensor({1, T, d}, 5), k = random_tensor({1, T, d}, 6), v = random_tensor({1, T, d}, 7),
          dout = random_tensor({1, T, d}, 8);
  v.data()[4 * d + 1] = kNaN;  // key 4, feature 1: rows 4.. see it
  q.data()[2 * d] = kNaN;      // query row 2
  // Forward: row 2 (NaN scores) entirely, and feature 1 of every row: the PV product runs
  // over all keys, masked ones with P = 0, and 0 * NaN is NaN (as in sim::attention and
  // PyTorch's masked softmax followed by P @ V).
  const TensorF out = attention_blas(q, k, v, spec), plain = attention(q, k, v, spec);
  for (Index i = 0; i < T; ++i)
    for (Index c = 0; c < d; ++c) {
      CAPTURE(i);
      CAPTURE(c);
      CHECK(std::isnan(out.at({0, i, c})) == (i == 2 || c == 1));
      CHECK(std::isnan(plain.at({0, i, c})) == std::isnan(out.at({0, i, c})));
    }
  // Backward: dP = dout v^T is NaN in column 4, so dS is NaN in rows 4.. (through the row
  // sum) and in row 2 (its P); dv = P^T dout is NaN in the rows of the keys row 2 sees.
  const auto g = attention_blas_backward(q, k, v, dout, spec);
  for (Index i = 0; i < T; ++i) {
    CAPTURE(i);
    CHECK(std::isnan(g.dq.at({0, i, 0})) == (i == 2 || i >= 4));
    CHECK(std::isnan(g.dv.at({0, i, 0})) == (i <= 2));
    CHECK(std::isnan(g.dk.at({0, i, 0})));  // row 8's dS (all NaN) reaches every key
  }
}

TEST_CASE("attention_blas: a row that sees no key is NaN forward and adds nothing backward") {
  AttentionSpec spec;
  spec.causal = true;
  spec.query_offset = -1;  // query 0 sees no key, query i sees keys < i
  const TensorF q = random_tensor({2, 4, 3}, 9), k = random_tensor({2, 4, 3}, 10), v = random_tensor({2, 4, 3}, 11),
                dout = random_tensor({2, 4, 3}, 12);
  const TensorF out = attention_blas(q, k, v, spec), plain = attention(q, k, v, spec);
  for (Index h = 0; h < 2; ++h)
    for (Index c = 0; c < 3; ++c) {
      CHECK(std::isnan(out.at({h, 0, c})));
      CHECK(std::isnan(plain.at({h, 0, c})));
      CHECK(std::isfinite(out.at({h, 1, c})));
    }
  const auto g = attention_blas_backward(q, k, v, dout, spec);
  const auto ref = attention_backward(q.cast<double>(), k.cast<double>(), v.cast<double>(), dout.cast<double>(), spec);
  CHECK(head_error(g.dq, ref.dq) < 1e-5);
  CHECK(head_error(g.dk, ref.dk) < 1e-5);
  CHECK(head_error(g.dv, ref.dv) < 1e-5);
  CHECK(g.dq.at({0, 0, 0}) == 0.0f);
}

TEST_CASE("attention_blas: bad input names the problem") {
  const TensorF q = random_tensor({2, 3, 4}, 1), k = random_tensor({2, 3, 4}, 2), v = random_tensor({2, 3, 4}, 3);
  CHECK_THROWS_WITH_AS(attention_blas(q, random_tensor({3, 3, 4}, 2), v), doctest::Contains("Hkv divides H"),
                       std::invalid_argument);
  AttentionSpec quantized;
  quantized.scores = parse_quant_spec("bf16");
  CHECK_THROWS_WITH_AS(attention_blas(q, k, v, quantized), doctest::Contains("quantizers"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(attention_blas_backward(q, k, v, random_tensor({2, 3, 5}, 4)), doctest::Contains("dout"),
                       std::invalid_argument);
  AttentionBlasSaved wrong{random_tensor({2, 3, 2}, 5)};
  CHECK_THROWS_WITH_AS(attention_blas_backward(q, k, v, random_tensor({2, 3, 4}, 4), {}, &wrong),
                       doctest::Contains("saved"), std::invalid_argument);
}

// The three attention kernels (attention, attention_backward, attention_blas and its
// backward) share one set of shape rules (sim/kernels/attention_dims.hpp): the same
// problem gets the same explanation from each, prefixed by the kernel's name, and an
// empty batch of heads (H = Hkv = 0) gives empty results.
TEST_CASE("attention kernels share their shape rules") {
  const TensorF q = random_tensor({4, 3, 5}, 1), k = random_tensor({2, 6, 5}, 2), v = random_tensor({2, 6, 7}, 3);
  const TensorF dout = random_tensor({4, 3, 7}, 4);
  struct Bad {
    TensorF q, k, v;
    const char* why;
  };
  const Bad bad[] = {
      {random_tensor({4, 15}, 1), k, v, "every input must have rank 3"},
      {q, random_tensor({2, 6, 4}, 2), v, "q and k differ in d"},
      {q, k, random_tensor({2, 5, 7}, 3), "k and v differ in heads or length"},
      {q, random_tensor({3, 6, 5}, 2), random_tensor({3, 6, 7}, 3), "kv heads do not divide query heads"},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.why);
    const auto check = [&](const char* who, auto&& call) {
      try {
        call();
        FAIL("no error from " << who);
      } catch (const std::invalid_argument& e) {
        const std::string text = e.what();
        CHECK(text.rfind(std::string(who) + ": q [", 0) == 0);
        CHECK(text.find(b.why) != std::string::npos);
        CHECK(text.find("Hkv divides H") != std::string::npos);
      }
    };
    check("attention", [&] { (void)attention(b.q, b.k, b.v); });
    check("attention_backward", [&] { (void)attention_backward(b.q.cast<double>(), b.k.cast<double>(), b.v.cast<double>(), dout.cast<double>()); });
    check("attention_blas", [&] { (void)attention_blas(b.q, b.k, b.v); });
    check("attention_blas_backward", [&] { (void)attention_blas_backward(b.q, b.k, b.v, dout); });
  }

  const TensorF q0(Shape{0, 3, 5}), k0(Shape{0, 6, 5}), v0(Shape{0, 6, 7}), dout0(Shape{0, 3, 7});
  CHECK(attention(q0, k0, v0).shape() == Shape{0, 3, 7});
  CHECK(attention_blas(q0, k0, v0).shape() == Shape{0, 3, 7});
  const auto g = attention_blas_backward(q0, k0, v0, dout0);
  CHECK(g.dq.shape() == Shape{0, 3, 5});
  CHECK(g.dk.shape() == Shape{0, 6, 5});
  CHECK(g.dv.shape() == Shape{0, 6, 7});
  const auto g64 = attention_backward(q0.cast<double>(), k0.cast<double>(), v0.cast<double>(), dout0.cast<double>());
  CHECK(g64.dq.shape() == Shape{0, 3, 5});
  CHECK(g64.dv.shape() == Shape{0, 6, 7});
}
