#include "sim/kernels/norms.hpp"

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

}  // namespace

TensorF layer_norm(const TensorF& x, const TensorF& gamma, const TensorF& beta, const NormSpec& spec) {
  const Index n = detail::row_width(x, "layer_norm");
  const std::vector<float> g = affine_vector(gamma, n, 1.0f, "gamma");
  const std::vector<float> b = affine_vector(beta, n, 0.0f, "beta");
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
