// sim/metrics: hand-computed small cases, a straightforward double loop on random data,
// the documented zero and non-finite conventions, logits (KL, top-1).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "sim/metrics/metrics.hpp"

using namespace bitsim::sim;

namespace {
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
TensorF row(std::vector<float> v) {
  const Index n = Index(v.size());
  return TensorF(Shape{n}, std::move(v));
}
}  // namespace

TEST_CASE("metrics: a hand-computed case") {
  // e = (0.5, 0, 0.5, 0); sum ref^2 = 21, sum test^2 = 22.5, <ref, test> = 21.5.
  const ErrorMetrics m = compare(row({1, 2, 0, -4}), row({1.5f, 2, 0.5f, -4}));
  CHECK(m.count == 4);
  CHECK(m.zero_ref == 1);
  CHECK(m.mse == 0.125);
  CHECK(m.rmse == std::sqrt(0.125));
  CHECK(m.bias == 0.25);
  CHECK(m.max_abs == 0.5);
  CHECK(m.max_rel == 0.5);  // 0.5 / 1; the pair with ref 0 is judged by max_abs only
  CHECK(m.sqnr_db == doctest::Approx(10 * std::log10(42.0)).epsilon(1e-15));
  CHECK(m.cosine == doctest::Approx(21.5 / std::sqrt(21.0 * 22.5)).epsilon(1e-15));
  CHECK(m.nonfinite_ref == 0);
  CHECK(m.nonfinite_test == 0);
}

TEST_CASE("metrics: random data against a straightforward double loop") {
  std::mt19937 gen(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> r(1000), t(1000);
  for (std::size_t i = 0; i < r.size(); ++i) {
    r[i] = normal(gen);
    t[i] = r[i] + 0.01 * normal(gen);
  }
  const TensorD a(Shape{10, 100}, r), b(Shape{10, 100}, t);
  double se = 0, s = 0, sr = 0, st = 0, dot = 0, mabs = 0, mrel = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const double e = t[i] - r[i];
    se += e * e;
    s += e;
    sr += r[i] * r[i];
    st += t[i] * t[i];
    dot += r[i] * t[i];
    mabs = std::max(mabs, std::fabs(e));
    mrel = std::max(mrel, std::fabs(e / r[i]));
  }
  const ErrorMetrics m = compare(a, b);
  CHECK(m.count == 1000);
  CHECK(m.mse == doctest::Approx(se / 1000).epsilon(1e-14));
  CHECK(m.bias == doctest::Approx(s / 1000).epsilon(1e-12));
  CHECK(m.max_abs == mabs);
  CHECK(m.max_rel == doctest::Approx(mrel).epsilon(1e-15));
  CHECK(m.sqnr_db == doctest::Approx(10 * std::log10(sr / se)).epsilon(1e-14));
  CHECK(m.cosine == doctest::Approx(dot / std::sqrt(sr * st)).epsilon(1e-14));
  // A transposed view gives the same metrics as its copy (row-major order either way).
  const ErrorMetrics v = compare(a.transposed(), b.transposed());
  CHECK(v.max_abs == m.max_abs);
  CHECK(v.mse == doctest::Approx(m.mse).epsilon(1e-14));
  CHECK_THROWS_AS(compare(a, b.transposed()), std::invalid_argument);
}

TEST_CASE("metrics: zeros and empty tensors") {
  const ErrorMetrics same_zero = compare(row({0, 0, 0}), row({0, 0, 0}));
  CHECK(same_zero.sqnr_db == std::numeric_limits<double>::infinity());
  CHECK(same_zero.cosine == 1);
  CHECK(same_zero.mse == 0);
  CHECK(same_zero.max_rel == 0);
  CHECK(same_zero.zero_ref == 3);
  const ErrorMetrics zero_signal = compare(row({0, 0}), row({1, 0}));
  CHECK(zero_signal.sqnr_db == -std::numeric_limits<double>::infinity());
  CHECK(zero_signal.cosine == 0);
  CHECK(zero_signal.max_abs == 1);
  CHECK(zero_signal.max_rel == 0);
  const ErrorMetrics zero_test = compare(row({1, 2}), row({0, 0}));
  CHECK(zero_test.cosine == 0);
  CHECK(zero_test.max_rel == 1);
  CHECK(zero_test.sqnr_db == doctest::Approx(0.0));
  const ErrorMetrics exact = compare(row({1, -2}), row({1, -2}));
  CHECK(exact.sqnr_db == std::numeric_limits<double>::infinity());
  CHECK(exact.cosine == doctest::Approx(1.0).epsilon(1e-15));
  const ErrorMetrics empty = compare(TensorF(Shape{0, 4}), TensorF(Shape{0, 4}));
  CHECK(empty.count == 0);
  CHECK(empty.mse == 0);
  CHECK(empty.cosine == 1);
  CHECK(empty.sqnr_db == std::numeric_limits<double>::infinity());
}

TEST_CASE("metrics: non-finite values are counted and left out") {
  const ErrorMetrics m = compare(row({1, kInf, 2, kNaN, 3}), row({1, 5, kNaN, kNaN, 4}));
  CHECK(m.nonfinite_ref == 2);
  CHECK(m.nonfinite_test == 2);
  CHECK(m.count == 2);  // pairs 0 and 4
  CHECK(m.mse == 0.5);
  CHECK(m.max_abs == 1);
  CHECK(m.max_rel == doctest::Approx(1.0 / 3));
}

TEST_CASE("logit metrics: KL of softmax distributions and top-1 agreement") {
  // p = (1/2, 1/2), q = (1/4, 3/4): KL = 1/2 ln 2 + 1/2 ln(2/3).
  const TensorD a(Shape{1, 2}, std::vector<double>{0, 0}), b(Shape{1, 2}, std::vector<double>{0, std::log(3.0)});
  const LogitMetrics m = compare_logits(a, b);
  CHECK(m.rows == 1);
  CHECK(m.kl == doctest::Approx(0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0)).epsilon(1e-14));
  CHECK(m.top1 == 0);  // ties take the first index: argmax 0 vs 1
  CHECK(compare_logits(a, a).kl == 0);
  CHECK(compare_logits(a, a).top1 == 1);

  // Random logits vs a literal softmax in long double; one row with a NaN is skipped.
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  const Index rows = 8, n = 50;
  std::vector<float> x(rows * n), y(rows * n);
  for (Index i = 0; i < rows * n; ++i) {
    x[i] = normal(gen);
    y[i] = x[i] + 0.5f * normal(gen);
  }
  y[3 * n + 7] = kNaN;
  const LogitMetrics r = compare_logits(TensorF(Shape{rows, n}, x), TensorF(Shape{rows, n}, y));
  long double kl = 0;
  int agree = 0;
  for (Index i = 0; i < rows; ++i) {
    if (i == 3) continue;
    long double zp = 0, zq = 0;
    Index ap = 0, aq = 0;
    for (Index j = 0; j < n; ++j) {
      zp += std::exp((long double)x[i * n + j]);
      zq += std::exp((long double)y[i * n + j]);
      if (x[i * n + j] > x[i * n + ap]) ap = j;
      if (y[i * n + j] > y[i * n + aq]) aq = j;
    }
    for (Index j = 0; j < n; ++j) {
      const long double p = std::exp((long double)x[i * n + j]) / zp, q = std::exp((long double)y[i * n + j]) / zq;
      kl += p * std::log(p / q);
    }
    agree += ap == aq;
  }
  CHECK(r.rows == rows - 1);
  CHECK(r.nonfinite_rows == 1);
  CHECK(r.kl == doctest::Approx(double(kl / (rows - 1))).epsilon(1e-12));
  CHECK(r.top1 == double(agree) / (rows - 1));
  CHECK(r.kl > 0);
  CHECK_THROWS_AS(compare_logits(TensorF(Shape{2, 0}), TensorF(Shape{2, 0})), std::invalid_argument);
}
