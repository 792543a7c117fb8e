#pragma once
// GEMM cases shared by the host test of the HD accumulation routine (test_hd_core.cpp)
// and the GPU comparison program (test_test_cuda_compare.cpp): accumulator specs covering every
// order, chunking, split-K reduction, product rounding, fma=false, Kahan, stochastic
// rounding and fp64; shapes from 1x1x1 to ragged ones; inputs random over many binades
// with zeros, signed zeros, subnormals, huge values, infinities and NaN mixed in.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::test {

inline const std::vector<const char*>& gemm_specs() {
  static const std::vector<const char*> specs = {
      "",
      "acc=bf16",
      "acc=fp16:rz,order=pairwise",
      "acc=fp<e=8,m=13>:sr,seed=7",
      "acc=bf16:sr:8,chunk=5,seed=3",
      "acc=fp16,chunk=7,split=3",
      "acc=bf16,order=tree(3),split=4:reverse",
      "acc=fp16:ru,order=tree(2),chunk=6,split=3:pairwise",
      "acc=bf16,order=tree(5),chunk=11",
      "acc=bf16,prod=e4m3fn,fma=false",
      "acc=fp16:rd,prod=bf16:sr,seed=11,order=pairwise,chunk=9",
      "acc=bf16,kahan=true",
      "acc=fp16:sr,kahan=true,chunk=4,seed=5",
      "acc=e5m2,wide=bf16:rna",
      "acc=fp64,wide=fp64,split=2",
      "acc=fp32:rto,order=pairwise,wide=tf32:rz,chunk=3",
      "acc=fp<e=5,m=3>:rnz,prod=fp<e=6,m=4>:rto,order=tree(4),split=5:pairwise,fma=false",
      "acc=bf16:sr:1,wide=fp16:sr:4,chunk=2,split=7,seed=99",
  };
  return specs;
}

struct GemmShapeCase {
  sim::Index M, N, K;
  bool transpose_b;
  bool bias;
};

inline const std::vector<GemmShapeCase>& gemm_shapes() {
  static const std::vector<GemmShapeCase> shapes = {
      {1, 1, 1, false, false}, {1, 1, 2, false, true}, {3, 5, 0, false, true},
      {5, 3, 17, true, false},  {7, 19, 33, false, true}, {16, 16, 64, true, true},
      {4, 37, 130, false, false}, {2, 3, 300, true, true},
  };
  return shapes;
}

// A float over many binades (2^-30 .. 2^12), with a sprinkling of special values when
// `specials` is set.
inline float gemm_input(std::mt19937_64& gen, bool specials) {
  const double u = std::uniform_real_distribution<double>(1.0, 2.0)(gen);
  const int e = int(gen() % 43) - 30;
  float x = float(std::ldexp(u, e)) * ((gen() & 1) ? -1.0f : 1.0f);
  if (specials) {
    switch (gen() % 64) {
      case 0: x = 0.0f; break;
      case 1: x = -0.0f; break;
      case 2: x = std::numeric_limits<float>::denorm_min() * float(gen() % 1000 + 1); break;
      case 3: x = 6.0e37f; break;
      case 4: x = std::numeric_limits<float>::infinity(); break;
      case 5: x = std::numeric_limits<float>::quiet_NaN(); break;
      default: break;
    }
  }
  return x;
}

inline sim::TensorF gemm_matrix(sim::Index rows, sim::Index cols, std::mt19937_64& gen, bool specials) {
  sim::TensorF t(sim::Shape{rows, cols});
  for (sim::Index r = 0; r < rows; ++r)
    for (sim::Index c = 0; c < cols; ++c) t.at({r, c}) = gemm_input(gen, specials);
  return t;
}

}  // namespace bitsim::test
