#pragma once
// A linear layer y = x W^T + b as its three GEMMs, each with its own operand QuantSpecs
// and AccumSpec, so that a low-precision training recipe is a LinearSpec, not code.
//
//   x [M, K] (rows = tokens), W [N, K] (PyTorch Linear layout: out x in), b [N], y [M, N]
//   forward      y  = x  . W^T      operands (x,      W)      reduce over K
//   input grad   dx = dy . W        operands (dy,     W^T)    reduce over N
//   weight grad  dW = dy^T . x      operands (dy^T,   x^T)    reduce over M
//   bias grad    db = column sums of dy (float64, row order)
// Every operand is handed to quant_gemm's gemm() as the A operand [rows, reduction] or
// the B operand [cols, reduction] with transpose_b, so each is quantized along its
// reduction axis (its last axis): block formats (MXFP8, NVFP4, int4:g128) and transforms
// (Hadamard on the weight-gradient inputs) act along the dimension being summed, as
// training recipes require. A uses tensor id 0 and B tensor id 1 of each QuantSpec's
// seed (stochastic rounding); callers vary the seeds per step and per layer.
#include <optional>

#include "sim/gemm/accum_spec.hpp"
#include "sim/gemm/quant_gemm.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

// One GEMM of the three: how its two operands are quantized and how it accumulates.
struct GemmRecipe {
  QuantizedOperands operands;
  AccumSpec accum;
};

struct LinearSpec {
  GemmRecipe forward;      // operands (x, W)
  GemmRecipe input_grad;   // operands (dy, W^T)
  GemmRecipe weight_grad;  // operands (dy^T, x^T)
  // Quantize x, W and dy once for the two GEMMs each enters when both quantize it by the
  // same spec and that spec commutes with transposition (sim/quant/quantize.hpp,
  // commutes_with_transpose: casts, per-tensor scales, square blocks; never stochastic
  // rounding). Same bits as quantizing every GEMM operand separately (false), which
  // tests/models/test_train_recipe_reuse.cpp checks on every training recipe.
  bool reuse_operands = true;
};

struct LinearGrads {
  TensorF dx, dw, db;  // db empty without a bias; dx empty when not requested
};

// What linear_forward keeps for linear_backward: the forward's fake-quantized x and W,
// each only when the backward will reuse it (same spec in its gradient GEMM, see
// LinearSpec::reuse_operands), with the tensors they were made from. The backward reuses
// one only for that same tensor (same storage and shape) and spec; otherwise it quantizes
// afresh, so a stale or empty LinearQuantized never changes a result.
struct LinearQuantized {
  TensorF x, w;                // fake-quantized (empty when not kept)
  TensorF x_source, w_source;  // the forward's x and W (shared storage, not copies)
  QuantSpec x_spec, w_spec;
};

TensorF linear_forward(const TensorF& x, const TensorF& w, const std::optional<TensorF>& bias,
                       const LinearSpec& spec = {}, LinearQuantized* keep = nullptr);
LinearGrads linear_backward(const TensorF& x, const TensorF& w, const TensorF& dy, bool has_bias,
                              const LinearSpec& spec = {}, bool need_dx = true,
                              const LinearQuantized* kept = nullptr);

}  // namespace bitsim::sim
