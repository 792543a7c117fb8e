// sim/transforms: Walsh-Hadamard against a literal Hadamard matrix product in double,
// orthogonality, random signs, SmoothQuant's scales and the product it preserves.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "sim/transforms/hadamard.hpp"
#include "sim/transforms/smoothquant.hpp"

using namespace bitsim::sim;

namespace {

// Sylvester's Hadamard matrix entry: (-1)^popcount(i & j).
double h(Index i, Index j) { return (std::popcount(std::uint64_t(i & j)) & 1) ? -1.0 : 1.0; }

// Literal block-diagonal product along the last axis: y_j = sum_k H_b[j%b][k%b] d_k x_k / sqrt(b)
// (inverse: d_j sum_k H_b[j%b][k%b] x_k / sqrt(b)), in double.
TensorD literal(const TensorD& x, Index block, const std::vector<double>& d, bool inverse) {
  const Index n = x.shape().back(), rows = x.numel() / n;
  std::vector<double> v = x.to_vector(), out(v.size());
  for (Index r = 0; r < rows; ++r)
    for (Index j = 0; j < n; ++j) {
      double sum = 0;
      const Index base = j / block * block;
      for (Index k = base; k < base + block; ++k)
        sum += h(j - base, k - base) * (inverse || d.empty() ? 1.0 : d[k]) * v[r * n + k];
      out[r * n + j] = sum / std::sqrt(double(block)) * (inverse && !d.empty() ? d[j] : 1.0);
    }
  return TensorD(x.shape(), out);
}

template <class T>
Tensor<T> random_tensor(Shape shape, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<T> v(static_cast<std::size_t>(element_count(shape)));
  for (T& x : v) x = T(normal(gen));
  return Tensor<T>(std::move(shape), std::move(v));
}

double max_diff(const TensorD& a, const TensorD& b) {
  double m = 0;
  const auto x = a.to_vector(), y = b.to_vector();
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

}  // namespace

TEST_CASE("fwht equals the literal Hadamard matrix product") {
  for (Index n = 1; n <= 256; n *= 2) {
    CAPTURE(n);
    const TensorD x = random_tensor<double>({n}, unsigned(n));
    std::vector<double> v = x.to_vector();
    fwht(v);
    const auto in = x.to_vector();
    for (Index j = 0; j < n; ++j) {
      double sum = 0;
      for (Index k = 0; k < n; ++k) sum += h(j, k) * in[k];
      CHECK(v[j] == doctest::Approx(sum).epsilon(1e-12).scale(std::sqrt(double(n))));
    }
  }
  std::vector<double> bad(6);
  CHECK_THROWS_AS(fwht(bad), std::invalid_argument);
}

TEST_CASE("hadamard and random_hadamard along the last axis equal the literal product") {
  for (Shape shape : {Shape{3, 16}, Shape{2, 24}, Shape{5, 1}, Shape{2, 2, 40}, Shape{7}}) {
    const Index n = shape.back();
    for (Index block : {Index(0), Index(8)}) {
      if (block != 0 && n % block != 0) continue;
      CAPTURE(shape_string(shape));
      CAPTURE(block);
      const Index b = hadamard_block(n, block);
      const TensorD x = random_tensor<double>(shape, 3);
      const std::vector<double> d = random_signs(42, n);
      CHECK(max_diff(hadamard(x, block), literal(x, b, {}, false)) < 1e-12);
      CHECK(max_diff(random_hadamard(x, 42, block), literal(x, b, d, false)) < 1e-12);
      CHECK(max_diff(inverse_random_hadamard(x, 42, block), literal(x, b, d, true)) < 1e-12);
    }
  }
  CHECK(hadamard_block(24) == 8);
  CHECK(hadamard_block(64) == 64);
  CHECK(hadamard_block(7) == 1);
  CHECK(hadamard_block(48, 16) == 16);
  CHECK_THROWS_AS(hadamard_block(24, 16), std::invalid_argument);
  CHECK_THROWS_AS(hadamard_block(24, 6), std::invalid_argument);
  CHECK_THROWS_AS(hadamard(TensorF(Shape{2, 12}), 8), std::invalid_argument);
}

TEST_CASE("hadamard transforms are orthogonal: the inverse recovers x within the documented bound") {
  // float32 tensors: each transform rounds once to float, so after a round trip
  // |x'_j - x_j| <= 2^-24 (|x_j| + sqrt(b) ||x_block||_2) (plus double error, far smaller).
  const TensorF x = random_tensor<float>({9, 64}, 5);
  for (Index block : {Index(0), Index(16), Index(1)}) {
    const TensorF a = hadamard(hadamard(x, block), block);
    const TensorF b = inverse_random_hadamard(random_hadamard(x, 9, block), 9, block);
    const Index bs = hadamard_block(64, block);
    const auto v = x.to_vector(), va = a.to_vector(), vb = b.to_vector();
    for (std::size_t i = 0; i < v.size(); ++i) {
      double norm = 0;
      const std::size_t start = i / bs * bs;
      for (std::size_t k = start; k < start + bs; ++k) norm += double(v[k]) * v[k];
      const double bound = 1.01 * std::ldexp(std::fabs(v[i]) + std::sqrt(double(bs) * norm), -24);
      CHECK(std::fabs(double(va[i]) - v[i]) <= bound);
      CHECK(std::fabs(double(vb[i]) - v[i]) <= bound);
    }
  }
  // Norm preserved (orthonormal scaling).
  const TensorD xd = random_tensor<double>({1, 128}, 6);
  double n0 = 0, n1 = 0;
  for (double v : xd.to_vector()) n0 += v * v;
  for (double v : random_hadamard(xd, 1).to_vector()) n1 += v * v;
  CHECK(n1 == doctest::Approx(n0).epsilon(1e-13));
}

TEST_CASE("random signs: deterministic, keyed by the seed, both signs") {
  const auto a = random_signs(7, 1000), b = random_signs(7, 1000), c = random_signs(8, 1000);
  CHECK(a == b);
  CHECK(a != c);
  int plus = 0;
  for (double s : a) {
    CHECK((s == 1.0 || s == -1.0));
    plus += s > 0;
  }
  CHECK(plus > 400);
  CHECK(plus < 600);
  // The prefix does not depend on the length asked for.
  const auto short_a = random_signs(7, 10);
  CHECK(std::vector<double>(a.begin(), a.begin() + 10) == short_a);
}

TEST_CASE("SmoothQuant: scales by the formula, X W^T preserved to rounding error") {
  // Hand case: channel maxima |X| = (4, 1, 0), |W| = (1, 4, 2); alpha = 0.5:
  // s = (sqrt(4)/sqrt(1), sqrt(1)/sqrt(4), 1 (zero channel)) = (2, 0.5, 1).
  const TensorF x(Shape{2, 3}, std::vector<float>{4, -1, 0, -2, 0.5f, 0});
  const TensorF w(Shape{2, 3}, std::vector<float>{1, -4, 2, 0.5f, 1, -1});
  CHECK(smoothquant_scales(x, w, 0.5) == std::vector<float>{2.0f, 0.5f, 1.0f});
  CHECK(smoothquant_scales(x, w, 1.0) == std::vector<float>{4.0f, 1.0f, 1.0f});
  CHECK(smoothquant_scales(x, w, 0.0) == std::vector<float>{1.0f, 0.25f, 1.0f});
  CHECK(smooth_activations(x, {2, 0.5f, 1}).to_vector() == std::vector<float>{2, -2, 0, -1, 1, 0});
  CHECK(smooth_weights(w, {2, 0.5f, 1}).to_vector() == std::vector<float>{2, -2, 2, 1, 0.5f, -1});

  // Random activations with outlier channels: every entry of X W^T is kept to within the
  // two float roundings of each term, |dY_ij| <= 2.01 * 2^-24 * sum_k |x_ik w_jk|.
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const Index m = 6, n = 5, k = 32;
  std::vector<float> xv(m * k), wv(n * k);
  for (Index i = 0; i < m * k; ++i) xv[i] = normal(gen) * ((i % k) % 7 == 0 ? 50.0f : 1.0f);
  for (float& v : wv) v = normal(gen) * 0.1f;
  const TensorF X(Shape{m, k}, xv), W(Shape{n, k}, wv);
  for (double alpha : {0.0, 0.5, 0.8, 1.0}) {
    const std::vector<float> s = smoothquant_scales(X, W, alpha);
    for (Index j = 0; j < k; ++j) {
      double mx = 0, mw = 0;
      for (Index i = 0; i < m; ++i) mx = std::max(mx, std::fabs(double(xv[i * k + j])));
      for (Index i = 0; i < n; ++i) mw = std::max(mw, std::fabs(double(wv[i * k + j])));
      CHECK(s[j] == float(std::pow(mx, alpha) / std::pow(mw, 1 - alpha)));
    }
    const auto xs = smooth_activations(X, s).to_vector(), ws = smooth_weights(W, s).to_vector();
    for (Index i = 0; i < m; ++i)
      for (Index j = 0; j < n; ++j) {
        double y = 0, y2 = 0, mag = 0;
        for (Index c = 0; c < k; ++c) {
          y += double(xv[i * k + c]) * wv[j * k + c];
          y2 += double(xs[i * k + c]) * ws[j * k + c];
          mag += std::fabs(double(xv[i * k + c]) * wv[j * k + c]);
        }
        CHECK(std::fabs(y2 - y) <= 2.01 * std::ldexp(mag, -24));
      }
  }
  CHECK_THROWS_AS(smoothquant_scales(X, W, 1.5), std::invalid_argument);
  CHECK_THROWS_AS(smoothquant_scales(X, TensorF(Shape{n, k + 1}), 0.5), std::invalid_argument);
  CHECK_THROWS_AS(smooth_weights(W, std::vector<float>(3, 1.0f)), std::invalid_argument);
}
