#include "experiments/runner/synthetic_tensor.hpp"

#include <cmath>
#include <numbers>

#include "formats/random_stream.hpp"

namespace bitsim::experiments {
namespace {

// Uniform doubles in (0, 1) from consecutive 32-bit Philox words (53 random bits each).
class Uniforms {
 public:
  Uniforms(std::uint64_t seed, std::uint64_t stream) : rng_{seed, stream} {}
  double next() {
    const std::uint64_t hi = rng_.word(counter_++), lo = rng_.word(counter_++);
    const std::uint64_t bits = (hi << 21) ^ (lo >> 11);  // 53 bits
    return (double(bits & ((std::uint64_t(1) << 53) - 1)) + 0.5) * 0x1p-53;
  }

 private:
  formats::RandomStream rng_;
  std::uint64_t counter_ = 0;
};

double gaussian(Uniforms& u) {
  const double r = std::sqrt(-2.0 * std::log(u.next()));
  return r * std::cos(2.0 * std::numbers::pi * u.next());
}

double laplace(Uniforms& u) {
  const double v = u.next() - 0.5;
  return v < 0 ? std::log(1.0 + 2.0 * v) : -std::log(1.0 - 2.0 * v);
}

// Bailey (1994): a point (a, b) uniform in the unit disc gives t = a sqrt(nu (w^(-2/nu) - 1) / w).
double student_t(Uniforms& u, double nu) {
  for (;;) {
    const double a = 2.0 * u.next() - 1.0, b = 2.0 * u.next() - 1.0;
    const double w = a * a + b * b;
    if (w > 0 && w < 1) return a * std::sqrt(nu * (std::pow(w, -2.0 / nu) - 1.0) / w);
  }
}

double draw(Distribution d, Uniforms& u, double nu) {
  switch (d) {
    case Distribution::laplace: return laplace(u);
    case Distribution::student_t: return student_t(u, nu);
    default: return gaussian(u);
  }
}

}  // namespace

sim::TensorF synthetic_tensor(const SyntheticSource& s, int operand) {
  const sim::Index rows = operand == 0 ? s.shape[0] : s.gemm_n, cols = s.shape[1];
  const Distribution bulk = s.distribution == Distribution::with_outliers ? s.base : s.distribution;
  // Streams 2k: values of operand k; 2k + 1: which columns are outliers.
  Uniforms values(s.seed, 2 * std::uint64_t(operand));
  Uniforms columns(s.seed, 2 * std::uint64_t(operand) + 1);
  std::vector<double> column_scale(std::size_t(cols), s.scale);
  if (s.distribution == Distribution::with_outliers)
    for (auto& c : column_scale)
      if (columns.next() < s.outlier_fraction) c *= s.outlier_scale;
  std::vector<float> data(std::size_t(rows * cols));
  for (sim::Index i = 0; i < rows; ++i)
    for (sim::Index j = 0; j < cols; ++j)
      data[std::size_t(i * cols + j)] = float(column_scale[std::size_t(j)] * draw(bulk, values, s.nu));
  return sim::TensorF({rows, cols}, std::move(data));
}

}  // namespace bitsim::experiments
