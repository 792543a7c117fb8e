#pragma once
// Training a byte-level BPE tokenizer (GPT-2 style) on a text, for bitsim's own models
// (issue #10: "a byte-level BPE tokenizer trained on the training split, stored with the
// model"). The result is the representation ByteBpeTokenizer loads, and it is saved and
// read back as a Hugging Face tokenizer.json (tokenizer_json.hpp).
//
// Algorithm (Sennrich et al. 2016, on bytes as GPT-2 does):
//  1. The text is pre-tokenized as ByteBpeTokenizer does (GPT-2's pattern, or "smollm":
//     digits isolated first); each distinct piece is a word with its count.
//  2. The vocabulary starts as the 256 bytes: token id b is byte b (its byte_level_symbol).
//  3. Repeatedly, the adjacent symbol pair occurring most often (counted at every adjacent
//     position of every word, weighted by the word's count, so "aaa" holds (a, a) twice) is
//     merged into a new symbol in every word, left to right without overlap ("aaa" -> "aa a").
//     Ties go to the pair with the smaller (left id, right id), ids in creation order, so
//     the result is a function of the text alone.
//  4. Training stops at `vocab_size` tokens, or earlier when no pair occurs twice.
// Should a merge rebuild the text of an existing token ("ab"+"c" after "a"+"bc"), it adds
// a merge rule but no token, so token texts stay unique.
//
// Cost: one pass over the text, then per merge only the words holding the merged pair are
// rewritten (a pair -> words index and a max-heap of pair counts with lazy deletion), so the
// 3.6 MB Jane Austen training split trains 8192 tokens in seconds.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "models/tokenizers/byte_bpe.hpp"

namespace bitsim::models {

struct BpeVocabulary {
  std::vector<std::string> tokens;  // id -> token text in byte-level symbols; 0..255 = bytes
  std::vector<std::string> merges;  // "left right", highest priority (learned first) first
  PreTokenizer pre = PreTokenizer::gpt2;

  ByteBpeTokenizer tokenizer() const;
  // A Hugging Face tokenizer.json (model BPE, ByteLevel pre-tokenizer and decoder; the
  // "smollm" pre-tokenizer as Digits(individual) then ByteLevel) that
  // byte_bpe_from_tokenizer_json reads back into the same tokenizer.
  std::string to_tokenizer_json() const;
};

// Throws std::invalid_argument when vocab_size < 256.
BpeVocabulary train_byte_bpe(std::string_view text, std::size_t vocab_size, PreTokenizer pre = PreTokenizer::gpt2);

}  // namespace bitsim::models
