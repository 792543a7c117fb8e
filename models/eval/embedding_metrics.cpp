#include "models/eval/embedding_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bitsim::models {
namespace {

double cosine(const sim::TensorF& a, const sim::TensorF& b) {
  const auto x = a.contiguous(), y = b.contiguous();
  const auto xs = x.span(), ys = y.span();
  double dot = 0, xx = 0, yy = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    dot += double(xs[i]) * ys[i];
    xx += double(xs[i]) * xs[i];
    yy += double(ys[i]) * ys[i];
  }
  if (xx == 0 && yy == 0) return 1;
  if (xx == 0 || yy == 0) return 0;
  return dot / std::sqrt(xx * yy);
}

// Other sentences ordered by decreasing similarity to sentence i (stable: first on ties).
std::vector<std::size_t> ranking(const std::vector<sim::TensorF>& set, std::size_t i) {
  std::vector<std::pair<double, std::size_t>> sims;
  for (std::size_t j = 0; j < set.size(); ++j)
    if (j != i) sims.emplace_back(cosine(set[i], set[j]), j);
  std::stable_sort(sims.begin(), sims.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::size_t> order;
  for (const auto& s : sims) order.push_back(s.second);
  return order;
}

}  // namespace

EmbeddingMetrics embedding_metrics(const std::vector<sim::TensorF>& reference, const std::vector<sim::TensorF>& test) {
  if (reference.size() != test.size() || reference.empty())
    throw std::invalid_argument("embedding_metrics: " + std::to_string(reference.size()) + " reference and " +
                                std::to_string(test.size()) + " test embeddings (need the same, non-zero count)");
  EmbeddingMetrics m;
  double sum = 0;
  m.cosine_min = 1;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    if (reference[i].shape() != test[i].shape())
      throw std::invalid_argument("embedding_metrics: shapes " + sim::shape_string(reference[i].shape()) + " and " +
                                  sim::shape_string(test[i].shape()) + " differ");
    const double c = cosine(reference[i], test[i]);
    sum += c;
    m.cosine_min = std::min(m.cosine_min, c);
  }
  m.cosine_mean = sum / double(reference.size());
  if (reference.size() < 2) return m;
  double top1 = 0, mrr = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const auto r = ranking(reference, i), t = ranking(test, i);
    top1 += r[0] == t[0];
    mrr += 1.0 / double(std::find(t.begin(), t.end(), r[0]) - t.begin() + 1);
  }
  m.retrieval_top1 = top1 / double(reference.size());
  m.retrieval_mrr = mrr / double(reference.size());
  return m;
}

}  // namespace bitsim::models
