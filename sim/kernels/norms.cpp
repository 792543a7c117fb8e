#include "sim/kernels/norms.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sim/kernels/rows.hpp"

namespace bitsim::sim {
namespace {

// gamma/beta as a vector of length n (empty: the identity value).
std::vector<float> affine_vector(const TensorF& t, Index n, float identity, const char* name) {
  if (t.numel() == 0 && n != 0) return std::vector<float>(static_cast<std::size_t>(n), identity);
  if (t.rank() != 1 || t.numel() != n)
    throw std::invalid_argument(std::string("norm: ") + name + " has shape " + shape_string(t.shape()) +
                                ", expected [" + std::to_string(n) + "] (the last axis) or empty");
  return t.to_vector();
}

// The statistics operations of one row, numbered for stochastic rounding.
struct StatsOps {
  const Precision& p;
  std::uint64_t k;
  double add(double a, double b) { return p.add(a, b, k++); }
  double mul(double a, double b) { return p.mul(a, b, k++); }
  double div(double a, double b) { return p.div(a, b, k++); }
  // 1 / sqrt(v + eps)
  double rstd(double v, double eps) {
    const double s = p.sqrt(add(v, eps), k++);
    return div(1.0, s);
  }
};

template <class RowFn>
TensorF map_rows(const TensorF& x, const char* kernel, RowFn&& row_fn) {
  const Index n = detail::row_width(x, kernel);
  const TensorF in = x.contiguous();
  TensorF out(x.shape());
  if (out.empty()) return out;
  const float* src = in.data();
  float* dst = out.data();
  detail::for_each_row(out.numel() / n, 4 * n, [&](Index r) { row_fn(r, src + r * n, dst + r * n, n); });
  return out;
}

// ---- Fast path: the default NormSpec (float32 statistics and output) ----
// With Precision() every statistics operation is one float32 operation and the output
// rounding is the identity on floats, so the generic loops above reduce to plain float
// loops. These compute exactly those operations in the same order. The sums are chains of
// dependent adds (left to right, never reordered); to keep the CPU busy, kLanes rows are
// summed together, each row in its own accumulator, so every row still gets the bits of
// its own loop.
constexpr Index kLanes = 8;

bool is_default(const NormSpec& spec) { return spec.stats.is_float32() && spec.out.is_float32(); }

// y = ((x - mean) * rstd) * g + b for LayerNorm, (x * rstd) * g for RMSNorm (b == nullptr).
template <bool kCentred, int L>
void norm_rows_f32(const float* in, float* out, Index n, const float* g, const float* b, float count,
                   float eps) {
  float mean[L] = {}, sq[L] = {};
  if constexpr (kCentred) {
    for (Index i = 0; i < n; ++i)
      for (int l = 0; l < L; ++l) mean[l] += in[l * n + i];
    for (int l = 0; l < L; ++l) mean[l] /= count;
  }
  for (Index i = 0; i < n; ++i)
    for (int l = 0; l < L; ++l) {
      const float d = kCentred ? in[l * n + i] - mean[l] : in[l * n + i];
      sq[l] += d * d;
    }
  for (int l = 0; l < L; ++l) {
    const float rstd = 1.0f / std::sqrt(sq[l] / count + eps);
    const float* x = in + l * n;
    float* y = out + l * n;
    if constexpr (kCentred) {
      for (Index i = 0; i < n; ++i) y[i] = ((x[i] - mean[l]) * rstd) * g[i] + b[i];
    } else {
      for (Index i = 0; i < n; ++i) y[i] = (x[i] * rstd) * g[i];
    }
  }
}

template <bool kCentred>
TensorF norm_f32(const TensorF& x, const std::vector<float>& g, const std::vector<float>& b, double eps,
                 const char* kernel) {
  const Index n = detail::row_width(x, kernel);
  const TensorF in = x.contiguous();
  TensorF out(x.shape(), uninitialized);  // every element is written below
  if (out.empty()) return out;
  const Index rows = out.numel() / n, groups = (rows + kLanes - 1) / kLanes;
  const float count = to_float(static_cast<double>(n)), e = to_float(eps);
  const float* src = in.data();
  float* dst = out.data();
  const float* beta = kCentred ? b.data() : nullptr;
  detail::for_each_row(groups, 4 * n * kLanes, [&](Index group) {
    const Index first = group * kLanes, last = std::min(rows, first + kLanes);
    if (last - first == kLanes) {
      norm_rows_f32<kCentred, kLanes>(src + first * n, dst + first * n, n, g.data(), beta, count, e);
    } else {
      for (Index r = first; r < last; ++r)
        norm_rows_f32<kCentred, 1>(src + r * n, dst + r * n, n, g.data(), beta, count, e);
    }
  });
  return out;
}

}  // namespace

TensorF layer_norm(const TensorF& x, const TensorF& gamma, const TensorF& beta, const NormSpec& spec) {
  const Index n = detail::row_width(x, "layer_norm");
  const std::vector<float> g = affine_vector(gamma, n, 1.0f, "gamma");
  const std::vector<float> b = affine_vector(beta, n, 0.0f, "beta");
  if (is_default(spec)) return norm_f32<true>(x, g, b, spec.eps, "layer_norm");
  const Precision& P = spec.stats;
  const double count = P.round(static_cast<double>(n));
  const double eps = P.round(spec.eps);
  return map_rows(x, "layer_norm", [&](Index r, const float* in, float* out, Index len) {
    StatsOps ops{P, static_cast<std::uint64_t>(r * (4 * len + 8))};
    double sum = 0.0;
    for (Index i = 0; i < len; ++i) sum = ops.add(sum, in[i]);
    const double mean = ops.div(sum, count);
    double sq = 0.0;
    for (Index i = 0; i < len; ++i) {
      const double d = P.sub(in[i], mean, ops.k++);
      sq = ops.add(sq, ops.mul(d, d));
    }
    const double var = ops.div(sq, count);
    const float rstd = to_float(ops.rstd(var, eps));
    const float fmean = to_float(mean);
    for (Index i = 0; i < len; ++i) {
      const float y = ((in[i] - fmean) * rstd) * g[i] + b[i];
      out[i] = to_float(spec.out.round(y, static_cast<std::uint64_t>(r * len + i)));
    }
  });
}

TensorF rms_norm(const TensorF& x, const TensorF& gamma, const NormSpec& spec) {
  const Index n = detail::row_width(x, "rms_norm");
  const std::vector<float> g = affine_vector(gamma, n, 1.0f, "gamma");
  if (is_default(spec)) return norm_f32<false>(x, g, {}, spec.eps, "rms_norm");
  const Precision& P = spec.stats;
  const double count = P.round(static_cast<double>(n));
  const double eps = P.round(spec.eps);
  return map_rows(x, "rms_norm", [&](Index r, const float* in, float* out, Index len) {
    StatsOps ops{P, static_cast<std::uint64_t>(r * (4 * len + 8))};
    double sq = 0.0;
    for (Index i = 0; i < len; ++i) sq = ops.add(sq, ops.mul(in[i], in[i]));
    const float rstd = to_float(ops.rstd(ops.div(sq, count), eps));
    for (Index i = 0; i < len; ++i) {
      const float y = (in[i] * rstd) * g[i];
      out[i] = to_float(spec.out.round(y, static_cast<std::uint64_t>(r * len + i)));
    }
  });
}

}  // namespace bitsim::sim
