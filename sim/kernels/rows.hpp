#pragma once
// Internal helpers shared by the kernels: the "rows" view of a tensor (every axis but the
// last flattened; the last axis holds the features) and the row-parallel loop. Rows are
// independent and each is computed by one thread in a fixed order, so results never
// depend on the thread count.
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "sim/tensor.hpp"

namespace bitsim::sim::detail {

// Rows of length `width`: the tensor's last axis. Rank-0 tensors are rejected.
inline Index row_width(const TensorF& x, const char* kernel) {
  if (x.rank() == 0) throw std::invalid_argument(std::string(kernel) + ": needs a tensor of rank >= 1");
  return x.shape().back();
}

// Calls f(row) for rows 0..rows-1, in parallel; `work_per_row` (elements touched)
// sets the grain so that small rows are batched.
template <class F>
void for_each_row(Index rows, Index work_per_row, F&& f) {
  const Index grain = std::max<Index>(1, 4096 / std::max<Index>(1, work_per_row));
  tbb::parallel_for(tbb::blocked_range<Index>(0, rows, grain), [&](const tbb::blocked_range<Index>& r) {
    for (Index i = r.begin(); i != r.end(); ++i) f(i);
  });
}

}  // namespace bitsim::sim::detail
