#include "sim/grad/norm_grad_f32.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/grad/grad_common.hpp"

// LayerNorm backward for float32 tensors (the trainer's path). Every value is computed by
// the operations of the generic float64 algorithm in norm_grad.cpp, in the same order;
// this file is compiled without FMA contraction and spells out the two fused steps that
// the generic code was compiled to (GCC 12, -march=native):
//   dx     = float(r * fma(-xhat, mean(g xh), fma(dy, gamma, -mean(g))))
//   dgamma = fma(dy, xhat, dgamma)   (row order)
// while the four row sums (mean, variance, mean(g), mean(g xh)) are plain adds of rounded
// products. What is faster: kLanes rows are summed at once (each in its own accumulator,
// left to right: the per-row bits are those of a single loop, the dependent-add chains of
// different rows overlap), xhat is recomputed from each row's mean and r instead of stored
// for the whole tensor, and the outputs are not zero-filled before being written.
namespace bitsim::sim::grad_detail {
namespace {

constexpr Index kLanes = 8;

struct RowStats {
  double mean, r;
};

// dx of L consecutive rows; their mean and r into stats.
template <int L>
void rows_backward(const float* x, const float* dy, const double* g, float* dx, RowStats* stats, Index n,
                   double eps) {
  const double count = static_cast<double>(n);
  double mean[L] = {}, var[L] = {}, mean_g[L] = {}, mean_gx[L] = {}, r[L];
  for (Index i = 0; i < n; ++i)
    for (int l = 0; l < L; ++l) mean[l] += static_cast<double>(x[l * n + i]);
  for (int l = 0; l < L; ++l) mean[l] /= count;
  for (Index i = 0; i < n; ++i)
    for (int l = 0; l < L; ++l) {
      const double d = static_cast<double>(x[l * n + i]) - mean[l];
      var[l] += d * d;
    }
  for (int l = 0; l < L; ++l) r[l] = 1.0 / std::sqrt(var[l] / count + eps);
  for (Index i = 0; i < n; ++i)
    for (int l = 0; l < L; ++l) {
      const double xhat = (static_cast<double>(x[l * n + i]) - mean[l]) * r[l];
      const double gi = static_cast<double>(dy[l * n + i]) * g[i];
      mean_g[l] += gi;
      mean_gx[l] += gi * xhat;
    }
  for (int l = 0; l < L; ++l) {
    const double mg = mean_g[l] / count, mgx = mean_gx[l] / count;
    const float* xr = x + l * n;
    const float* dr = dy + l * n;
    float* out = dx + l * n;
    for (Index i = 0; i < n; ++i) {
      const double xhat = (static_cast<double>(xr[i]) - mean[l]) * r[l];
      out[i] = static_cast<float>(r[l] * std::fma(-xhat, mgx, std::fma(static_cast<double>(dr[i]), g[i], -mg)));
    }
    stats[l] = {mean[l], r[l]};
  }
}

}  // namespace

NormGrads<float> layer_norm_backward_f32(const TensorF& x, const TensorF& gamma, const TensorF& dy, double eps) {
  constexpr const char* kernel = "layer_norm_backward";
  const Index n = last_axis(x, kernel);
  require_same_shape(x, dy, kernel, "dy");
  if (gamma.numel() != 0 && (gamma.rank() != 1 || gamma.numel() != n))
    throw std::invalid_argument(std::string(kernel) + ": gamma has shape " + shape_string(gamma.shape()) +
                                ", expected [" + std::to_string(n) + "] or empty");
  std::vector<double> g(static_cast<std::size_t>(n), 1.0);
  if (gamma.numel() != 0) {
    const auto v = gamma.to_vector();
    std::copy(v.begin(), v.end(), g.begin());
  }
  const TensorF xc = x.contiguous(), dyc = dy.contiguous();
  const Index rows = n == 0 ? 0 : x.numel() / n;
  TensorF dx(x.shape(), uninitialized);
  std::vector<RowStats> stats(static_cast<std::size_t>(rows));
  const float* xs = xc.data();
  const float* ds = dyc.data();
  float* out = dx.data();
  for_each_row((rows + kLanes - 1) / kLanes, 8 * n * kLanes, [&](Index group) {
    const Index first = group * kLanes, last = std::min(rows, first + kLanes);
    if (last - first == kLanes) {
      rows_backward<kLanes>(xs + first * n, ds + first * n, g.data(), out + first * n, &stats[first], n, eps);
    } else {
      for (Index r = first; r < last; ++r)
        rows_backward<1>(xs + r * n, ds + r * n, g.data(), out + r * n, &stats[r], n, eps);
    }
  });
  // Weight gradients: sums over rows in row order, vectorised across the columns.
  std::vector<double> dgamma(static_cast<std::size_t>(n), 0.0), dbeta(static_cast<std::size_t>(n), 0.0);
  for (Index r = 0; r < rows; ++r) {
    const float* xr = xs + r * n;
    const float* dr = ds + r * n;
    const double mean = stats[r].mean, rr = stats[r].r;
    for (Index i = 0; i < n; ++i) {
      const double d = dr[i];
      const double xhat = (static_cast<double>(xr[i]) - mean) * rr;
      dgamma[i] = std::fma(d, xhat, dgamma[i]);
      dbeta[i] += d;
    }
  }
  NormGrads<float> result{dx, TensorF(Shape{n}, uninitialized), TensorF(Shape{n}, uninitialized)};
  for (Index i = 0; i < n; ++i) {
    result.dgamma.data()[i] = static_cast<float>(dgamma[i]);
    result.dbeta.data()[i] = static_cast<float>(dbeta[i]);
  }
  return result;
}

}  // namespace bitsim::sim::grad_detail
