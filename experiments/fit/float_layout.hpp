#pragma once
// What Sun et al.'s floating-point law (arXiv:2501.02423, Sec. 4.2-4.3, App. C-D) implies
// once fitted: the best exponent/mantissa split of a bit budget, and the critical data size
// beyond which more tokens raise the loss of low-precision training.
#include <string>

#include "experiments/fit/huber_fit.hpp"

namespace bitsim::experiments::fit {

struct FloatLayout {
  int exponent_bits = 0;
  int mantissa_bits = 0;
  std::string name() const;  // "E4M3"
};

// The split of `total_bits` = 1 (sign) + E + M, E, M >= 0, that maximises
// (E + 0.5)^delta (M + 0.5)^nu, i.e. minimises the law's precision penalty. The continuous
// optimum is M = nu P / (delta + nu) - 0.5; the integer one is searched exhaustively.
FloatLayout optimal_float_layout(int total_bits, double delta, double nu);

// D_crit = [d gamma N^alpha (E+0.5)^delta (M+0.5)^nu / log2 B]^(1 / (2 beta)): the tokens
// at which dL/dD = 0 for a model of N parameters trained in format E, M with block size B.
struct SunConstants {
  double n, alpha, d, beta, epsilon, gamma, delta, nu;
};
SunConstants sun_constants(const FitResult& fit);  // throws unless fit.law == "sun"
double critical_data_size(const SunConstants& c, double params, int exponent_bits,
                          int mantissa_bits, double block);

}  // namespace bitsim::experiments::fit
