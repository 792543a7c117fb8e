#include "sim/grad/embedding_grad.hpp"

#include <string>
#include <vector>

#include "sim/grad/grad_common.hpp"

namespace bitsim::sim {
namespace {

// out[target(n)] += dy row n for every row n, in order; columns in parallel.
template <class T, class Target>
Tensor<T> scatter_rows(const Tensor<T>& dy, Index out_rows, Target&& target) {
  const Index D = grad_detail::last_axis(dy, "embedding_backward");
  const Index rows = D == 0 ? 0 : dy.numel() / D;
  const Tensor<T> dc = dy.contiguous();
  std::vector<double> acc(static_cast<std::size_t>(out_rows * D), 0.0);
  grad_detail::for_each_row(D, rows, [&](Index c) {
    for (Index n = 0; n < rows; ++n) acc[target(n) * D + c] += dc.data()[n * D + c];
  });
  Tensor<T> out(Shape{out_rows, D}, uninitialized);  // every element written below
  for (std::size_t i = 0; i < acc.size(); ++i) out.data()[i] = static_cast<T>(acc[i]);
  return out;
}

}  // namespace

template <class T>
Tensor<T> embedding_backward(std::span<const Index> ids, const Tensor<T>& dy, Index vocab) {
  if (dy.rank() != 2 || dy.size(0) != static_cast<Index>(ids.size()))
    throw std::invalid_argument("embedding_backward: dy has shape " + shape_string(dy.shape()) + ", expected [" +
                                std::to_string(ids.size()) + ", D]");
  for (std::size_t n = 0; n < ids.size(); ++n)
    if (ids[n] < 0 || ids[n] >= vocab)
      throw std::out_of_range("embedding_backward: id " + std::to_string(ids[n]) + " at position " + std::to_string(n) +
                              " is outside [0, " + std::to_string(vocab) + ")");
  return scatter_rows(dy, vocab, [&](Index n) { return ids[static_cast<std::size_t>(n)]; });
}

template <class T>
Tensor<T> positions_backward(const Tensor<T>& dy, Index positions, Index offset) {
  if (dy.rank() < 2) throw std::invalid_argument("positions_backward: dy must be [..., T, D], got " + shape_string(dy.shape()));
  const Index T_len = dy.size(-2);
  if (offset < 0 || offset + T_len > positions)
    throw std::out_of_range("positions_backward: positions [" + std::to_string(offset) + ", " +
                            std::to_string(offset + T_len) + ") exceed the table's " + std::to_string(positions));
  return scatter_rows(dy, positions, [&](Index n) { return offset + n % T_len; });
}

template TensorF embedding_backward(std::span<const Index>, const TensorF&, Index);
template TensorD embedding_backward(std::span<const Index>, const TensorD&, Index);
template TensorF positions_backward(const TensorF&, Index, Index);
template TensorD positions_backward(const TensorD&, Index, Index);

}  // namespace bitsim::sim
