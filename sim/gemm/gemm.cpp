// The fast GEMM: the accumulation definition of sim/README.md ("GEMM") computed for a tile
// of kRows x kCols outputs at once, each lane running exactly the reference's sequence of
// roundings for its own output. Lanes are independent, so the vectoriser works across
// outputs and tiles run in parallel without changing any result. The common case (rne
// sequential sums into fp32, bf16, fp16, ...) runs as float32 FMAs on AVX-512
// (TileKernel::fma_chunk), with the lanes it cannot vouch for recomputed by the definition.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include <cblas.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "formats/lattice_rounding.hpp"
#include "sim/device_kernels.hpp"
#include "sim/gemm/accumulation.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/gemm/gemm_shapes.hpp"

namespace bitsim::sim {
namespace {

using namespace accumulation;
using formats::LatticePlan;
using formats::RandomStream;
using formats::Rounding;

constexpr int kRows = 4;                 // output rows per tile
constexpr int kCols = 16;                // output columns per tile (two AVX-512 double vectors)
constexpr int kLanes = kRows * kCols;

using Bits = std::uint64_t;

// The lane loops are written for GCC to vectorise: `flatten` inlines the rounding into the
// loop, and jump threading and PRE are turned off because they turn round_pattern's
// selects into branches that if-conversion cannot undo (as formats/format.cpp explains).
// Only speed depends on this, never a result.
#if defined(__GNUC__) && !defined(__clang__)
#define BITSIM_GEMM_VECTORISE [[gnu::flatten, gnu::optimize("no-thread-jumps", "no-tree-pre")]]
#else
#define BITSIM_GEMM_VECTORISE
#endif

// A format with its rounding, as the kernel uses it: the plan of round_pattern on float64.
struct Target {
  LatticePlan<double> plan;
  formats::RoundingSpec rounding;
  bool to_odd;  // false for fp64: sums are float64's own
  bool fp32_rne;  // fp32 with rne: sums of lanes may use add_lanes_fp32_rne

  explicit Target(const RoundedFormat& rf)
      : plan(formats::make_plan<double>(rf.format.lattice())),
        rounding(rf.rounding),
        to_odd(rf.format.lattice().precision <= 50),
        fp32_rne(rf.format.spec() == "fp32" && rf.rounding.mode == Rounding::nearest_even) {}

  // Run-time mode: for the roundings done once per chunk or per product.
  double round(double x, std::uint32_t random) const {
    return std::bit_cast<double>(formats::round_pattern<double>(
        rounding.mode, std::bit_cast<Bits>(x), plan, random, rounding.random_bits));
  }
  double add(double x, double y, std::uint32_t random) const {
    return round(model_sum(x, y, to_odd), random);
  }
  bool stochastic() const { return rounding.mode == Rounding::stochastic; }
};

// Operands packed once: A as rows of K floats (rows padded to a multiple of kRows with
// zeros), B as panels of kCols columns, [panel][k][kCols] (padded columns zero).
struct Packed {
  Index M = 0, N = 0, K = 0, row_tiles = 0, col_tiles = 0;
  std::vector<float> a, b, bias;
  bool finite = true;  // no inf or NaN in A or B (TileKernel::fma_chunk needs it)
};

Packed pack(const TensorF& a, const TensorF& b, const GemmArgs& args) {
  const GemmShape s = check_gemm_shapes(a, b, args);
  Packed p;
  p.M = s.M, p.N = s.N, p.K = s.K;
  p.row_tiles = (s.M + kRows - 1) / kRows;
  p.col_tiles = (s.N + kCols - 1) / kCols;
  p.a.assign(std::size_t(p.row_tiles * kRows * s.K), 0.0f);
  p.b.assign(std::size_t(p.col_tiles * kCols * s.K), 0.0f);
  const float* ad = a.data();
  const Index as0 = a.strides()[0], as1 = a.strides()[1];
  std::atomic<bool> finite = true;
  tbb::parallel_for(Index(0), s.M, [&](Index m) {
    bool row_finite = true;
    for (Index k = 0; k < s.K; ++k) {
      const float x = ad[m * as0 + k * as1];
      p.a[std::size_t(m * s.K + k)] = x;
      row_finite &= std::isfinite(x);
    }
    if (!row_finite) finite = false;
  });
  const float* bd = b.data();
  const Index bk = args.transpose_b ? b.strides()[1] : b.strides()[0];
  const Index bn = args.transpose_b ? b.strides()[0] : b.strides()[1];
  tbb::parallel_for(Index(0), p.col_tiles, [&](Index t) {
    bool panel_finite = true;
    for (Index k = 0; k < s.K; ++k)
      for (Index j = 0; j < kCols && t * kCols + j < s.N; ++j) {
        const float x = bd[k * bk + (t * kCols + j) * bn];
        p.b[std::size_t((t * s.K + k) * kCols + j)] = x;
        panel_finite &= std::isfinite(x);
      }
    if (!panel_finite) finite = false;
  });
  p.finite = finite;
  if (args.bias) {
    const TensorF bias = args.bias->contiguous();
    p.bias.assign(bias.span().begin(), bias.span().end());
  }
  return p;
}

// One tile's lanes: lane l = row i * kCols + column j.
using Lanes = double[kLanes];

struct TileContext {
  const Packed& p;
  const AccumSpec& spec;
  Index m0, n0;           // first output row and column
  RandomStream rng[kLanes];

  TileContext(const Packed& packed, const AccumSpec& s, Index row_tile, Index col_tile)
      : p(packed), spec(s), m0(row_tile * kRows), n0(col_tile * kCols) {
    for (int i = 0; i < kRows; ++i)
      for (int j = 0; j < kCols; ++j)
        rng[i * kCols + j] = {s.seed, std::uint64_t((m0 + i) * p.N + n0 + j)};
  }
  const float* a_row(int i) const { return p.a.data() + (m0 + i) * p.K; }
  const float* b_row(Index k) const { return p.b.data() + ((n0 / kCols) * p.K + k) * kCols; }
  std::uint32_t word(int lane, std::int64_t key, Role role) const {
    return rng[lane].word(word_index(key, role));
  }
};

// How TileKernel::fma_chunk rounds float32 sums into the accumulator format (fma_sums).
struct FmaSums {
  int cut = 0;                    // float32 mantissa bits the format lacks
  bool checked = false;           // results outside [min_normal, limit] (or 0) are flagged
  std::uint32_t min_normal = 0;   // float32 patterns of magnitudes
  std::uint32_t limit = 0;        // largest float32 that rounds to at most the format's max
};

// The per-add rounding into the accumulator, with the mode and plan shape known at
// compile time so the lane loops vectorise.
template <Rounding Mode, class PlanShape>
struct Accumulate {
  LatticePlan<double> plan;
  int random_bits = 32;
  bool to_odd = true;
  // Which faster lane loops apply (fixed per GEMM; see the loops below).
  std::optional<LatticePlan<float>> float_plan;  // add_lanes_float applies
  bool fp32 = false;                             // add_lanes_fp32_rne applies (with rne)
  std::optional<FmaSums> fma;                    // fma_chunk applies

  double add(double x, double y, std::uint32_t random) const {
    const double s = model_sum(x, y, to_odd);
    return std::bit_cast<double>(formats::round_pattern<Mode, double, PlanShape>(
        std::bit_cast<Bits>(s), plan, random, random_bits));
  }
  double round(double x, std::uint32_t random) const {
    return std::bit_cast<double>(formats::round_pattern<Mode, double, PlanShape>(
        std::bit_cast<Bits>(x), plan, random, random_bits));
  }
};

// sum[l] = acc(sum[l] + p[l]) for every lane: the loop every per-add rounding goes through.
template <Rounding Mode, class PlanShape>
[[gnu::noinline]] BITSIM_GEMM_VECTORISE void add_lanes(
    double* __restrict sum, const double* __restrict p, const std::uint32_t* __restrict w,
    const LatticePlan<double>& shared_plan, bool to_odd, int random_bits) {
  const LatticePlan<double> plan = shared_plan;
  for (int l = 0; l < kLanes; ++l) {
    const double s = model_sum(sum[l], p[l], to_odd);
    sum[l] = std::bit_cast<double>(formats::round_pattern<Mode, double, PlanShape>(
        std::bit_cast<Bits>(s), plan, w[l], random_bits));
  }
}

// The same for deterministic modes and accumulator formats that float32 can carry (at most
// 21 mantissa bits, quanta from 2^-147, max below FLT_MAX: bf16, fp16, fp<e=8,m=13>, ...):
// the round-to-odd float64 sum goes to float32 rounded to odd once more (which equals the
// exact sum rounded to odd at 24 bits, still >= 2 bits more than the format), and is then
// rounded by round_pattern on float32, whose lane loop vectorises where float64's does not.
// Same result bit for bit as add_lanes: both round the exact sum correctly.
template <Rounding Mode>
[[gnu::noinline]] BITSIM_GEMM_VECTORISE void add_lanes_float(
    double* __restrict sum, const double* __restrict p, const LatticePlan<float>& shared_plan) {
  const LatticePlan<float> plan = shared_plan;
  for (int l = 0; l < kLanes; ++l) {
    const double s = model_sum(sum[l], p[l], true);
    const float nearest = float(s);
    const double back = double(nearest);
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(nearest);
    // Toward zero (rne went up in magnitude: one pattern down), then odd if inexact.
    const std::uint32_t truncated = std::fabs(back) > std::fabs(s) ? bits - 1 : bits;
    const std::uint32_t odd = back != s ? truncated | 1u : truncated;
    sum[l] = double(std::bit_cast<float>(
        formats::round_pattern<Mode, float, formats::PlainFloat>(odd, plan)));
  }
}

// fp32 with rne: the round-to-odd float64 sum converted to float32 by the hardware's own
// nearest-even conversion is the correctly rounded exact sum (53 >= 24 + 2 bits).
[[gnu::noinline]] BITSIM_GEMM_VECTORISE void add_lanes_fp32_rne(double* __restrict sum,
                                                                const double* __restrict p) {
  for (int l = 0; l < kLanes; ++l) sum[l] = double(float(model_sum(sum[l], p[l], true)));
}

// rne, the common case (fp32, bf16, fp16, ...), without the round-to-odd step: the float64 rne sum s rounds like
// the exact sum unless s lies exactly on a midpoint of the format (float64 rounding never
// crosses a midpoint, which is a float64 value; it can only land on one). Rounding to p
// mantissa bits is then integer rounding of the pattern at bit cut = 52 - p, ties to the
// even pattern, valid while the result stays in the format's normal range (or is 0).
// Writes the new sums to `next` and returns true, or returns false when any lane lands on a
// midpoint or leaves that range; the caller then runs a general loop on `sum`.
[[gnu::noinline]] BITSIM_GEMM_VECTORISE bool add_lanes_rne_normal(
    const double* __restrict sum, const double* __restrict p, double* __restrict next, int cut,
    Bits min_normal, Bits max) {
  using Int = std::int64_t;
  constexpr Bits sign_bit = Bits(1) << 63;
  const Bits half = Bits(1) << (cut - 1);
  const Bits below_cut = (Bits(1) << cut) - 1;
  Bits outside = 0;
  for (int l = 0; l < kLanes; ++l) {
    const Bits x = std::bit_cast<Bits>(sum[l] + p[l]);
    const Bits sign = x & sign_bit;
    const Bits magnitude = x ^ sign;
    const Bits odd = (magnitude >> cut) & 1;
    const Bits rounded = (magnitude + (half - 1) + odd) & ~below_cut;
    const bool normal = (Int(magnitude) >= Int(min_normal)) & (Int(rounded) <= Int(max));
    const bool midpoint = (magnitude & below_cut) == half;
    const bool fine = (normal | (magnitude == 0)) & !midpoint;
    outside |= fine ? Bits(0) : Bits(1);
    next[l] = std::bit_cast<double>(rounded | sign);
  }
  return outside == 0;
}

bool float_carries(const LatticePlan<double>& plan, const formats::Lattice& l) {
  return formats::fits_shape(plan, formats::PlainFloat{}) && l.precision <= 21 &&
         l.min_quantum >= -147 && l.max_positive < double(std::numeric_limits<float>::max());
}

// Whether sequential rne sums into `acc` can run as float32 FMAs (TileKernel::fma_chunk),
// and how. The format must be a signed minifloat of at most 22 mantissa bits (or fp32) whose
// normal range lies in float32's: its normal values are then exactly the float32 values in
// that range with the last `cut` mantissa bits zero. Formats with float32's whole range and
// subnormals (fp32: cut 0; tf32: 13; fp<e=8,m=13>: 10; bf16: 16) need no range check;
// others (fp16, e5m2, fp<e=6,m=9>, ...) flag results outside their normal range. A float32
// sum of 0 is the format's 0 of the same sign (hence the -0 condition).
std::optional<FmaSums> fma_sums(const RoundedFormat& acc) {
  if (acc.rounding.mode != Rounding::nearest_even) return std::nullopt;
  const LatticePlan<float> plan = formats::make_plan<float>(acc.format.lattice());
  const int cut = 23 - plan.precision;
  if (cut < 0 || cut > 22 || !formats::fits_shape(plan, formats::PlainSigned{}) ||
      !plan.has_negative_zero || plan.max_negative != plan.max_positive ||
      plan.min_normal < 0x00800000u)
    return std::nullopt;
  const std::uint32_t quantum = std::uint32_t(1) << cut;
  FmaSums f;
  f.cut = cut;
  f.checked = !(plan.subnormals && plan.min_normal == 0x00800000u && plan.min_positive == quantum &&
                plan.max_positive == 0x7f800000u - quantum);
  f.min_normal = plan.min_normal;
  // Below max + half an ulp, rounding goes to max at most (midpoints are flagged anyway).
  f.limit = plan.max_positive + (cut > 0 ? (quantum >> 1) - 1 : 0);
  return (cut == 0 && f.checked) ? std::nullopt : std::optional<FmaSums>(f);
}

// Random words of one accumulator rounding for every lane (zeros unless stochastic).
template <Rounding Mode>
void draw(const TileContext& t, std::int64_t key, Role role, std::uint32_t (&words)[kLanes]) {
  if constexpr (Mode == Rounding::stochastic) {
    for (int l = 0; l < kLanes; ++l) words[l] = t.word(l, key, role);
  } else {
    (void)t, (void)key, (void)role, (void)words;
  }
}

template <Rounding Mode, class PlanShape>
class TileKernel {
 public:
  TileKernel(const TileContext& t, const Accumulate<Mode, PlanShape>& acc,
             std::vector<double>& buffer)
      : t_(t), acc_(acc), q_(buffer) {}

  // The chunk [lo, hi) summed in the accumulator format, into `out`.
  void chunk(std::int64_t lo, std::int64_t hi, Lanes& out) {
    const AccumSpec& spec = t_.spec;
    const bool plain_products = !spec.product && spec.fma;
    if (spec.order == SumOrder::sequential && !spec.kahan && plain_products) {
      sequential_fused(lo, hi, out);
      return;
    }
    fill_products(lo, hi);
    if (spec.order == SumOrder::sequential) {
      spec.kahan ? kahan(lo, hi, out) : sequential(lo, hi, out);
      return;
    }
    if (hi - lo == 1) {  // a lone product is still read out in the accumulator format
      std::uint32_t w[kLanes] = {};
      draw<Mode>(t_, lo, kAdd, w);
      for (int l = 0; l < kLanes; ++l) out[l] = acc_.round(row(lo)[l], w[l]);
      return;
    }
    spec.order == SumOrder::pairwise ? pairwise(lo, hi) : tree(lo, hi, spec.fan_out);
    std::copy_n(row(lo), kLanes, out);
  }

 private:
  double* row(std::int64_t k) { return q_.data() + (k - base_) * kLanes; }

  // The hot loop: products formed and added in one pass, no buffer (fma_chunk first,
  // where it applies and succeeds).
  BITSIM_GEMM_VECTORISE void sequential_fused(std::int64_t lo, std::int64_t hi, Lanes& out) {
    if constexpr (Mode == Rounding::nearest_even) {
      if (t_.p.finite && acc_.fma) {
        const FmaSums& f = *acc_.fma;
        if (f.cut == 0 ? fma_chunk<false, false>(lo, hi, out)
                       : f.checked ? fma_chunk<true, true>(lo, hi, out)
                                   : fma_chunk<true, false>(lo, hi, out))
          return;
      }
    }
    // Local copies: no store through `sum` can then change them, so they stay in registers.
    const Accumulate<Mode, PlanShape> acc = acc_;
    Lanes sums[2] = {};
    double* sum = sums[0];   // the running sums
    double* next = sums[1];  // where add_lanes_rne_normal writes the next ones
    std::uint32_t w[kLanes] = {};
    const float* a_rows[kRows];
    for (int i = 0; i < kRows; ++i) a_rows[i] = t_.a_row(i);
    Lanes p;
    for (std::int64_t k = lo; k < hi; ++k) {
      draw<Mode>(t_, k, kAdd, w);
      const float* b = t_.b_row(k);
      for (int i = 0; i < kRows; ++i) {
        const double a = a_rows[i][k];
        for (int j = 0; j < kCols; ++j) p[i * kCols + j] = a * double(b[j]);
      }
      if constexpr (Mode != Rounding::stochastic && std::is_same_v<PlanShape, formats::PlainFloat>) {
        if (acc.fp32 || acc.float_plan) {
          if constexpr (Mode == Rounding::nearest_even) {
            if (add_lanes_rne_normal(sum, p, next, 52 - acc.plan.precision, acc.plan.min_normal,
                                     acc.plan.max_positive)) {
              std::swap(sum, next);
              continue;
            }
          }
          if (acc.float_plan) {
            add_lanes_float<Mode>(sum, p, *acc.float_plan);
            continue;
          }
          if (Mode == Rounding::nearest_even) {
            add_lanes_fp32_rne(sum, p);
            continue;
          }
        }
      }
      add_lanes<Mode, PlanShape>(sum, p, w, acc.plan, acc.to_odd, acc.random_bits);
    }
    std::copy_n(sum, kLanes, out);
  }

#if defined(__AVX512F__)
  static_assert(kCols == 16, "fma_chunk holds a row of the tile in one vector of 16 floats");
  // Sequential rne sums of plain products into a format fma_sums accepts, one vector of 16
  // float32 sums per tile row. A step is one float32 FMA, i.e. the exact sum + a·b rounded
  // once to float32 (rne), then (Round: formats narrower than fp32) that pattern rounded at
  // bit `cut` with ties away from zero. Both equal the definition's rounding of the exact
  // sum unless the float32 sum lies exactly on a midpoint of the format: float32 rounding
  // cannot cross a midpoint (it is a float32 value), only land on one, and off midpoints
  // ties do not arise. Lanes that land on one are flagged (the low bits of pattern + half
  // are zero), and so are (Checked) lanes whose float32 sum is neither 0 nor inside the
  // format's normal range [min_normal, limit]; a flagged lane's block of steps is
  // recomputed by the definition from the block's start. Gives up (returns false) when any
  // sum ends non-finite, leaving the chunk to the general loop, which owns the exact
  // patterns. Inputs are finite (Packed::finite), so a non-finite sum is an overflow to
  // +-inf, which stays: the check at the chunk's end sees it.
  template <bool Round, bool Checked>
  bool fma_chunk(std::int64_t lo, std::int64_t hi, Lanes& out) {
    const FmaSums& f = *acc_.fma;
    // A lane lands on a midpoint about once in 2^cut steps, and costs a block of scalar
    // steps then: blocks of 2^(cut - 10), within [4, 32], keep that near a tenth of the time.
    // fp32 (no rounding step) flags nothing: one block.
    const std::int64_t block =
        Round ? std::clamp<std::int64_t>(std::int64_t(1) << std::max(f.cut - 10, 0), 4, 32) : hi - lo;
    const __m512i half = _mm512_set1_epi32(Round ? int(1u << (f.cut - 1)) : 0);
    const __m512i below = _mm512_set1_epi32(int((1u << f.cut) - 1));
    const __m512i kept = _mm512_set1_epi32(int(~((1u << f.cut) - 1)));
    const __m512i magnitude_bits = _mm512_set1_epi32(0x7fffffff);
    const __m512i min_normal = _mm512_set1_epi32(int(f.min_normal));
    const __m512i normal_span = _mm512_set1_epi32(int(f.limit - f.min_normal));
    // Lanes of the tile inside C (the others hold padding: never recomputed).
    const Index cols = std::min<Index>(t_.p.N - t_.n0, kCols);
    const auto row_lanes = __mmask16(cols == kCols ? 0xffffu : (1u << cols) - 1);
    const float* a_rows[kRows];
    for (int i = 0; i < kRows; ++i) a_rows[i] = t_.a_row(i);
    __m512 sum[kRows];
    for (int i = 0; i < kRows; ++i) sum[i] = _mm512_setzero_ps();
    for (std::int64_t k0 = lo; k0 < hi; k0 += block) {
      const std::int64_t k1 = std::min(k0 + block, hi);
      __m512 start[kRows];
      __mmask16 fine[kRows];
      for (int i = 0; i < kRows; ++i) start[i] = sum[i], fine[i] = 0xffff;
      for (std::int64_t k = k0; k < k1; ++k) {
        const __m512 b = _mm512_loadu_ps(t_.b_row(k));
        for (int i = 0; i < kRows; ++i) {
          const __m512 x = _mm512_fmadd_ps(_mm512_set1_ps(a_rows[i][k]), b, sum[i]);
          if constexpr (Round) {
            const __m512i bits = _mm512_castps_si512(x);
            const __m512i up = _mm512_add_epi32(bits, half);
            fine[i] = _mm512_mask_test_epi32_mask(fine[i], up, below);
            if constexpr (Checked) {
              // |x| in [min_normal, limit] (one unsigned compare), or x = 0.
              const __m512i magnitude = _mm512_and_si512(bits, magnitude_bits);
              const __mmask16 normal =
                  _mm512_cmple_epu32_mask(_mm512_sub_epi32(magnitude, min_normal), normal_span);
              fine[i] &= normal | _mm512_testn_epi32_mask(magnitude, magnitude);
            }
            sum[i] = _mm512_castsi512_ps(_mm512_and_si512(up, kept));
          } else {
            sum[i] = x;
          }
        }
      }
      for (int i = 0; i < kRows; ++i) {
        const auto redo = __mmask16(~fine[i] & (t_.m0 + i < t_.p.M ? row_lanes : 0));
        if (redo != 0) sum[i] = redo_lanes(i, redo, start[i], k0, k1, sum[i]);
      }
    }
    const __m512i exponent = _mm512_set1_epi32(0x7f800000);
    alignas(64) float lanes[kCols];
    for (int i = 0; i < kRows; ++i) {
      const __m512i bits = _mm512_and_si512(_mm512_castps_si512(sum[i]), exponent);
      if (_mm512_cmpeq_epi32_mask(bits, exponent) != 0) return false;
      _mm512_store_ps(lanes, sum[i]);
      for (int j = 0; j < kCols; ++j) out[i * kCols + j] = double(lanes[j]);
    }
    return true;
  }

  // The lanes of row i in `redo` recomputed over steps [k0, k1) by the definition.
  __m512 redo_lanes(int i, __mmask16 redo, __m512 start, std::int64_t k0, std::int64_t k1,
                    __m512 sum) const {
    alignas(64) float from[kCols], to[kCols];
    _mm512_store_ps(from, start);
    _mm512_store_ps(to, sum);
    const float* a = t_.a_row(i);
    for (int j = 0; j < kCols; ++j) {
      if (!(redo >> j & 1)) continue;
      double s = from[j];
      for (std::int64_t k = k0; k < k1; ++k) s = acc_.add(s, double(a[k]) * double(t_.b_row(k)[j]), 0);
      to[j] = float(s);  // a value of the format (or non-finite, which the caller rejects)
    }
    return _mm512_load_ps(to);
  }
#else
  template <bool Round, bool Checked>
  bool fma_chunk(std::int64_t, std::int64_t, Lanes&) {
    return false;  // without AVX-512 the lane loops below do all the work
  }
#endif

  // q_k for every lane, with the product roundings of the definition.
  void fill_products(std::int64_t lo, std::int64_t hi) {
    base_ = lo;
    q_.resize(std::size_t((hi - lo) * kLanes));
    const AccumSpec& spec = t_.spec;
    std::optional<Target> product;
    if (spec.product) product.emplace(*spec.product);
    const Target acc_target(spec.accumulator);
    for (std::int64_t k = lo; k < hi; ++k) {
      const float* b = t_.b_row(k);
      double* q = row(k);
      for (int i = 0; i < kRows; ++i) {
        const double a = t_.a_row(i)[k];
        for (int j = 0; j < kCols; ++j) q[i * kCols + j] = a * double(b[j]);
      }
      for (int l = 0; l < kLanes; ++l) {
        if (product)
          q[l] = product->round(q[l], product->stochastic() ? t_.word(l, k, kProductRound) : 0);
        if (!spec.fma)
          q[l] = acc_target.round(q[l], acc_target.stochastic() ? t_.word(l, k, kProductToAcc) : 0);
      }
    }
  }

  void sequential(std::int64_t lo, std::int64_t hi, Lanes& out) {
    Lanes sum = {};
    std::uint32_t w[kLanes] = {};
    for (std::int64_t k = lo; k < hi; ++k) {
      draw<Mode>(t_, k, kAdd, w);
      const double* q = row(k);
      for (int l = 0; l < kLanes; ++l) sum[l] = acc_.add(sum[l], q[l], w[l]);
    }
    std::copy_n(sum, kLanes, out);
  }

  void kahan(std::int64_t lo, std::int64_t hi, Lanes& out) {
    Lanes sum = {}, c = {};
    std::uint32_t wy[kLanes] = {}, wt[kLanes] = {}, wd[kLanes] = {}, wc[kLanes] = {};
    for (std::int64_t k = lo; k < hi; ++k) {
      draw<Mode>(t_, k, kAdd, wy);
      draw<Mode>(t_, k, kKahanSum, wt);
      draw<Mode>(t_, k, kKahanDiff, wd);
      draw<Mode>(t_, k, kKahanComp, wc);
      const double* q = row(k);
      for (int l = 0; l < kLanes; ++l) {
        const double y = acc_.add(q[l], -c[l], wy[l]);
        const double total = acc_.add(sum[l], y, wt[l]);
        c[l] = acc_.add(acc_.add(total, -sum[l], wd[l]), -y, wc[l]);
        sum[l] = total;
      }
    }
    std::copy_n(sum, kLanes, out);
  }

  // row(lo) += row(mid), keyed by mid.
  void add_rows(std::int64_t into, std::int64_t from) {
    std::uint32_t w[kLanes] = {};
    draw<Mode>(t_, from, kAdd, w);
    double* x = row(into);
    const double* y = row(from);
    for (int l = 0; l < kLanes; ++l) x[l] = acc_.add(x[l], y[l], w[l]);
  }

  // Recursive halving, the result left in row(lo).
  void pairwise(std::int64_t lo, std::int64_t hi) {
    if (hi - lo == 1) return;
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    pairwise(lo, mid);
    pairwise(mid, hi);
    add_rows(lo, mid);
  }

  // Level by level: an item of level v starts at row lo + g * f^v and is its first leaf.
  void tree(std::int64_t lo, std::int64_t hi, int f) {
    for (std::int64_t stride = 1; stride < hi - lo; stride *= f)
      for (std::int64_t g = lo; g < hi; g += stride * f)
        for (std::int64_t c = g + stride; c < std::min(g + stride * f, hi); c += stride)
          add_rows(g, c);
  }

  const TileContext& t_;
  const Accumulate<Mode, PlanShape>& acc_;
  std::vector<double>& q_;
  std::int64_t base_ = 0;
};

// One tile, all of the definition: parts, chunks, promotion, split-K reduction, bias.
template <Rounding Mode, class PlanShape, class Out>
void run_tile(const TileContext& t, const Accumulate<Mode, PlanShape>& acc, const Target& wide,
              std::vector<double>& buffer, Out* c) {
  const AccumSpec& spec = t.spec;
  const Index K = t.p.K;
  TileKernel<Mode, PlanShape> kernel(t, acc, buffer);
  std::vector<double> parts(std::size_t(spec.split) * kLanes, 0.0);
  auto part = [&](int j) { return parts.data() + std::size_t(j) * kLanes; };
  auto wide_add = [&](double* x, const double* y, std::int64_t key, Role role) {
    if (wide.fp32_rne) return add_lanes_fp32_rne(x, y);  // the default wide format
    for (int l = 0; l < kLanes; ++l)
      x[l] = wide.add(x[l], y[l], wide.stochastic() ? t.word(l, key, role) : 0);
  };
  Lanes chunk_sum;
  for (int j = 0; j < spec.split; ++j) {
    const std::int64_t begin = part_begin(K, spec.split, j), end = part_begin(K, spec.split, j + 1);
    const std::int64_t length = spec.chunk > 0 ? spec.chunk : end - begin;
    for (std::int64_t c0 = begin; c0 < end; c0 += length) {
      kernel.chunk(c0, std::min(c0 + length, end), chunk_sum);
      wide_add(part(j), chunk_sum, c0, kPromote);
    }
  }
  double* total = part(0);
  switch (spec.split_reduce) {
    case SplitReduce::sequential:
      for (int j = 1; j < spec.split; ++j) wide_add(total, part(j), j, kReduce);
      break;
    case SplitReduce::reverse:
      total = part(spec.split - 1);
      for (int j = spec.split - 2; j >= 0; --j) wide_add(total, part(j), j + 1, kReduce);
      break;
    case SplitReduce::pairwise: {
      auto rec = [&](auto&& self, int lo, int hi) -> void {
        if (hi - lo == 1) return;
        const int mid = lo + (hi - lo + 1) / 2;
        self(self, lo, mid);
        self(self, mid, hi);
        wide_add(part(lo), part(mid), mid, kReduce);
      };
      rec(rec, 0, spec.split);
      break;
    }
  }
  for (int i = 0; i < kRows && t.m0 + i < t.p.M; ++i) {
    for (int j = 0; j < kCols && t.n0 + j < t.p.N; ++j) {
      const int l = i * kCols + j;
      double v = total[l];
      if (!t.p.bias.empty())
        v = wide.add(v, double(t.p.bias[std::size_t(t.n0 + j)]),
                     wide.stochastic() ? t.word(l, 0, kReduce) : 0);
      c[(t.m0 + i) * t.p.N + t.n0 + j] = Out(v);
    }
  }
}

template <Rounding Mode, class PlanShape, class Out>
void run_all(const Packed& p, const AccumSpec& spec, Out* c) {
  const Target acc_target(spec.accumulator), wide(spec.wide);
  Accumulate<Mode, PlanShape> acc;
  acc.plan = acc_target.plan;
  acc.random_bits = spec.accumulator.rounding.random_bits;
  acc.to_odd = acc_target.to_odd;
  const formats::Lattice lattice = spec.accumulator.format.lattice();
  if (float_carries(acc.plan, lattice)) acc.float_plan = formats::make_plan<float>(lattice);
  acc.fp32 = spec.accumulator.format.spec() == "fp32";
  acc.fma = fma_sums(spec.accumulator);
  tbb::enumerable_thread_specific<std::vector<double>> buffers;
  // Consecutive tiles go down one panel of B, which then stays in cache while A streams
  // (a panel is 16 columns x K, four times a tile's rows of A).
  tbb::parallel_for(Index(0), p.row_tiles * p.col_tiles, [&](Index tile) {
    const TileContext t(p, spec, tile % p.row_tiles, tile / p.row_tiles);
    run_tile(t, acc, wide, buffers.local(), c);
  });
}

// The one run-time -> compile-time dispatch: accumulator rounding mode and plan shape.
template <class Out>
void run_defined(const Packed& p, const AccumSpec& spec, Out* c) {
  const auto plan = formats::make_plan<double>(spec.accumulator.format.lattice());
  const bool plain = formats::fits_shape(plan, formats::PlainFloat{});
  formats::with_rounding_mode(spec.accumulator.rounding.mode, [&]<Rounding M>() {
    if (plain) run_all<M, formats::PlainFloat>(p, spec, c);
    else run_all<M, formats::AnyPlan>(p, spec, c);
  });
}

// How cblas_sgemm reads a matrix [rows, cols] in place: row-major rows `ld` apart, or
// (transposed) row-major columns `ld` apart. Empty when neither (the caller copies).
struct BlasOperand {
  const float* data;
  CBLAS_TRANSPOSE trans;
  int ld;
};

std::optional<BlasOperand> blas_operand(const float* data, Index rows, Index cols, Index row_stride,
                                        Index col_stride) {
  const auto fits = [](Index ld, Index n) { return ld >= std::max<Index>(n, 1) && ld <= INT32_MAX; };
  if (col_stride == 1 && fits(row_stride, cols)) return BlasOperand{data, CblasNoTrans, int(row_stride)};
  if (row_stride == 1 && fits(col_stride, rows)) return BlasOperand{data, CblasTrans, int(col_stride)};
  return std::nullopt;
}

// FP32 in the BLAS library's order: C = A·B (+ bias, in float). Operands that are row-major
// or transposed views of row-major matrices (linear_backward's dyᵀ, xᵀ, Wᵀ) are read in
// place through sgemm's transpose flags; OpenBLAS packs either layout into the same panels,
// so the sums are those of a contiguous copy (tests/sim/test_linear_views.cpp checks it).
// Anything else is copied first. C is written in full (beta = 0).
void run_blas(const TensorF& a, const TensorF& b, const GemmArgs& args, TensorF& c) {
  const GemmShape s = check_gemm_shapes(a, b, args);
  if (s.M > 0 && s.N > 0 && s.K > 0) {
    // B as the [K, N] matrix of the product, whichever way it was given.
    const Index bk = args.transpose_b ? b.strides()[1] : b.strides()[0];
    const Index bn = args.transpose_b ? b.strides()[0] : b.strides()[1];
    std::optional<BlasOperand> oa = blas_operand(a.data(), s.M, s.K, a.strides()[0], a.strides()[1]);
    std::optional<BlasOperand> ob = blas_operand(b.data(), s.K, s.N, bk, bn);
    TensorF ac, bc;  // copies, only when an operand cannot be read in place
    if (!oa) ac = a.contiguous(), oa = BlasOperand{ac.data(), CblasNoTrans, int(s.K)};
    if (!ob) {
      bc = b.contiguous();
      ob = BlasOperand{bc.data(), args.transpose_b ? CblasTrans : CblasNoTrans, int(args.transpose_b ? s.K : s.N)};
    }
    cblas_sgemm(CblasRowMajor, oa->trans, ob->trans, int(s.M), int(s.N), int(s.K), 1.0f, oa->data, oa->ld,
                ob->data, ob->ld, 0.0f, c.data(), int(s.N));
  } else {
    std::fill_n(c.data(), c.numel(), 0.0f);  // an empty reduction: C = 0 (+ bias)
  }
  if (args.bias) {
    const TensorF bias = args.bias->contiguous();
    const float* bv = bias.data();
    float* cd = c.data();
    for (Index m = 0; m < s.M; ++m)
      for (Index n = 0; n < s.N; ++n) cd[m * s.N + n] += bv[n];
  }
}

template <class Out>
Tensor<Out> run(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  spec.validate();
  const GemmShape s = check_gemm_shapes(a, b, args);
  Tensor<Out> c(Shape{s.M, s.N}, uninitialized);  // both paths write every element
  if (spec.order == SumOrder::blas) {
    if constexpr (std::is_same_v<Out, float>) {
      run_blas(a, b, args, c);
    } else {
      TensorF cf(Shape{s.M, s.N}, uninitialized);
      run_blas(a, b, args, cf);
      c = cf.cast<double>();
    }
    return c;
  }
  if (s.M == 0 || s.N == 0) return c;
  const Packed p = pack(a, b, args);
  run_defined(p, spec, c.data());
  return c;
}

}  // namespace

TensorF gemm(const TensorF& a, const TensorF& b, const AccumSpec& spec, const GemmArgs& args) {
  if (auto on_gpu = device::gemm(a, b, spec, args)) return std::move(*on_gpu);  // sim/device.hpp
  return run<float>(a, b, spec, args);
}

TensorD gemm_double(const TensorF& a, const TensorF& b, const AccumSpec& spec,
                    const GemmArgs& args) {
  if (auto on_gpu = device::gemm_double(a, b, spec, args)) return std::move(*on_gpu);  // sim/device.hpp
  return run<double>(a, b, spec, args);
}

}  // namespace bitsim::sim
