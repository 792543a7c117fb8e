#pragma once
// The trivial tokenizer of byte-level models (bitsim's trainer, issue #10, writes
// "tokenizer": "bytes" into its checkpoints): token id = byte value, vocabulary 256.
#include <stdexcept>
#include <string>

#include "models/tokenizers/tokenizer.hpp"

namespace bitsim::models {

class ByteTokenizer : public Tokenizer {
 public:
  std::vector<TokenId> encode(std::string_view text) const override {
    std::vector<TokenId> ids;
    ids.reserve(text.size());
    for (char c : text) ids.push_back(TokenId(static_cast<unsigned char>(c)));
    return ids;
  }
  std::string decode(const std::vector<TokenId>& ids) const override {
    std::string text;
    for (TokenId id : ids) text += static_cast<char>(static_cast<unsigned char>(check(id)));
    return text;
  }
  std::size_t vocab_size() const override { return 256; }
  const std::string& token(TokenId id) const override {
    static const auto table = [] {
      std::vector<std::string> t;
      for (int b = 0; b < 256; ++b) t.emplace_back(1, static_cast<char>(b));
      return t;
    }();
    return table[std::size_t(check(id))];
  }

 private:
  static TokenId check(TokenId id) {
    if (id < 0 || id > 255) throw std::out_of_range("byte tokenizer: id " + std::to_string(id) + " is not a byte (0..255)");
    return id;
  }
};

}  // namespace bitsim::models
