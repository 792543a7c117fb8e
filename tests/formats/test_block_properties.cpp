// Properties every block format keeps: packed round trips, representable values,
// transpose invariance of square tiles, thread-count independence, reproducible
// stochastic rounding keyed by the element's flat index.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include "formats/block/block_quantize.hpp"

using namespace bitsim::formats;

namespace {

std::vector<float> random_tensor(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::student_t_distribution<float> heavy(2.0f);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = (i / 64) % 3 == 0 ? heavy(rng) : normal(rng) * float((i / 200) % 7 + 1);
  return x;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i]))) {
      return false;
    }
  }
  return true;
}

const char* kSpecs[] = {"mxfp8_e5m2", "mxfp8_e4m3", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8",
                        "nvfp4", "nvfp4<block=16x16>", "msfp12", "bfp<m=5,block=8>", "q8_0", "q4_0", "q4_1",
                        "int4:sym:g128", "int4:asym:g64", "int8:sym:channel:bf16", "int3:asym:tensor:fp32",
                        "mxfp4<rule=ceil>", "mxfp4<rule=round>", "mxfp4<rule=mse>", "mxfp4<axis=0>",
                        "mx<elem=e2m1fn,scale=ue5m3,block=16>", "mxfp6_e2m3<round=sr:8>", "mxfp4<block=8x8,round=sr>"};

}  // namespace

TEST_CASE("encode -> pack -> unpack -> decode gives quantize, bit for bit") {
  const std::size_t rows = 37, cols = 150;  // partial blocks and tiles on both axes
  std::vector<float> x = random_tensor(rows * cols, 1);
  x[500] = NAN;
  for (std::size_t c = 0; c < 32; ++c) x[1200 + c] = 0.0f;
  for (const char* spec : kSpecs) {
    CAPTURE(std::string(spec));
    const auto f = BlockFormat::parse(spec);
    const RandomStream rng{7, 1};
    std::vector<float> q(x.size()), d(x.size());
    block_quantize(f, x, rows, cols, q, rng);
    const auto e = block_encode(f, x, rows, cols, rng);
    const auto p = pack_blocks(f, e);
    CHECK(p.elements.size() == (x.size() * std::size_t(f.element().bits()) + 7) / 8);
    const auto back = unpack_blocks(f, p);
    CHECK(back.elements == e.elements);
    CHECK(back.scales == e.scales);
    CHECK(back.zero_points == e.zero_points);
    block_decode(f, back, d);
    CHECK(same_bits(q, d));
  }
}

TEST_CASE("generic formats: every value is an element value times the block scale, within amax's reach") {
  const std::size_t rows = 16, cols = 96;
  const std::vector<float> x = random_tensor(rows * cols, 2);
  for (const char* spec : {"mxfp8_e4m3", "mxfp6_e3m2", "mxfp4", "mxint8", "mxfp4<rule=ceil>", "msfp16",
                           "int4:sym:g32", "mx<elem=e2m3fn,scale=bf16,block=32>"}) {
    CAPTURE(std::string(spec));
    const auto f = BlockFormat::parse(spec);
    const auto e = block_encode(f, x, rows, cols);
    std::vector<float> q(x.size());
    block_quantize(f, x, rows, cols, q);
    const BlockGrid g = block_grid(f, rows, cols);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t block = i / cols * g.grid_cols + i % cols / g.block_cols;
      const double scale = f.scale().decode(e.scales[block]);
      const double element = f.element().decode(e.elements[i]);
      CHECK(double(q[i]) == element * scale);
      CHECK(std::fabs(element) <= f.element_max());
    }
    // No value exceeds its block's amax by more than one element step at the top binade.
    for (std::size_t b = 0; b < g.block_count(); ++b) {
      const std::size_t r = b / g.grid_cols, c0 = b % g.grid_cols * g.block_cols;
      double amax = 0, vmax = 0;
      for (std::size_t c = c0; c < std::min(cols, c0 + g.block_cols); ++c) {
        amax = std::max(amax, double(std::fabs(x[r * cols + c])));
        vmax = std::max(vmax, double(std::fabs(q[r * cols + c])));
      }
      const double scale = f.scale().decode(e.scales[b]);
      CHECK(vmax <= amax + f.element().epsilon() * std::ldexp(1.0, f.element_emax()) * scale);
    }
  }
}

TEST_CASE("the ceil rule never clamps; mse is never worse than floor or ceil") {
  const std::size_t rows = 64, cols = 32;
  const std::vector<float> x = random_tensor(rows * cols, 3);
  const auto sse = [&](const char* spec) {
    const auto f = BlockFormat::parse(spec);
    std::vector<float> q(x.size());
    block_quantize(f, x, rows, cols, q);
    std::vector<double> per_block(rows, 0.0);
    for (std::size_t i = 0; i < x.size(); ++i) per_block[i / cols] += std::pow(double(x[i]) - double(q[i]), 2);
    return per_block;
  };
  const auto floor_error = sse("mxfp4"), ceil_error = sse("mxfp4<rule=ceil>"), mse_error = sse("mxfp4<rule=mse>");
  for (std::size_t b = 0; b < rows; ++b) {
    CHECK(mse_error[b] <= floor_error[b] * (1 + 1e-12));
    CHECK(mse_error[b] <= ceil_error[b] * (1 + 1e-12));
  }
  const auto f = BlockFormat::parse("mxfp4<rule=ceil>");
  const auto e = block_encode(f, x, rows, cols);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double scale = f.scale().decode(e.scales[i / cols]);
    CHECK(std::fabs(double(x[i])) / scale <= 6.0);  // nothing beyond the element max
  }
}

TEST_CASE("square tiles: W and W^T quantize alike") {
  const std::size_t rows = 40, cols = 72;  // partial tiles on both edges
  const std::vector<float> w = random_tensor(rows * cols, 4);
  std::vector<float> wt(w.size());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) wt[c * rows + r] = w[r * cols + c];
  for (const char* spec : {"nvfp4<block=16x16>", "mx<elem=e4m3fn,block=8x8>", "mxfp4<block=16x16,rule=mse>"}) {
    CAPTURE(std::string(spec));
    const auto f = BlockFormat::parse(spec);
    std::vector<float> q(w.size()), qt(w.size());
    block_quantize(f, w, rows, cols, q);
    block_quantize(f, wt, cols, rows, qt);
    bool equal = true;
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t c = 0; c < cols; ++c)
        equal &= std::bit_cast<std::uint32_t>(q[r * cols + c]) == std::bit_cast<std::uint32_t>(qt[c * rows + r]);
    CHECK(equal);
  }
  // 1-D blocks are not transpose invariant (a check that the test can tell).
  const auto f = BlockFormat::parse("nvfp4");
  std::vector<float> q(w.size()), qt(w.size());
  block_quantize(f, w, rows, cols, q);
  block_quantize(f, wt, cols, rows, qt);
  bool equal = true;
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) equal &= q[r * cols + c] == qt[c * rows + r];
  CHECK_FALSE(equal);
}

TEST_CASE("results do not depend on the thread count") {
  const std::size_t rows = 256, cols = 1024;
  const std::vector<float> x = random_tensor(rows * cols, 5);
  for (const char* spec : {"mxfp8_e4m3", "nvfp4", "int4:asym:g64", "mxfp4<round=sr,rule=mse>"}) {
    CAPTURE(std::string(spec));
    const auto f = BlockFormat::parse(spec);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 5}) {
      tbb::task_arena arena(threads);
      std::vector<float> q(x.size());
      arena.execute([&] { block_quantize(f, x, rows, cols, q, RandomStream{11}); });
      results.push_back(std::move(q));
    }
    CHECK(same_bits(results[0], results[1]));
    CHECK(same_bits(results[0], results[2]));
  }
}

TEST_CASE("stochastic rounding: keyed by (seed, stream, flat index), reproducible, unbiased") {
  const std::size_t rows = 64, cols = 256;
  std::vector<float> x(rows * cols, 1.25f);  // amax 1.25 -> MXFP4 scale 2^-2: 5 lies between 4 and 6
  for (std::size_t i = 0; i < x.size(); i += 32) x[i] = 1.5f;  // fixes every block's scale at 2^-2
  const auto f = BlockFormat::parse("mxfp4<round=sr>");
  std::vector<float> a(x.size()), b(x.size()), c(x.size());
  block_quantize(f, x, rows, cols, a, RandomStream{42});
  block_quantize(f, x, rows, cols, b, RandomStream{42});
  block_quantize(f, x, rows, cols, c, RandomStream{43});
  CHECK(same_bits(a, b));
  CHECK_FALSE(same_bits(a, c));
  // Element i uses word i: the element format's own sr round of x / X with index i.
  const RandomStream rng{42};
  std::size_t ups = 0, ties = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i % 32 == 0) continue;
    const double expected = f.element().round(5.0, RoundingSpec{Rounding::stochastic}, rng, i) / 4;
    CHECK(double(a[i]) == expected);
    ups += a[i] == 1.5f;
    ++ties;
  }
  CHECK(std::fabs(double(ups) / double(ties) - 0.5) < 0.02);  // 5 is the midpoint of 4 and 6
}
