// Spec facts of the block formats, each derived by hand from the spec text
// (../shared/specs/formats.md: OCP MX v1.0, NVFP4, group INT, llama.cpp blocks).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "formats/block/block_quantize.hpp"

using namespace bitsim::formats;

namespace {

struct Result {
  BlockEncoding codes;
  std::vector<float> values;
};

// One row of `x`, quantized and encoded.
Result run(const char* spec, std::vector<float> x, std::size_t rows = 1) {
  const auto f = BlockFormat::parse(spec);
  Result r{block_encode(f, x, rows, x.size() / rows), std::vector<float>(x.size())};
  block_quantize(f, x, rows, x.size() / rows, r.values);
  return r;
}

std::vector<float> block_of(std::vector<float> head, std::size_t n = 32) {
  head.resize(n, 0.0f);
  return head;
}

}  // namespace

TEST_CASE("MXFP4: amax 6 gives scale 2^0 and exact elements; amax 7 clamps to 6 under floor") {
  auto r = run("mxfp4", block_of({6.0f, -3.0f, 0.5f, 1.25f}));
  CHECK(r.codes.scales[0] == 127);  // 2^0
  CHECK(r.codes.elements[0] == 0x7);  // 6
  CHECK(r.codes.elements[1] == 0xD);  // -3
  CHECK(r.values[2] == 0.5f);
  CHECK(r.values[3] == 1.0f);  // 1.25: tie between 1 (code 2, even) and 1.5 (code 3)
  r = run("mxfp4", block_of({7.0f, 1.0f}));
  CHECK(r.codes.scales[0] == 127);  // floor(log2 7) - 2 = 0
  CHECK(r.values[0] == 6.0f);       // 7 rounds past max and clamps
  r = run("mxfp4<rule=ceil>", block_of({7.0f, 1.0f}));
  CHECK(r.codes.scales[0] == 128);  // 7 <= 6 * 2^1
  CHECK(r.values[0] == 8.0f);       // 3.5 -> 4 (tie to the even code 0b110)
  CHECK(r.values[1] == 1.0f);       // 0.5 * 2
  r = run("mxfp4<rule=round>", block_of({7.0f}));
  CHECK(r.codes.scales[0] == 127);  // log2(7/6) = 0.22 rounds to 0
  r = run("mxfp4<rule=round>", block_of({9.0f}));
  CHECK(r.codes.scales[0] == 128);  // log2(9/6) = 0.58 rounds to 1
  r = run("mxfp4<rule=mse>", block_of({7.5f, 7.5f, 7.5f}));
  CHECK(r.codes.scales[0] == 128);  // 2^1: 7.5 -> 8 (error 0.5) beats 2^0: 7.5 -> 6 (error 1.5)
  r = run("mxfp4<rule=mse>", block_of({7.0f, 7.0f, 7.0f}));
  CHECK(r.codes.scales[0] == 127);  // 6 and 8 both miss by 1: the tie keeps the smaller exponent
  r = run("mxfp4<rule=mse>", block_of({6.0f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f, 0.26f}));
  CHECK(r.codes.scales[0] == 127);  // 2^0 loses 0.24 on nine 0.26s (->0.5); 2^-1 clamps 6 -> 3
}

TEST_CASE("MX scale exponents: floor(log2 amax) - emax for every element type, exactly below powers of two") {
  const std::pair<const char*, int> emax[] = {{"mxfp8_e4m3", 8}, {"mxfp8_e5m2", 15}, {"mxfp6_e3m2", 4},
                                              {"mxfp6_e2m3", 2}, {"mxfp4", 2},       {"mxint8", 0}};
  for (const auto& [name, e] : emax) {
    CAPTURE(std::string(name));
    // 7.9999995 is the float below 8: floor(log2) is 2, though log2f rounds it to 3.
    const float below_eight = std::nextafter(8.0f, 0.0f);
    CHECK(run(name, block_of({below_eight})).codes.scales[0] == std::uint64_t(127 + 2 - e));
    CHECK(run(name, block_of({8.0f})).codes.scales[0] == std::uint64_t(127 + 3 - e));
    CHECK(run(name, block_of({-1e-40f})).codes.scales[0] == std::uint64_t(std::max(0, 127 - 133 - e)));
  }
}

TEST_CASE("E8M0 scale clamps at 2^-127 and 2^127") {
  // amax 2^-140: floor rule asks for 2^-148; clamped to 2^-127 (code 0), 2^-13 rounds to 0 in E4M3.
  auto r = run("mxfp8_e4m3", block_of({std::ldexp(1.0f, -140)}));
  CHECK(r.codes.scales[0] == 0);
  CHECK(r.values[0] == 0.0f);
  // emax -3 (max 127/512): amax 2^127 asks for 2^130; clamped to 2^127, the element saturates.
  r = run("mx<elem=int<bits=8,frac=9,narrow=true>>", block_of({std::ldexp(1.0f, 127)}));
  CHECK(r.codes.scales[0] == 254);
  CHECK(r.codes.elements[0] == 127);
  CHECK(r.values[0] == std::ldexp(127.0f / 512, 127));
  // The largest float in MXFP4: 2^125 scale, elements up to 6 * 2^125 < FLT_MAX.
  r = run("mxfp4", block_of({std::numeric_limits<float>::max()}));
  CHECK(r.codes.scales[0] == 252);
  CHECK(r.values[0] == std::ldexp(6.0f, 125));
}

TEST_CASE("MXINT8: k/64 with k clamped to [-127, 127]; 0x80 is never produced") {
  auto r = run("mxint8", block_of({1.99f, -1.999f, 0.5f, 1.0f / 128}));
  CHECK(r.codes.scales[0] == 127);
  CHECK(r.codes.elements[0] == 127);
  CHECK(r.values[0] == 127.0f / 64);
  CHECK(r.codes.elements[1] == 0x81);  // -127.9 -> -128 -> clamped to -127
  CHECK(r.values[1] == -127.0f / 64);
  CHECK(r.values[2] == 0.5f);
  CHECK(r.values[3] == 0.0f);  // 1/128 = 0.5/64: tie to the even k = 0
  r = run("mxint8", block_of({-2.5f, 0.3f}));
  CHECK(r.codes.scales[0] == 128);          // floor(log2 2.5) = 1
  CHECK(r.values[0] == -80.0f / 64 * 2);    // -1.25 * 64 = -80 exactly
  CHECK(r.values[1] == 10.0f / 64 * 2);     // 0.15 * 64 = 9.6 -> 10
}

TEST_CASE("NaN or Inf anywhere in a block: scale NaN and the whole block decodes to NaN") {
  std::vector<float> x(64, 1.0f);
  x[3] = NAN;
  x[40] = -INFINITY;
  for (const char* spec : {"mxfp8_e4m3", "mxfp4", "mxint8", "nvfp4", "int4:sym:g32", "int4:asym:g32", "q8_0", "q4_1"}) {
    CAPTURE(std::string(spec));
    auto r = run(spec, x, 2);  // [2, 32]; NaN and Inf lie in the first block of each row
    const auto f = BlockFormat::parse(spec);
    const BlockGrid g = block_grid(f, 2, 32);
    std::vector<float> decoded(x.size());
    block_decode(f, r.codes, decoded);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::size_t block = i / 32 * g.grid_cols + i % 32 / g.block_cols;
      const bool special = block % g.grid_cols == 0;
      CHECK(f.scale().is_nan_code(r.codes.scales[block]) == special);
      CHECK(std::isnan(r.values[i]) == special);
      CHECK(std::isnan(decoded[i]) == special);
    }
  }
  CHECK(run("mxfp4", x, 2).codes.scales[0] == 0xFF);
  CHECK(run("nvfp4", x, 2).codes.scales[0] == 0x7F);
  x[40] = 1.0f;  // the second row is finite again
  auto r = run("mxfp4", x, 2);
  CHECK(r.codes.scales[1] == 125);  // amax 1: 2^(0 - 2)
  CHECK(r.values[40] == 1.0f);
}

TEST_CASE("all-zero blocks: scale code 0, zero elements, -0 kept where the element has it") {
  std::vector<float> x(32, 0.0f);
  x[1] = -0.0f;
  for (const char* spec : {"mxfp8_e5m2", "mxfp4", "mxint8", "nvfp4", "int4:sym:g32", "int4:asym:g32"}) {
    CAPTURE(std::string(spec));
    auto r = run(spec, x);
    for (auto s : r.codes.scales) CHECK(s == 0);
    for (float v : r.values) CHECK(v == 0.0f);
  }
  auto r = run("mxfp4", x);
  CHECK(r.codes.elements[1] == 0x8);
  CHECK(std::signbit(r.values[1]));
  CHECK(run("mxint8", x).codes.elements[1] == 0);  // integers have no -0
}

TEST_CASE("partial blocks: a short last block per row, scaled on its own") {
  std::vector<float> x(2 * 40);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(i % 40 < 32 ? 100.0 + double(i) : 0.01 * double(i));
  const auto f = BlockFormat::parse("mxfp6_e2m3");
  const auto e = block_encode(f, x, 2, 40);
  CHECK(e.scales.size() == 4);
  for (std::size_t row = 0; row < 2; ++row) {
    const std::vector<float> tail(x.begin() + std::ptrdiff_t(row * 40 + 32), x.begin() + std::ptrdiff_t(row * 40 + 40));
    const auto alone = block_encode(f, tail, 1, 8);
    CHECK(alone.scales[0] == e.scales[row * 2 + 1]);
    for (std::size_t c = 0; c < 8; ++c) CHECK(alone.elements[c] == e.elements[row * 40 + 32 + c]);
  }
}

TEST_CASE("NVFP4 two-level recipe: hand-derived block") {
  // Tensor amax 6 -> s_enc = 2688 / 6 = 448; a block with amax 6 gets stored scale
  // e4m3(6 * (448 / 6)) = 448 and elements x * (448 / 448) = x.
  std::vector<float> x(32, 0.0f);
  x[0] = 6.0f;
  x[1] = -2.5f;       // -2.5 -> tie between 2 and 3 -> 2 (even code)
  x[16] = 0.75f;      // second block: amax 0.75 -> stored e4m3(0.75 * 74.666664) = e4m3(56) = 56
  x[17] = 0.1f;       // 0.1 * (448 / 56) = 0.8 -> 1 (in E2M1, 0.8 lies between 0.5 and 1)
  auto r = run("nvfp4", x);
  CHECK(r.codes.tensor_scale == 448.0f);
  CHECK(r.codes.scales[0] == 0x7E);  // 448
  CHECK(r.values[0] == 6.0f);
  CHECK(r.values[1] == -2.0f);
  const auto f = BlockFormat::parse("nvfp4");
  CHECK(f.scale().decode(r.codes.scales[1]) == 56.0);
  CHECK(r.values[16] == 0.75f);  // 6 * 56 / 448
  CHECK(r.values[17] == 0.125f);  // 1 * 56 / 448
}

TEST_CASE("group INT: symmetric and asymmetric, FP16 scales") {
  auto r = run("int4:sym:g32", block_of({7.0f, -3.5f, 1.0f, -7.0f}));
  CHECK(r.values[0] == 7.0f);  // scale fp16(7 / 7) = 1
  CHECK(r.values[1] == -4.0f);  // -3.5: tie to even
  CHECK(r.codes.elements[3] == 0x9);  // -7 in 4-bit two's complement
  // asym: range [-1, 2] -> scale fp16(3 / 15) = 0.199951171875, zero point round(1 / s) = 5.
  r = run("int4:asym:g32", block_of({-1.0f, 2.0f, 0.0f}));
  CHECK(r.codes.scales[0] == 0x3266);  // fp16 0.199951171875
  CHECK(r.codes.zero_points[0] == 5);
  CHECK(r.codes.elements[0] == 0);
  CHECK(r.codes.elements[1] == 15);
  CHECK(r.values[0] == float(-5 * 0.199951171875));
  CHECK(r.values[1] == float(10 * 0.199951171875));
  CHECK(r.values[2] == 0.0f);  // zero stays exact
}

TEST_CASE("llama.cpp blocks: Q8_0, Q4_0, Q4_1 float32 steps") {
  // Q8_0: amax 127 -> d = 1; roundf rounds ties away.
  auto r = run("q8_0", block_of({127.0f, 2.5f, -2.5f, 0.4f}));
  CHECK(r.values[1] == 3.0f);
  CHECK(r.values[2] == -3.0f);
  CHECK(r.values[3] == 0.0f);
  // Q4_0: the largest magnitude is -8 -> d = -8 / -8 = 1; q = min(15, trunc(x + 8.5)).
  r = run("q4_0", block_of({-8.0f, 7.4f, 0.5f, -0.5f, 7.6f}));
  CHECK(r.codes.elements[0] == 0);
  CHECK(r.values[1] == 7.0f);  // trunc(15.9) = 15
  CHECK(r.values[2] == 1.0f);  // trunc(9.0)
  CHECK(r.values[3] == 0.0f);  // trunc(8.0)
  CHECK(r.values[4] == 7.0f);  // trunc(16.1) = 16 -> min 15
  // Q4_0 with a positive extreme: d = 8 / -8 = -1, so 8 maps to q = 0 and decodes to 8.
  r = run("q4_0", block_of({8.0f, -7.0f}));
  CHECK(r.values[0] == 8.0f);
  CHECK(r.values[1] == -7.0f);
  // Q4_1: min -1, max 14 -> d = 1, m = -1; q = min(15, trunc(x + 1 + 0.5)).
  r = run("q4_1", block_of({-1.0f, 14.0f, 0.4f, 0.6f}));
  CHECK(r.values[0] == -1.0f);
  CHECK(r.values[1] == 14.0f);
  CHECK(r.values[2] == 0.0f);  // trunc(1.9) = 1 -> 1 - 1
  CHECK(r.values[3] == 1.0f);  // trunc(2.1) = 2 -> 2 - 1
}
