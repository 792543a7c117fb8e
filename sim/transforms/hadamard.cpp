#include "sim/transforms/hadamard.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/random_stream.hpp"

namespace bitsim::sim {

Index hadamard_block(Index n, Index block) {
  if (block == 0) return n == 0 ? 1 : (n & -n);  // largest power of two dividing n
  if (block < 0 || (block & (block - 1)) != 0 || (n % block) != 0)
    throw std::invalid_argument("Hadamard block " + std::to_string(block) +
                                " must be a power of two dividing the last axis (" + std::to_string(n) +
                                "); 0 picks the largest power of two dividing it");
  return block;
}

void fwht(std::span<double> x) {
  const std::size_t n = x.size();
  if (n & (n - 1)) throw std::invalid_argument("fwht needs a power-of-two length, got " + std::to_string(n));
  for (std::size_t h = 1; h < n; h *= 2)
    for (std::size_t i = 0; i < n; i += 2 * h)
      for (std::size_t j = i; j < i + h; ++j) {
        const double a = x[j], b = x[j + h];
        x[j] = a + b;
        x[j + h] = a - b;
      }
}

std::vector<double> random_signs(std::uint64_t seed, Index n) {
  const formats::RandomStream rng{seed, kSignStream};
  std::vector<double> d(static_cast<std::size_t>(n));
  for (Index j = 0; j < n; ++j) d[j] = (rng.word(static_cast<std::uint64_t>(j)) >> 31) ? -1.0 : 1.0;
  return d;
}

void hadamard_row(std::span<double> row, Index block, std::span<const double> signs, bool inverse) {
  const double norm = 1.0 / std::sqrt(double(block));
  if (!inverse)
    for (std::size_t j = 0; j < signs.size(); ++j) row[j] *= signs[j];
  for (std::size_t b = 0; b < row.size(); b += static_cast<std::size_t>(block)) {
    const auto part = row.subspan(b, static_cast<std::size_t>(block));
    fwht(part);
    for (double& v : part) v *= norm;
  }
  if (inverse)
    for (std::size_t j = 0; j < signs.size(); ++j) row[j] *= signs[j];
}

namespace {

template <class T>
Tensor<T> transform_rows(const Tensor<T>& x, Index block, const std::vector<double>& signs, bool inverse) {
  const Index n = x.rank() == 0 ? 1 : x.shape().back();
  block = hadamard_block(n, block);
  Tensor<T> out = x.clone();
  if (out.empty()) return out;
  const Index rows = out.numel() / n;
  T* data = out.data();
  tbb::parallel_for(tbb::blocked_range<Index>(0, rows), [&](const tbb::blocked_range<Index>& r) {
    std::vector<double> row(static_cast<std::size_t>(n));
    for (Index i = r.begin(); i < r.end(); ++i) {
      for (Index j = 0; j < n; ++j) row[j] = data[i * n + j];
      hadamard_row(row, block, signs, inverse);
      for (Index j = 0; j < n; ++j) data[i * n + j] = static_cast<T>(row[j]);
    }
  });
  return out;
}

Index last_dim(Index rank, const Shape& shape) { return rank == 0 ? 1 : shape.back(); }

}  // namespace

template <class T>
Tensor<T> hadamard(const Tensor<T>& x, Index block) {
  return transform_rows(x, block, {}, false);
}
template <class T>
Tensor<T> random_hadamard(const Tensor<T>& x, std::uint64_t seed, Index block) {
  return transform_rows(x, block, random_signs(seed, last_dim(x.rank(), x.shape())), false);
}
template <class T>
Tensor<T> inverse_random_hadamard(const Tensor<T>& x, std::uint64_t seed, Index block) {
  return transform_rows(x, block, random_signs(seed, last_dim(x.rank(), x.shape())), true);
}

template TensorF hadamard(const TensorF&, Index);
template TensorD hadamard(const TensorD&, Index);
template TensorF random_hadamard(const TensorF&, std::uint64_t, Index);
template TensorD random_hadamard(const TensorD&, std::uint64_t, Index);
template TensorF inverse_random_hadamard(const TensorF&, std::uint64_t, Index);
template TensorD inverse_random_hadamard(const TensorD&, std::uint64_t, Index);

}  // namespace bitsim::sim
