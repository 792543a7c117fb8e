#include "sim/metrics/metrics.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace bitsim::sim {
namespace {

template <class T>
void require_same_shape(const Tensor<T>& a, const Tensor<T>& b, const char* what) {
  if (a.shape() != b.shape())
    throw std::invalid_argument(std::string(what) + ": reference shape " + shape_string(a.shape()) +
                                " differs from test shape " + shape_string(b.shape()));
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

template <class T>
ErrorMetrics compare(const Tensor<T>& ref, const Tensor<T>& test) {
  require_same_shape(ref, test, "compare");
  const std::vector<T> r = ref.to_vector(), t = test.to_vector();
  ErrorMetrics m;
  double sum_e = 0, sum_e2 = 0, sum_r2 = 0, sum_t2 = 0, dot = 0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    const double a = r[i], b = t[i];
    const bool fa = std::isfinite(a), fb = std::isfinite(b);
    m.nonfinite_ref += !fa;
    m.nonfinite_test += !fb;
    if (!fa || !fb) continue;
    ++m.count;
    const double e = b - a;
    sum_e += e;
    sum_e2 += e * e;
    sum_r2 += a * a;
    sum_t2 += b * b;
    dot += a * b;
    m.max_abs = std::max(m.max_abs, std::fabs(e));
    if (a == 0) {
      ++m.zero_ref;
    } else {
      m.max_rel = std::max(m.max_rel, std::fabs(e) / std::fabs(a));
    }
  }
  if (m.count > 0) {
    m.mse = sum_e2 / double(m.count);
    m.bias = sum_e / double(m.count);
  }
  m.rmse = std::sqrt(m.mse);
  if (sum_e2 == 0) {
    m.sqnr_db = kInf;
  } else if (sum_r2 == 0) {
    m.sqnr_db = -kInf;
  } else {
    m.sqnr_db = 10.0 * std::log10(sum_r2 / sum_e2);
  }
  if (sum_r2 == 0 && sum_t2 == 0) {
    m.cosine = 1;
  } else if (sum_r2 == 0 || sum_t2 == 0) {
    m.cosine = 0;
  } else {
    m.cosine = dot / (std::sqrt(sum_r2) * std::sqrt(sum_t2));
  }
  return m;
}

template <class T>
LogitMetrics compare_logits(const Tensor<T>& ref, const Tensor<T>& test) {
  require_same_shape(ref, test, "compare_logits");
  if (ref.rank() == 0 || ref.shape().back() == 0)
    throw std::invalid_argument("compare_logits needs logits with a non-empty last axis, got shape " +
                                shape_string(ref.shape()));
  const std::vector<T> r = ref.to_vector(), t = test.to_vector();
  const std::size_t n = static_cast<std::size_t>(ref.shape().back());
  const std::size_t rows = r.size() / n;
  LogitMetrics m;
  double kl_sum = 0;
  Index agree = 0;
  std::vector<double> lp(n), lq(n);
  // log-softmax of a row into out; returns the argmax (first on ties).
  auto log_softmax = [n](const T* z, std::vector<double>& out) {
    std::size_t arg = 0;
    for (std::size_t j = 1; j < n; ++j)
      if (z[j] > z[arg]) arg = j;
    const double mx = z[arg];
    double sum = 0;
    for (std::size_t j = 0; j < n; ++j) sum += std::exp(double(z[j]) - mx);
    const double log_sum = std::log(sum);
    for (std::size_t j = 0; j < n; ++j) out[j] = (double(z[j]) - mx) - log_sum;
    return arg;
  };
  for (std::size_t row = 0; row < rows; ++row) {
    const T* a = r.data() + row * n;
    const T* b = t.data() + row * n;
    bool finite = true;
    for (std::size_t j = 0; j < n; ++j) finite = finite && std::isfinite(a[j]) && std::isfinite(b[j]);
    if (!finite) {
      ++m.nonfinite_rows;
      continue;
    }
    ++m.rows;
    const std::size_t arg_a = log_softmax(a, lp), arg_b = log_softmax(b, lq);
    agree += arg_a == arg_b;
    double kl = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const double p = std::exp(lp[j]);
      if (p > 0) kl += p * (lp[j] - lq[j]);
    }
    kl_sum += kl;
  }
  if (m.rows > 0) {
    m.kl = kl_sum / double(m.rows);
    m.top1 = double(agree) / double(m.rows);
  }
  return m;
}

std::string to_string(const ErrorMetrics& m) {
  std::ostringstream s;
  s.precision(6);
  s << "count=" << m.count << " mse=" << m.mse << " rmse=" << m.rmse << " sqnr_db=" << m.sqnr_db
    << " max_abs=" << m.max_abs << " max_rel=" << m.max_rel << " cosine=" << m.cosine << " bias=" << m.bias;
  if (m.nonfinite_ref || m.nonfinite_test)
    s << " nonfinite_ref=" << m.nonfinite_ref << " nonfinite_test=" << m.nonfinite_test;
  return s.str();
}

template ErrorMetrics compare(const TensorF&, const TensorF&);
template ErrorMetrics compare(const TensorD&, const TensorD&);
template LogitMetrics compare_logits(const TensorF&, const TensorF&);
template LogitMetrics compare_logits(const TensorD&, const TensorD&);

}  // namespace bitsim::sim
