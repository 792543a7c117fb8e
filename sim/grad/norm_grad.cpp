#include "sim/grad/norm_grad.hpp"

#include <cmath>
#include <type_traits>
#include <vector>

#include "sim/grad/grad_common.hpp"
#include "sim/grad/norm_grad_f32.hpp"

namespace bitsim::sim {
namespace {

template <class T>
std::vector<double> gamma_vector(const Tensor<T>& gamma, Index n, const char* kernel) {
  if (gamma.numel() == 0) return std::vector<double>(static_cast<std::size_t>(n), 1.0);
  if (gamma.rank() != 1 || gamma.numel() != n)
    throw std::invalid_argument(std::string(kernel) + ": gamma has shape " + shape_string(gamma.shape()) +
                                ", expected [" + std::to_string(n) + "] or empty");
  const auto v = gamma.to_vector();
  return {v.begin(), v.end()};
}

// Shared skeleton: per row, row_fn(x, dy, dx, xhat_out) fills dx and the normalised
// values xhat (what dgamma multiplies); the weight gradients are then summed in row order.
template <class T, class RowFn>
NormGrads<T> norm_backward(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& dy,
                           bool with_beta, const char* kernel, RowFn&& row_fn) {
  const Index n = grad_detail::last_axis(x, kernel);
  grad_detail::require_same_shape(x, dy, kernel, "dy");
  const std::vector<double> g = gamma_vector(gamma, n, kernel);
  const Tensor<T> xc = x.contiguous(), dyc = dy.contiguous();
  const Index rows = n == 0 ? 0 : x.numel() / n;
  Tensor<T> dx(x.shape());
  std::vector<double> xhat(static_cast<std::size_t>(x.numel()));
  grad_detail::for_each_row(rows, 8 * n, [&](Index r) {
    row_fn(xc.data() + r * n, dyc.data() + r * n, g, dx.data() + r * n, xhat.data() + r * n, n);
  });
  std::vector<double> dgamma(static_cast<std::size_t>(n), 0.0), dbeta(static_cast<std::size_t>(n), 0.0);
  for (Index r = 0; r < rows; ++r)
    for (Index i = 0; i < n; ++i) {
      const double d = dyc.data()[r * n + i];
      dgamma[i] += d * xhat[r * n + i];
      dbeta[i] += d;
    }
  NormGrads<T> out{dx, Tensor<T>(Shape{n}), with_beta ? Tensor<T>(Shape{n}) : Tensor<T>(Shape{0})};
  for (Index i = 0; i < n; ++i) {
    out.dgamma.data()[i] = static_cast<T>(dgamma[i]);
    if (with_beta) out.dbeta.data()[i] = static_cast<T>(dbeta[i]);
  }
  return out;
}

}  // namespace

template <class T>
NormGrads<T> layer_norm_backward(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& dy, double eps) {
  // float32: the same values, computed faster (norm_grad_f32.cpp).
  if constexpr (std::is_same_v<T, float>) {
    return grad_detail::layer_norm_backward_f32(x, gamma, dy, eps);
  } else {
    return norm_backward(x, gamma, dy, true, "layer_norm_backward",
                         [eps](const T* in, const T* d, const std::vector<double>& g, T* dx, double* xhat, Index n) {
                           double mean = 0.0, var = 0.0;
                           for (Index i = 0; i < n; ++i) mean += in[i];
                           mean /= static_cast<double>(n);
                           for (Index i = 0; i < n; ++i) var += (in[i] - mean) * (in[i] - mean);
                           var /= static_cast<double>(n);
                           const double r = 1.0 / std::sqrt(var + eps);
                           double mean_g = 0.0, mean_gx = 0.0;
                           for (Index i = 0; i < n; ++i) {
                             xhat[i] = (in[i] - mean) * r;
                             const double gi = d[i] * g[i];
                             mean_g += gi;
                             mean_gx += gi * xhat[i];
                           }
                           mean_g /= static_cast<double>(n);
                           mean_gx /= static_cast<double>(n);
                           for (Index i = 0; i < n; ++i)
                             dx[i] = static_cast<T>(r * (d[i] * g[i] - mean_g - xhat[i] * mean_gx));
                         });
  }
}

template <class T>
NormGrads<T> rms_norm_backward(const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& dy, double eps) {
  return norm_backward(x, gamma, dy, false, "rms_norm_backward",
                       [eps](const T* in, const T* d, const std::vector<double>& g, T* dx, double* xhat, Index n) {
                         double ms = 0.0;
                         for (Index i = 0; i < n; ++i) ms += static_cast<double>(in[i]) * in[i];
                         ms /= static_cast<double>(n);
                         const double r = 1.0 / std::sqrt(ms + eps);
                         double mean_gx = 0.0;
                         for (Index i = 0; i < n; ++i) {
                           xhat[i] = in[i] * r;
                           mean_gx += d[i] * g[i] * in[i];
                         }
                         mean_gx /= static_cast<double>(n);
                         for (Index i = 0; i < n; ++i)
                           dx[i] = static_cast<T>(r * (d[i] * g[i] - in[i] * r * r * mean_gx));
                       });
}

template NormGrads<float> layer_norm_backward(const TensorF&, const TensorF&, const TensorF&, double);
template NormGrads<double> layer_norm_backward(const TensorD&, const TensorD&, const TensorD&, double);
template NormGrads<float> rms_norm_backward(const TensorF&, const TensorF&, const TensorF&, double);
template NormGrads<double> rms_norm_backward(const TensorD&, const TensorD&, const TensorD&, double);

}  // namespace bitsim::sim
