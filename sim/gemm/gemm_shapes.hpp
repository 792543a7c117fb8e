#pragma once
// Shape checks shared by every GEMM entry point (internal).
#include <stdexcept>
#include <string>

#include "sim/gemm/gemm.hpp"

namespace bitsim::sim {

struct GemmShape {
  Index M = 0, N = 0, K = 0;
};

inline GemmShape check_gemm_shapes(const TensorF& a, const TensorF& b, const GemmArgs& args) {
  if (a.rank() != 2 || b.rank() != 2)
    throw std::invalid_argument("gemm: A and B must be matrices (rank 2); got A " +
                                shape_string(a.shape()) + ", B " + shape_string(b.shape()));
  const Index K = a.size(1);
  const Index kb = args.transpose_b ? b.size(1) : b.size(0);
  if (kb != K)
    throw std::invalid_argument("gemm: inner dimensions differ: A " + shape_string(a.shape()) +
                                (args.transpose_b ? ", B^T with B " : ", B ") +
                                shape_string(b.shape()));
  const GemmShape s{a.size(0), args.transpose_b ? b.size(0) : b.size(1), K};
  if (args.bias && (args.bias->rank() != 1 || args.bias->size(0) != s.N))
    throw std::invalid_argument("gemm: bias must have shape [" + std::to_string(s.N) + "]; got " +
                                shape_string(args.bias->shape()));
  return s;
}

}  // namespace bitsim::sim
