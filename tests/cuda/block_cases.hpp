#pragma once
// Block-format cases shared by the host test of the block core (test_hd_core.cpp) and the
// GPU comparison program (test_test_cuda_compare.cpp).
#include <cmath>
#include <cstddef>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "formats/block/block_format.hpp"

namespace bitsim::test {

// Every named block format plus variants: other rules and roundings, 2-D and column
// blocks, one-level NVFP4, BFP, full-range, per-channel and per-tensor INT, zero points.
inline std::vector<std::string> block_specs() {
  std::vector<std::string> specs;
  for (const auto& named : formats::named_block_formats()) specs.emplace_back(named.name);
  for (const char* extra : {"mxfp4<rule=ceil,round=sr:8>", "mxfp8_e4m3<rule=round,round=rz>", "mxfp6_e2m3<axis=0>",
                            "nvfp4<block=16x16>", "nvfp4<tensor=none>", "nvfp4<round=sr>", "bfp<m=5,block=8>",
                            "int4:sym:g32:full", "int8:sym:channel", "int4:sym:tensor:fp32", "int4:asym:g64:bf16",
                            "mx<elem=uint4,scale=fp16,block=32,rule=amax,zero_point=true,round=sr>", "mxint8<round=rna>"})
    specs.emplace_back(extra);
  return specs;
}

inline std::vector<std::pair<std::size_t, std::size_t>> block_shapes() {
  return {{1, 1}, {3, 70}, {17, 33}, {64, 256}, {33, 129}};
}

// Block formats: values (block_quantize) and codes (block_encode: elements, scales, zero
// points, tensor scale) over random data with zero, NaN and Inf blocks, subnormal blocks
// and ragged edges.
inline std::vector<float> block_inputs(std::size_t rows, std::size_t cols, std::mt19937_64& gen) {
  std::vector<float> x(rows * cols);
  for (std::size_t r = 0; r < rows; ++r) {
    const int kind = int(gen() % 10);  // per row: most random, some zero, some tiny, some specials
    for (std::size_t c = 0; c < cols; ++c) {
      float v = float(std::ldexp(std::uniform_real_distribution<double>(-1.0, 1.0)(gen), int(gen() % 24) - 12));
      if (kind == 0) v = (c % 3 == 0) ? -0.0f : 0.0f;
      if (kind == 1) v = std::numeric_limits<float>::denorm_min() * float(gen() % 50);
      if (kind == 2 && gen() % 40 == 0) v = (gen() & 1) ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
      if (kind == 3) v = float(std::ldexp(1.0, int(gen() % 8) - 4)) * ((gen() & 1) ? -1.0f : 1.0f);  // exact powers: ties
      x[r * cols + c] = v;
    }
  }
  return x;
}

}  // namespace bitsim::test
