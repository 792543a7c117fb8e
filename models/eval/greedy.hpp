#pragma once
// Greedy decoding with any decoder session (LlamaSession, Gpt2Session), and the comparison
// of two decodings: the first step where the tokens differ and the token-level agreement.
#include <algorithm>
#include <cstdint>
#include <vector>

namespace bitsim::models {

// The `steps` tokens a session picks greedily (argmax, first on ties) after `prompt`: one
// prefill, then one incremental step per token. The session is reset first.
template <class Session>
std::vector<std::int32_t> greedy_decode(Session& session, const std::vector<std::int32_t>& prompt, int steps) {
  session.reset();
  std::vector<std::int32_t> out;
  if (steps <= 0 || prompt.empty()) return out;
  auto logits = session.forward(prompt);
  for (int n = 0; n < steps; ++n) {
    const auto vocab = std::size_t(logits.shape()[1]);
    const auto row = logits.span().subspan((std::size_t(logits.shape()[0]) - 1) * vocab, vocab);
    const auto next = std::int32_t(std::max_element(row.begin(), row.end()) - row.begin());
    out.push_back(next);
    if (n + 1 < steps) logits = session.forward({next});
  }
  return out;
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
