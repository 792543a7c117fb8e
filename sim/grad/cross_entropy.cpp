#include "sim/grad/cross_entropy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sim/grad/grad_common.hpp"

namespace bitsim::sim {

template <class T>
CrossEntropy<T> cross_entropy(const Tensor<T>& logits, std::span<const Index> targets, double grad_scale) {
  if (logits.rank() != 2 || logits.size(0) != static_cast<Index>(targets.size()))
    throw std::invalid_argument("cross_entropy: logits have shape " + shape_string(logits.shape()) +
                                ", expected [" + std::to_string(targets.size()) + ", V]");
  const Index N = logits.size(0), V = logits.size(1);
  for (Index n = 0; n < N; ++n)
    if (targets[n] < 0 || targets[n] >= V)
      throw std::out_of_range("cross_entropy: target " + std::to_string(targets[n]) + " at row " + std::to_string(n) +
                              " is outside [0, " + std::to_string(V) + ")");
  const Tensor<T> lc = logits.contiguous();
  CrossEntropy<T> out{0.0, Tensor<T>(logits.shape(), uninitialized)};  // every row written below
  std::vector<double> row_loss(static_cast<std::size_t>(N));
  const double g = N == 0 ? 0.0 : grad_scale / static_cast<double>(N);
  grad_detail::for_each_row(N, 3 * V, [&](Index n) {
    const T* z = lc.data() + n * V;
    double m = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < V; ++j) m = std::max(m, static_cast<double>(z[j]));
    double s = 0.0;
    for (Index j = 0; j < V; ++j) s += std::exp(z[j] - m);
    row_loss[n] = m + std::log(s) - z[targets[n]];
    T* d = out.dlogits.data() + n * V;
    for (Index j = 0; j < V; ++j)
      d[j] = static_cast<T>(g * (std::exp(z[j] - m) / s - (j == targets[n] ? 1.0 : 0.0)));
  });
  for (double l : row_loss) out.loss += l;
  if (N > 0) out.loss /= static_cast<double>(N);
  return out;
}

template CrossEntropy<float> cross_entropy(const TensorF&, std::span<const Index>, double);
template CrossEntropy<double> cross_entropy(const TensorD&, std::span<const Index>, double);

}  // namespace bitsim::sim
