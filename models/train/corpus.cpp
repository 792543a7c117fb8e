#include "models/train/corpus.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "formats/random_stream.hpp"
#include "models/tokenizers/bpe_trainer.hpp"
#include "models/tokenizers/tokenizer_json.hpp"

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

constexpr std::size_t kMaxBpeVocab = 65536;

// "bytes" -> 0, "bpe:<V>" -> V; anything else is an error naming the valid forms.
std::size_t bpe_vocab_of(const std::string& name) {
  if (name == "bytes") return 0;
  const std::string bad = "unknown tokenizer '" + name + "'; valid: bytes, bpe:<V> with V in 256.." +
                          std::to_string(kMaxBpeVocab) + " (e.g. bpe:1024)";
  if (name.rfind("bpe:", 0) != 0 || name.size() == 4 || name.size() > 10) throw std::invalid_argument(bad);
  std::size_t v = 0;
  for (char c : name.substr(4)) {
    if (c < '0' || c > '9') throw std::invalid_argument(bad);
    v = v * 10 + std::size_t(c - '0');
  }
  if (v < 256 || v > kMaxBpeVocab) throw std::invalid_argument(bad);
  return v;
}

std::vector<std::int32_t> as_tokens(const std::vector<TokenId>& ids) { return {ids.begin(), ids.end()}; }

Corpus split(const std::string& text, std::string source, const std::string& tokenizer, const std::string& stored_json) {
  if (text.size() < 64) throw std::invalid_argument("corpus '" + source + "' has too little text (" +
                                                    std::to_string(text.size()) + " bytes, need >= 64)");
  const std::size_t bpe_vocab = bpe_vocab_of(tokenizer);
  const std::size_t cut = text.size() * 9 / 10;
  const std::string_view train_text = std::string_view(text).substr(0, cut), validation_text = std::string_view(text).substr(cut);
  Corpus c;
  c.source = std::move(source);
  c.tokenizer = tokenizer;
  c.train_bytes = train_text.size();
  c.validation_bytes = validation_text.size();
  if (bpe_vocab == 0) {
    for (unsigned char b : train_text) c.train.push_back(b);
    for (unsigned char b : validation_text) c.validation.push_back(b);
    return c;
  }
  c.tokenizer_json = stored_json.empty() ? train_byte_bpe(train_text, bpe_vocab).to_tokenizer_json() : stored_json;
  ByteBpeTokenizer bpe = [&] {
    try {
      return byte_bpe_from_tokenizer_json_text(c.tokenizer_json, "the tokenizer of corpus '" + c.source + "'");
    } catch (const std::exception& e) {
      throw std::invalid_argument(e.what());
    }
  }();
  c.vocab_size = static_cast<sim::Index>(bpe.vocab_size());
  if (bpe.vocab_size() > bpe_vocab)
    throw std::invalid_argument("the stored tokenizer has " + std::to_string(bpe.vocab_size()) +
                                " tokens, more than " + tokenizer + " allows");
  c.train = as_tokens(bpe.encode(train_text));
  c.validation = as_tokens(bpe.encode(validation_text));
  return c;
}

void require_length(const std::vector<std::int32_t>& tokens, sim::Index T, const char* part) {
  if (static_cast<sim::Index>(tokens.size()) < T + 1)
    throw std::invalid_argument(std::string("corpus: the ") + part + " split has " + std::to_string(tokens.size()) +
                                " tokens, fewer than one sequence of " + std::to_string(T + 1));
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

Corpus load_text_corpus(const std::string& folder, const std::string& tokenizer, const std::string& stored_json) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(folder)) throw std::invalid_argument("corpus folder '" + folder + "' does not exist");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (files.empty()) throw std::invalid_argument("corpus folder '" + folder + "' holds no .txt files");
  return split(text, folder, tokenizer, stored_json);
}

sim::Index requested_vocab(const std::string& tokenizer) {
  const std::size_t v = bpe_vocab_of(tokenizer);
  return static_cast<sim::Index>(v == 0 ? 256 : v);
}

Corpus builtin_corpus(const std::string& tokenizer, const std::string& stored_json) {
  return split(kBuiltinText, "builtin", tokenizer, stored_json);
}

double Corpus::bits_per_byte(double nats_per_token) const {
  // tokens / bytes is exactly 1 for bytes, so that case is bit-identical to loss / ln 2.
  return nats_per_token * (static_cast<double>(validation.size()) / static_cast<double>(validation_bytes)) / std::log(2.0);
}

std::map<std::string, std::string> Corpus::checkpoint_metadata() const {
  std::map<std::string, std::string> meta{{"tokenizer", tokenizer}};
  if (!tokenizer_json.empty()) meta["tokenizer.json"] = tokenizer_json;
  return meta;
}

}  // namespace bitsim::models::train
