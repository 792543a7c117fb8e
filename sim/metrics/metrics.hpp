#pragma once
// Error metrics between a reference tensor and a test tensor of the same shape, computed
// in float64 in row-major order by one sequential loop (deterministic, independent of the
// thread count). Conventions (sim/README.md, "Metrics"):
//
// * Non-finite values: an element where the reference or the test value is NaN or +-Inf
//   is counted (nonfinite_ref, nonfinite_test; a pair with both counts in both) and left
//   out of every other metric, which then covers `count` = the finite pairs.
// * e_i = test_i - ref_i. mse = mean e^2, rmse = sqrt(mse), bias = mean e,
//   max_abs = max |e|; with no finite pair all of them are 0.
// * max_rel = max |e_i| / |ref_i| over pairs with ref_i != 0; pairs with ref_i == 0 are
//   counted in zero_ref and judged by max_abs only (0 when there is no such pair).
// * sqnr_db = 10 log10(sum ref^2 / sum e^2): +inf when the error is 0 (including an
//   all-zero signal reproduced exactly), -inf when the signal is 0 and the error is not.
// * cosine = <ref, test> / (|ref| |test|): 1 when both are zero vectors, 0 when exactly
//   one is.
#include <cstdint>
#include <string>

#include "sim/tensor.hpp"

namespace bitsim::sim {

struct ErrorMetrics {
  Index count = 0;           // finite pairs the metrics below cover
  Index nonfinite_ref = 0;   // elements where the reference is NaN or +-Inf
  Index nonfinite_test = 0;  // elements where the test value is NaN or +-Inf
  Index zero_ref = 0;        // finite pairs with ref == 0 (left out of max_rel)
  double mse = 0, rmse = 0, bias = 0, max_abs = 0, max_rel = 0;
  double sqnr_db = 0, cosine = 1;
};

// Throws std::invalid_argument when the shapes differ.
template <class T>
ErrorMetrics compare(const Tensor<T>& ref, const Tensor<T>& test);

// Metrics over distributions along the last axis (one row = one distribution of logits).
// Rows where either tensor holds a non-finite logit are counted in nonfinite_rows and
// left out; the means cover `rows` = the remaining rows (0 when none remain).
struct LogitMetrics {
  Index rows = 0;
  Index nonfinite_rows = 0;
  double kl = 0;    // mean over rows of KL(softmax(ref) || softmax(test)), in nats
  double top1 = 1;  // fraction of rows whose argmax agrees (first index on ties); 1 with no rows
};

// softmax is computed in double with the max subtracted; KL = sum p (log p - log q) with
// log-probabilities computed as (z - max) - log(sum exp(z - max)), so that p = 0 terms
// contribute 0 and no log(0) occurs. Throws on shape mismatch, rank 0 or an empty last axis.
template <class T>
LogitMetrics compare_logits(const Tensor<T>& ref_logits, const Tensor<T>& test_logits);

std::string to_string(const ErrorMetrics& m);

}  // namespace bitsim::sim
