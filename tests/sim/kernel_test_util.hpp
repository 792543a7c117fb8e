#pragma once
// Helpers shared by the kernel suites: seeded random tensors, ulp distances and running a
// kernel under a fixed thread count.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

#include <tbb/global_control.h>

#include "sim/tensor.hpp"

namespace kernel_test {

using bitsim::sim::Index;
using bitsim::sim::Shape;
using bitsim::sim::TensorF;

inline TensorF random_tensor(Shape shape, std::uint32_t seed, float lo = -3.0f, float hi = 3.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(bitsim::sim::element_count(shape)));
  for (float& x : v) x = dist(gen);
  return TensorF(std::move(shape), std::move(v));
}

// Bitwise equality of two float tensors (NaNs equal when their bits are).
inline bool same_bits(const TensorF& a, const TensorF& b) {
  if (a.shape() != b.shape()) return false;
  const auto x = a.to_vector(), y = b.to_vector();
  return x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Runs f() with 1, 2 and 8 worker threads; true if all three results are bit-identical.
inline bool same_on_any_thread_count(const std::function<TensorF()>& f) {
  TensorF first;
  bool same = true;
  int run = 0;
  for (int threads : {1, 2, 8}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    TensorF r = f();
    if (run++ == 0) first = r;
    else same = same && same_bits(first, r);
  }
  return same;
}

// Shapes every row-wise kernel is tried on: odd sizes, 1xN, Nx1, empty, rank 3.
inline std::vector<Shape> row_shapes() {
  return {{1, 1}, {1, 37}, {37, 1}, {5, 13}, {3, 7, 64}, {0, 5}, {4, 0}, {2, 1000}, {129, 17}};
}

}  // namespace kernel_test
