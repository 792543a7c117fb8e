#pragma once
// WordPiece, the tokenizer of BERT-style encoders (all-MiniLM-L6-v2), configured as
// Hugging Face's BertNormalizer + BertPreTokenizer + WordPiece with [CLS]/[SEP] around.
//
// encode(text):
//  1. Normalize: drop NUL, U+FFFD and control characters; every white-space character
//     becomes a space; spaces around each CJK ideograph; when lowercasing (uncased models),
//     strip accents (NFD, then drop non-spacing marks) and lowercase.
//  2. Pre-tokenize: split at white space (dropped) and around every punctuation character
//     (each its own word; ASCII symbols such as $ + < = > ^ ` | ~ count as punctuation).
//  3. WordPiece: each word is cut greedily into the longest vocabulary entries from the
//     left, continuations carrying the "##" prefix; a word longer than 100 characters or
//     with any uncuttable rest becomes [UNK].
//  4. [CLS] ... [SEP] around the result (encode_words() leaves them out).
#include <string>
#include <unordered_map>
#include <vector>

#include "models/tokenizers/tokenizer.hpp"

namespace bitsim::models {

class WordPieceTokenizer : public Tokenizer {
 public:
  explicit WordPieceTokenizer(std::vector<std::string> vocab, bool lowercase = true);
  // vocab.txt: one token per line, the line number is the id. Throws LoadError.
  static WordPieceTokenizer from_vocab_file(const std::string& path, bool lowercase = true);

  std::vector<TokenId> encode(std::string_view text) const override;  // with [CLS], [SEP]
  std::vector<TokenId> encode_words(std::string_view text) const;      // without
  std::string decode(const std::vector<TokenId>& ids) const override;
  std::size_t vocab_size() const override { return vocab_.size(); }
  const std::string& token(TokenId id) const override;

  std::vector<std::string> pre_tokenize(std::string_view text) const;  // steps 1-2, UTF-8
  TokenId cls() const { return cls_; }
  TokenId sep() const { return sep_; }
  TokenId unk() const { return unk_; }

 private:
  TokenId required(const std::string& token) const;

  std::vector<std::string> vocab_;
  std::unordered_map<std::string, TokenId> ids_;
  bool lowercase_;
  TokenId cls_, sep_, unk_;
};

}  // namespace bitsim::models
