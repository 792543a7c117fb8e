#pragma once
// Rotary position embeddings (RoPE) on x of shape [..., T, D]: row t (axis -2) is the
// token at position `position_offset + t` (the offset is the number of tokens already in
// the KV cache during incremental decoding). The first `rotary_dims` features (even,
// <= D; 0 means D) are rotated in pairs; the rest pass through unchanged.
//
// Pair i (0 <= i < r/2, r = rotary_dims) rotates by angle = pos * base^(-2i/r):
//   (a, b) -> (a cos - b sin, a sin + b cos)
// and the layout says which features form pair i:
//   interleaved : (x[2i], x[2i+1])         GPT-J, GPT-NeoX's "rotate_every_two", Meta's
//                                          original Llama code (complex pairs)
//   half_split  : (x[i],  x[i + r/2])      GPT-NeoX and Hugging Face Llama/Mistral/Qwen
//                                          ("rotate_half")
// The angle, cos and sin are float64; cos and sin are then rounded into `table` (float32
// by default; bf16 models a bf16 cos/sin cache); the rotation is computed in float64
// from those values and rounded once into float32 and then into `out`.
// Position 0 is the identity. Stochastic rounding draws the element's row-major index in
// `out`, and (i + (r/2) * pos) * 2 (+1 for sin) in `table`.
#include "sim/kernels/precision.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

enum class RopeLayout { interleaved, half_split };

struct RopeSpec {
  double base = 10000.0;  // theta
  Index rotary_dims = 0;  // 0: all of D
  RopeLayout layout = RopeLayout::half_split;
  Index position_offset = 0;
  Precision table;  // cos / sin values
  Precision out;
};

TensorF rope(const TensorF& x, const RopeSpec& spec = {});

}  // namespace bitsim::sim
