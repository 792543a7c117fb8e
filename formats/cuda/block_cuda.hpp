#pragma once
// Block formats on an NVIDIA GPU: block_quantize and block_encode (formats/block/) with one
// thread block per format block (tile) and warp-shuffle reductions for the block
// statistics, bit-identical to the CPU. Shared with the CPU (BITSIM_HD): the lattice
// rounding core, the power-of-two scale rules and the quotient rounded to odd
// (formats/block/block_scale.hpp), code packing and decoding. The per-block steps
// (statistics -> scale -> elements -> values) follow formats/block/README.md "Semantics"
// and are checked against the CPU kernel by tests/cuda/test_test_cuda_compare.cpp.
//
// Covered: the generic recipe with the floor, ceil, round and amax rules, with or without
// zero points (MX, BFP, group INT, per-channel/per-tensor INT) and NVFP4's two-level fp32
// recipe, 1-D and 2-D blocks, every rounding mode. Not covered (block_supported() is false
// and the functions throw std::invalid_argument): the mse rule and the llama.cpp recipes.
#include <cstddef>
#include <span>

#include "formats/block/block_quantize.hpp"

namespace bitsim::formats::cuda {

bool block_supported(const BlockFormat& format);

void block_quantize(const BlockFormat& format, std::span<const float> in, std::size_t rows, std::size_t cols,
                    std::span<float> out, RandomStream rng = {});
BlockEncoding block_encode(const BlockFormat& format, std::span<const float> in, std::size_t rows,
                           std::size_t cols, RandomStream rng = {});

}  // namespace bitsim::formats::cuda
