#pragma once
// Which engine runs a checkpoint, what its dimensions are, and how it reads text — one
// answer shared by `bitsim model` and the experiment runner, so both treat a file alike.
//   a .gguf file                                   Llama   (tokenizer: the GGUF's byte-level BPE)
//   safetensors holding wte.weight                 GPT-2   (bytes when the metadata says
//                                                  "tokenizer": "bytes", as bitsim train writes;
//                                                  the BPE in metadata "tokenizer.json" when
//                                                  present (bitsim train --tokenizer bpe:V);
//                                                  else the tokenizer.json beside the weights)
//   safetensors holding embeddings.word_embeddings.weight
//                                                  BERT    (the vocab.txt beside the weights)
// Safetensors paths may be a file, a sharded index or a directory; names may carry the
// "transformer." / "bert." prefixes.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/tokenizers/tokenizer.hpp"
#include "models/tokenizers/wordpiece.hpp"

namespace bitsim::models {

enum class Architecture { llama, gpt2, bert };

const char* architecture_name(Architecture architecture);  // "llama", "gpt2", "bert"
inline bool is_decoder(Architecture architecture) { return architecture != Architecture::bert; }

// Throws std::invalid_argument for a safetensors checkpoint of neither layout, LoadError for
// an unreadable file.
Architecture detect_architecture(const std::string& path);

// The sizes a QuantSpec must fit, read from headers and config only (no weights decoded).
struct ModelDims {
  Architecture architecture = Architecture::llama;
  int layers = 0, d_model = 0, d_ff = 0, heads = 0, kv_heads = 0;
  int context = 0;  // learned positions (GPT-2, BERT): the longest sequence; 0 for RoPE (Llama)
  int head_dim() const { return heads > 0 ? d_model / heads : d_model; }
};
ModelDims read_model_dims(const std::string& path);

// The folder holding a safetensors checkpoint's side files (config.json, vocab.txt, ...).
std::filesystem::path checkpoint_folder(const std::string& path);

// A decoder's tokenizer (Llama: from the GGUF; GPT-2: bytes or tokenizer.json). Throws
// std::invalid_argument for an encoder, or a GPT-2 checkpoint with neither.
std::unique_ptr<Tokenizer> decoder_tokenizer(const std::string& path);
// An encoder's WordPiece tokenizer, from the vocab.txt beside its weights.
WordPieceTokenizer encoder_tokenizer(const std::string& path);

// An encoder's evaluation sentences: the text's first `count` paragraphs (runs of non-blank
// lines joined by spaces), each tokenized with [CLS] ... [SEP] and cut to `max_tokens`
// keeping [SEP] last.
std::vector<std::vector<TokenId>> encoder_sentences(const WordPieceTokenizer& tokenizer, const std::string& text, int count,
                                                    std::size_t max_tokens = 128);

}  // namespace bitsim::models
