#pragma once
// Sentence-embedding metrics of a quantized encoder against the reference, over a set of
// sentences embedded by both (one vector [d] per sentence, same order), in float64:
//   cosine_mean, cosine_min  cosine(reference_i, test_i) over the sentences
//   retrieval_top1           fraction of sentences i whose nearest neighbour j != i (largest
//                            cosine among the other sentences, first on ties) is the same
//                            in both runs
//   retrieval_mrr            mean over i of 1 / (rank, in the test run's ordering of the
//                            other sentences, of the reference's nearest neighbour):
//                            1 when every nearest neighbour is kept
// With fewer than two sentences the retrieval figures are 1.
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::models {

struct EmbeddingMetrics {
  double cosine_mean = 1, cosine_min = 1;
  double retrieval_top1 = 1, retrieval_mrr = 1;
};

// Throws std::invalid_argument when the lists or shapes differ.
EmbeddingMetrics embedding_metrics(const std::vector<sim::TensorF>& reference, const std::vector<sim::TensorF>& test);

}  // namespace bitsim::models
