#pragma once
// Language-model metrics of a quantized run against the reference run over the same
// tokens, all in float64: logits row t predicts token t + 1.
//   perplexity = exp(mean over t < T-1 of -log softmax(test_t)[id_{t+1}])
//   KL_t       = KL(softmax(ref_t) || softmax(test_t)) in nats, all T rows; mean, p99, max
//                (p99: the smallest KL_t with at least 99 % of rows at or below it)
//   top-1      = fraction of rows whose argmax agrees with the reference's (first on ties)
//   SQNR       = of the logits, sim::compare's definition
// Rows holding a non-finite logit in either run count in `nonfinite_rows` and are left out.
#include <cstdint>
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::models {

struct NextTokenMetrics {
  std::int64_t rows = 0, nonfinite_rows = 0;
  double perplexity = 0, reference_perplexity = 0;
  double kl_mean = 0, kl_p99 = 0, kl_max = 0;
  double top1 = 1;
  double logits_sqnr_db = 0;
};

NextTokenMetrics next_token_metrics(const sim::TensorF& reference_logits, const sim::TensorF& test_logits,
                                    const std::vector<std::int32_t>& tokens);

}  // namespace bitsim::models
