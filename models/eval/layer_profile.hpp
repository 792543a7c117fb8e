#pragma once
// Per-layer error profile: the SQNR (dB, sim::compare's definition) of the residual stream
// after each block of a quantized run against the reference run on the same tokens — where
// in depth the error enters and how it grows. The block outputs come from the engines'
// forward(tokens, &block_outputs) (LlamaSession, Gpt2Session) or BertSession::encode.
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::models {

// One value per block; throws std::invalid_argument when the lists or shapes differ.
std::vector<double> layer_sqnr_db(const std::vector<sim::TensorF>& reference, const std::vector<sim::TensorF>& test);

}  // namespace bitsim::models
