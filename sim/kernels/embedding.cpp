#include "sim/kernels/embedding.hpp"

#include <algorithm>
#include <string>

#include "sim/kernels/rows.hpp"

namespace bitsim::sim {

TensorF embedding(const TensorF& table, std::span<const Index> ids) {
  if (table.rank() != 2)
    throw std::invalid_argument("embedding: table has shape " + shape_string(table.shape()) +
                                "; expected [vocab, dim]");
  const Index V = table.size(0), D = table.size(1);
  for (std::size_t n = 0; n < ids.size(); ++n)
    if (ids[n] < 0 || ids[n] >= V)
      throw std::out_of_range("embedding: token id " + std::to_string(ids[n]) + " at position " +
                              std::to_string(n) + " is outside the vocabulary [0, " + std::to_string(V) + ")");
  const TensorF t = table.contiguous();
  TensorF out(Shape{static_cast<Index>(ids.size()), D});
  if (out.empty()) return out;
  detail::for_each_row(static_cast<Index>(ids.size()), D, [&](Index n) {
    std::copy_n(t.data() + ids[n] * D, D, out.data() + n * D);
  });
  return out;
}

TensorF add_positions(const TensorF& x, const TensorF& positions, Index offset) {
  if (x.rank() < 2 || positions.rank() != 2 || positions.size(1) != x.size(-1))
    throw std::invalid_argument("add_positions: x " + shape_string(x.shape()) + " and positions " +
                                shape_string(positions.shape()) + " must be [..., T, D] and [P, D]");
  const Index T = x.size(-2), D = x.size(-1), P = positions.size(0);
  if (offset < 0 || offset + T > P)
    throw std::out_of_range("add_positions: positions " + std::to_string(offset) + ".." +
                            std::to_string(offset + T - 1) + " outside the table's " + std::to_string(P) +
                            " positions");
  const TensorF in = x.contiguous(), pos = positions.contiguous();
  TensorF out(x.shape());
  if (out.empty()) return out;
  detail::for_each_row(out.numel() / D, D, [&](Index row) {
    const float* a = in.data() + row * D;
    const float* p = pos.data() + (offset + row % T) * D;
    float* y = out.data() + row * D;
    for (Index j = 0; j < D; ++j) y[j] = a[j] + p[j];
  });
  return out;
}

}  // namespace bitsim::sim
