#pragma once
// Byte-level training text: the bytes of every *.txt file of a folder (sorted by name,
// concatenated), split into training (the first 90%) and validation (the last 10%)
// bytes. Token = byte, vocabulary 256. builtin_corpus() is a small text of our own for
// tests and for runs without scripts/fetch-models.sh (models/pretrained/texts/).
//
// Batches are deterministic: sequence b of step s starts at word b of
// RandomStream{seed, s} modulo (train bytes - T), so the data order depends on the
// seed only. Validation uses `windows` fixed, evenly spaced windows.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::models::train {

struct Corpus {
  std::vector<std::uint8_t> train, validation;
  std::string source;  // the folder, or "builtin"

  // tokens [batch, T + 1] (row-major) for step `step`.
  std::vector<sim::Index> batch(std::uint64_t seed, std::uint64_t step, sim::Index batch, sim::Index T) const;
  std::vector<sim::Index> validation_windows(sim::Index windows, sim::Index T) const;
};

Corpus load_text_corpus(const std::string& folder);  // throws if the folder has no .txt text
Corpus builtin_corpus();

}  // namespace bitsim::models::train
