// The float32 fast paths of LayerNorm / RMSNorm (sim/kernels/norms.cpp) against the generic
// algorithm they replace for the default NormSpec, written out here literally with
// Precision's operations (each statistics step one Precision() call, the output rounded by
// Precision().round), and the float32 LayerNorm backward against its documented float64
// algorithm, bit for bit (any NaN equals any NaN): odd row lengths, NaN/inf/signed
// zeros/huge/tiny values, 1 and 2 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <tbb/global_control.h>

#include "kernel_test_util.hpp"
#include "sim/grad/norm_grad.hpp"
#include "sim/kernels/norms.hpp"

namespace {

using bitsim::sim::Index;
using bitsim::sim::Precision;
using bitsim::sim::Shape;
using bitsim::sim::TensorF;
using bitsim::sim::to_float;

// Bitwise equality, except that any two NaNs are equal: which NaN an operation returns
// (its sign and payload) depends on the instruction's operand order, which the compiler
// chooses (it differs between the Release and the sanitizer builds), so the kernels pin
// NaN-ness, not NaN bits.
bool same_bits_or_nan(const TensorF& a, const TensorF& b) {
  if (a.shape() != b.shape()) return false;
  const auto x = a.to_vector(), y = b.to_vector();
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!(std::isnan(x[i]) && std::isnan(y[i])) && std::memcmp(&x[i], &y[i], sizeof(float)) != 0) return false;
  return true;
}

// The generic path of norms.cpp before the fast path, for the default precisions.
TensorF norm_reference(const TensorF& x, const std::vector<float>& g, const std::vector<float>& b, double eps_in,
                       bool centred) {
  const Precision P;
  const Index n = x.shape().back();
  const std::vector<float> in = x.to_vector();
  std::vector<float> out(in.size());
  const double count = P.round(static_cast<double>(n)), eps = P.round(eps_in);
  const Index rows = n == 0 ? 0 : x.numel() / n;
  for (Index r = 0; r < rows; ++r) {
    const float* row = in.data() + r * n;
    double mean = 0.0;
    if (centred) {
      double sum = 0.0;
      for (Index i = 0; i < n; ++i) sum = P.add(sum, row[i]);
      mean = P.div(sum, count);
    }
    double sq = 0.0;
    for (Index i = 0; i < n; ++i) {
      const double d = centred ? P.sub(row[i], mean) : row[i];
      sq = P.add(sq, P.mul(d, d));
    }
    const float rstd = to_float(P.div(1.0, P.sqrt(P.add(P.div(sq, count), eps))));
    const float fmean = to_float(mean);
    for (Index i = 0; i < n; ++i) {
      const float y = centred ? ((row[i] - fmean) * rstd) * g[i] + b[i] : (row[i] * rstd) * g[i];
      out[r * n + i] = to_float(P.round(y));
    }
  }
  return TensorF(x.shape(), out);
}

// The float32 LayerNorm backward as documented in sim/grad/norm_grad.hpp / README: per row
// in float64, plain sums left to right, the two fused steps as std::fma; weight gradients
// summed over rows in row order.
bitsim::sim::NormGrads<float> layer_norm_backward_reference(const TensorF& x, const std::vector<float>& gamma,
                                                            const TensorF& dy, double eps) {
  const Index n = x.shape().back();
  const Index rows = n == 0 ? 0 : x.numel() / n;
  const std::vector<float> in = x.to_vector(), d = dy.to_vector();
  std::vector<float> dx(in.size());
  std::vector<double> dgamma(static_cast<std::size_t>(n), 0.0), dbeta(static_cast<std::size_t>(n), 0.0);
  for (Index r = 0; r < rows; ++r) {
    const float* xr = in.data() + r * n;
    const float* dr = d.data() + r * n;
    double mean = 0.0, var = 0.0, mean_g = 0.0, mean_gx = 0.0;
    for (Index i = 0; i < n; ++i) mean += xr[i];
    mean /= static_cast<double>(n);
    for (Index i = 0; i < n; ++i) {
      const double c = xr[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(n);
    const double rstd = 1.0 / std::sqrt(var + eps);
    std::vector<double> xhat(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) {
      xhat[i] = (xr[i] - mean) * rstd;
      const double gi = static_cast<double>(dr[i]) * gamma[i];
      mean_g += gi;
      mean_gx += gi * xhat[i];
    }
    mean_g /= static_cast<double>(n);
    mean_gx /= static_cast<double>(n);
    for (Index i = 0; i < n; ++i) {
      const double gi_minus_mean = std::fma(static_cast<double>(dr[i]), static_cast<double>(gamma[i]), -mean_g);
      dx[r * n + i] = static_cast<float>(rstd * std::fma(-xhat[i], mean_gx, gi_minus_mean));
      dgamma[i] = std::fma(static_cast<double>(dr[i]), xhat[i], dgamma[i]);
      dbeta[i] += dr[i];
    }
  }
  std::vector<float> dg(dgamma.begin(), dgamma.end()), db(dbeta.begin(), dbeta.end());
  return {TensorF(x.shape(), dx), TensorF(Shape{n}, dg), TensorF(Shape{n}, db)};
}

// Random rows with special values sprinkled in (a fraction `special` of the elements).
TensorF awkward_tensor(Shape shape, std::uint32_t seed, double special) {
  TensorF t = kernel_test::random_tensor(shape, seed);
  const float inf = std::numeric_limits<float>::infinity();
  const float values[] = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 3e38f, -3e38f,
                          1e-40f, -1e-45f, 1e30f, 1e-30f};
  std::mt19937 gen(seed + 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(std::size(values)) - 1);
  for (float& v : t.span())
    if (coin(gen) < special) v = values[pick(gen)];
  return t;
}

std::vector<float> random_vector(Index n, std::uint32_t seed) {
  return kernel_test::random_tensor(Shape{n}, seed).to_vector();
}

}  // namespace

TEST_CASE("layer_norm / rms_norm fast path: bit for bit the generic float32 algorithm") {
  std::uint32_t seed = 1;
  for (Index n : {1, 3, 17, 256, 1000})
    for (Index rows : {1, 7, 8, 9, 37})
      for (double special : {0.0, 0.02, 0.3}) {
        CAPTURE(n);
        CAPTURE(rows);
        CAPTURE(special);
        const TensorF x = awkward_tensor(Shape{rows, n}, ++seed, special);
        const std::vector<float> g = random_vector(n, ++seed), b = random_vector(n, ++seed);
        const std::vector<float> ones(static_cast<std::size_t>(n), 1.0f), zeros(static_cast<std::size_t>(n), 0.0f);
        const TensorF gt(Shape{n}, g), bt(Shape{n}, b);
        for (int threads : {1, 2}) {
          tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
          CHECK(same_bits_or_nan(bitsim::sim::layer_norm(x, gt, bt), norm_reference(x, g, b, 1e-5, true)));
          CHECK(same_bits_or_nan(bitsim::sim::layer_norm(x), norm_reference(x, ones, zeros, 1e-5, true)));
          CHECK(same_bits_or_nan(bitsim::sim::rms_norm(x, gt), norm_reference(x, g, zeros, 1e-5, false)));
          bitsim::sim::NormSpec spec;
          spec.eps = 0.25;
          CHECK(same_bits_or_nan(bitsim::sim::layer_norm(x, gt, bt, spec), norm_reference(x, g, b, 0.25, true)));
        }
      }
}

TEST_CASE("layer_norm fast path: rank 3, transposed views, empty tensors") {
  const TensorF x = kernel_test::random_tensor(Shape{3, 5, 17}, 7);
  const std::vector<float> ones(17, 1.0f), zeros(17, 0.0f);
  CHECK(same_bits_or_nan(bitsim::sim::layer_norm(x), norm_reference(x, ones, zeros, 1e-5, true)));
  const TensorF m = kernel_test::random_tensor(Shape{17, 9}, 8);
  const TensorF mt = m.transposed(0, 1);
  const std::vector<float> ones17(17, 1.0f), zeros17(17, 0.0f);
  CHECK(same_bits_or_nan(bitsim::sim::layer_norm(mt), norm_reference(mt.contiguous(), ones17, zeros17, 1e-5, true)));
  CHECK(bitsim::sim::layer_norm(TensorF(Shape{0, 5})).numel() == 0);
  CHECK(bitsim::sim::rms_norm(TensorF(Shape{4, 0})).numel() == 0);
}

TEST_CASE("layer_norm_backward<float>: bit for bit the documented float64 algorithm") {
  std::uint32_t seed = 100;
  for (Index n : {1, 3, 17, 256, 1000})
    for (Index rows : {1, 7, 8, 9, 37})
      for (double special : {0.0, 0.02}) {
        CAPTURE(n);
        CAPTURE(rows);
        CAPTURE(special);
        const TensorF x = awkward_tensor(Shape{rows, n}, ++seed, special);
        const TensorF dy = awkward_tensor(Shape{rows, n}, ++seed, special);
        const std::vector<float> g = random_vector(n, ++seed), ones(static_cast<std::size_t>(n), 1.0f);
        const auto ref = layer_norm_backward_reference(x, g, dy, 1e-5);
        const auto ref_ones = layer_norm_backward_reference(x, ones, dy, 0.5);
        for (int threads : {1, 2}) {
          tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
          const auto got = bitsim::sim::layer_norm_backward(x, TensorF(Shape{n}, g), dy);
          CHECK(same_bits_or_nan(got.dx, ref.dx));
          CHECK(same_bits_or_nan(got.dgamma, ref.dgamma));
          CHECK(same_bits_or_nan(got.dbeta, ref.dbeta));
          const auto got_ones = bitsim::sim::layer_norm_backward(x, TensorF(), dy, 0.5);
          CHECK(same_bits_or_nan(got_ones.dx, ref_ones.dx));
          CHECK(same_bits_or_nan(got_ones.dgamma, ref_ones.dgamma));
          CHECK(same_bits_or_nan(got_ones.dbeta, ref_ones.dbeta));
        }
      }
}

TEST_CASE("layer_norm_backward<float>: views, empty tensors, bad shapes") {
  const TensorF x = kernel_test::random_tensor(Shape{17, 9}, 3).transposed(0, 1);
  const TensorF dy = kernel_test::random_tensor(Shape{9, 17}, 4);
  const std::vector<float> ones(17, 1.0f);
  const auto ref = layer_norm_backward_reference(x.contiguous(), ones, dy, 1e-5);
  const auto got = bitsim::sim::layer_norm_backward(x, TensorF(), dy);
  CHECK(same_bits_or_nan(got.dx, ref.dx));
  CHECK(same_bits_or_nan(got.dgamma, ref.dgamma));
  const auto empty = bitsim::sim::layer_norm_backward(TensorF(Shape{0, 5}), TensorF(), TensorF(Shape{0, 5}));
  CHECK(empty.dx.numel() == 0);
  CHECK(empty.dgamma.numel() == 5);
  CHECK(empty.dgamma.to_vector() == std::vector<float>(5, 0.0f));
  CHECK_THROWS_AS(bitsim::sim::layer_norm_backward(x, TensorF(Shape{4}), dy), std::invalid_argument);
  CHECK_THROWS_AS(bitsim::sim::layer_norm_backward(x, TensorF(), TensorF(Shape{9, 16})), std::invalid_argument);
}
