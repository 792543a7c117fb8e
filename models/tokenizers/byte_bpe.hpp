#pragma once
// Byte-level BPE, the tokenizer of GPT-2 and of the Llama-class models bitsim runs
// (SmolLM2: "tokenizer.ggml.model = gpt2", pre-tokenizer "smollm").
//
// encode(text):
//  1. Control tokens (GGUF token type 3, e.g. <|im_start|>) written literally in the text
//     are taken as single tokens when parse_special is on (as llama.cpp does for prompts).
//  2. Pre-tokenization splits the rest into pieces. "smollm" (and the StarCoder family)
//     first isolates every digit (\p{N}), then applies GPT-2's pattern
//        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     "gpt2" applies the pattern alone. The pattern is matched by hand (std::regex has no
//     \p classes); Unicode classes come from ICU.
//  3. Each piece's UTF-8 bytes are mapped to printable characters (GPT-2's byte-to-unicode
//     table: printable Latin-1 bytes stand for themselves, the others for U+0100 upward)
//     and merged pairwise, always the adjacent pair of lowest merge rank first, until no
//     pair has a rank. The resulting symbols are vocabulary entries.
// The pattern sees an invalid UTF-8 byte as U+FFFD, but the pieces keep the original bytes,
// so decode(encode(bytes)) == bytes for any byte string.
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizers/tokenizer.hpp"

namespace bitsim::models {

class GgufFile;

enum class PreTokenizer { gpt2, smollm };

// The printable character (UTF-8) that stands for `byte` in token texts and merges.
const std::string& byte_level_symbol(unsigned char byte);

class ByteBpeTokenizer : public Tokenizer {
 public:
  // tokens[i] is token i's text (in byte-to-unicode form); merges are "left right" strings,
  // highest priority first; control lists the ids of control tokens.
  ByteBpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges,
                   PreTokenizer pre, std::vector<TokenId> control = {});
  // From GGUF metadata (tokenizer.ggml.{model,pre,tokens,merges,token_type}); throws
  // LoadError for other tokenizer models or unknown pre-tokenizers (listing the valid ones).
  static ByteBpeTokenizer from_gguf(const GgufFile& file);

  std::vector<TokenId> encode(std::string_view text) const override;
  std::vector<TokenId> encode(std::string_view text, bool parse_special) const;
  std::string decode(const std::vector<TokenId>& ids) const override;
  std::size_t vocab_size() const override { return tokens_.size(); }
  const std::string& token(TokenId id) const override;

  // The pre-tokenizer's pieces (UTF-8), for tests and inspection.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  void encode_piece(const std::string& piece, std::vector<TokenId>& out) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, TokenId> ids_;
  std::unordered_map<std::string, int> merge_rank_;  // "left right" -> rank
  PreTokenizer pre_;
  std::vector<TokenId> control_;
  std::map<unsigned char, std::string> byte_to_symbol_;
  std::unordered_map<std::string, unsigned char> symbol_to_byte_;
};

}  // namespace bitsim::models
