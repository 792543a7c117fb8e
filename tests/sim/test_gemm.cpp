#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "sim/gemm/accumulation.hpp"
#include "sim/gemm/gemm.hpp"
#include "tests/reference/exact.hpp"

using namespace bitsim::sim;

namespace {

TensorF random_matrix(Index rows, Index cols, std::uint64_t seed, float lo = -1.0f,
                      float hi = 1.0f) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(std::size_t(rows * cols));
  for (float& x : v) x = dist(gen);
  return TensorF(Shape{rows, cols}, std::move(v));
}

TensorF filled(Index rows, Index cols, float value) { return TensorF(Shape{rows, cols}, value); }

// Bit-for-bit equality of two tensors (NaN patterns included), with the first difference.
template <class T, class U>
void require_same_bits(const Tensor<T>& got, const Tensor<U>& want, const std::string& what) {
  REQUIRE(got.shape() == want.shape());
  const auto g = got.to_vector();
  const auto w = want.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) {
    const T wi = T(w[i]);
    if (std::memcmp(&g[i], &wi, sizeof(T)) != 0) {
      FAIL(what << ": element " << i << " is " << double(g[i]) << ", reference "
                << double(wi));
    }
  }
}

const char* kSpecs[] = {
    "",                                              // fp32 rne, sequential
    "acc=bf16",                                      // per-add rounded bf16
    "acc=fp16:rz,order=pairwise",
    "acc=fp<e=8,m=13>:sr,seed=7",
    "acc=bf16:sr:8,chunk=5,seed=3",
    "acc=fp16,chunk=7,split=3",
    "acc=bf16,order=tree(3),split=4:reverse",
    "acc=fp16:ru,order=tree(2),chunk=6,split=3:pairwise",
    "acc=bf16,prod=e4m3fn,fma=false",
    "acc=fp16:rd,prod=bf16:sr,seed=11,order=pairwise,chunk=9",
    "acc=bf16,kahan=true",
    "acc=fp16:sr,kahan=true,chunk=4,seed=5",
    "acc=e5m2,wide=bf16:rna",
    "acc=fp64,wide=fp64,split=2",
    "acc=fp32:rto,order=pairwise,wide=tf32:rz,chunk=3",
};

}  // namespace

TEST_CASE("round-to-odd sum: the exact sum, or its neighbour with an odd last bit") {
  using namespace bitsim::reference;
  std::mt19937_64 gen(1);
  std::uniform_int_distribution<int> exponent(-60, 60);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  int inexact = 0;
  for (int i = 0; i < 20000; ++i) {
    const double x = std::ldexp(unit(gen), exponent(gen));
    const double y = std::ldexp(unit(gen), exponent(gen));
    const double got = accumulation::add_to_odd(x, y);
    const Exact sum = exact_from(x) + exact_from(y);
    const double below = double_below(sum), above = double_above(sum);
    if (below == above) {
      CHECK(got == below);
      continue;
    }
    ++inexact;
    const double odd = (std::bit_cast<std::uint64_t>(below) & 1) ? below : above;
    REQUIRE(got == odd);
  }
  CHECK(inexact > 10000);  // the test exercised the rounding, not only exact sums
}

TEST_CASE("gemm: fast kernel == literal reference, bit for bit, on odd shapes") {
  struct Dims { Index M, N, K; };
  const Dims dims[] = {{1, 1, 1}, {1, 17, 9}, {13, 1, 33}, {5, 19, 0}, {7, 33, 61},
                       {3, 5, 100}, {9, 16, 32}};
  for (const char* text : kSpecs) {
    const AccumSpec spec = AccumSpec::parse(text);
    for (const Dims& d : dims) {
      CAPTURE(text);
      CAPTURE(d.M);
      CAPTURE(d.N);
      CAPTURE(d.K);
      const TensorF a = random_matrix(d.M, d.K, 100 + d.K);
      const TensorF b = random_matrix(d.K, d.N, 200 + d.N);
      const TensorD want = gemm_reference(a, b, spec);
      require_same_bits(gemm_double(a, b, spec), want, "gemm_double");
      require_same_bits(gemm(a, b, spec), want.cast<float>(), "gemm");
    }
  }
}

TEST_CASE("gemm: overflow, subnormal and cancelling sums match the reference bit for bit") {
  struct Case { const char* spec; float scale; };
  // fp16 overflows past 65504 (products up to 9e4) and goes subnormal below 6e-5; bf16's
  // subnormals start below 1.2e-38; e5m2's range is 57344 .. 2^-16.
  const Case cases[] = {{"acc=fp16", 300}, {"acc=fp16:rz", 300}, {"acc=fp16:ru", 1e-3f},
                        {"acc=fp16:rd", 1e-3f}, {"acc=bf16", 1e-19f}, {"acc=bf16:rna", 1e19f},
                        {"acc=e5m2:rne,wide=fp16", 30}, {"acc=fp16:rto,order=pairwise", 1e-3f},
                        {"acc=fp<e=8,m=13>:rnz", 1e-20f}};
  for (const Case& c : cases) {
    CAPTURE(c.spec);
    const AccumSpec spec = AccumSpec::parse(c.spec);
    const TensorF a = random_matrix(5, 40, 71, -c.scale, c.scale);
    const TensorF b = random_matrix(40, 18, 72, -1.0f, 1.0f);
    require_same_bits(gemm_double(a, b, spec), gemm_reference(a, b, spec), "edge ranges");
  }
}

TEST_CASE("gemm: NaN and infinite inputs propagate as the reference says") {
  TensorF a = random_matrix(4, 12, 81);
  a.at({0, 3}) = NAN;
  a.at({1, 5}) = INFINITY;
  a.at({2, 7}) = -INFINITY;
  a.at({2, 8}) = INFINITY;  // inf - inf: NaN
  const TensorF b = random_matrix(12, 20, 82);
  for (const char* text : {"", "acc=bf16", "acc=fp16:rz,order=pairwise", "acc=bf16:sr,chunk=4"}) {
    CAPTURE(text);
    const AccumSpec spec = AccumSpec::parse(text);
    const TensorD want = gemm_reference(a, b, spec);
    require_same_bits(gemm_double(a, b, spec), want, "non-finite");
    CHECK(std::isnan(want.at({0, 0})));
    CHECK(std::isinf(want.at({1, 0})));
    CHECK(std::isnan(want.at({2, 0})));
    CHECK(std::isfinite(want.at({3, 0})));
  }
}

TEST_CASE("gemm: transposed B, strided views and bias follow the same definition") {
  const TensorF a = random_matrix(6, 20, 1);
  const TensorF bt = random_matrix(11, 20, 2);  // [N, K]
  const TensorF bias(Shape{11}, std::vector<float>{0.5f, -1, 2, 3, 1e-3f, 7, -7, 0, 1, 2, 3});
  for (const char* text : {"", "acc=bf16,chunk=8", "acc=fp16:sr,seed=9,split=2"}) {
    CAPTURE(text);
    const AccumSpec spec = AccumSpec::parse(text);
    const GemmArgs args{.transpose_b = true, .bias = bias};
    const TensorD want = gemm_reference(a, bt, spec, args);
    require_same_bits(gemm_double(a, bt, spec, args), want, "transpose_b + bias");
    // The same product through a transposed view of B and a column slice of a wider A.
    const TensorF wide_a = random_matrix(6, 30, 3);
    const TensorF a_view = wide_a.slice(1, 5, 25);
    require_same_bits(gemm_double(a_view, bt.transposed(), spec, {.bias = bias}),
                      gemm_reference(a_view.contiguous(), bt.transposed().contiguous(), spec,
                                     {.bias = bias}),
                      "views");
  }
}

TEST_CASE("gemm: K = 0 gives the bias (or zeros)") {
  const TensorF a(Shape{3, 0}), b(Shape{0, 4});
  const TensorF bias(Shape{4}, std::vector<float>{1, -2, 3.5f, 0});
  for (const char* text : {"", "acc=bf16,split=3", "order=blas"}) {
    const AccumSpec spec = AccumSpec::parse(text);
    const TensorF c = gemm(a, b, spec, {.bias = bias});
    CHECK(c.to_vector() == std::vector<float>{1, -2, 3.5f, 0, 1, -2, 3.5f, 0, 1, -2, 3.5f, 0});
    CHECK(gemm(a, b, spec).to_vector() == std::vector<float>(12, 0.0f));
  }
}

TEST_CASE("gemm: large K (4096) matches the reference bit for bit") {
  const TensorF a = random_matrix(2, 4096, 5);
  const TensorF b = random_matrix(4096, 3, 6);
  for (const char* text : {"acc=bf16", "acc=fp16,order=pairwise,chunk=128",
                           "acc=bf16:sr,seed=1,split=4:pairwise,chunk=64"}) {
    CAPTURE(text);
    const AccumSpec spec = AccumSpec::parse(text);
    require_same_bits(gemm_double(a, b, spec), gemm_reference(a, b, spec), "K=4096");
  }
}

TEST_CASE("gemm: rne into fp32-range formats (the float32 FMA path) == reference, bit for bit") {
  // fp32, tf32, fp<e=8,m=13>, bf16, and (with range checks) fp16 and e5m2 with rne take
  // sim/gemm's float32 FMA loop. Small integers make its float32 sums land on midpoints of
  // the format often (each such lane is recomputed by the definition); uniform data rarely
  // does. Odd shapes leave partial tiles, and K is cut into blocks of 4 to 32 steps (32
  // for bf16, 8 for fp16 and tf32, 4 for fp<e=8,m=13>), so K = 1, 33, 77, 150 end mid-block. Integer sums pass through 0 (exact cancellation); the
  // ranges below take fp16 past its normal range both ways.
  struct Dims { Index M, N, K; };
  const Dims dims[] = {{1, 1, 77}, {5, 17, 33}, {6, 35, 150}, {9, 48, 64}, {3, 20, 1}};
  const char* specs[] = {"", "acc=bf16", "acc=tf32", "acc=fp<e=8,m=13>", "acc=fp16", "acc=e5m2",
                         "acc=bf16,chunk=40,split=3:reverse", "acc=tf32,chunk=7,wide=bf16",
                         "acc=fp16,chunk=9,wide=fp16", "chunk=16,split=2:pairwise"};
  for (const char* text : specs) {
    const AccumSpec spec = AccumSpec::parse(text);
    for (const Dims& d : dims) {
      for (const bool integers : {true, false}) {
        const std::string spec_text = text;
        CAPTURE(spec_text);
        CAPTURE(d.M);
        CAPTURE(d.N);
        CAPTURE(d.K);
        CAPTURE(integers);
        TensorF a = random_matrix(d.M, d.K, 300 + d.K, -20, 20);
        TensorF b = random_matrix(d.K, d.N, 400 + d.N, -20, 20);
        if (integers) {
          for (float& x : a.span()) x = std::round(x);
          for (float& x : b.span()) x = std::round(x);
        }
        const TensorF bias = random_matrix(1, d.N, 500).reshaped({d.N});
        const TensorD want = gemm_reference(a, b, spec, {.bias = bias});
        require_same_bits(gemm_double(a, b, spec, {.bias = bias}), want, "fma path");
      }
    }
  }
  // Overflow to inf in some rows only, and products in the subnormal range (fp32's and
  // bf16's for the small scales; fp16's below 6e-5 and its overflow past 65504 at 20 and
  // 300).
  for (const char* text : {"", "acc=bf16", "acc=tf32,chunk=8", "acc=fp16", "acc=fp16,chunk=5"}) {
    for (const float scale : {3e19f, 300.0f, 20.0f, 1e-3f, 1e-20f, 1e-22f}) {
      const std::string spec_text = text;
      CAPTURE(spec_text);
      CAPTURE(scale);
      TensorF a = random_matrix(7, 90, 91, -1, 1);
      for (Index k = 0; k < 90; ++k) a.at({2, k}) *= scale, a.at({5, k}) *= scale;
      const TensorF b = random_matrix(90, 20, 92, -scale, scale);
      const AccumSpec spec = AccumSpec::parse(text);
      require_same_bits(gemm_double(a, b, spec), gemm_reference(a, b, spec), "fma path ranges");
    }
  }
}

TEST_CASE("accumulator: a sum of ones stalls where the next integer is not representable") {
  // bf16 has 8 significant bits: 256 + 1 = 257 lies halfway between 256 and 258 and ties
  // to the even 256, so a running bf16 sum of ones never passes 256. fp16 (11 bits)
  // stalls at 2048 the same way.
  const Index K = 3000;
  const TensorF ones_a = filled(1, K, 1.0f), ones_b = filled(K, 1, 1.0f);
  CHECK(gemm(ones_a, ones_b, AccumSpec::parse("acc=bf16")).at({0, 0}) == 256.0f);
  CHECK(gemm(ones_a, ones_b, AccumSpec::parse("acc=fp16")).at({0, 0}) == 2048.0f);
  CHECK(gemm(ones_a, ones_b).at({0, 0}) == 3000.0f);
  // Round toward +inf does not stall: past 256 (bf16's step is 2) each one adds 2.
  CHECK(gemm(filled(1, 300, 1), filled(300, 1, 1), AccumSpec::parse("acc=bf16:ru")).at({0, 0}) ==
        256.0f + 2 * 44);
  // Chunked accumulation: runs of 128 ones are exact in bf16 and promoted to fp32.
  CHECK(gemm(ones_a, ones_b, AccumSpec::parse("acc=bf16,chunk=128")).at({0, 0}) == 3000.0f);
  CHECK(gemm(ones_a, ones_b, AccumSpec::parse("acc=fp16,chunk=1024")).at({0, 0}) == 3000.0f);
  // A chunk of 512 stalls inside each chunk: 5 full chunks of 256 and a last one of 440 -> 256.
  CHECK(gemm(ones_a, ones_b, AccumSpec::parse("acc=bf16,chunk=512")).at({0, 0}) == 6 * 256.0f);
  // Split-K: four parts of 750 each stall at 256; the fp32 reduction gives 1024.
  CHECK(gemm(ones_a, ones_b, AccumSpec::parse("acc=bf16,split=4")).at({0, 0}) == 1024.0f);
  // Pairwise summation of ones is exact while every partial sum is representable.
  CHECK(gemm(filled(1, 2048, 1), filled(2048, 1, 1), AccumSpec::parse("acc=bf16,order=pairwise"))
            .at({0, 0}) == 2048.0f);
  // Kahan's compensation carries the lost ones: the stall goes away, and the sum ends
  // within one bf16 step (16 at 3000) of the exact 3000, which bf16 cannot hold.
  const float kahan = gemm(ones_a, ones_b, AccumSpec::parse("acc=bf16,kahan=true")).at({0, 0});
  CHECK(std::fabs(kahan - 3000.0f) <= 16.0f);
}

TEST_CASE("accumulator: each addition rounds the exact sum once (no double rounding)") {
  // The second product is 1 - 2^-46 (bf16 case) or 2^-24 - 2^-70 (fp32 case): the exact sum
  // lies just below a midpoint of the accumulator, while its float64 sum lands exactly on
  // the midpoint, where ties-to-even would pick the upper neighbour.
  const float e = 0x1p-23f;
  const TensorF b(Shape{2, 1}, std::vector<float>{1.0f, 1.0f - e});
  const TensorF a_bf16(Shape{1, 2}, std::vector<float>{258.0f, 1.0f + e});
  CHECK(gemm(a_bf16, b, AccumSpec::parse("acc=bf16")).at({0, 0}) == 258.0f);  // not 260
  const TensorF a_fp32(Shape{1, 2}, std::vector<float>{1.0f + e, 0x1p-24f * (1.0f + e)});
  CHECK(gemm(a_fp32, b).at({0, 0}) == 1.0f + e);  // not 1 + 2^-22
  CHECK(gemm_reference(a_bf16, b, AccumSpec::parse("acc=bf16")).at({0, 0}) == 258.0);
  CHECK(gemm_reference(a_fp32, b).at({0, 0}) == double(1.0f + e));
}

TEST_CASE("accumulator: stochastic rounding in bf16 is unbiased where RNE stalls") {
  // 1000 ones in a bf16 accumulator with SR: every addition is unbiased, so the expected
  // final value is 1000 exactly. Per output the variance is at most the sum of ulp^2/4
  // (256 additions with ulp 2, about 490 with ulp 4: <= 2208, sd <= 47), so the mean of
  // 1000 independent outputs (one random stream each) has sd <= 1.5; allow 8.
  const Index K = 1000, N = 1000;
  const AccumSpec sr = AccumSpec::parse("acc=bf16:sr,seed=2024");
  const TensorF c = gemm(filled(1, K, 1), filled(K, N, 1), sr);
  double mean = 0;
  int distinct_from_rne = 0;
  for (float v : c.to_vector()) {
    mean += v;
    distinct_from_rne += v != 256.0f;
  }
  mean /= double(N);
  CHECK(std::fabs(mean - 1000.0) < 8.0);
  CHECK(distinct_from_rne == N);
  // Same seed: same bits; another seed: other bits.
  const TensorF head = c.slice(1, 0, 64).contiguous();
  CHECK(gemm(filled(1, K, 1), filled(K, 64, 1), sr).to_vector() == head.to_vector());
  CHECK(gemm(filled(1, K, 1), filled(K, 64, 1), AccumSpec::parse("acc=bf16:sr,seed=2025"))
            .to_vector() != head.to_vector());
}

namespace {
// Mean absolute error of C against the exact products, over all outputs.
double mean_error(const TensorF& a, const TensorF& b, const AccumSpec& spec) {
  const auto got = gemm_double(a, b, spec).to_vector();
  const auto exact = gemm_exact(a, b).to_vector();
  double e = 0;
  for (std::size_t i = 0; i < got.size(); ++i) e += std::fabs(got[i] - exact[i]);
  return e / double(got.size());
}
}  // namespace

TEST_CASE("accumulator: pairwise and Kahan beat sequential summation on long sums") {
  // Positive terms: a sequential sum's error grows like K * eps * |sum|, a pairwise one
  // like log2(K) * eps * |sum|, and Kahan's is about eps * |sum| whatever K.
  const TensorF a = random_matrix(4, 4096, 31, 0.0f, 1.0f);
  const TensorF b = random_matrix(4096, 8, 32, 0.0f, 1.0f);
  const double sequential = mean_error(a, b, AccumSpec::parse("acc=fp16"));
  const double pairwise = mean_error(a, b, AccumSpec::parse("acc=fp16,order=pairwise"));
  const double kahan = mean_error(a, b, AccumSpec::parse("acc=fp16,kahan=true"));
  const double fp32 = mean_error(a, b, AccumSpec{});
  MESSAGE("mean |error| fp16 seq " << sequential << ", pairwise " << pairwise << ", kahan "
                                   << kahan << ", fp32 seq " << fp32);
  // |sum| ~ 1024; fp16 eps = 2^-10: a sequential sum loses whole units, pairwise about one
  // ulp of the result (0.5), Kahan the final rounding only (<= 0.25 on average).
  CHECK(sequential > 10 * pairwise);
  CHECK(pairwise > kahan);
  CHECK(kahan <= 0.5);
  CHECK(fp32 < kahan);
}

TEST_CASE("gemm: results are bit-identical on 1, 2 and many threads") {
  const TensorF a = random_matrix(37, 300, 41);
  const TensorF b = random_matrix(300, 45, 42);
  for (const char* text : {"", "acc=bf16", "acc=fp16:sr,seed=4,chunk=32,split=3:pairwise",
                           "acc=bf16,order=pairwise,prod=e4m3fn", "acc=fp16,kahan=true"}) {
    CAPTURE(text);
    const AccumSpec spec = AccumSpec::parse(text);
    std::vector<std::vector<float>> results;
    for (std::size_t threads : {1, 2, 7}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      results.push_back(gemm(a, b, spec).to_vector());
    }
    CHECK(results[0] == results[1]);
    CHECK(results[0] == results[2]);
  }
}

TEST_CASE("exact_dot: exact where float64 summation cancels") {
  const std::vector<double> a = {0x1p100, 1.0, -0x1p100, 0x1p-60};
  const std::vector<double> ones = {1, 1, 1, 1};
  CHECK(a[0] + a[1] + a[2] + a[3] == 0x1p-60);  // float64 loses the 1
  CHECK(exact_dot(a, ones) == 1.0 + 0x1p-60);
  // Rounded once, nearest-even: 1 + 2^-53 is a tie between 1 and 1 + 2^-52.
  CHECK(exact_dot(std::vector<double>{1.0, 0x1p-53}, std::vector<double>{1, 1}) == 1.0);
  CHECK(exact_dot(std::vector<double>{1.0, 0x1p-53, 0x1p-200}, std::vector<double>{1, 1, 1}) ==
        1.0 + 0x1p-52);
  // Subnormal products and inputs.
  CHECK(exact_dot(std::vector<double>{0x1p-1074, 0x1p-1074}, std::vector<double>{1, 1}) ==
        0x1p-1073);
  CHECK(exact_dot(std::vector<double>{0x1p-600}, std::vector<double>{0x1p-600}) == 0.0);
  CHECK(exact_dot(std::vector<double>{0x1p-537}, std::vector<double>{0x1p-537}) == 0x1p-1074);
  CHECK(std::isinf(exact_dot(std::vector<double>{1e300, 1e300}, std::vector<double>{1e300, 0})));
  CHECK(std::isnan(exact_dot(std::vector<double>{INFINITY, -INFINITY}, std::vector<double>{1, 1})));
  CHECK_THROWS_AS(exact_dot(std::vector<double>{1}, std::vector<double>{1, 2}),
                  std::invalid_argument);
  // Floats: a*b is exact in float64, so with an fp64 accumulator small integer sums agree.
  const TensorF x = random_matrix(3, 50, 51), y = random_matrix(50, 4, 52);
  const auto exact = gemm_exact(x, y).to_vector();
  const auto fp64 = gemm_double(x, y, AccumSpec::parse("acc=fp64,wide=fp64")).to_vector();
  for (std::size_t i = 0; i < exact.size(); ++i)
    CHECK(std::fabs(exact[i] - fp64[i]) <= 64 * 0x1p-52 * std::fabs(exact[i]) + 1e-300);
}

TEST_CASE("gemm: order=blas is FP32 sgemm, close to the defined FP32 GEMM") {
  const TensorF a = random_matrix(33, 70, 61), bt = random_matrix(29, 70, 62);
  const TensorF bias = random_matrix(1, 29, 63).reshaped({29});
  const GemmArgs args{.transpose_b = true, .bias = bias};
  const auto blas = gemm(a, bt, AccumSpec::blas(), args).to_vector();
  const auto defined = gemm(a, bt, AccumSpec{}, args).to_vector();
  const auto exact = gemm_exact(a, bt, args).to_vector();
  for (std::size_t i = 0; i < blas.size(); ++i) {
    CHECK(std::fabs(blas[i] - exact[i]) < 1e-4);
    CHECK(std::fabs(defined[i] - exact[i]) < 1e-4);
  }
  CHECK_THROWS_AS(gemm_reference(a, bt, AccumSpec::blas(), args), std::invalid_argument);
}

TEST_CASE("gemm: bad shapes are clear errors") {
  const TensorF a(Shape{2, 3}), b(Shape{4, 5}), v(Shape{3});
  CHECK_THROWS_WITH_AS(gemm(a, b), doctest::Contains("inner dimensions differ"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(gemm(v, b), doctest::Contains("rank 2"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(gemm(a, TensorF(Shape{3, 5}), {}, {.bias = TensorF(Shape{4})}),
                       doctest::Contains("bias must have shape [5]"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(gemm_reference(a, b), doctest::Contains("inner dimensions"),
                       std::invalid_argument);
}
