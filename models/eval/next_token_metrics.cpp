#include "models/eval/next_token_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sim/metrics/metrics.hpp"

namespace bitsim::models {
namespace {

// log softmax of one row, in double.
std::vector<double> log_softmax(std::span<const float> row) {
  const double peak = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (float v : row) sum += std::exp(double(v) - peak);
  const double lse = peak + std::log(sum);
  std::vector<double> out(row.size());
  for (std::size_t i = 0; i < row.size(); ++i) out[i] = double(row[i]) - lse;
  return out;
}

bool finite_row(std::span<const float> row) {
  return std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); });
}

}  // namespace

NextTokenMetrics next_token_metrics(const sim::TensorF& reference_logits, const sim::TensorF& test_logits,
                                    const std::vector<std::int32_t>& tokens) {
  if (reference_logits.shape() != test_logits.shape() || reference_logits.rank() != 2 ||
      reference_logits.shape()[0] != std::int64_t(tokens.size()))
    throw std::invalid_argument("next_token_metrics: logits " + sim::shape_string(reference_logits.shape()) +
                                " and " + sim::shape_string(test_logits.shape()) + " for " +
                                std::to_string(tokens.size()) + " tokens");
  const auto ref = reference_logits.contiguous(), test = test_logits.contiguous();
  const std::size_t vocab = std::size_t(ref.shape()[1]);
  NextTokenMetrics m;
  std::vector<double> kls;
  double nll = 0, ref_nll = 0;
  std::int64_t predicted = 0, agree = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    const auto r = ref.span().subspan(t * vocab, vocab), q = test.span().subspan(t * vocab, vocab);
    if (!finite_row(r) || !finite_row(q)) {
      ++m.nonfinite_rows;
      continue;
    }
    const auto lr = log_softmax(r), lq = log_softmax(q);
    double kl = 0;
    for (std::size_t i = 0; i < vocab; ++i) kl += std::exp(lr[i]) * (lr[i] - lq[i]);
    kls.push_back(std::max(kl, 0.0));
    agree += std::max_element(r.begin(), r.end()) - r.begin() == std::max_element(q.begin(), q.end()) - q.begin();
    if (t + 1 < tokens.size()) {
      const auto next = std::size_t(tokens[t + 1]);
      nll -= lq.at(next);
      ref_nll -= lr.at(next);
      ++predicted;
    }
  }
  m.rows = std::int64_t(kls.size());
  if (predicted > 0) {
    m.perplexity = std::exp(nll / double(predicted));
    m.reference_perplexity = std::exp(ref_nll / double(predicted));
  }
  if (!kls.empty()) {
    double sum = 0;
    for (double k : kls) sum += k;
    m.kl_mean = sum / double(kls.size());
    std::sort(kls.begin(), kls.end());
    m.kl_max = kls.back();
    m.kl_p99 = kls[std::min(kls.size() - 1, std::size_t(std::ceil(0.99 * double(kls.size()))) - 1)];
    m.top1 = double(agree) / double(kls.size());
  }
  m.logits_sqnr_db = sim::compare(ref, test).sqnr_db;
  return m;
}

}  // namespace bitsim::models
