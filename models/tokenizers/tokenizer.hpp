#pragma once
// What every tokenizer offers the models: text -> token ids -> text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitsim::models {

using TokenId = std::int32_t;

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Token ids of `text`; no BOS/EOS or [CLS]/[SEP] unless the tokenizer's own template
  // adds them (documented per tokenizer).
  virtual std::vector<TokenId> encode(std::string_view text) const = 0;
  virtual std::string decode(const std::vector<TokenId>& ids) const = 0;
  virtual std::size_t vocab_size() const = 0;
  virtual const std::string& token(TokenId id) const = 0;  // throws std::out_of_range
};

}  // namespace bitsim::models
