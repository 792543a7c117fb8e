#pragma once
// Raw tensor dumps (the experiment file's `dump:` key; experiments/README.md, "Tensor
// dumps"): for the selected points, the selected tensors quantized exactly as the point
// quantizes them — the float32 values and the stored form (element codes, scales, zero
// points, packed) — kept in PointResult::dumps and written under /dumps of the results file.
//
// Tensor names: synthetic sources "weights" (X under the weights spec) and "activations"
// (A under the activations spec, with gemm_n); model sources every weight under its role
// name, "weight.blk.<i>.<linear>" and "weight.output" (decoders), and the activation roles
// LayerOps::quantize meets in a forward pass over the evaluator's input (act.*, qkv.*,
// attn.blk.<i>.q, kv.*, hidden.*, residual.*, logits / embedding; models/README.md), seen
// through a models::TensorTap in one more forward pass per dumped point. A dump uses the spec, the
// random stream and the tensor the point itself uses, so its values are the point's bits.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"
#include "sim/quant/quantize.hpp"

namespace bitsim::experiments {

// x quantized by `spec` (stochastic rounding from stream `tensor_id`) in the dump layout;
// `values` and `codes` choose what is kept. values == sim::fake_quantize(x, spec, tensor_id).
TensorDump make_tensor_dump(std::string name, const sim::TensorF& x, const sim::QuantSpec& spec,
                            std::uint64_t tensor_id, bool values, bool codes);
// The stored form of a dump with codes, unpacked (sim::decode of it gives the values).
// Throws std::invalid_argument for a dump without codes or with inconsistent lengths.
sim::PackedTensor packed_tensor(const TensorDump& dump);

class TensorDumper {
 public:
  // Prepares the tensors the request can name (regenerates the synthetic tensors, or loads
  // the model's weights a second time). Throws std::invalid_argument for a pattern that
  // names no tensor of the source or a point index outside the grid.
  TensorDumper(const ExperimentConfig& config, std::uint64_t grid_size);
  ~TensorDumper();
  TensorDumper(const TensorDumper&) = delete;
  TensorDumper& operator=(const TensorDumper&) = delete;

  // The dumps of a point, sorted by name; empty when the config dumps nothing there.
  // Thread-safe.
  std::vector<TensorDump> dump(const GridPoint& point) const;

 private:
  struct Source;
  const ExperimentConfig& config_;
  std::unique_ptr<Source> source_;
};

}  // namespace bitsim::experiments
