#include "models/tokenizers/bpe_trainer.hpp"

#include <algorithm>
#include <cstdint>
#include <queue>
#include <stdexcept>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace bitsim::models {
namespace {

using Symbol = std::int32_t;
using PairKey = std::uint64_t;  // (left << 32) | right: ordering keys orders (left, right)

PairKey pair_key(Symbol left, Symbol right) { return (PairKey(std::uint32_t(left)) << 32) | std::uint32_t(right); }
Symbol left_of(PairKey k) { return Symbol(k >> 32); }
Symbol right_of(PairKey k) { return Symbol(k & 0xFFFFFFFFu); }

struct Word {
  std::vector<Symbol> symbols;
  std::int64_t count = 0;
};

// Max-heap order: more occurrences first, then the smaller (left, right).
struct Candidate {
  std::int64_t count;
  PairKey key;
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : key > o.key; }
};

// The distinct pre-tokenized pieces of `text` as words of byte symbols, in byte order
// (the order does not change the result; it only makes runs easy to compare).
std::vector<Word> count_words(std::string_view text, PreTokenizer pre) {
  std::vector<std::string> bytes(256);
  for (int b = 0; b < 256; ++b) bytes[std::size_t(b)] = byte_level_symbol(static_cast<unsigned char>(b));
  const ByteBpeTokenizer splitter(bytes, {}, pre);
  std::unordered_map<std::string, std::int64_t> counts;
  for (auto& piece : splitter.pre_tokenize(text)) ++counts[std::move(piece)];
  std::vector<std::pair<std::string, std::int64_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [piece, count] : sorted) {
    Word w;
    w.count = count;
    for (unsigned char b : piece) w.symbols.push_back(Symbol(b));
    words.push_back(std::move(w));
  }
  return words;
}

// Replaces every (left, right) in `symbols`, left to right without overlap, by `merged`.
std::vector<Symbol> merge_pair(const std::vector<Symbol>& symbols, Symbol left, Symbol right, Symbol merged) {
  std::vector<Symbol> out;
  out.reserve(symbols.size());
  for (std::size_t i = 0; i < symbols.size(); ++i) {
    if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
      out.push_back(merged);
      ++i;
    } else {
      out.push_back(symbols[i]);
    }
  }
  return out;
}

}  // namespace

BpeVocabulary train_byte_bpe(std::string_view text, std::size_t vocab_size, PreTokenizer pre) {
  if (vocab_size < 256)
    throw std::invalid_argument("BPE vocabulary size " + std::to_string(vocab_size) +
                                " is smaller than the 256 byte tokens it starts from (valid: >= 256)");
  BpeVocabulary v;
  v.pre = pre;
  std::unordered_map<std::string, Symbol> ids;
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(byte_level_symbol(static_cast<unsigned char>(b)));
    ids.emplace(v.tokens.back(), Symbol(b));
  }
  std::vector<Word> words = count_words(text, pre);

  // Occurrences of every adjacent pair (weighted by word counts), the words holding each
  // pair (may hold words that lost it since: checked on use), and a heap of candidates
  // whose stale entries (count no longer current) are skipped when they surface.
  std::unordered_map<PairKey, std::int64_t> pair_count;
  std::unordered_map<PairKey, std::vector<std::int32_t>> pair_words;
  auto note_word = [&](PairKey k, std::int32_t w) {
    auto& list = pair_words[k];
    if (list.empty() || list.back() != w) list.push_back(w);
  };
  for (std::size_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w].symbols;
    for (std::size_t i = 0; i + 1 < s.size(); ++i) {
      pair_count[pair_key(s[i], s[i + 1])] += words[w].count;
      note_word(pair_key(s[i], s[i + 1]), std::int32_t(w));
    }
  }
  std::priority_queue<Candidate> heap;
  for (const auto& [k, c] : pair_count) heap.push({c, k});

  while (v.tokens.size() < vocab_size) {
    while (!heap.empty()) {
      const auto it = pair_count.find(heap.top().key);
      if (it != pair_count.end() && it->second == heap.top().count) break;
      heap.pop();
    }
    if (heap.empty() || heap.top().count < 2) break;
    const PairKey best = heap.top().key;
    heap.pop();
    const Symbol left = left_of(best), right = right_of(best);
    const std::string merged_text = v.tokens[std::size_t(left)] + v.tokens[std::size_t(right)];
    v.merges.push_back(v.tokens[std::size_t(left)] + ' ' + v.tokens[std::size_t(right)]);
    Symbol merged;
    if (const auto it = ids.find(merged_text); it != ids.end()) {
      merged = it->second;
    } else {
      merged = Symbol(v.tokens.size());
      v.tokens.push_back(merged_text);
      ids.emplace(merged_text, merged);
    }

    std::vector<std::int32_t> holders = std::move(pair_words[best]);
    pair_words.erase(best);
    std::sort(holders.begin(), holders.end());
    holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
    // Each rewritten word gives back all its pairs and takes its new ones; the net change
    // per pair is applied once, so only pairs whose count moved get a new heap entry.
    std::unordered_map<PairKey, std::int64_t> delta;
    for (const std::int32_t w : holders) {
      Word& word = words[std::size_t(w)];
      auto& s = word.symbols;
      bool holds = false;
      for (std::size_t i = 0; i + 1 < s.size() && !holds; ++i) holds = s[i] == left && s[i + 1] == right;
      if (!holds) continue;
      for (std::size_t i = 0; i + 1 < s.size(); ++i) delta[pair_key(s[i], s[i + 1])] -= word.count;
      s = merge_pair(s, left, right, merged);
      for (std::size_t i = 0; i + 1 < s.size(); ++i) {
        const PairKey k = pair_key(s[i], s[i + 1]);
        delta[k] += word.count;
        if (s[i] == merged || s[i + 1] == merged) note_word(k, w);
      }
    }
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      auto& count = pair_count[k];
      count += d;
      if (count == 0) pair_count.erase(k);
      else heap.push({count, k});
    }
  }
  return v;
}

ByteBpeTokenizer BpeVocabulary::tokenizer() const { return ByteBpeTokenizer(tokens, merges, pre); }

std::string BpeVocabulary::to_tokenizer_json() const {
  using json = nlohmann::ordered_json;
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = json::array();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = pre == PreTokenizer::smollm
                           ? json{{"type", "Sequence"},
                                  {"pretokenizers", json::array({json{{"type", "Digits"}, {"individual_digits", true}}, byte_level})}}
                           : byte_level;
  j["post_processor"] = nullptr;
  j["decoder"] = byte_level;
  json vocab = json::object();
  // A token text can repeat only through a merge that rebuilt an existing text, which adds
  // no token; so texts and ids are one to one.
  for (std::size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},
                {"byte_fallback", false},
                {"vocab", vocab},
                {"merges", merges}};
  return j.dump();
}

}  // namespace bitsim::models
