#pragma once
// The accumulation of ONE output element of the GEMM, as sim/README.md ("GEMM") defines it,
// written once for host and device (BITSIM_HD). The CUDA GEMM (sim/cuda/) runs it in one
// thread per output; on the host it is checked bit for bit against gemm() and
// gemm_reference() (tests/cuda/test_hd_core.cpp, label sim).
//
// It holds no storage: product k is recomputed where the definition needs it (each is used
// once per output, and rounding it is a pure function of k), so the routine needs no
// scratch memory on the device. Pairwise sums recurse (depth log2 K); the tree is the
// reference's level-by-level sum restated recursively: an item of level L is the left to
// right sum of its (up to) fan_out children of level L-1, keyed by each child's first product.
#include <bit>
#include <cstdint>

#include "formats/hd.hpp"
#include "formats/lattice_rounding.hpp"
#include "formats/random_stream.hpp"
#include "sim/gemm/accum_spec.hpp"
#include "sim/gemm/accumulation.hpp"

namespace bitsim::sim::accumulation {

// A format with its rounding as plain data (copyable to the device).
struct RoundingTarget {
  formats::LatticePlan<double> plan;
  formats::Rounding mode = formats::Rounding::nearest_even;
  int random_bits = 32;
  bool to_odd = true;  // false for fp64: sums are float64's own

  // x rounded into the format; under stochastic rounding with word (key, role) of `rng`.
  BITSIM_HD double round(double x, const formats::RandomStream& rng, std::int64_t key, Role role) const {
    const std::uint32_t word =
        mode == formats::Rounding::stochastic ? rng.word(word_index(key, role)) : 0u;
    return std::bit_cast<double>(
        formats::round_pattern<double>(mode, std::bit_cast<std::uint64_t>(x), plan, word, random_bits));
  }
  BITSIM_HD double add(double x, double y, const formats::RandomStream& rng, std::int64_t key,
                       Role role) const {
    return round(model_sum(x, y, to_odd), rng, key, role);
  }
};

// AccumSpec (validated, order != blas) restated as plain data.
struct OutputModel {
  bool round_product = false;
  RoundingTarget product, accumulator, wide;
  std::int64_t chunk = 0;
  SumOrder order = SumOrder::sequential;
  int fan_out = 2;
  int split = 1;
  SplitReduce split_reduce = SplitReduce::sequential;
  bool fma = true;
  bool kahan = false;
  std::uint64_t seed = 0;
};

// Host only (make_plan is): the model of a validated spec.
inline RoundingTarget make_rounding_target(const RoundedFormat& rf) {
  const formats::Lattice& l = rf.format.lattice();
  return {formats::make_plan<double>(l), rf.rounding.mode, rf.rounding.random_bits, l.precision <= 50};
}

inline OutputModel make_output_model(const AccumSpec& spec) {
  OutputModel m;
  m.round_product = spec.product.has_value();
  if (spec.product) m.product = make_rounding_target(*spec.product);
  m.accumulator = make_rounding_target(spec.accumulator);
  m.wide = make_rounding_target(spec.wide);
  m.chunk = spec.chunk;
  m.order = spec.order;
  m.fan_out = spec.fan_out;
  m.split = spec.split;
  m.split_reduce = spec.split_reduce;
  m.fma = spec.fma;
  m.kahan = spec.kahan;
  m.seed = spec.seed;
  return m;
}

// One output (m, n): `exact_product(k)` gives double(a[m][k]) * double(b[k][n]) (exact for
// float inputs), `rng` is RandomStream{seed, m * N + n}.
template <class ExactProduct>
struct OutputAccumulator {
  const OutputModel& model;
  const ExactProduct& exact_product;
  formats::RandomStream rng;

  // Product k as the sums see it: rounded into the product format, then (fma = false)
  // into the accumulator format.
  BITSIM_HD double product(std::int64_t k) const {
    double p = exact_product(k);
    if (model.round_product) p = model.product.round(p, rng, k, kProductRound);
    if (!model.fma) p = model.accumulator.round(p, rng, k, kProductToAcc);
    return p;
  }

  // Products [lo, hi) by recursive halving, left part ceil(n/2); additions keyed by the
  // first product of their right operand.
  BITSIM_HD double pairwise(std::int64_t lo, std::int64_t hi) const {
    if (hi - lo == 1) return product(lo);
    const std::int64_t mid = lo + (hi - lo + 1) / 2;
    const double left = pairwise(lo, mid);
    const double right = pairwise(mid, hi);
    return model.accumulator.add(left, right, rng, mid, kAdd);
  }

  // The tree item covering products [first, first + width) ∩ [first, hi).
  BITSIM_HD double tree(std::int64_t first, std::int64_t width, std::int64_t hi) const {
    if (width == 1) return product(first);
    const std::int64_t child = width / model.fan_out;
    double sum = tree(first, child, hi);
    for (int c = 1; c < model.fan_out; ++c) {
      const std::int64_t start = first + c * child;
      if (start >= hi) break;
      sum = model.accumulator.add(sum, tree(start, child, hi), rng, start, kAdd);
    }
    return sum;
  }

  // The chunk [lo, hi) (hi > lo) summed in the accumulator format.
  BITSIM_HD double chunk_sum(std::int64_t lo, std::int64_t hi) const {
    const RoundingTarget& acc = model.accumulator;
    if (model.order == SumOrder::sequential && model.kahan) {
      double sum = 0, c = 0;
      for (std::int64_t k = lo; k < hi; ++k) {
        const double y = acc.add(product(k), -c, rng, k, kAdd);
        const double t = acc.add(sum, y, rng, k, kKahanSum);
        c = acc.add(acc.add(t, -sum, rng, k, kKahanDiff), -y, rng, k, kKahanComp);
        sum = t;
      }
      return sum;
    }
    if (model.order == SumOrder::sequential) {
      double sum = 0;
      for (std::int64_t k = lo; k < hi; ++k) sum = acc.add(sum, product(k), rng, k, kAdd);
      return sum;
    }
    // A lone product is still read out in the accumulator format.
    if (hi - lo == 1) return acc.round(product(lo), rng, lo, kAdd);
    if (model.order == SumOrder::pairwise) return pairwise(lo, hi);
    std::int64_t width = 1;
    while (width < hi - lo) width *= model.fan_out;
    return tree(lo, width, hi);
  }

  // Split-K part j of [0, K): its chunks summed, each promoted into the wide format.
  BITSIM_HD double part(std::int64_t K, int j) const {
    const std::int64_t begin = part_begin(K, model.split, j), end = part_begin(K, model.split, j + 1);
    const std::int64_t length = model.chunk > 0 ? model.chunk : end - begin;
    double promoted = 0;
    for (std::int64_t c = begin; c < end; c += length) {
      const std::int64_t stop = c + length < end ? c + length : end;
      promoted = model.wide.add(promoted, chunk_sum(c, stop), rng, c, kPromote);
    }
    return promoted;
  }

  BITSIM_HD double pairwise_parts(std::int64_t K, int lo, int hi) const {
    if (hi - lo == 1) return part(K, lo);
    const int mid = lo + (hi - lo + 1) / 2;
    const double left = pairwise_parts(K, lo, mid);
    const double right = pairwise_parts(K, mid, hi);
    return model.wide.add(left, right, rng, mid, kReduce);
  }

  // The output value before its conversion to float: parts reduced, then the bias.
  BITSIM_HD double value(std::int64_t K, bool has_bias, double bias) const {
    const RoundingTarget& wide = model.wide;
    const int s = model.split;
    double total = 0;
    switch (model.split_reduce) {
      case SplitReduce::sequential:
        total = part(K, 0);
        for (int j = 1; j < s; ++j) total = wide.add(total, part(K, j), rng, j, kReduce);
        break;
      case SplitReduce::reverse:
        total = part(K, s - 1);
        for (int j = s - 2; j >= 0; --j) total = wide.add(total, part(K, j), rng, j + 1, kReduce);
        break;
      case SplitReduce::pairwise:
        total = pairwise_parts(K, 0, s);
        break;
    }
    if (has_bias) total = wide.add(total, bias, rng, 0, kReduce);
    return total;
  }
};

}  // namespace bitsim::sim::accumulation
