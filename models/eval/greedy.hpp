#pragma once
// Greedy decoding with any decoder session (LlamaSession, Gpt2Session), and the comparison
// of two decodings: the first step where the tokens differ and the token-level agreement.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::models {

// Continues greedily from `logits`, the output of the session's last forward: picks the
// argmax of the last row (first on ties, NaN never chosen; -1 when no entry is a number),
// feeds it back (one incremental step per token, through the KV cache) and repeats for
// `steps` tokens. With `top1_probs`, also appends each picked token's probability under
// the softmax of its row (in double; NaN for a row without a number).
template <class Session>
std::vector<std::int32_t> greedy_continue(Session& session, sim::TensorF logits, int steps, std::vector<double>* top1_probs = nullptr) {
  std::vector<std::int32_t> out;
  for (int n = 0; n < steps; ++n) {
    const auto vocab = std::size_t(logits.shape()[1]);
    const auto row = logits.span().subspan((std::size_t(logits.shape()[0]) - 1) * vocab, vocab);
    std::int32_t next = -1;
    for (std::size_t v = 0; v < vocab; ++v)
      if (!std::isnan(row[v]) && (next < 0 || row[v] > row[std::size_t(next)])) next = std::int32_t(v);
    out.push_back(next);
    if (top1_probs) {
      double p = std::numeric_limits<double>::quiet_NaN();
      if (next >= 0) {
        const double top = row[std::size_t(next)];
        double sum = 0;
        for (const float z : row) sum += std::isnan(z) ? 0.0 : std::exp(double(z) - top);
        p = std::isinf(top) ? std::numeric_limits<double>::quiet_NaN() : 1.0 / sum;
      }
      top1_probs->push_back(p);
    }
    if (next < 0) break;  // nothing sensible to feed back: the rest stays undecoded
    if (n + 1 < steps) logits = session.forward({next});
  }
  return out;
}

// The `steps` tokens a session picks greedily (argmax, first on ties) after `prompt`: one
// prefill, then one incremental step per token. The session is reset first.
template <class Session>
std::vector<std::int32_t> greedy_decode(Session& session, const std::vector<std::int32_t>& prompt, int steps,
                                        std::vector<double>* top1_probs = nullptr) {
  session.reset();
  if (steps <= 0 || prompt.empty()) return {};
  return greedy_continue(session, session.forward(prompt), steps, top1_probs);
}

struct GreedyComparison {
  int first_divergence = -1;  // first index where the tokens differ; -1 when none does
  double agreement = 1;       // fraction of positions with equal tokens (1 for empty lists)
};

inline GreedyComparison compare_greedy(const std::vector<std::int32_t>& reference, const std::vector<std::int32_t>& test) {
  GreedyComparison c;
  const std::size_t n = std::max(reference.size(), test.size());
  std::size_t agree = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const bool same = i < reference.size() && i < test.size() && reference[i] == test[i];
    agree += same;
    if (!same && c.first_divergence < 0) c.first_divergence = int(i);
  }
  if (n > 0) c.agreement = double(agree) / double(n);
  return c;
}

}  // namespace bitsim::models
