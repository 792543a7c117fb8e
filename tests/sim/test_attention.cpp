// Attention (naive and flash) against float64 formulas, the documented stage pipeline
// and a literal scalar flash recurrence.
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "kernel_test_util.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/quant/quantize.hpp"

using namespace bitsim::sim;
using bitsim::formats::Format;
using kernel_test::random_tensor;
using kernel_test::same_bits;

namespace {

struct Case {
  Index H, Hkv, Tq, Tk, d, dv;
};

// Straightforward float64 attention: softmax(q k^T / sqrt(d) + mask) v, per head.
std::vector<double> attention_double(const TensorF& q, const TensorF& k, const TensorF& v, bool causal,
                                     Index offset) {
  const Index H = q.size(0), Tq = q.size(1), d = q.size(2), Hkv = k.size(0), Tk = k.size(1), dv = v.size(2);
  std::vector<double> out;
  for (Index h = 0; h < H; ++h) {
    const Index g = h / (H / Hkv);
    for (Index i = 0; i < Tq; ++i) {
      std::vector<double> s(Tk, -INFINITY);
      double m = -INFINITY;
      for (Index j = 0; j < Tk; ++j) {
        if (causal && j > offset + i) continue;
        double dot = 0;
        for (Index c = 0; c < d; ++c) dot += double(q.at({h, i, c})) * k.at({g, j, c});
        s[j] = dot / std::sqrt(double(d));
        m = std::max(m, s[j]);
      }
      double sum = 0;
      for (Index j = 0; j < Tk; ++j) sum += std::exp(s[j] - m);
      for (Index c = 0; c < dv; ++c) {
        double o = 0;
        for (Index j = 0; j < Tk; ++j) o += std::exp(s[j] - m) / sum * v.at({g, j, c});
        out.push_back(o);
      }
    }
  }
  return out;
}

double max_abs(const std::vector<float>& a) {
  double m = 0;
  for (float x : a) m = std::max(m, double(std::fabs(x)));
  return m;
}

double max_error(const TensorF& got, const std::vector<double>& want) {
  const auto g = got.to_vector();
  double e = 0;
  for (std::size_t i = 0; i < g.size(); ++i) e = std::max(e, std::fabs(g[i] - want[i]));
  return e;
}

const Case kCases[] = {{1, 1, 1, 1, 1, 1},  {2, 2, 5, 5, 8, 8},    {4, 2, 7, 7, 13, 5}, {4, 1, 1, 19, 16, 16},
                       {3, 3, 9, 4, 7, 7},  {2, 1, 33, 33, 32, 9}, {8, 2, 3, 65, 64, 64}};

}  // namespace

TEST_CASE("attention: naive and flash (fp32) against float64, causal and not, GQA shapes") {
  for (const Case& c : kCases) {
    for (bool causal : {false, true}) {
      INFO("H ", c.H, " Hkv ", c.Hkv, " Tq ", c.Tq, " Tk ", c.Tk, " d ", c.d, " causal ", causal);
      const TensorF q = random_tensor({c.H, c.Tq, c.d}, 1), k = random_tensor({c.Hkv, c.Tk, c.d}, 2);
      const TensorF v = random_tensor({c.Hkv, c.Tk, c.dv}, 3);
      AttentionSpec spec;
      spec.causal = causal;
      const auto ref = attention_double(q, k, v, causal, c.Tk - c.Tq);
      const TensorF naive = attention(q, k, v, spec);
      const auto naive_values = naive.to_vector();
      CHECK(naive.shape() == Shape{c.H, c.Tq, c.dv});
      const double vmax = max_abs(v.to_vector());
      const double tol = 1e-5 * vmax + 1e-6;
      CHECK(max_error(naive, ref) <= tol);
      for (Index bk : {Index(1), Index(3), Index(16), c.Tk}) {
        FlashSpec fs;
        fs.block_k = bk;
        const TensorF flash = flash_attention(q, k, v, spec, fs);
        CHECK(max_error(flash, ref) <= tol);
        CHECK(max_error(flash, std::vector<double>(naive_values.begin(), naive_values.end())) <= tol);
        fs.block_q = 1;  // block_q only tiles the work
        CHECK(same_bits(flash_attention(q, k, v, spec, fs), flash));
      }
    }
  }
}

TEST_CASE("attention: known values, GQA = repeated heads, KV-cache offsets") {
  const TensorF q = random_tensor({4, 6, 8}, 4), k = random_tensor({2, 6, 8}, 5), v = random_tensor({2, 6, 8}, 6);
  AttentionSpec causal;
  causal.causal = true;
  // The first query of a causal head sees only key 0: its output is V[0] exactly.
  for (const TensorF& out : {attention(q, k, v, causal), flash_attention(q, k, v, causal)})
    for (Index h = 0; h < 4; ++h)
      for (Index c = 0; c < 8; ++c) CHECK(out.at({h, 0, c}) == v.at({h / 2, 0, c}));
  // Grouped-query attention equals multi-head attention with each kv head repeated.
  TensorF k4(Shape{4, 6, 8}), v4(Shape{4, 6, 8});
  for (Index h = 0; h < 4; ++h)
    for (Index t = 0; t < 6; ++t)
      for (Index c = 0; c < 8; ++c) k4.at({h, t, c}) = k.at({h / 2, t, c}), v4.at({h, t, c}) = v.at({h / 2, t, c});
  CHECK(same_bits(attention(q, k, v, causal), attention(q, k4, v4, causal)));
  CHECK(same_bits(flash_attention(q, k, v, causal), flash_attention(q, k4, v4, causal)));
  // Decoding: the last query alone (default offset Tk - Tq) is the full causal run's last
  // row; queries 2..4 with query_offset 2 are rows 2..4.
  const TensorF full = attention(q, k, v, causal);
  CHECK(same_bits(attention(q.slice(1, 5, 6).contiguous(), k, v, causal), full.slice(1, 5, 6).contiguous()));
  AttentionSpec mid = causal;
  mid.query_offset = 2;
  CHECK(same_bits(attention(q.slice(1, 2, 5).contiguous(), k, v, mid), full.slice(1, 2, 5).contiguous()));
  const TensorF full_flash = flash_attention(q, k, v, causal);
  CHECK(same_bits(flash_attention(q.slice(1, 2, 5).contiguous(), k, v, mid), full_flash.slice(1, 2, 5).contiguous()));
  // Equal keys give uniform weights: the output is the mean of V's rows (up to rounding).
  const TensorF same_k(Shape{2, 6, 8}, 0.25f);
  const TensorF out = attention(q, same_k, v);
  for (Index c = 0; c < 8; ++c) {
    double mean = 0;
    for (Index t = 0; t < 6; ++t) mean += v.at({0, t, c}) / 6.0;
    CHECK(std::fabs(out.at({1, 3, c}) - mean) < 1e-6);
  }
  // Views work: q as [T, H, d] transposed to [H, T, d], as models lay heads out.
  const TensorF q_thd = random_tensor({6, 4, 8}, 16);
  CHECK(same_bits(attention(q_thd.transposed(0, 1), k, v, causal), attention(q_thd.transposed(0, 1).contiguous(), k, v, causal)));
  CHECK(same_bits(flash_attention(q_thd.transposed(0, 1), k, v), flash_attention(q_thd.transposed(0, 1).contiguous(), k, v)));
  // A query that sees no key (query_offset + i < 0) gets NaN.
  mid.query_offset = -1;
  CHECK(std::isnan(attention(q, k, v, mid).at({0, 0, 0})));
}

TEST_CASE("attention: stage quantizers and accumulators follow the documented pipeline") {
  const TensorF q = random_tensor({4, 7, 16}, 7), k = random_tensor({2, 9, 16}, 8), v = random_tensor({2, 9, 12}, 9);
  AttentionSpec spec;
  spec.causal = true;
  spec.q = parse_quant_spec("e4m3fn:per_tensor");
  spec.k = parse_quant_spec("e4m3fn:per_tensor");
  spec.v = parse_quant_spec("int8:per_channel(axis=2)");
  spec.scores = parse_quant_spec("bf16");
  spec.probs = parse_quant_spec("e4m3fn");
  spec.qk = AccumSpec::parse("acc=bf16:rne");
  spec.pv = AccumSpec::parse("acc=fp16:rz,chunk=4");
  spec.softmax.sum = Precision::parse("bf16");
  // The pipeline written out from the public pieces.
  const TensorF qq = fake_quantize(q, spec.q, 1), kq = fake_quantize(k, spec.k, 2), vq = fake_quantize(v, spec.v, 3);
  TensorF s(Shape{4, 7, 9});
  const float scale = static_cast<float>(1 / std::sqrt(16.0));
  GemmArgs kt;
  kt.transpose_b = true;
  for (Index h = 0; h < 4; ++h) {
    const TensorF sh = gemm(qq.slice(0, h, h + 1).reshaped({7, 16}), kq.slice(0, h / 2, h / 2 + 1).reshaped({9, 16}), spec.qk, kt);
    for (Index i = 0; i < 7; ++i)
      for (Index j = 0; j < 9; ++j) s.at({h, i, j}) = j <= 2 + i ? sh.at({i, j}) * scale : 0.0f;
  }
  s = fake_quantize(s, spec.scores, 4);
  for (Index h = 0; h < 4; ++h)
    for (Index i = 0; i < 7; ++i)
      for (Index j = 3 + i; j < 9; ++j) s.at({h, i, j}) = -INFINITY;
  const TensorF p = fake_quantize(softmax(s, spec.softmax), spec.probs, 5);
  const TensorF out = attention(q, k, v, spec);
  for (Index h = 0; h < 4; ++h) {
    const TensorF oh = gemm(p.slice(0, h, h + 1).reshaped({7, 9}), vq.slice(0, h / 2, h / 2 + 1).reshaped({9, 12}), spec.pv);
    CHECK(same_bits(oh, out.slice(0, h, h + 1).reshaped({7, 12})));
  }
  CHECK(same_bits(attention_scores(q, k, v, spec).scores, s));
  // And it moved away from the float32 result by a quantization-sized amount.
  const double err = max_error(out, attention_double(q, k, v, true, 2));
  CHECK(err > 1e-4);
  CHECK(err < 0.5);
}

namespace {

// The flash recurrence of attention.hpp as a scalar loop (non-causal, one head), with
// float32 statistics and every accumulator step rounded by Format::round. The inputs keep
// every float64 intermediate exact (V on a 1/16 grid, P-bar in bf16).
std::vector<float> flash_literal(const TensorF& scores, const TensorF& v, Index bk, const Format& acc, const Format& pbar) {
  const Index Tq = scores.size(0), Tk = scores.size(1), dv = v.size(1);
  std::vector<float> out;
  for (Index i = 0; i < Tq; ++i) {
    float m = -INFINITY, l = 0;
    std::vector<double> o(dv, 0.0);
    for (Index j0 = 0; j0 < Tk; j0 += bk) {
      const Index j1 = std::min(Tk, j0 + bk);
      float mn = m;
      for (Index j = j0; j < j1; ++j) mn = std::max(mn, scores.at({i, j}));
      std::vector<float> p;
      float bsum = 0;
      for (Index j = j0; j < j1; ++j) p.push_back(std::exp(scores.at({i, j}) - mn)), bsum += p.back();
      const float alpha = m == -INFINITY ? 0.0f : std::exp(m - mn);
      l = alpha * l + bsum;
      for (Index c = 0; c < dv; ++c) {
        o[c] = acc.round(double(alpha) * o[c]);
        for (Index j = j0; j < j1; ++j) o[c] = acc.round(o[c] + pbar.round(double(p[j - j0])) * v.at({j, c}));
      }
      m = mn;
    }
    for (Index c = 0; c < dv; ++c) out.push_back(static_cast<float>(o[c]) / l);
  }
  return out;
}

}  // namespace

TEST_CASE("flash attention: bf16 accumulation follows the literal recurrence and shows its error") {
  const Index T = 40, d = 16, dv = 8;
  const TensorF q = random_tensor({1, T, d}, 10, -0.7f, 0.7f), k = random_tensor({1, T, d}, 11, -0.7f, 0.7f);
  TensorF v = random_tensor({1, T, dv}, 12, -2.0f, 2.0f);
  for (float& x : v.span()) x = std::round(x * 16) / 16;
  const Format bf16 = Format::parse("bf16");
  const AttentionSpec spec;
  const TensorF scores = attention_scores(q, k, v, spec).scores.reshaped({T, T});
  const auto ref = attention_double(q, k, v, false, 0);
  double err_fp32 = max_error(flash_attention(q, k, v, spec), ref), err_bf16 = 0;
  for (Index bk : {Index(1), Index(7), Index(16), T}) {
    CAPTURE(bk);
    FlashSpec fs;
    fs.block_k = bk;
    fs.acc = Precision(bf16);
    fs.p_bar = Precision(bf16);
    const TensorF got = flash_attention(q, k, v, spec, fs);
    CHECK(got.to_vector() == flash_literal(scores, v.reshaped({T, dv}), bk, bf16, bf16));
    err_bf16 = std::max(err_bf16, max_error(got, ref));
  }
  MESSAGE("max |flash - float64|: fp32 ", err_fp32, ", bf16 accumulator ", err_bf16);
  CHECK(err_bf16 > 20 * err_fp32);
}

TEST_CASE("attention: threads, errors, empty shapes") {
  const TensorF q = random_tensor({8, 37, 32}, 13), k = random_tensor({2, 37, 32}, 14), v = random_tensor({2, 37, 32}, 15);
  AttentionSpec spec;
  spec.causal = true;
  FlashSpec sr;
  sr.block_q = 8;
  sr.block_k = 5;
  sr.stats = Precision::parse("bf16:sr");
  sr.acc = Precision::parse("bf16:sr").with_stream(1);
  CHECK(kernel_test::same_on_any_thread_count([&] { return attention(q, k, v, spec); }));
  CHECK(kernel_test::same_on_any_thread_count([&] { return flash_attention(q, k, v, spec, sr); }));
  CHECK_THROWS_AS(attention(q, random_tensor({3, 37, 32}, 1), random_tensor({3, 37, 32}, 1)), std::invalid_argument);
  CHECK_THROWS_AS(attention(q, k, random_tensor({2, 36, 32}, 1)), std::invalid_argument);
  CHECK_THROWS_AS(attention(q, random_tensor({2, 37, 31}, 1), v), std::invalid_argument);
  CHECK_THROWS_AS(attention(q.reshaped({8 * 37, 32}), k, v), std::invalid_argument);
  sr.block_k = 0;
  CHECK_THROWS_AS(flash_attention(q, k, v, spec, sr), std::invalid_argument);
  CHECK(attention(TensorF(Shape{2, 0, 4}), TensorF(Shape{1, 3, 4}), TensorF(Shape{1, 3, 5})).shape() == Shape{2, 0, 5});
  CHECK(flash_attention(TensorF(Shape{0, 2, 4}), TensorF(Shape{0, 3, 4}), TensorF(Shape{0, 3, 5})).numel() == 0);
}

TEST_CASE("attention: the plain float32 pass equals the general stage pipeline bit for bit") {
  // attention() computes specs without quantizers and with default GEMM accumulation in
  // one fused pass per head (sim/kernels/attention.cpp). A GEMM seed changes nothing but
  // stochastic rounding, which fp32:rne never uses, yet it sends attention() through the
  // general pipeline (attention_scores, softmax, gemm): the two must agree bit for bit.
  AttentionSpec general;
  general.qk.seed = 1;
  general.pv.seed = 1;
  const float inf = std::numeric_limits<float>::infinity();
  for (const Case c : {Case{4, 2, 5, 7, 3, 4}, Case{2, 2, 70, 70, 19, 33}, Case{3, 1, 1, 40, 64, 64},
                       Case{2, 1, 17, 9, 1, 1}}) {
    for (int variant = 0; variant < 5; ++variant) {
      CAPTURE(variant);
      const TensorF q = random_tensor({c.H, c.Tq, c.d}, 30), k = random_tensor({c.Hkv, c.Tk, c.d}, 31);
      TensorF v = random_tensor({c.Hkv, c.Tk, c.dv}, 32);
      AttentionSpec plain;
      plain.causal = variant != 1;
      if (variant == 2) plain.query_offset = -1;  // rows that see no key (NaN)
      if (variant == 3) plain.softmax.sum = Precision::parse("bf16:sr");  // numbered by row and key
      if (variant == 4) v.data()[v.numel() - 1] = inf;  // a masked key's inf: 0 * inf in the PV sum
      AttentionSpec slow = general;
      slow.causal = plain.causal;
      slow.query_offset = plain.query_offset;
      slow.softmax = plain.softmax;
      CHECK(same_bits(attention(q, k, v, plain), attention(q, k, v, slow)));
    }
  }
  CHECK(kernel_test::same_on_any_thread_count([] {
    AttentionSpec causal;
    causal.causal = true;
    return attention(random_tensor({6, 33, 8}, 33), random_tensor({3, 33, 8}, 34), random_tensor({3, 33, 8}, 35),
                     causal);
  }));
}
