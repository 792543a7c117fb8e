// NVFP4's stochastic-rounding fast path (block_quantize.cpp, stochastic_two_level): the
// values of block_quantize equal, bit for bit, those of the exact path (encode + decode,
// which rounds every element by the block's double-precision core with the same words),
// over odd row lengths (partial last blocks, rows longer than one draw of words), blocks
// with NaN/Inf, all-zero blocks, subnormal and huge elements, several seeds, streams, and
// random-bit counts; and they do not depend on the thread count.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "formats/block/block_quantize.hpp"

namespace bitsim::formats {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> inputs(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(rows * cols);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::size_t block = i / 16;
    switch (block % 9) {
      case 0: x[i] = 0.0f; break;                                            // all-zero block
      case 1: x[i] = normal(gen) * 1e-30f; break;                            // tiny elements
      case 2: x[i] = (i % 16 == 5) ? std::numeric_limits<float>::quiet_NaN() : normal(gen); break;
      case 3: x[i] = (i % 16 == 9) ? -kInf : normal(gen); break;
      case 4: x[i] = std::ldexp(normal(gen), -140); break;                   // float32 subnormals
      default: x[i] = normal(gen) * (i % 97 == 3 ? 300.0f : 1.0f); break;    // with outliers
    }
  }
  return x;
}

std::size_t mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const bool same = std::isnan(a[i]) ? std::isnan(b[i]) : std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(b[i]);
    count += !same;
  }
  return count;
}

TEST_CASE("nvfp4 stochastic rounding: the fast path equals the exact path bit for bit") {
  for (const char* name : {"nvfp4<round=sr>", "nvfp4<round=sr:8>", "nvfp4<round=sr:24>", "nvfp4<round=sr:1>"}) {
    const BlockFormat f = BlockFormat::parse(name);
    // (rows, cols): odd lengths with a partial last block, a row longer than one draw of
    // words (752 elements), one short row.
    for (const auto& [rows, cols] : {std::pair<std::size_t, std::size_t>{7, 83}, {3, 2000}, {1, 5}, {16, 64}}) {
      for (std::uint64_t seed : {1u, 77u}) {
        const std::vector<float> x = inputs(rows, cols, seed);
        const RandomStream rng{seed, seed + 3};
        std::vector<float> fast(x.size()), exact(x.size()), one_thread(x.size());
        block_quantize(f, x, rows, cols, fast, rng);
        block_decode(f, block_encode(f, x, rows, cols, rng), exact);
        {
          tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
          block_quantize(f, x, rows, cols, one_thread, rng);
        }
        const std::string text = name;
        CAPTURE(text);
        CAPTURE(rows);
        CAPTURE(cols);
        CAPTURE(seed);
        CHECK(mismatches(fast, exact) == 0);
        CHECK(mismatches(one_thread, fast) == 0);
      }
    }
  }
}

TEST_CASE("nvfp4 stochastic rounding: a midpoint rounds up about half the time") {
  // amax 6 -> the tensor and block scales make y = x; 5 lies between 4 and 6.
  std::vector<float> x(16 * 4000, 5.0f);
  for (std::size_t i = 0; i < x.size(); i += 16) x[i] = 6.0f;
  std::vector<float> out(x.size());
  block_quantize(BlockFormat::parse("nvfp4<round=sr>"), x, 1, x.size(), out, RandomStream{9});
  std::size_t ups = 0, n = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i % 16 == 0) continue;
    CHECK((out[i] == 4.0f || out[i] == 6.0f));
    ups += out[i] == 6.0f;
    ++n;
  }
  CHECK(std::fabs(double(ups) / double(n) - 0.5) < 0.02);
}

}  // namespace
}  // namespace bitsim::formats
