// block_quantize's fast paths (block_spans.hpp: scaled float32 plans for power-of-two
// scales, float32 quotients rounded to odd for group INT, NVFP4's float32 steps) against
// the exact per-element path, which block_encode always takes: quantize must equal
// decode(encode) bit for bit. The inputs aim at the fast paths' edges: subnormal and huge
// magnitudes (scales clamped at the scale format's limits, scaled lattices that leave
// float32), blocks mixing 1e30 with 1e-30, ties, zeros, Inf and NaN, short blocks.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "formats/block/block_quantize.hpp"

namespace bitsim::formats {
namespace {

constexpr std::size_t kRows = 6, kCols = 203;  // 203: short blocks at every row's end

std::vector<float> make_input(int distribution, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::cauchy_distribution<float> cauchy(0.0f, 1.0f);
  std::uniform_int_distribution<int> small(-8, 8);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> x(kRows * kCols);
  for (std::size_t i = 0; i < x.size(); ++i) {
    float v = 0;
    switch (distribution) {
      case 0: v = normal(gen); break;
      case 1: v = cauchy(gen); break;                                        // heavy-tailed
      case 2: v = normal(gen) * (i % 37 == 5 ? 1000.0f : 1.0f); break;      // outliers
      case 3: v = normal(gen) * 1e-39f; break;                              // subnormal floats
      case 4: v = normal(gen) * 1e37f; break;                               // near FLT_MAX
      case 5: v = normal(gen) * (i % 2 ? 1e30f : 1e-30f); break;            // mixed in a block
      case 6: v = float(small(gen)) * 0.25f; break;                         // ties and zeros
      case 7: v = std::ldexp(unit(gen) + 1.0f, int(i % 300) - 150); break;  // every exponent
    }
    x[i] = v;
  }
  if (distribution == 0) {
    x[7] = std::numeric_limits<float>::quiet_NaN();
    x[300] = std::numeric_limits<float>::infinity();
    x[301] = -std::numeric_limits<float>::infinity();
  }
  for (std::size_t i = 40; i < 72; ++i) x[i] = (i % 3 == 0) ? -0.0f : 0.0f;  // a zero block
  return x;
}

TEST_CASE("block_quantize equals block_decode(block_encode) bit for bit on the fast paths") {
  const char* specs[] = {
      "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8", "msfp12", "bfp<m=7,block=16>",
      "mxfp4<rule=ceil>", "mxfp4<rule=round>", "mxfp8_e4m3<rule=round,block=16>", "mxfp4<block=8x8>",
      "mx<elem=e2m1fn,scale=ue4m3,rule=floor>", "mx<elem=e4m3fn,scale=fp16,rule=ceil>",
      "mx<elem=e3m2fn,scale=bf16,rule=floor,block=7>",
      "nvfp4", "nvfp4<block=16x16>", "nvfp4<block=5>",
      "int4:sym:g128", "int4:sym:g32:bf16", "int8:sym:g16:fp32", "int8:sym:channel", "int4:sym:tensor",
      "int16:sym:g8", "int4:sym:g32:full", "mx<elem=int<bits=8,frac=3>,scale=fp16,rule=amax,block=9>",
      "mx<elem=e2m1fn,scale=ue4m3,rule=amax>", "nvfp4<tensor=none>", "mx<elem=e5m2,scale=bf16,rule=amax>",
      "mx<elem=e4m3fn,scale=fp32,rule=amax,block=8>",
  };
  const char* modes[] = {"rne", "rna", "rnz", "ru", "rd", "rz", "rto"};
  std::size_t compared = 0;
  for (int distribution = 0; distribution < 8; ++distribution) {
    const auto x = make_input(distribution, 1000 + std::uint64_t(distribution));
    for (const char* spec : specs) {
      for (const char* mode : modes) {
        const std::string spec_text = spec, mode_text = mode;  // CAPTURE prints strings, not pointers
        CAPTURE(spec_text);
        CAPTURE(mode_text);
        CAPTURE(distribution);
        BlockDescription d = BlockFormat::parse(spec).description();
        d.rounding = parse_rounding(mode);
        const BlockFormat f(d);
        std::vector<float> fast(x.size()), exact(x.size());
        block_quantize(f, x, kRows, kCols, fast);
        block_decode(f, block_encode(f, x, kRows, kCols), exact);
        std::size_t mismatches = 0, first = 0;
        for (std::size_t i = 0; i < x.size(); ++i) {
          if (std::bit_cast<std::uint32_t>(fast[i]) != std::bit_cast<std::uint32_t>(exact[i])) {
            if (mismatches++ == 0) first = i;
          }
        }
        CAPTURE(first);
        CAPTURE(x[first]);
        CAPTURE(fast[first]);
        CAPTURE(exact[first]);
        CHECK(mismatches == 0);
        compared += x.size();
      }
    }
  }
  MESSAGE(compared << " elements compared");
}

// The row loops (block_spans.hpp) take up to 16 blocks at a time along a row and stop at a
// block they do not cover; rows of 40+ blocks with such blocks at and around the group
// boundaries (and a short last block) exercise every way in and out of them.
TEST_CASE("block_quantize's row loops equal the exact path across groups of blocks") {
  constexpr std::size_t rows = 3, cols = 32 * 41 + 5;
  std::mt19937_64 gen(77);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(rows * cols);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = normal(gen) * (i % 97 == 3 ? 300.0f : 1.0f);
  const auto set_block = [&](std::size_t row, std::size_t first, std::size_t len, float v) {
    for (std::size_t i = 0; i < len; ++i) x[row * cols + first + i] = v;
  };
  // Row 0: NaN in the 16th and 17th 16-element blocks, 32-element block 15 all zero.
  x[15 * 16 + 3] = std::numeric_limits<float>::quiet_NaN();
  x[16 * 16 + 9] = std::numeric_limits<float>::infinity();
  set_block(0, 15 * 32, 32, 0.0f);
  // Row 1: zero blocks at 16-element blocks 0, 31, 32 and 32-element blocks 16, 17.
  set_block(1, 0, 16, -0.0f);
  set_block(1, 31 * 16, 32, 0.0f);
  set_block(1, 16 * 32, 64, 0.0f);
  // Row 2: a block of huge values (scales at their limits) at the start of a group.
  set_block(2, 16 * 32, 32, 3e38f);
  set_block(2, 32 * 16, 16, 1e-40f);
  const char* specs[] = {"mxfp8_e4m3", "mxfp4", "mxint8", "mxfp4<block=16>", "mxfp4<block=64>", "nvfp4",
                         "nvfp4<block=32>", "mxfp6_e3m2<rule=ceil>"};
  for (const char* spec : specs) {
    for (const char* mode : {"rne", "rz", "ru"}) {
      const std::string spec_text = spec, mode_text = mode;
      CAPTURE(spec_text);
      CAPTURE(mode_text);
      BlockDescription d = BlockFormat::parse(spec).description();
      d.rounding = parse_rounding(mode);
      const BlockFormat f(d);
      std::vector<float> fast(x.size()), exact(x.size());
      block_quantize(f, x, rows, cols, fast);
      block_decode(f, block_encode(f, x, rows, cols), exact);
      std::size_t mismatches = 0;
      for (std::size_t i = 0; i < x.size(); ++i) {
        mismatches += std::bit_cast<std::uint32_t>(fast[i]) != std::bit_cast<std::uint32_t>(exact[i]);
      }
      CHECK(mismatches == 0);
    }
  }
}

}  // namespace
}  // namespace bitsim::formats
