#include "sim/grad/linear_grad.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace bitsim::sim {
namespace {

void check(const TensorF& x, const TensorF& w, const char* what) {
  if (x.rank() != 2 || w.rank() != 2 || x.size(1) != w.size(1))
    throw std::invalid_argument(std::string(what) + ": x must be [M, K] and W [N, K]; got x " +
                                shape_string(x.shape()) + ", W " + shape_string(w.shape()));
}

TensorF run(const TensorF& a, const TensorF& b_rows, const GemmRecipe& g, const std::optional<TensorF>& bias = {}) {
  GemmArgs args;
  args.transpose_b = true;
  args.bias = bias;
  return gemm(a, b_rows, g.operands, g.accum, args);
}

// The transpose of a matrix as a new contiguous tensor (a plain data movement, the values
// of Tensor::transposed().contiguous(), which walks the strided view element by element).
// Copied in 8 x 8 tiles: the rows of a tile are a power of two apart in memory for the
// usual widths, and 8 of them stay within a cache set's ways.
TensorF transpose(const TensorF& m_in) {
  const TensorF m = m_in.contiguous();
  const Index rows = m.size(0), cols = m.size(1);
  constexpr Index kTile = 8;
  TensorF t(Shape{cols, rows});
  const float* src = m.data();
  float* dst = t.data();
  for (Index r0 = 0; r0 < rows; r0 += kTile) {
    const Index r1 = std::min(rows, r0 + kTile);
    for (Index c0 = 0; c0 < cols; c0 += kTile) {
      const Index c1 = std::min(cols, c0 + kTile);
      for (Index c = c0; c < c1; ++c)
        for (Index r = r0; r < r1; ++r) dst[c * rows + r] = src[r * cols + c];
    }
  }
  return t;
}

}  // namespace

TensorF linear_forward(const TensorF& x, const TensorF& w, const std::optional<TensorF>& bias, const LinearSpec& spec) {
  check(x, w, "linear_forward");
  return run(x.contiguous(), w.contiguous(), spec.forward, bias);
}

LinearGrads linear_backward(const TensorF& x, const TensorF& w, const TensorF& dy, bool has_bias,
                              const LinearSpec& spec, bool need_dx) {
  check(x, w, "linear_backward");
  if (dy.rank() != 2 || dy.size(0) != x.size(0) || dy.size(1) != w.size(0))
    throw std::invalid_argument("linear_backward: dy has shape " + shape_string(dy.shape()) + ", expected [" +
                                std::to_string(x.size(0)) + ", " + std::to_string(w.size(0)) + "]");
  LinearGrads g;
  const TensorF dyc = dy.contiguous();
  if (need_dx) g.dx = run(dyc, transpose(w), spec.input_grad);
  g.dw = run(transpose(dyc), transpose(x), spec.weight_grad);
  if (has_bias) {
    const Index M = dy.size(0), N = dy.size(1);
    std::vector<double> sum(static_cast<std::size_t>(N), 0.0);
    for (Index r = 0; r < M; ++r)
      for (Index c = 0; c < N; ++c) sum[c] += dyc.data()[r * N + c];
    g.db = TensorF(Shape{N});
    for (Index c = 0; c < N; ++c) g.db.data()[c] = static_cast<float>(sum[c]);
  }
  return g;
}

}  // namespace bitsim::sim
