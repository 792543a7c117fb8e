#pragma once
// A byte-level BPE tokenizer from a Hugging Face tokenizer.json (model.type "BPE": the
// vocabulary {token: id}, the merges as "left right" strings or [left, right] pairs,
// added_tokens with "special": true as control tokens). The pre-tokenizer is "smollm" when
// the file's pre_tokenizer splits individual digits, "gpt2" otherwise. This is how GPT-2-
// layout safetensors checkpoints (bitsim's trainer, issue #10) carry their tokenizer.
#include <string>

#include "models/tokenizers/byte_bpe.hpp"

namespace bitsim::models {

// Throws LoadError for an unreadable file, another model type, or ids that are not
// 0..V-1 without gaps.
ByteBpeTokenizer byte_bpe_from_tokenizer_json(const std::string& path);
// The same from the file's text (e.g. stored in a checkpoint's metadata); `origin` names
// the source in error messages.
ByteBpeTokenizer byte_bpe_from_tokenizer_json_text(const std::string& text, const std::string& origin);

}  // namespace bitsim::models
