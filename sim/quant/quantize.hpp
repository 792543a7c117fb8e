#pragma once
// Quantizing tensors by a QuantSpec: fake_quantize (the values after quantize-dequantize,
// what a simulation computes with) and encode/decode (the codes, scales and zero points a
// storage format holds). decode(encode(x, s, id)) equals fake_quantize(x, s, id) bit for
// bit, for every spec. Semantics (scales, clipping, rounding, non-finite inputs, random
// words): sim/README.md, "Quantization specs".
//
// Parallel over groups with oneTBB; each group is computed alone and stochastic rounding
// uses word `flat row-major index` of RandomStream{spec.seed, tensor_id}, so results never
// depend on the thread count.
#include <cstdint>
#include <vector>

#include "sim/quant/quant_spec.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

// The stored form of a quantized tensor.
struct PackedTensor {
  Shape shape;                         // the tensor's shape
  QuantSpec spec;
  std::vector<std::uint64_t> codes;    // element-format codes, one per element, row-major
                                       // (in the transformed basis when spec.transform is set;
                                       // identity spec: the float32 bit patterns)
  Shape scale_shape;                   // per_tensor [1]; per_channel [shape[axis]]; per_group:
                                       // shape with shape[axis] -> ceil(shape[axis] / group);
                                       // per_block [grid rows, grid cols]; unscaled: [0]
  std::vector<std::uint64_t> scales;   // scale-format codes (spec.scale_format, or the block
                                       // format's scale format), row-major over scale_shape
  std::vector<std::uint64_t> zero_points;  // block formats with zero points (else empty)
  float tensor_scale = 1.0f;           // two-level block recipes (NVFP4)

  Index numel() const { return element_count(shape); }
};

// Values after quantize-dequantize, as float32. tensor_id selects the random stream.
TensorF fake_quantize(const TensorF& x, const QuantSpec& spec, std::uint64_t tensor_id = 0);
PackedTensor encode(const TensorF& x, const QuantSpec& spec, std::uint64_t tensor_id = 0);
TensorF decode(const PackedTensor& packed);

// The scales a spec chooses for x, decoded to double (scale_shape as in PackedTensor).
TensorD quant_scales(const TensorF& x, const QuantSpec& spec, std::uint64_t tensor_id = 0);

// True when quantizing a matrix's transpose gives the transpose of its quantization, bit
// for bit and whatever the tensor ids: fake_quantize(m^T, spec, i) == fake_quantize(m, spec, j)^T.
// Holds when every scale depends only on the set of values it covers and each element is
// rounded alone without random words: casts and per-tensor scales (absmax, fixed or
// percentile rule), and block formats with square blocks (NVFP4's 16x16 weight blocks)
// whose scale rule is not mse; never with stochastic rounding (its words follow the flat
// index and tensor id) or a transform (it acts along the last axis). A linear layer's
// GEMMs use it to quantize x, W and dy once (sim/grad/linear_grad.hpp).
bool commutes_with_transpose(const QuantSpec& spec);

}  // namespace bitsim::sim
