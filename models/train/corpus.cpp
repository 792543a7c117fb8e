#include "models/train/corpus.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "formats/random_stream.hpp"

namespace bitsim::models::train {
namespace {

// Written for bitsim: a short plain-English passage, varied enough for a byte model to
// learn words, spacing and punctuation in a few dozen steps.
constexpr const char* kBuiltinText =
    "The number line is a long road, and every format walks only part of it. A float keeps "
    "a sign, an exponent and a few bits of fraction; the exponent says how far along the road "
    "a value lives, and the fraction says where it stands between two marks. When a value "
    "falls between two marks it must choose one, and that choice is called rounding. Round "
    "to nearest picks the closer mark, and when the two are equally close it picks the even "
    "one. Stochastic rounding flips a biased coin instead, so that on average the value is "
    "kept. A small update added to a large weight may be lost entirely under round to "
    "nearest, while stochastic rounding keeps it in expectation. This is why low precision "
    "training needs care. The scale of a block is shared by its elements; a good scale keeps "
    "the largest element in range and the smallest away from zero. Engineers who build "
    "accelerators ask how many bits a product needs, how wide the accumulator must be, and "
    "how often a sum should be promoted to a wider format. Researchers ask whether a model "
    "trained in four bits learns as much as one trained in thirty two. A simulator answers "
    "both questions slowly but exactly, one value at a time, and the answers are the same on "
    "every machine and with every number of threads. ";

Corpus split(std::vector<std::uint8_t> bytes, std::string source) {
  if (bytes.size() < 64) throw std::invalid_argument("corpus '" + source + "' has too little text (" +
                                                     std::to_string(bytes.size()) + " bytes, need >= 64)");
  const std::size_t cut = bytes.size() * 9 / 10;
  Corpus c;
  c.train.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
  c.validation.assign(bytes.begin() + static_cast<std::ptrdiff_t>(cut), bytes.end());
  c.source = std::move(source);
  return c;
}

void require_length(const std::vector<std::uint8_t>& bytes, sim::Index T, const char* part) {
  if (static_cast<sim::Index>(bytes.size()) < T + 1)
    throw std::invalid_argument(std::string("corpus: the ") + part + " split has " + std::to_string(bytes.size()) +
                                " bytes, fewer than one sequence of " + std::to_string(T + 1));
}

}  // namespace

std::vector<sim::Index> Corpus::batch(std::uint64_t seed, std::uint64_t step, sim::Index batch, sim::Index T) const {
  require_length(train, T, "training");
  const formats::RandomStream rng{seed, step};
  const std::uint64_t starts = train.size() - static_cast<std::size_t>(T);
  std::vector<sim::Index> tokens;
  for (sim::Index b = 0; b < batch; ++b) {
    // Two words give a 64-bit draw; the modulo bias is below 2^-40 for any real corpus.
    const std::uint64_t r = (std::uint64_t(rng.word(2 * b)) << 32) | rng.word(2 * b + 1);
    const std::size_t start = static_cast<std::size_t>(r % starts);
    for (sim::Index t = 0; t <= T; ++t) tokens.push_back(train[start + static_cast<std::size_t>(t)]);
  }
  return tokens;
}

std::vector<sim::Index> Corpus::validation_windows(sim::Index windows, sim::Index T) const {
  require_length(validation, T, "validation");
  const std::size_t starts = validation.size() - static_cast<std::size_t>(T);
  std::vector<sim::Index> tokens;
  for (sim::Index w = 0; w < windows; ++w) {
    const std::size_t start = starts * static_cast<std::size_t>(w) / static_cast<std::size_t>(windows);
    for (sim::Index t = 0; t <= T; ++t) tokens.push_back(validation[start + static_cast<std::size_t>(t)]);
  }
  return tokens;
}

Corpus load_text_corpus(const std::string& folder) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(folder)) throw std::invalid_argument("corpus folder '" + folder + "' does not exist");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<std::uint8_t> bytes;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    bytes.insert(bytes.end(), std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (files.empty()) throw std::invalid_argument("corpus folder '" + folder + "' holds no .txt files");
  return split(std::move(bytes), folder);
}

Corpus builtin_corpus() {
  const std::string text = kBuiltinText;
  return split(std::vector<std::uint8_t>(text.begin(), text.end()), "builtin");
}

}  // namespace bitsim::models::train
