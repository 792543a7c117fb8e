#pragma once
// Training text as token streams: the bytes of every *.txt file of a folder (sorted by
// name, concatenated) are split into training (the first 90%) and validation (the last
// 10%) bytes, then tokenized. builtin_corpus() is a small text of our own for tests and
// for runs without scripts/fetch-models.sh (models/pretrained/texts/).
//
// Tokenizers (`tokenizer` argument):
//   "bytes"      token = byte, vocabulary 256 (the default; unchanged from the first runs)
//   "bpe:<V>"    a byte-level BPE of V tokens (models/tokenizers/bpe_trainer.hpp) trained on
//                the TRAINING split only; both splits are encoded with it. A text too small
//                for V tokens stops early (vocab() tells). bpe:256 has no merges and gives
//                the same tokens as bytes.
// A stored tokenizer (tokenizer.json text, from a checkpoint) can be passed instead of
// training one, so a resumed run uses exactly the tokenizer it started with.
//
// Batches are deterministic: sequence b of step s starts at words 2b, 2b+1 of
// RandomStream{seed, s} modulo (train tokens - T), so the data order depends on the seed
// only. Validation uses `windows` fixed, evenly spaced windows.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::models::train {

struct Corpus {
  std::vector<std::int32_t> train, validation;  // token ids
  std::size_t train_bytes = 0, validation_bytes = 0;
  std::string source;             // the folder, or "builtin"
  std::string tokenizer = "bytes";  // "bytes" or "bpe:<V>" as requested
  std::string tokenizer_json;     // the BPE as a Hugging Face tokenizer.json; empty for bytes
  sim::Index vocab_size = 256;    // the tokenizer's vocabulary (the GPT's vocab)

  // tokens [batch, T + 1] (row-major) for step `step`.
  std::vector<sim::Index> batch(std::uint64_t seed, std::uint64_t step, sim::Index batch, sim::Index T) const;
  std::vector<sim::Index> validation_windows(sim::Index windows, sim::Index T) const;

  // A validation loss in nats per token as bits per byte: loss * (validation tokens /
  // validation bytes) / ln 2, so byte and BPE runs compare (the same for bytes: loss / ln 2).
  double bits_per_byte(double nats_per_token) const;
  // What a checkpoint stores to reproduce the tokenizer: {"tokenizer": name} and, for BPE,
  // {"tokenizer.json": the file's text} (models/transformer/load_model.hpp reads it).
  std::map<std::string, std::string> checkpoint_metadata() const;
};

// Throws std::invalid_argument for a folder without .txt text, a bad tokenizer name (listing
// the valid forms), or a stored tokenizer that does not parse.
Corpus load_text_corpus(const std::string& folder, const std::string& tokenizer = "bytes",
                        const std::string& stored_tokenizer_json = "");
Corpus builtin_corpus(const std::string& tokenizer = "bytes", const std::string& stored_tokenizer_json = "");
// The vocabulary a tokenizer name asks for (256 for bytes, V for bpe:V), known before any
// text is read; a corpus's vocab_size may be smaller for bpe:V on a tiny text. Throws like
// the loaders for a bad name.
sim::Index requested_vocab(const std::string& tokenizer);

}  // namespace bitsim::models::train
