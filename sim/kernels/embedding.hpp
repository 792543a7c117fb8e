#pragma once
// Embedding lookup and learned position embeddings.
//
// embedding(table [V, D], ids) -> [ids.size(), D]: row n is table row ids[n] (a copy).
// An id outside [0, V) throws std::out_of_range naming the id, its position and V.
// add_positions(x [..., T, D], positions [P, D], offset) -> x[..., t, :] + positions[offset + t]
// (float32 addition, GPT-2's wpe), throwing if offset + T > P.
#include <span>

#include "sim/tensor.hpp"

namespace bitsim::sim {

TensorF embedding(const TensorF& table, std::span<const Index> ids);
TensorF add_positions(const TensorF& x, const TensorF& positions, Index offset = 0);

}  // namespace bitsim::sim
