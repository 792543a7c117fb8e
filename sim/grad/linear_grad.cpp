#include "sim/grad/linear_grad.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <tbb/parallel_invoke.h>

namespace bitsim::sim {
namespace {

void check(const TensorF& x, const TensorF& w, const char* what) {
  if (x.rank() != 2 || w.rank() != 2 || x.size(1) != w.size(1))
    throw std::invalid_argument(std::string(what) + ": x must be [M, K] and W [N, K]; got x " +
                                shape_string(x.shape()) + ", W " + shape_string(w.shape()));
}

// One GEMM of the three; an operand marked `quantized` is already fake-quantized by its
// spec and enters as it is.
TensorF run(const TensorF& a, const TensorF& b_rows, const GemmRecipe& g, const std::optional<TensorF>& bias = {},
            bool a_quantized = false, bool b_quantized = false) {
  GemmArgs args;
  args.transpose_b = true;
  args.bias = bias;
  QuantizedOperands operands = g.operands;
  if (a_quantized) operands.a = QuantSpec::identity();
  if (b_quantized) operands.b = QuantSpec::identity();
  return gemm(a, b_rows, operands, g.accum, args);
}

// Whether an operand quantized by `first` for one GEMM can be reused by another that
// quantizes it (or its transpose) by `second`: the same bits as quantizing it again.
bool reusable(const LinearSpec& spec, const QuantSpec& first, const QuantSpec& second) {
  return spec.reuse_operands && !first.is_identity() && first == second && commutes_with_transpose(first);
}

bool same_tensor(const TensorF& a, const TensorF& b) {
  return a.numel() > 0 && a.data() == b.data() && a.shape() == b.shape() && a.strides() == b.strides();
}

// The transpose of a matrix as a new contiguous tensor (a plain data movement, the values
// of Tensor::transposed().contiguous(), which walks the strided view element by element).
// Copied in 8 x 8 tiles: the rows of a tile are a power of two apart in memory for the
// usual widths, and 8 of them stay within a cache set's ways.
TensorF transpose(const TensorF& m_in) {
  const TensorF m = m_in.contiguous();
  const Index rows = m.size(0), cols = m.size(1);
  constexpr Index kTile = 8;
  TensorF t(Shape{cols, rows}, uninitialized);  // the tiles cover it
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

// A gradient GEMM's operand mᵀ. When the GEMM quantizes it, as a contiguous copy:
// quantizers read their blocks along the last axis of contiguous rows (a strided input
// would be copied element by element). Otherwise as a view: the GEMM reads the values,
// not the layout (gemm() takes any strides; order=blas passes sgemm's transpose flag,
// the bit-defined orders pack the operand), so both give the same bits, without a copy.
TensorF transpose_operand(const TensorF& m, bool quantized_by_gemm) {
  return quantized_by_gemm ? transpose(m) : m.transposed();
}

}  // namespace

TensorF linear_forward(const TensorF& x, const TensorF& w, const std::optional<TensorF>& bias, const LinearSpec& spec,
                       LinearQuantized* keep) {
  check(x, w, "linear_forward");
  const TensorF xc = x.contiguous(), wc = w.contiguous();
  if (keep) *keep = {};
  const QuantizedOperands& q = spec.forward.operands;
  const bool keep_x = keep && reusable(spec, q.a, spec.weight_grad.operands.b);
  const bool keep_w = keep && reusable(spec, q.b, spec.input_grad.operands.b);
  if (!keep_x && !keep_w) return run(xc, wc, spec.forward, bias);
  // The quantizations quant_gemm's gemm() would make (x tensor id 0, W id 1), kept.
  TensorF xq = xc, wq = wc;
  tbb::parallel_invoke([&] { if (!q.a.is_identity()) xq = fake_quantize(xc, q.a, 0); },
                       [&] { if (!q.b.is_identity()) wq = fake_quantize(wc, q.b, 1); });
  if (keep_x) keep->x = xq, keep->x_source = x, keep->x_spec = q.a;
  if (keep_w) keep->w = wq, keep->w_source = w, keep->w_spec = q.b;
  return run(xq, wq, spec.forward, bias, true, true);
}

LinearGrads linear_backward(const TensorF& x, const TensorF& w, const TensorF& dy, bool has_bias,
                              const LinearSpec& spec, bool need_dx, const LinearQuantized* kept) {
  check(x, w, "linear_backward");
  if (dy.rank() != 2 || dy.size(0) != x.size(0) || dy.size(1) != w.size(0))
    throw std::invalid_argument("linear_backward: dy has shape " + shape_string(dy.shape()) + ", expected [" +
                                std::to_string(x.size(0)) + ", " + std::to_string(w.size(0)) + "]");
  LinearGrads g;
  const TensorF dyc = dy.contiguous();
  const QuantSpec& dy_spec = spec.weight_grad.operands.a;
  const QuantSpec& x_spec = spec.weight_grad.operands.b;
  const QuantSpec& w_spec = spec.input_grad.operands.b;
  // Quantized operands from the forward (x^T, W^T of the gradient GEMMs) and dy once for
  // both gradient GEMMs, each when commutes_with_transpose makes that the same bits.
  const bool reuse_x = kept && same_tensor(kept->x_source, x) && kept->x_spec == x_spec && reusable(spec, x_spec, x_spec);
  const bool reuse_w = need_dx && kept && same_tensor(kept->w_source, w) && kept->w_spec == w_spec &&
                       reusable(spec, w_spec, w_spec);
  const bool share_dy = need_dx && reusable(spec, spec.input_grad.operands.a, dy_spec);
  const TensorF dyq = share_dy ? fake_quantize(dyc, dy_spec, 0) : dyc;
  const auto quantizes = [](const QuantSpec& q, bool already) { return !already && !q.is_identity(); };
  if (need_dx)
    g.dx = run(dyq, transpose_operand(reuse_w ? kept->w : w, quantizes(w_spec, reuse_w)), spec.input_grad, {},
               share_dy, reuse_w);
  g.dw = run(transpose_operand(dyq, quantizes(dy_spec, share_dy)),
             transpose_operand(reuse_x ? kept->x : x, quantizes(x_spec, reuse_x)), spec.weight_grad, {}, share_dy,
             reuse_x);
  if (has_bias) {
    const Index M = dy.size(0), N = dy.size(1);
    std::vector<double> sum(static_cast<std::size_t>(N), 0.0);
    for (Index r = 0; r < M; ++r)
      for (Index c = 0; c < N; ++c) sum[c] += dyc.data()[r * N + c];
    g.db = TensorF(Shape{N}, uninitialized);  // every column written below
    for (Index c = 0; c < N; ++c) g.db.data()[c] = static_cast<float>(sum[c]);
  }
  return g;
}

}  // namespace bitsim::sim
