// softmax, LayerNorm, RMSNorm against literal loops (bit for bit) and float64 formulas.
#include <cmath>
#include <limits>
#include <vector>

#include <doctest/doctest.h>

#include "kernel_test_util.hpp"
#include "sim/kernels/norms.hpp"
#include "sim/kernels/softmax.hpp"

using namespace bitsim::sim;
using bitsim::formats::Format;
using kernel_test::random_tensor;
using kernel_test::row_shapes;
using kernel_test::same_bits;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// The documented definitions written as the obvious loops. `round` rounds a float64
// value into the stage's format; sums of the values used here are exact in float64.
template <class Round>
std::vector<float> softmax_literal(const std::vector<float>& x, Round exp_round, Round sum_round) {
  float m = -kInf;
  for (float v : x) m = std::max(m, v);
  std::vector<double> e(x.size());
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    e[i] = exp_round(std::exp(static_cast<double>(exp_round(static_cast<double>(x[i]) - m))));
    s = sum_round(s + e[i]);
  }
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(e[i] / s);
  return y;
}

std::vector<double> softmax_double(const std::vector<float>& x) {
  double m = -INFINITY, s = 0;
  for (float v : x) m = std::max<double>(m, v);
  for (float v : x) s += std::exp(v - m);
  std::vector<double> y;
  for (float v : x) y.push_back(std::exp(v - m) / s);
  return y;
}

// Apply a per-row function to a tensor's rows (the reference side).
template <class F>
void for_rows(const TensorF& x, F f) {
  const Index n = x.shape().back();
  if (x.numel() == 0) return;
  const auto v = x.to_vector();
  for (Index r = 0; r < x.numel() / n; ++r)
    f(r, std::vector<float>(v.begin() + r * n, v.begin() + (r + 1) * n));
}

}  // namespace

TEST_CASE("softmax: default is the plain float loop, bit for bit, on every shape") {
  for (const Shape& shape : row_shapes()) {
    CAPTURE(shape_string(shape));
    const TensorF x = random_tensor(shape, 1, -20.0f, 20.0f);
    const TensorF y = softmax(x);
    CHECK(y.shape() == shape);
    const auto out = y.to_vector();
    const Index n = shape.back();
    for_rows(x, [&](Index r, const std::vector<float>& row) {
      float m = -kInf;
      for (float v : row) m = std::max(m, v);
      std::vector<float> e;
      float s = 0.0f;
      for (float v : row) {
        e.push_back(std::exp(v - m));
        s += e.back();
      }
      const auto ref = softmax_double(row);
      for (Index i = 0; i < n; ++i) {
        REQUIRE(out[r * n + i] == e[i] / s);
        // float32 rounding of x - m perturbs exp by up to |x - m| * 2^-24 relative.
        const double tol = 1e-6 * (1 + 0.02 * n) + std::fabs(row[i] - m) * 0x1p-24;
        REQUIRE(std::fabs(out[r * n + i] - ref[i]) <= tol * ref[i] + 1e-37);
      }
    });
  }
}

TEST_CASE("softmax: exp and sum in bf16 / fp16 follow the literal rounded loop") {
  for (const char* fmt : {"bf16", "fp16", "e4m3fn"}) {
    CAPTURE(fmt);
    const Format f = Format::parse(fmt);
    auto round = [&](double v) { return f.round(v); };
    const Precision p = Precision::parse(fmt);
    SoftmaxSpec spec{p, p, Precision()};
    const TensorF x = random_tensor({7, 33}, 2, -6.0f, 6.0f);
    const auto y = softmax(x, spec).to_vector();
    for_rows(x, [&](Index r, const std::vector<float>& row) {
      const auto ref = softmax_literal(row, round, round);
      for (std::size_t i = 0; i < row.size(); ++i) REQUIRE(y[r * 33 + i] == ref[i]);
    });
  }
  // A bf16 running sum stalls: 1024 equal logits give each exp = 1, and a bf16 sum stops
  // at 256 (256 + 1 rounds back to 256 under rne), so every probability is 1/256.
  SoftmaxSpec bf16_sum;
  bf16_sum.sum = Precision::parse("bf16");
  const TensorF flat(Shape{1, 1024}, 0.5f);
  CHECK(softmax(flat, bf16_sum).at({0, 7}) == 1.0f / 256);
  CHECK(softmax(flat).at({0, 7}) == 1.0f / 1024);
}

TEST_CASE("softmax: known values and special inputs") {
  const TensorF equal(Shape{3, 10}, 4.25f);
  for (float v : softmax(equal).to_vector()) CHECK(v == 0.1f);
  TensorF x(Shape{1, 4}, std::vector<float>{0.0f, -kInf, 0.0f, -kInf});
  CHECK(softmax(x).to_vector() == std::vector<float>{0.5f, 0.0f, 0.5f, 0.0f});
  for (std::vector<float> bad : {std::vector<float>{1, NAN, 2}, {1, kInf, 2}, {-kInf, -kInf, -kInf}}) {
    for (float v : softmax(TensorF(Shape{1, 3}, bad)).to_vector()) CHECK(std::isnan(v));
  }
  CHECK(softmax(TensorF(Shape{0, 3})).numel() == 0);
  CHECK_THROWS_AS(softmax(TensorF(Shape{})), std::invalid_argument);
  // A transposed (non-contiguous) view works along its own last axis.
  const TensorF t = random_tensor({6, 4}, 3);
  CHECK(same_bits(softmax(t.transposed()), softmax(t.transposed().clone())));
}

TEST_CASE("softmax: bit-identical on 1, 2 and 8 threads, also with stochastic rounding") {
  const TensorF x = random_tensor({301, 77}, 4);
  SoftmaxSpec sr{Precision::parse("bf16:sr"), Precision::parse("bf16:sr").with_stream(1), Precision::parse("bf16")};
  CHECK(kernel_test::same_on_any_thread_count([&] { return softmax(x); }));
  CHECK(kernel_test::same_on_any_thread_count([&] { return softmax(x, sr); }));
}

namespace {

// LayerNorm / RMSNorm as the documented loops, with a stats rounding function.
template <class Round>
std::vector<float> layer_norm_literal(const std::vector<float>& x, const std::vector<float>& g,
                                      const std::vector<float>& b, double eps, Round P) {
  const double n = P(static_cast<double>(x.size()));
  double s = 0;
  for (float v : x) s = P(s + v);
  const double mean = P(s / n);
  double sq = 0;
  for (float v : x) {
    const double d = P(v - mean);
    sq = P(sq + P(d * d));
  }
  const double rstd = P(1.0 / P(std::sqrt(P(P(sq / n) + P(eps)))));
  std::vector<float> y;
  for (std::size_t i = 0; i < x.size(); ++i)
    y.push_back(((x[i] - static_cast<float>(mean)) * static_cast<float>(rstd)) * g[i] + b[i]);
  return y;
}

}  // namespace

TEST_CASE("layer_norm / rms_norm: plain float loops bit for bit, close to float64") {
  for (const Shape& shape : row_shapes()) {
    CAPTURE(shape_string(shape));
    const Index n = shape.back();
    const TensorF x = random_tensor(shape, 5, -4.0f, 6.0f);
    const TensorF g = random_tensor({n}, 6, 0.5f, 1.5f), b = random_tensor({n}, 7);
    const auto ln = layer_norm(x, g, b).to_vector();
    const auto rms = rms_norm(x, g, NormSpec{1e-6, {}, {}}).to_vector();
    const auto gv = g.to_vector(), bv = b.to_vector();
    for_rows(x, [&](Index r, const std::vector<float>& row) {
      auto f32 = [](double v) { return static_cast<double>(static_cast<float>(v)); };
      const auto ref = layer_norm_literal(row, gv, bv, 1e-5, f32);
      double mean = 0, var = 0, ms = 0;
      for (float v : row) mean += v;
      mean /= n;
      for (float v : row) var += (v - mean) * (v - mean), ms += double(v) * v;
      var /= n;
      ms /= n;
      float s = 0.0f;
      for (float v : row) s += v * v;
      const float rstd = 1.0f / std::sqrt(s / static_cast<float>(n) + 1e-6f);
      for (Index i = 0; i < n; ++i) {
        REQUIRE(ln[r * n + i] == ref[i]);
        REQUIRE(rms[r * n + i] == (row[i] * rstd) * gv[i]);
        const double ln64 = (row[i] - mean) / std::sqrt(var + 1e-5) * gv[i] + bv[i];
        const double rms64 = row[i] / std::sqrt(ms + 1e-6) * gv[i];
        REQUIRE(std::fabs(ln[r * n + i] - ln64) <= 1e-5 * (1 + std::fabs(ln64)));
        REQUIRE(std::fabs(rms[r * n + i] - rms64) <= 1e-5 * (1 + std::fabs(rms64)));
      }
    });
  }
}

TEST_CASE("layer_norm: statistics in bf16 follow the literal rounded loop") {
  const Format bf16 = Format::parse("bf16");
  const TensorF x = TensorF(Shape{9, 24}, random_tensor({9, 24}, 8, -2.0f, 2.0f).to_vector());
  // bf16 inputs keep every sum in the literal loop exact in float64 before rounding.
  TensorF xb(x.shape());
  for (Index i = 0; i < x.numel(); ++i) xb.span()[i] = static_cast<float>(bf16.round(double(x.span()[i])));
  NormSpec spec{1e-5, Precision::parse("bf16"), Precision()};
  const auto y = layer_norm(xb, TensorF(), TensorF(), spec).to_vector();
  const std::vector<float> ones(24, 1.0f), zeros(24, 0.0f);
  for_rows(xb, [&](Index r, const std::vector<float>& row) {
    const auto ref = layer_norm_literal(row, ones, zeros, 1e-5, [&](double v) { return bf16.round(v); });
    for (Index i = 0; i < 24; ++i) REQUIRE(y[r * 24 + i] == ref[i]);
  });
}

TEST_CASE("norms: known values, output precision, errors, threads") {
  // RMSNorm of a constant vector c is c / sqrt(c^2 + eps) per element (eps = 0: exactly +-1).
  const TensorF c(Shape{2, 64}, -3.0f);
  for (float v : rms_norm(c, TensorF(), NormSpec{0.0, {}, {}}).to_vector()) CHECK(v == -1.0f);
  // LayerNorm of a constant row is beta.
  const TensorF beta = random_tensor({64}, 9);
  const TensorF ln_c = layer_norm(c, TensorF(), beta);
  CHECK(ln_c.slice(0, 1, 2).to_vector() == beta.to_vector());
  // Output rounded into e4m3fn equals rounding the float32 output.
  const TensorF x = random_tensor({5, 31}, 10);
  const Format e4m3 = Format::parse("e4m3fn");
  const auto plain = rms_norm(x).to_vector();
  const auto q = rms_norm(x, TensorF(), NormSpec{1e-5, {}, Precision(e4m3)}).to_vector();
  for (std::size_t i = 0; i < q.size(); ++i) CHECK(q[i] == e4m3.round(plain[i]));
  TensorF nan_row = x.clone();
  nan_row.at({1, 3}) = NAN;
  const TensorF ln = layer_norm(nan_row);
  for (Index i = 0; i < 31; ++i) CHECK((std::isnan(ln.at({1, i})) && !std::isnan(ln.at({0, i}))));
  CHECK_THROWS_AS(layer_norm(x, TensorF(Shape{30})), std::invalid_argument);
  CHECK_THROWS_AS(rms_norm(x, TensorF(Shape{31, 1})), std::invalid_argument);
  const TensorF big = random_tensor({257, 96}, 11);
  const NormSpec sr{1e-5, Precision::parse("fp16:sr"), Precision::parse("bf16:sr")};
  CHECK(kernel_test::same_on_any_thread_count([&] { return layer_norm(big, TensorF(), TensorF(), sr); }));
  CHECK(kernel_test::same_on_any_thread_count([&] { return rms_norm(big); }));
}
