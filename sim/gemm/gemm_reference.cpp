// The literal reference: the accumulation definition of sim/README.md ("GEMM"), one output
// at a time, every rounding through Format::round. Written for clarity, not speed.
#include <stdexcept>
#include <vector>

#include "sim/gemm/accumulation.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/gemm/gemm_shapes.hpp"

namespace bitsim::sim {
namespace {

using namespace accumulation;
using formats::RandomStream;

// One format with its rounding, bound to one output's random stream.
struct Rounder {
  const RoundedFormat& rf;
  RandomStream rng;
  bool to_odd = rf.format.lattice().precision <= 50;  // fp64 adds in float64 itself

  double round(double x, std::int64_t key, Role role) const {
    return rf.format.round(x, rf.rounding, rng, word_index(key, role));
  }
  double add(double x, double y, std::int64_t key, Role role) const {
    return round(model_sum(x, y, to_odd), key, role);
  }
};

// Sum of q[lo, hi) by recursive halving (left part ceil(n/2)); each addition is keyed by
// the first index of its right operand.
double pairwise(const std::vector<double>& q, std::int64_t lo, std::int64_t hi, const Rounder& r,
                Role role) {
  if (hi - lo == 1) return q[lo];
  const std::int64_t mid = lo + (hi - lo + 1) / 2;
  const double left = pairwise(q, lo, mid, r, role);
  const double right = pairwise(q, mid, hi, r, role);
  return r.add(left, right, mid, role);
}

// Level-by-level tree: groups of f consecutive items summed left to right.
double tree(const std::vector<double>& q, std::int64_t lo, std::int64_t hi, int f,
            const Rounder& r) {
  struct Item { double value; std::int64_t first; };
  std::vector<Item> level;
  for (std::int64_t k = lo; k < hi; ++k) level.push_back({q[k], k});
  while (level.size() > 1) {
    std::vector<Item> next;
    for (std::size_t g = 0; g < level.size(); g += std::size_t(f)) {
      Item sum = level[g];
      for (std::size_t i = g + 1; i < level.size() && i < g + std::size_t(f); ++i)
        sum.value = r.add(sum.value, level[i].value, level[i].first, kAdd);
      next.push_back(sum);
    }
    level = std::move(next);
  }
  return level[0].value;
}

// The chunk q[lo, hi) summed in the accumulator format.
double chunk_sum(const std::vector<double>& q, std::int64_t lo, std::int64_t hi,
                 const AccumSpec& spec, const Rounder& acc) {
  if (spec.order == SumOrder::sequential && spec.kahan) {
    double sum = 0, c = 0;
    for (std::int64_t k = lo; k < hi; ++k) {
      const double y = acc.add(q[k], -c, k, kAdd);
      const double t = acc.add(sum, y, k, kKahanSum);
      c = acc.add(acc.add(t, -sum, k, kKahanDiff), -y, k, kKahanComp);
      sum = t;
    }
    return sum;
  }
  if (spec.order == SumOrder::sequential) {
    double sum = 0;
    for (std::int64_t k = lo; k < hi; ++k) sum = acc.add(sum, q[k], k, kAdd);
    return sum;
  }
  // A lone product is still read out in the accumulator format.
  if (hi - lo == 1) return acc.round(q[lo], lo, kAdd);
  return spec.order == SumOrder::pairwise ? pairwise(q, lo, hi, acc, kAdd)
                                          : tree(q, lo, hi, spec.fan_out, acc);
}

double output_value(const std::vector<double>& q, const AccumSpec& spec, const Rounder& acc,
                    const Rounder& wide, std::optional<double> bias) {
  const std::int64_t K = std::int64_t(q.size());
  std::vector<double> parts(std::size_t(spec.split), 0.0);
  for (int j = 0; j < spec.split; ++j) {
    const std::int64_t begin = part_begin(K, spec.split, j), end = part_begin(K, spec.split, j + 1);
    const std::int64_t length = spec.chunk > 0 ? spec.chunk : end - begin;
    double promoted = 0;
    for (std::int64_t c = begin; c < end; c += length) {
      const double chunk = chunk_sum(q, c, std::min(c + length, end), spec, acc);
      promoted = wide.add(promoted, chunk, c, kPromote);
    }
    parts[std::size_t(j)] = promoted;
  }
  double total = parts[0];
  switch (spec.split_reduce) {
    case SplitReduce::sequential:
      for (int j = 1; j < spec.split; ++j) total = wide.add(total, parts[std::size_t(j)], j, kReduce);
      break;
    case SplitReduce::reverse:
      total = parts[std::size_t(spec.split - 1)];
      for (int j = spec.split - 2; j >= 0; --j)
        total = wide.add(total, parts[std::size_t(j)], j + 1, kReduce);
      break;
    case SplitReduce::pairwise:
      total = pairwise(parts, 0, spec.split, wide, kReduce);
      break;
  }
  if (bias) total = wide.add(total, *bias, 0, kReduce);
  return total;
}

}  // namespace

TensorD gemm_reference(const TensorF& a, const TensorF& b, const AccumSpec& spec,
                       const GemmArgs& args) {
  spec.validate();
  if (spec.order == SumOrder::blas)
    throw std::invalid_argument("gemm_reference: order=blas has no defined addition order; "
                                "use gemm() or another order");
  const GemmShape shape = check_gemm_shapes(a, b, args);
  const auto M = shape.M, N = shape.N, K = shape.K;
  TensorD c(Shape{M, N});
  std::vector<double> q(static_cast<std::size_t>(K));
  for (Index m = 0; m < M; ++m) {
    for (Index n = 0; n < N; ++n) {
      const RandomStream rng{spec.seed, std::uint64_t(m * N + n)};
      const Rounder acc{spec.accumulator, rng};
      const Rounder wide{spec.wide, rng};
      for (Index k = 0; k < K; ++k) {
        const float bv = args.transpose_b ? b.at({n, k}) : b.at({k, n});
        double p = double(a.at({m, k})) * double(bv);  // exact: 24 + 24 bits
        if (spec.product) p = Rounder{*spec.product, rng}.round(p, k, kProductRound);
        if (!spec.fma) p = acc.round(p, k, kProductToAcc);
        q[std::size_t(k)] = p;
      }
      std::optional<double> bias;
      if (args.bias) bias = double(args.bias->at({n}));
      c.at({m, n}) = output_value(q, spec, acc, wide, bias);
    }
  }
  return c;
}

}  // namespace bitsim::sim
