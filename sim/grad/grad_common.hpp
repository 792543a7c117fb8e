#pragma once
// Internal helpers of the backward kernels: shape checks and the row-parallel loop.
// Rows are computed independently, each by one thread in a fixed order, and every
// reduction across rows (a weight gradient) runs sequentially in row order afterwards,
// so no result depends on the thread count.
#include <algorithm>
#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "sim/tensor.hpp"

namespace bitsim::sim::grad_detail {

template <class T>
void require_same_shape(const Tensor<T>& a, const Tensor<T>& b, const char* kernel, const char* what) {
  if (a.shape() != b.shape())
    throw std::invalid_argument(std::string(kernel) + ": " + what + " has shape " + shape_string(b.shape()) +
                                ", expected " + shape_string(a.shape()));
}

template <class T>
Index last_axis(const Tensor<T>& x, const char* kernel) {
  if (x.rank() == 0) throw std::invalid_argument(std::string(kernel) + ": needs a tensor of rank >= 1");
  return x.shape().back();
}

// f(row) for rows 0..rows-1 in parallel; work_per_row sets the grain.
template <class F>
void for_each_row(Index rows, Index work_per_row, F&& f) {
  if (rows <= 0) return;
  const Index grain = std::max<Index>(1, 4096 / std::max<Index>(1, work_per_row));
  tbb::parallel_for(tbb::blocked_range<Index>(0, rows, grain), [&](const tbb::blocked_range<Index>& r) {
    for (Index i = r.begin(); i != r.end(); ++i) f(i);
  });
}

}  // namespace bitsim::sim::grad_detail
