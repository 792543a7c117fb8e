#include "sim/kernels/softmax.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "sim/kernels/rows.hpp"

namespace bitsim::sim {

void softmax_row(std::span<const float> x, std::span<float> y, const SoftmaxSpec& spec,
                 std::uint64_t first_index) {
  const std::size_t n = x.size();
  if (y.size() != n) throw std::invalid_argument("softmax_row: output and input lengths differ");
  float m = -std::numeric_limits<float>::infinity();
  for (float v : x) m = (std::isnan(v) || v > m) ? v : m;  // a NaN stays once seen

  std::vector<double> e(n);
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = first_index + i;
    e[i] = spec.exp.exp(spec.exp.sub(x[i], m, 2 * k), 2 * k + 1);
    s = spec.sum.add(s, e[i], k);
  }
  for (std::size_t i = 0; i < n; ++i)
    y[i] = to_float(spec.out.div(e[i], s, first_index + i));
}

TensorF softmax(const TensorF& x, const SoftmaxSpec& spec) {
  const Index n = detail::row_width(x, "softmax");
  const TensorF in = x.contiguous();
  TensorF out(x.shape());
  if (out.empty()) return out;
  const Index rows = out.numel() / n;
  const float* src = in.data();
  float* dst = out.data();
  detail::for_each_row(rows, n, [&](Index r) {
    softmax_row({src + r * n, static_cast<std::size_t>(n)}, {dst + r * n, static_cast<std::size_t>(n)},
                spec, static_cast<std::uint64_t>(r * n));
  });
  return out;
}

}  // namespace bitsim::sim
