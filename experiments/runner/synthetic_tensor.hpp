#pragma once
// Synthetic tensors for format studies, reproducible to the bit: every random number comes
// from formats::RandomStream (Philox keyed by the source's seed), turned into the
// distribution by explicit formulas in double (no std:: distributions, whose algorithms
// differ between standard libraries), then rounded once to float32.
//   gaussian        scale * N(0, 1)                          (Box-Muller)
//   laplace         scale * Laplace(0, 1)                    (inverse CDF)
//   student_t       scale * t(nu)                            (Bailey's polar method)
//   with_outliers   the base distribution, with a fraction of the columns (channels)
//                   multiplied by outlier_scale, as LLM activations have (LLM.int8())
// `operand` selects an independent stream: 0 is the tensor X [rows, cols], 1 the GEMM's
// other operand A [gemm_n, cols].
#include "experiments/config/experiment_config.hpp"
#include "sim/tensor.hpp"

namespace bitsim::experiments {

sim::TensorF synthetic_tensor(const SyntheticSource& source, int operand);

}  // namespace bitsim::experiments
