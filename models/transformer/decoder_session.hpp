#pragma once
// What the decoder sessions (Gpt2Session, LlamaSession) share: the model's weights
// quantized once per Numerics (every listed layer weight, then the output matrix), the
// position counter and the KV cache, and the context check before each forward call.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "models/transformer/layer_ops.hpp"
#include "models/transformer/numerics.hpp"

namespace bitsim::models {

template <class Model, class Weights>
class DecoderSession {
 public:
  std::int64_t past() const { return past_; }
  void reset() {
    past_ = 0;
    cache_.reset(weights_.layers.size());
  }
  const Numerics& numerics() const { return ops_.numerics(); }

 protected:
  // `layer_weights`: the model's table of quantized layer weights (LayerWeight entries).
  template <class LayerWeights>
  DecoderSession(const Model& model, Numerics numerics, const LayerWeights& layer_weights)
      : model_(&model), ops_(std::move(numerics)), weights_(model.weights()) {
    quantize_layer_weights(ops_, weights_.layers, layer_weights);
    weights_.output = ops_.weight(weights_.output, "output");
    reset();
  }

  // Throws unless `count` more positions fit in the model's context.
  void check_context(std::size_t count) const {
    if (past_ + std::int64_t(count) > model_->config().context) {
      throw std::invalid_argument("forward: " + std::to_string(past_ + std::int64_t(count)) +
                                  " positions exceed the model's context of " +
                                  std::to_string(model_->config().context));
    }
  }

  const Model* model_;
  LayerOps ops_;
  Weights weights_;  // quantized copies (or shared with the model where identity)
  KvCache cache_;
  std::int64_t past_ = 0;
};

}  // namespace bitsim::models
