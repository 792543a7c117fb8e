#include "sim/transforms/smoothquant.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace bitsim::sim {
namespace {

// max |t[..., j]| over finite values, per last-axis index j.
std::vector<double> column_absmax(const TensorF& t, Index k) {
  std::vector<double> m(static_cast<std::size_t>(k), 0.0);
  const std::vector<float> v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i)
    if (std::isfinite(v[i])) m[i % k] = std::max(m[i % k], std::fabs(double(v[i])));
  return m;
}

Index channels(const TensorF& t, const char* what) {
  if (t.rank() < 1) throw std::invalid_argument(std::string("SmoothQuant: ") + what + " needs rank >= 1");
  return t.shape().back();
}

TensorF scale_columns(const TensorF& t, const std::vector<float>& s, bool divide) {
  const Index k = channels(t, "tensor");
  if (static_cast<Index>(s.size()) != k)
    throw std::invalid_argument("SmoothQuant: " + std::to_string(s.size()) + " scales for a last axis of " +
                                std::to_string(k) + " (shape " + shape_string(t.shape()) + ")");
  std::vector<float> v = t.to_vector();
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(divide ? double(v[i]) / s[i % k] : double(v[i]) * s[i % k]);
  return TensorF(t.shape(), std::move(v));
}

}  // namespace

std::vector<float> smoothquant_scales(const TensorF& x, const TensorF& w, double alpha) {
  if (!(alpha >= 0 && alpha <= 1)) throw std::invalid_argument("SmoothQuant: alpha must lie in [0, 1], got " + std::to_string(alpha));
  const Index k = channels(x, "activations");
  if (w.rank() != 2 || w.shape()[1] != k)
    throw std::invalid_argument("SmoothQuant: weights must be [N, K] with K = " + std::to_string(k) +
                                " (the activations' last axis), got " + shape_string(w.shape()));
  const std::vector<double> mx = column_absmax(x, k), mw = column_absmax(w, k);
  std::vector<float> s(static_cast<std::size_t>(k), 1.0f);
  for (Index j = 0; j < k; ++j) {
    if (mx[j] == 0 || mw[j] == 0) continue;
    const double v = std::pow(mx[j], alpha) / std::pow(mw[j], 1 - alpha);
    const float f = static_cast<float>(v);
    if (std::isfinite(f) && f > 0) s[j] = f;
  }
  return s;
}

TensorF smooth_activations(const TensorF& x, const std::vector<float>& s) { return scale_columns(x, s, true); }
TensorF smooth_weights(const TensorF& w, const std::vector<float>& s) { return scale_columns(w, s, false); }

}  // namespace bitsim::sim
