#pragma once
// Quantizing a row-major 2-D float array [rows, cols] into a block format, encoding it
// into element codes + scale codes, and decoding those back.
//
// Layout: element codes are row-major, one per element of the input. Blocks tile the
// array in row-major order of the block grid (block b covers rows (b / grid_cols) *
// block_rows .. and cols (b % grid_cols) * block_cols ..); blocks at the right and bottom
// edges are short when the axis length is not a multiple of the block size (never
// padded, never read past the end). Scale codes and zero points are one per block in
// that order. Packed storage (pack_blocks) lays codes end to end, least significant bit
// first, as Format::encode_packed does (two E2M1 codes per byte, the first in the low
// nibble); it is bitsim's layout, not llama.cpp's interleaved nibble order.
//
// Parallelism: blocks run in parallel with oneTBB; every block is computed alone and
// stochastic rounding uses the element's flat index r * cols + c as its random word,
// so results never depend on the thread count.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "formats/block/block_format.hpp"
#include "formats/random_stream.hpp"

namespace bitsim::formats {

struct BlockGrid {
  std::size_t rows = 0, cols = 0;              // the array
  std::size_t block_rows = 0, block_cols = 0;  // one block (whole-axis sizes resolved)
  std::size_t grid_rows = 0, grid_cols = 0;    // blocks down and across
  std::size_t block_count() const { return grid_rows * grid_cols; }
};
BlockGrid block_grid(const BlockFormat& format, std::size_t rows, std::size_t cols);

struct BlockEncoding {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint64_t> elements;     // element codes, row-major
  std::vector<std::uint64_t> scales;       // scale-format codes, one per block
  std::vector<std::uint64_t> zero_points;  // per block: the integer zero point (zero_point
                                           // formats) or Q4_1's minimum in the scale format;
                                           // empty otherwise
  float tensor_scale = 1.0f;               // two-level recipes: value = elem * scale / tensor_scale
};

// out[i] = decode(encode(in))[i], computed without materialising codes.
void block_quantize(const BlockFormat& format, std::span<const float> in, std::size_t rows,
                    std::size_t cols, std::span<float> out, RandomStream rng = {});
BlockEncoding block_encode(const BlockFormat& format, std::span<const float> in, std::size_t rows,
                           std::size_t cols, RandomStream rng = {});
void block_decode(const BlockFormat& format, const BlockEncoding& encoding, std::span<float> out);

struct PackedBlocks {
  std::size_t rows = 0, cols = 0;
  std::vector<std::uint8_t> elements;     // element().bits() per code
  std::vector<std::uint8_t> scales;       // scale().bits() per code
  std::vector<std::uint8_t> zero_points;  // element().bits() (or scale().bits() for Q4_1) per code
  float tensor_scale = 1.0f;
};
PackedBlocks pack_blocks(const BlockFormat& format, const BlockEncoding& encoding);
BlockEncoding unpack_blocks(const BlockFormat& format, const PackedBlocks& packed);

}  // namespace bitsim::formats
