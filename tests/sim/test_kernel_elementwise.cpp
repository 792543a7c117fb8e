// Activations, RoPE and embedding lookup against float64 / long double formulas.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

#include <doctest/doctest.h>

#include "kernel_test_util.hpp"
#include "sim/kernels/activations.hpp"
#include "sim/kernels/embedding.hpp"
#include "sim/kernels/rope.hpp"

using namespace bitsim::sim;
using bitsim::formats::Format;
using kernel_test::random_tensor;
using kernel_test::same_bits;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Distance in float32 ulps (of the larger magnitude) between a float and a long double.
long double ulps(float got, long double want) {
  const long double ulp = std::ldexp(1.0L, std::max(std::ilogb(static_cast<float>(want)), -126) - 23);
  return std::fabs(static_cast<long double>(got) - want) / ulp;
}

long double gelu_erf_ld(long double x) { return 0.5L * x * (1.0L + std::erf(x / std::sqrt(2.0L))); }
long double gelu_tanh_ld(long double x) {
  return 0.5L * x * (1.0L + std::tanh(std::sqrt(2.0L / std::numbers::pi_v<long double>) * (x + 0.044715L * x * x * x)));
}
long double silu_ld(long double x) { return x / (1.0L + std::exp(-x)); }

}  // namespace

TEST_CASE("activations: within one float32 ulp of long double formulas, on every shape") {
  for (const Shape& shape : kernel_test::row_shapes()) {
    CAPTURE(shape_string(shape));
    const TensorF x = random_tensor(shape, 21, -8.0f, 8.0f);
    const TensorF up = random_tensor(shape, 22);
    const auto xe = gelu(x).to_vector(), xt = gelu(x, GeluApprox::tanh).to_vector();
    const auto xs = silu(x).to_vector(), xg = swiglu(x, up).to_vector();
    CHECK(gelu(x).shape() == shape);
    const auto in = x.to_vector(), u = up.to_vector();
    for (std::size_t i = 0; i < in.size(); ++i) {
      // Near zeros of the function relative error means little; compare with an absolute floor.
      REQUIRE((ulps(xe[i], gelu_erf_ld(in[i])) <= 1 || std::fabs(xe[i] - gelu_erf_ld(in[i])) < 1e-12));
      REQUIRE((ulps(xt[i], gelu_tanh_ld(in[i])) <= 1 || std::fabs(xt[i] - gelu_tanh_ld(in[i])) < 1e-12));
      REQUIRE(ulps(xs[i], silu_ld(in[i])) <= 1);
      REQUIRE(ulps(xg[i], silu_ld(in[i]) * u[i]) <= 1);
    }
  }
}

TEST_CASE("activations: known values, special inputs, output precision") {
  const TensorF x(Shape{5}, std::vector<float>{0.0f, kInf, -kInf, NAN, 1.0f});
  for (auto approx : {GeluApprox::erf, GeluApprox::tanh}) {
    const auto y = gelu(x, approx).to_vector();
    CHECK(y[0] == 0.0f);
    CHECK(y[1] == kInf);
    CHECK(y[2] == 0.0f);
    CHECK(std::signbit(y[2]));
    CHECK(std::isnan(y[3]));
  }
  CHECK(gelu(x).to_vector()[4] == static_cast<float>(0.5 * (1 + std::erf(1 / std::sqrt(2.0)))));
  const auto s = silu(x).to_vector();
  CHECK(s[0] == 0.0f);
  CHECK(s[1] == kInf);
  CHECK(s[2] == 0.0f);
  CHECK(std::isnan(s[3]));
  CHECK(s[4] == static_cast<float>(1 / (1 + std::exp(-1.0))));
  // Output into e4m3fn: the float32 result rounded (rne), and into bf16 with rz.
  const TensorF r = random_tensor({3, 50}, 23);
  const Format e4m3 = Format::parse("e4m3fn"), bf16 = Format::parse("bf16");
  const auto plain = gelu(r, GeluApprox::tanh).to_vector();
  const auto q = gelu(r, GeluApprox::tanh, Precision(e4m3)).to_vector();
  const auto z = gelu(r, GeluApprox::tanh, Precision::parse("bf16:rz")).to_vector();
  for (std::size_t i = 0; i < q.size(); ++i) {
    REQUIRE(q[i] == e4m3.round(plain[i]));
    REQUIRE(z[i] == bf16.round(plain[i], {bitsim::formats::Rounding::toward_zero}));
  }
  CHECK_THROWS_AS(swiglu(r, random_tensor({3, 49}, 1)), std::invalid_argument);
  const TensorF big = random_tensor({70000}, 24);
  CHECK(kernel_test::same_on_any_thread_count([&] { return silu(big, Precision::parse("fp16:sr")); }));
}

namespace {

// RoPE in float64 with an explicit pair list: pairs[i] = the two features of pair i.
std::vector<double> rope_double(const std::vector<float>& x, Index pos, Index r, double base,
                                const std::vector<std::pair<Index, Index>>& pairs) {
  std::vector<double> y(x.begin(), x.end());
  for (Index i = 0; i < r / 2; ++i) {
    const double th = pos / std::pow(base, 2.0 * i / r);
    const auto [a, b] = pairs[i];
    y[a] = x[a] * std::cos(th) - x[b] * std::sin(th);
    y[b] = x[a] * std::sin(th) + x[b] * std::cos(th);
  }
  return y;
}

}  // namespace

TEST_CASE("rope: both layouts against the float64 rotation, offsets, identity at 0") {
  const Index H = 3, T = 11, D = 24;
  const TensorF x = random_tensor({H, T, D}, 31);
  for (Index r : {Index(0), Index(16), Index(2)}) {
    for (auto layout : {RopeLayout::interleaved, RopeLayout::half_split}) {
      const Index rd = r == 0 ? D : r;
      std::vector<std::pair<Index, Index>> pairs;
      for (Index i = 0; i < rd / 2; ++i)
        pairs.push_back(layout == RopeLayout::interleaved ? std::pair{2 * i, 2 * i + 1} : std::pair{i, i + rd / 2});
      RopeSpec spec;
      spec.rotary_dims = r;
      spec.layout = layout;
      spec.base = 500.0;
      spec.position_offset = 7;
      const TensorF y = rope(x, spec);
      for (Index h = 0; h < H; ++h)
        for (Index t = 0; t < T; ++t) {
          const auto row = x.slice(0, h, h + 1).slice(1, t, t + 1).to_vector();
          const auto ref = rope_double(row, 7 + t, rd, 500.0, pairs);
          double norm_in = 0, norm_out = 0;
          for (Index j = 0; j < D; ++j) {
            REQUIRE(std::fabs(y.at({h, t, j}) - ref[j]) <= 4e-7 * (std::fabs(row[j]) + std::fabs(ref[j]) + 1));
            norm_in += double(row[j]) * row[j];
            norm_out += double(y.at({h, t, j})) * y.at({h, t, j});
            if (j >= rd) REQUIRE(y.at({h, t, j}) == row[j]);
          }
          REQUIRE(std::fabs(norm_out - norm_in) <= 1e-6 * norm_in);
        }
      // Offset: rows t of rope(x[:, 5:], offset 5) are rows 5 + t of rope(x).
      spec.position_offset = 0;
      const TensorF full = rope(x, spec);
      spec.position_offset = 5;
      CHECK(same_bits(rope(x.slice(1, 5, T).contiguous(), spec), full.slice(1, 5, T).contiguous()));
      // Position 0 is the identity.
      CHECK(same_bits(full.slice(1, 0, 1).contiguous(), x.slice(1, 0, 1).contiguous()));
    }
  }
  // Layouts are the same rotation up to a feature permutation.
  const TensorF one = random_tensor({4, 8}, 32);
  RopeSpec inter;
  inter.layout = RopeLayout::interleaved;
  const Index perm[8] = {0, 4, 1, 5, 2, 6, 3, 7};  // interleaved position -> half-split position
  TensorF permuted(Shape{4, 8});
  for (Index t = 0; t < 4; ++t)
    for (Index j = 0; j < 8; ++j) permuted.at({t, j}) = one.at({t, perm[j]});
  const TensorF a = rope(permuted, inter), b = rope(one);
  for (Index t = 0; t < 4; ++t)
    for (Index j = 0; j < 8; ++j) CHECK(a.at({t, j}) == b.at({t, perm[j]}));
}

TEST_CASE("rope: cos/sin table precision, errors, empty, threads") {
  const TensorF x = random_tensor({2, 5, 8}, 33);
  RopeSpec bf;
  bf.table = Precision::parse("bf16");
  const TensorF yb = rope(x, bf), y = rope(x);
  CHECK_FALSE(same_bits(yb, y));
  CHECK(same_bits(yb.slice(1, 0, 1).contiguous(), x.slice(1, 0, 1).contiguous()));  // cos 0 = 1, sin 0 = 0 in any format
  RopeSpec bad;
  bad.rotary_dims = 7;
  CHECK_THROWS_AS(rope(x, bad), std::invalid_argument);
  bad.rotary_dims = 10;
  CHECK_THROWS_AS(rope(x, bad), std::invalid_argument);
  CHECK_THROWS_AS(rope(TensorF(Shape{8})), std::invalid_argument);
  CHECK(rope(TensorF(Shape{0, 8})).numel() == 0);
  CHECK(rope(TensorF(Shape{3, 0})).numel() == 0);
  const TensorF big = random_tensor({8, 300, 64}, 34);
  CHECK(kernel_test::same_on_any_thread_count([&] { return rope(big); }));
}

TEST_CASE("embedding: rows by id, bad ids named, position add") {
  const TensorF table = random_tensor({10, 6}, 41);
  const std::vector<Index> ids = {3, 0, 9, 3};
  const TensorF e = embedding(table, ids);
  CHECK(e.shape() == Shape{4, 6});
  for (Index n = 0; n < 4; ++n)
    for (Index j = 0; j < 6; ++j) CHECK(e.at({n, j}) == table.at({ids[n], j}));
  CHECK(embedding(table, std::vector<Index>{}).shape() == Shape{0, 6});
  try {
    embedding(table, std::vector<Index>{1, 10});
    FAIL("no exception");
  } catch (const std::out_of_range& err) {
    CHECK(std::string(err.what()).find("token id 10 at position 1") != std::string::npos);
  }
  CHECK_THROWS_AS(embedding(table, std::vector<Index>{-1}), std::out_of_range);
  CHECK_THROWS_AS(embedding(TensorF(Shape{10}), ids), std::invalid_argument);

  const TensorF wpe = random_tensor({16, 6}, 42);
  const TensorF sum = add_positions(e, wpe, 2);
  for (Index n = 0; n < 4; ++n)
    for (Index j = 0; j < 6; ++j) CHECK(sum.at({n, j}) == e.at({n, j}) + wpe.at({2 + n, j}));
  CHECK_THROWS_AS(add_positions(e, wpe, 13), std::out_of_range);
  CHECK_THROWS_AS(add_positions(e, TensorF(Shape{16, 5})), std::invalid_argument);
}

// ---- the float32 tanh and the tanh_f32 GELU (GeluApprox::tanh_f32) ----
namespace {

constexpr double kEps = 0x1p-24;  // half a float32 ulp at 1, the unit roundoff

bool same_float(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

// One float32 ulp at v (2^-149 below the normal range).
double ulp_f(double v) {
  const double a = std::fabs(v);
  return a < 0x1p-126 ? 0x1p-149 : std::ldexp(1.0, std::ilogb(a) - 23);
}

// Every `stride`-th float from lo to hi (both positive), in bit-pattern order.
std::vector<float> float_grid(float lo, float hi, std::uint32_t stride) {
  std::vector<float> out;
  for (std::uint32_t b = std::bit_cast<std::uint32_t>(lo); b <= std::bit_cast<std::uint32_t>(hi); b += stride)
    out.push_back(std::bit_cast<float>(b));
  return out;
}

}  // namespace

// Error budget of f32::tanh_f32 (activations.hpp), in float32 ulps of the result:
//  - |u| < 0.55: t = a + a (s P(s)); the series' truncation is < 2^-27 relative; the
//    correction a s P is at most 0.1 a, so the Horner rounding (a few eps of P) adds under
//    0.4 ulp of a, and the final addition 0.5 ulp; t may sit one binade below a, which
//    doubles the count: <= 2 ulps.
//  - |u| >= 0.55: e = exp_small(2a) is within 2 eps (relative), e + 1 and 2 / (e + 1) add
//    1 eps each, so q = 2 / (e + 1) <= 0.5 is within 4 eps q <= 2 eps absolute; t = 1 - q
//    lies in [0.5, 1), where one ulp is 2 eps: 1 ulp from q and 0.5 ulp for the
//    subtraction's rounding: <= 1.5 ulps.
// So 3 ulps is a safe bound everywhere; the test reports the largest error seen.
TEST_CASE("tanh_f32: within 3 float32 ulps of tanh on a dense grid of floats, exact at special values") {
  double worst = 0;
  for (float a : float_grid(0x1p-30f, 12.0f, 97)) {
    for (float u : {a, -a}) {
      const double want = std::tanh(static_cast<double>(u));
      const float got = f32::tanh_f32(u);
      const double err = std::fabs(got - want) / ulp_f(want);
      worst = std::max(worst, err);
      if (err > 3) REQUIRE(err <= 3);  // only failures go through doctest (speed)
      if (got != -f32::tanh_f32(-u)) REQUIRE(got == -f32::tanh_f32(-u));
    }
  }
  MESSAGE("tanh_f32: largest error " << worst << " ulps");
  CHECK(worst > 0.5);  // the grid did reach the approximation's error (not only exact values)
  CHECK(f32::tanh_f32(0.0f) == 0.0f);
  CHECK(std::signbit(f32::tanh_f32(-0.0f)));
  CHECK(f32::tanh_f32(1e-30f) == 1e-30f);
  CHECK(f32::tanh_f32(0x1p-149f) == 0x1p-149f);
  CHECK(f32::tanh_f32(9.5f) == 1.0f);
  CHECK(f32::tanh_f32(kInf) == 1.0f);
  CHECK(f32::tanh_f32(-kInf) == -1.0f);
  CHECK(f32::tanh_f32(-3e38f) == -1.0f);
  CHECK(std::isnan(f32::tanh_f32(NAN)));
}

// The tanh_f32 GELU against the float64 formula (GeluApprox::tanh). With t = tanh(u):
//  u in float32: x^3 (2 roundings), kKappa * c (1, plus kKappa's own 2^-25 representation
//  error), the sum (1; its terms have the same sign), kBeta * (1, plus 2^-25): within 6 eps
//  of u, so t is off by (1 - t^2) 6 eps |u| from the argument and 3 ulp(t) from tanh_f32;
//  1 + t rounds (0.5 ulp) and y = (0.5 x)(1 + t) rounds once more (0.5 ulp(y); 0.5 x is
//  exact). Where t is near -1 (x < -2) 1 + t cancels, as in PyTorch's float32 kernel: the
//  bound is absolute there, 0.5 |x| times the error of 1 + t.
TEST_CASE("gelu tanh_f32: the float64 formula within its derived error bound, kernels = per-element values") {
  std::vector<float> xs;
  for (float a : float_grid(0x1p-20f, 10.0f, 211)) {
    xs.push_back(a);
    xs.push_back(-a);
  }
  double worst_pos = 0;
  for (float x : xs) {
    const double u = gelu_tanh_argument(x), t = std::tanh(u);
    const double want = gelu_value(x, GeluApprox::tanh);
    const double err1t = 6 * kEps * std::fabs(u) * (1 - t * t) + 3 * ulp_f(t) + 0.5 * ulp_f(1 + t);
    const double bound = 0.5 * std::fabs(x) * err1t + 0.5 * ulp_f(want) * (1 + 1e-9);
    const float got = f32::gelu_tanh(x);
    const double err = std::fabs(got - want);
    if (x > 0) worst_pos = std::max(worst_pos, err / ulp_f(want));
    if (err > bound) REQUIRE(err <= bound);
  }
  MESSAGE("gelu tanh_f32 for x > 0: largest error " << worst_pos << " ulps");
  CHECK(worst_pos <= 4);
  // The kernel is the per-element function (vectorised or not, on any thread count).
  const TensorF x(Shape{static_cast<Index>(xs.size())}, xs);
  const auto y = gelu(x, GeluApprox::tanh_f32).to_vector();
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (!same_float(y[i], f32::gelu_tanh(xs[i]))) REQUIRE(same_float(y[i], f32::gelu_tanh(xs[i])));
  CHECK(kernel_test::same_on_any_thread_count([&] { return gelu(x, GeluApprox::tanh_f32); }));
  // Special values: the limits, as the float64 kernel.
  const auto s = gelu(TensorF(Shape{4}, std::vector<float>{0.0f, kInf, -kInf, NAN}), GeluApprox::tanh_f32).to_vector();
  CHECK(s[0] == 0.0f);
  CHECK(s[1] == kInf);
  CHECK((s[2] == 0.0f && std::signbit(s[2])));
  CHECK(std::isnan(s[3]));
  CHECK(gelu_value(3.0, GeluApprox::tanh_f32) == f32::gelu_tanh(3.0f));
}

TEST_CASE("gelu tanh: the forward's saved tanh values, and the same outputs with or without saving") {
  const TensorF x = random_tensor({5, 333}, 31, -9.0f, 9.0f);
  GeluSaved saved;
  const TensorF y = gelu(x, GeluApprox::tanh, {}, &saved);
  REQUIRE(saved.tanh.size() == static_cast<std::size_t>(x.numel()));
  const auto plain = gelu(x, GeluApprox::tanh).to_vector();
  for (Index i = 0; i < x.numel(); ++i) {
    REQUIRE(same_float(y.data()[i], plain[i]));
    REQUIRE(saved.tanh[i] == std::tanh(gelu_tanh_argument(x.data()[i])));
  }
  CHECK(kGeluTanhScale == std::sqrt(2.0 / std::numbers::pi));
}
