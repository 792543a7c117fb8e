// The nearest-even shortcuts of block_quantize's row loops (block_spans.hpp:
// nearest_even_value, group_amax, round_scales, divided_blocks) for the four benchmarked
// formats (mxfp8_e4m3, mxfp4, nvfp4, int4:sym:g128), checked two ways, bit for bit:
// against a literal computation written here from the spec text (value sets enumerated
// from the element and scale codes, quotients in double), and against the library's exact
// per-element path (block_decode(block_encode)). Inputs aim at the shortcuts' edges: ties
// at every lattice midpoint (and one ulp either side), saturation, subnormal elements,
// scales at their limits (and inputs beyond the shortcut's own range), zero blocks, NaN
// and Inf in a block, rows that end in a short block, group boundaries of 16 blocks.
#include <doctest/doctest.h>

#include <algorithm>
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

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// The non-negative values of a format, ascending; index parity is code parity (the
// nearest-even tie-break) for the minifloats and narrow integers used here.
std::vector<double> magnitudes(const Format& f) {
  std::vector<double> v;
  for (std::uint64_t c = 0; c < (std::uint64_t(1) << f.bits()); ++c) {
    const double d = f.decode(c);
    if (std::isfinite(d) && d >= 0 && !std::signbit(d)) v.push_back(d);
  }
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// y rounded to nearest, ties to the even index, saturating at the largest value.
double nearest_even(const std::vector<double>& set, double y) {
  const double a = std::fabs(y);
  double r = set.back();
  if (a < set.back()) {
    const std::size_t i = std::size_t(std::upper_bound(set.begin(), set.end(), a) - set.begin()) - 1;
    const double mid = (set[i] + set[i + 1]) / 2;  // exact: few significant bits
    r = a < mid ? set[i] : a > mid ? set[i + 1] : (i % 2 == 0 ? set[i] : set[i + 1]);
  }
  return std::copysign(r, y);
}

bool finite_block(const float* x, std::size_t n) {
  return std::all_of(x, x + n, [](float v) { return std::isfinite(v); });
}

double block_amax(const float* x, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, double(std::fabs(x[i])));
  return m;
}

// The literal computation of one 1-D block format on a [rows, cols] array, block by block.
std::vector<float> literal(const std::string& name, const std::vector<float>& x, std::size_t rows, std::size_t cols) {
  const BlockFormat f = BlockFormat::parse(name);
  const std::vector<double> elements = magnitudes(f.element()), scales = magnitudes(f.scale());
  const std::size_t len = std::size_t(f.shape().cols);
  std::vector<float> out(x.size());
  // The two-level tensor scale: s_enc = element max * scale max / amax over the finite
  // inputs (NVFP4: 6 * 448 = 2688), in float32, 1 for 0, at most FLT_MAX.
  float amax_tensor = 0;
  for (float v : x) {
    if (std::isfinite(v)) amax_tensor = std::max(amax_tensor, std::fabs(v));
  }
  const float element_max = float(elements.back());
  const float top = element_max * float(scales.back());
  const float s_enc = amax_tensor == 0 ? 1.0f : std::min(top / amax_tensor, std::numeric_limits<float>::max());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c0 = 0; c0 < cols; c0 += len) {
      const std::size_t n = std::min(len, cols - c0);
      const float* xb = x.data() + r * cols + c0;
      float* ob = out.data() + r * cols + c0;
      if (!finite_block(xb, n)) {
        std::fill(ob, ob + n, kNaN);
        continue;
      }
      const double amax = block_amax(xb, n);
      if (f.recipe() == Recipe::two_level_fp32) {
        // Every step in float32 (Transformer Engine order).
        const float stored = float(nearest_even(scales, double(float(amax) * (s_enc * (1.0f / element_max)))));
        const float factor = stored == 0 ? 0.0f : s_enc / stored;
        for (std::size_t i = 0; i < n; ++i) {
          const float q = float(nearest_even(elements, double(xb[i] * factor)));
          ob[i] = (q * stored) / s_enc;
        }
      } else if (name == "int4:sym:g128") {
        if (amax == 0) {
          std::fill(ob, ob + n, 0.0f);
          continue;
        }
        // amax / 7 in double lands on an fp16 tie only when it is one: a tie has 12 bits, and
        // amax - 7 t is 0 or at least an ulp of amax. Likewise x / s below.
        double s = nearest_even(scales, amax / 7.0);
        if (s == 0) s = f.scale().min_subnormal();
        for (std::size_t i = 0; i < n; ++i) ob[i] = float(nearest_even(elements, double(xb[i]) / s) * s) + 0.0f;
      } else {
        // MX: 2^(floor(log2 amax) - emax), clamped to E8M0's [-127, 127]; x / 2^e is exact.
        if (amax == 0) {
          for (std::size_t i = 0; i < n; ++i) ob[i] = std::copysign(0.0f, xb[i]);
          continue;
        }
        const int e = std::clamp(std::ilogb(amax) - f.element_emax(), -127, 127);
        for (std::size_t i = 0; i < n; ++i) {
          ob[i] = float(std::ldexp(nearest_even(elements, std::ldexp(double(xb[i]), -e)), e));
        }
      }
    }
  }
  return out;
}

// Blocks of `len` built to hit the edges; `kind` picks one per block.
void fill_block(const BlockFormat& f, float* b, std::size_t n, int kind, std::mt19937_64& gen) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const std::vector<double> set = magnitudes(f.element());
  const auto midpoints = [&](double unit) {
    // b[0] sets the block's amax to max * unit (MX: the scale is then unit up to a power of
    // two); the others are lattice midpoints times unit, and their float neighbours.
    b[0] = float(set.back() * unit);
    for (std::size_t i = 1; i < n; ++i) {
      const std::size_t k = (i / 3) % (set.size() - 1);
      const float mid = float((set[k] + set[k + 1]) / 2 * unit);
      const float v = i % 3 == 0 ? mid : i % 3 == 1 ? std::nextafter(mid, 0.0f) : std::nextafter(mid, kInf);
      b[i] = (i % 2 ? -v : v);
    }
  };
  switch (kind) {
    case 0:
      for (std::size_t i = 0; i < n; ++i) b[i] = normal(gen);
      break;
    case 1: midpoints(1.0); break;
    case 2: midpoints(std::ldexp(1.0, -20)); break;  // subnormal elements of the lattice
    case 3: midpoints(std::ldexp(1.0, 100)); break;  // shortcut's range still holds
    case 4: midpoints(std::ldexp(1.0, 118)); break;  // beyond it (large exponents)
    case 5:                                          // E8M0 / UE4M3 / fp16 at their limits
      for (std::size_t i = 0; i < n; ++i) b[i] = normal(gen) * 3e38f;
      b[0] = std::numeric_limits<float>::max();
      break;
    case 6:  // subnormal floats: the scale clamps at its least value
      for (std::size_t i = 0; i < n; ++i) b[i] = normal(gen) * 1e-40f;
      break;
    case 7:  // all zero, with signs
      for (std::size_t i = 0; i < n; ++i) b[i] = i % 3 ? 0.0f : -0.0f;
      break;
    case 8:  // one NaN or Inf
      for (std::size_t i = 0; i < n; ++i) b[i] = normal(gen);
      b[n / 2] = gen() % 2 ? kNaN : -kInf;
      break;
    case 9:  // saturation: values past the element max at the block's scale
      for (std::size_t i = 0; i < n; ++i) b[i] = normal(gen);
      b[0] = float(set.back());
      if (n > 1) b[1] = -float(set.back() * 1.9);
      break;
    default:  // tiny next to large: elements far below half a step, and exactly half of it
      for (std::size_t i = 0; i < n; ++i) b[i] = normal(gen) * (i % 2 ? 1e-12f : 1.0f);
      b[0] = 4.0f;
      if (n > 2) b[2] = float(std::ldexp(set[1], std::ilogb(4.0) - f.element_emax()) / 2);
  }
}

std::size_t mismatches(const std::vector<float>& a, const std::vector<float>& b, std::size_t& first) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    // NaN payloads aside, bit for bit (signed zeros included).
    const bool same = std::isnan(a[i]) ? std::isnan(b[i]) : std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(b[i]);
    if (!same && count++ == 0) first = i;
  }
  return count;
}

// Quantizes x ([rows, cols]) by the fast path and by encode + decode (the exact path) and
// checks both against the literal computation, bit for bit; returns the fast result.
std::vector<float> check_against_literal(const char* name, const std::vector<float>& x, std::size_t rows,
                                         std::size_t cols) {
  const BlockFormat f = BlockFormat::parse(name);
  std::vector<float> fast(x.size()), exact(x.size());
  block_quantize(f, x, rows, cols, fast);
  block_decode(f, block_encode(f, x, rows, cols), exact);
  const std::vector<float> expected = literal(name, x, rows, cols);
  std::size_t first = 0;
  const std::size_t against_literal = mismatches(fast, expected, first);
  CAPTURE(first);
  CAPTURE(x[first]);
  CAPTURE(fast[first]);
  CAPTURE(expected[first]);
  CHECK(against_literal == 0);
  CHECK(mismatches(exact, expected, first) == 0);
  return fast;
}

TEST_CASE("the rne shortcuts equal a literal computation and the exact path for the benchmarked formats") {
  for (const char* name : {"mxfp8_e4m3", "mxfp4", "nvfp4", "int4:sym:g128"}) {
    const BlockFormat f = BlockFormat::parse(name);
    const std::size_t len = std::size_t(f.shape().cols);
    // 37 whole blocks (two groups of 16 and a partial one) and a short block of 11.
    const std::size_t rows = 5, cols = 37 * len + 11;
    for (std::uint64_t seed = 0; seed < 4; ++seed) {
      std::mt19937_64 gen(seed);
      std::vector<float> x(rows * cols);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c0 = 0; c0 < cols; c0 += len) {
          // Block kinds cycle differently per row and seed; row 4 has no special blocks at
          // all on seed 0 (every block in the row loop), and row 3 all midpoints.
          const std::size_t b = c0 / len;
          const int kind = r == 4 && seed == 0 ? 0 : r == 3 ? 1 + int(b % 3) : int((b * 7 + r + seed * 3) % 11);
          fill_block(f, x.data() + r * cols + c0, std::min(len, cols - c0), kind, gen);
        }
      }
      const std::string name_text = name;
      CAPTURE(name_text);
      CAPTURE(seed);
      const std::vector<float> fast = check_against_literal(name, x, rows, cols);
      // The same on one thread (blocks never depend on how the range is split).
      std::vector<float> one_thread(x.size());
      {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
        block_quantize(f, x, rows, cols, one_thread);
      }
      std::size_t first = 0;
      CHECK(mismatches(one_thread, fast, first) == 0);
    }
  }
}

// Every float32 exponent through each shortcut (MX: the scale follows amax; group INT and
// NVFP4: the quotients): one block per exponent, elements spread over the block's range.
TEST_CASE("the rne shortcuts equal the literal computation for blocks at every exponent") {
  for (const char* name : {"mxfp8_e4m3", "mxfp4", "nvfp4", "int4:sym:g128"}) {
    const BlockFormat f = BlockFormat::parse(name);
    const std::size_t len = std::size_t(f.shape().cols);
    const std::size_t rows = 1, blocks = 280, cols = blocks * len;
    std::mt19937_64 gen(11);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> x(cols);
    for (std::size_t b = 0; b < blocks; ++b) {
      const int e = int(b) - 150;  // amax 2^-150 (a subnormal's range) .. 2^129 (clamped below)
      for (std::size_t i = 0; i < len; ++i) {
        const float v = std::ldexp(unit(gen), std::min(e, 127));
        x[b * len + i] = std::isfinite(v) ? v : 0.0f;
      }
    }
    // NVFP4 sees one tensor scale for all of them; a second array, one block scaled alone,
    // is in the first test case. Also compare with the per-element path.
    const std::string name_text = name;
    CAPTURE(name_text);
    check_against_literal(name, x, rows, cols);
  }
}


// Block amaxes at and around the block scale's rounding boundaries: NVFP4's UE4M3 scale
// through its subnormals (where y = x * s_enc / stored reaches past 6 and saturates) and
// up to 448, group INT's fp16 scale at its points, midpoints and limits, MX's exponent
// steps. Each block: its amax first (with a sign), the rest spread below it.
TEST_CASE("the rne shortcuts equal the literal computation with block scales at their boundaries") {
  for (const char* name : {"mxfp8_e4m3", "mxfp4", "nvfp4", "int4:sym:g128"}) {
    const BlockFormat f = BlockFormat::parse(name);
    const std::string spec = name;
    const std::vector<double> scales = magnitudes(f.scale());
    std::vector<float> amaxes;
    const auto around = [&](double v) {
      const float a = float(v);
      for (float c : {std::nextafter(a, 0.0f), a, std::nextafter(a, kInf)}) amaxes.push_back(c);
    };
    if (spec == "nvfp4") {
      amaxes.push_back(1.0f);  // the tensor amax: s_enc = 2688, u = amax_b * 448
      for (std::size_t i = 1; i + 1 < scales.size(); ++i) {
        if (i > 24 && i + 6 < scales.size()) continue;
        around(scales[i] / 448);
        around((scales[i] + scales[i + 1]) / 2 / 448);
      }
    } else if (spec == "int4:sym:g128") {
      for (std::size_t i = 1; i + 1 < scales.size(); i += (i < 40 || i + 40 > scales.size()) ? 1 : 97) {
        around(scales[i] * 7);
        around((scales[i] + scales[i + 1]) / 2 * 7);
      }
      around(65504.0 * 7 * 1.5);  // the scale saturates
    } else {
      for (int e = -140; e <= 127; e += 3) around(std::ldexp(1.0, e));
    }
    const std::size_t len = std::size_t(f.shape().cols), blocks = amaxes.size(), cols = blocks * len;
    std::mt19937_64 gen(5);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> x(cols);
    for (std::size_t b = 0; b < blocks; ++b) {
      x[b * len] = b % 2 ? -amaxes[b] : amaxes[b];
      for (std::size_t i = 1; i < len; ++i) x[b * len + i] = amaxes[b] * unit(gen);
    }
    CAPTURE(spec);
    check_against_literal(name, x, 1, cols);
  }
}

// NVFP4's element steps at every E2M1 decision boundary: y = x * factor on each midpoint
// (0.25, 0.75, ..., 5) and 1-2 float32 steps of x either side, for blocks over the whole
// UE4M3 scale range and tensor scales that are not powers of two (so that (q * s) / T
// rounds: a last step computed any other way than the recipe's, e.g. times 1 / T, shows;
// tensor amaxes down to 5e-33 put results of the least block scales in float32's
// subnormal range, where scaling by powers of two stops commuting with rounding. Below
// about 4e-33, s_enc / stored overflows; the recipe's 0 * Inf is not covered here).
TEST_CASE("nvfp4 equals the literal computation at every element decision boundary over many scales") {
  const BlockFormat f = BlockFormat::parse("nvfp4");
  const std::vector<double> elements = magnitudes(f.element()), scales = magnitudes(f.scale());
  const std::size_t len = std::size_t(f.shape().cols);
  for (const float tensor_amax : {1.0f, 3.0f, 7.3f, 1000.1f, 3e-20f, 1e30f, 5e-33f, 1e-32f, 3e-30f, 3e37f, 1e38f}) {
    std::vector<float> x;
    for (std::size_t i = 1; i < scales.size(); ++i) {
      // A block whose amax gives scale ~ scales[i] (u = amax * s_enc / 6; s_enc = 2688 / tensor_amax).
      const float block_amax = float(scales[i] * 6 / 2688 * double(tensor_amax));
      std::vector<float> b(len, 0.0f);
      b[0] = block_amax;
      // The midpoints in x: mid * amax / 6 (y = x * s_enc / stored ~ mid), and neighbours.
      std::size_t j = 1;
      for (std::size_t m = 0; m + 1 < elements.size() && j < len; ++m) {
        const float mid = float((elements[m] + elements[m + 1]) / 2 * double(block_amax) / 6);
        float v = mid;
        const int step = int(j % 5) - 2;  // -2 .. 2 steps of x
        for (int s = 0; s < std::abs(step); ++s) v = std::nextafter(v, step < 0 ? 0.0f : kInf);
        b[j++] = m % 2 ? -v : v;
      }
      x.insert(x.end(), b.begin(), b.end());
    }
    x[1] = tensor_amax;  // the tensor's amax (every block's amax is below it or equal)
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::isfinite(x[i]) ? x[i] : 0.0f;
    // Every step offset at every midpoint: the blocks again with the offsets rotated.
    const std::size_t base = x.size();
    for (int r = 1; r < 5; ++r) {
      for (std::size_t i = 0; i < base; ++i) {
        const std::size_t k = i % len;
        float v = x[i];
        if (k >= 2) {
          for (int s = 0; s < r; ++s) v = std::nextafter(v, kInf * v);
        }
        x.push_back(v);
      }
    }
    const std::size_t cols = x.size();
    CAPTURE(tensor_amax);
    check_against_literal("nvfp4", x, 1, cols);
  }
}

// Two-level variants with wide scale formats (BF16, FP16): block scales far from UE4M3's
// few bits, and the AVX-512 group kernel's last step (a product per half step,
// block_avx512.hpp), which must hand a group back to the division when one of its ratios
// s / s_enc is too close to float32's subnormals. Each group holds 8 ordinary blocks
// (2^-1 .. 2^-8 of the tensor amax) and 8 probes, whose ratios fall by one binade per
// group from about 2^-120.6 to 2^-128.6 (the kernel takes a group only when all of its
// blocks qualify, so the probes share their group with blocks that do). The tensor amaxes
// put the probes' scales inside the scale format's range: with BF16, s_enc is FLT_MAX for
// any tensor amax (6 * BF16's max overflows); with FP16, s_enc = 393024 / amax, whose
// mantissa is made irregular so that the ratios' low bits vary (where a product of the
// half step falls below the normals, it differs from the division only when rounding
// twice meets a tie). E3M1 without specials has steps below 1 at 2^-3 .. 2^-1, so its
// bound lies higher than E2M1's. Blocks whose s_enc / s would overflow (the recipe's 0 * Inf, an open question of
// the spec: formats/block/README.md) are left all zero.
TEST_CASE("two-level variants with wide scales equal the literal computation near float32's limits") {
  struct Case {
    const char* name;
    float tensor_amax;
  };
  for (const Case c : {Case{"mx<elem=e2m1fn,scale=bf16,block=16,tensor=fp32>", 0x1p-20f},
                       Case{"mx<elem=e2m1fn,scale=fp16,block=16,tensor=fp32>", 0x1.3579bep-83f},
                       Case{"mx<elem=e2m1fn,scale=fp16,block=16,tensor=fp32>", 0x1.fedcbap-84f},
                       Case{"mx<elem=fp<e=3,m=1,specials=none>,scale=fp16,block=16,tensor=fp32>", 0x1.3579bep-83f},
                       Case{"mx<elem=fp<e=3,m=1,specials=none>,scale=fp16,block=16,tensor=fp32>", 0x1.fedcbap-84f},
                       Case{"mx<elem=e2m1fn,scale=fp16,block=16,tensor=fp32>", 3e38f},
                       Case{"mx<elem=e2m1fn,scale=bf16,block=16,tensor=fp32>", 1.0f}}) {
    const BlockFormat f = BlockFormat::parse(c.name);
    const std::vector<double> set = magnitudes(f.element());
    const float element_max = float(f.element_max());
    const float top = element_max * float(f.scale().max_value());
    const float s_enc = std::min(top / c.tensor_amax, std::numeric_limits<float>::max());
    const std::size_t len = 16, blocks = 144;  // nine groups of 16
    std::mt19937_64 gen(17);
    std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
    std::vector<float> x(blocks * len, 0.0f);
    std::size_t kept = 0;
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t group = b / 16, position = b % 16;
      // Probes: s / s_enc ~ amax / element_max ~ 2^(-118 - group) / 6, times 1 + j / 8.
      const float amax = position >= 8 ? std::ldexp(element_max / 6 * (1 + float(position - 8) / 8), -118 - int(group))
                                       : std::ldexp(c.tensor_amax, -1 - int(position));
      const float u = amax * (s_enc * (1.0f / element_max));  // s before rounding
      if (u != 0 && !std::isfinite(s_enc / (u * 0.5f))) continue;
      // Odd elements on the element lattice at this block's scale, even ones anywhere.
      for (std::size_t i = 0; i < len; ++i) {
        x[b * len + i] = i % 2 ? amax * float(set[i / 2 % set.size()] / set.back()) : amax * unit(gen);
      }
      x[b * len + (b % 7)] = b % 3 ? amax : -amax;
      ++kept;
    }
    x[0] = c.tensor_amax;
    const std::string name_text = c.name;
    CAPTURE(name_text);
    CAPTURE(c.tensor_amax);
    CHECK(kept >= 120);
    check_against_literal(c.name, x, 1, x.size());
  }
}

}  // namespace
}  // namespace bitsim::formats
