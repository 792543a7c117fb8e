// Byte-level BPE training (models/tokenizers/bpe_trainer.hpp) and BPE-tokenized training
// (models/train/corpus.hpp, checkpoints carrying their tokenizer).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "models/io/safetensors.hpp"
#include "models/tokenizers/bpe_trainer.hpp"
#include "models/tokenizers/tokenizer_json.hpp"
#include "models/train/checkpoint.hpp"
#include "models/train/corpus.hpp"
#include "models/train/trainer.hpp"
#include "models/transformer/gpt2.hpp"
#include "models/transformer/load_model.hpp"
#include "sim/grad/cross_entropy.hpp"
#include "temp_file.hpp"

using namespace bitsim::models;
namespace tr = bitsim::models::train;

namespace {

std::vector<std::string> byte_tokens() {
  std::vector<std::string> t;
  for (int b = 0; b < 256; ++b) t.push_back(byte_level_symbol(static_cast<unsigned char>(b)));
  return t;
}

// The textbook algorithm, literally and slowly: every piece occurrence is its own word, all
// pair counts are recounted from scratch before each merge, the best pair is the first of
// the highest count in (left id, right id) order, and words are rewritten left to right.
BpeVocabulary reference_bpe(std::string_view text, std::size_t vocab_size) {
  const ByteBpeTokenizer splitter(byte_tokens(), {}, PreTokenizer::gpt2);
  std::vector<std::vector<int>> words;
  for (const auto& piece : splitter.pre_tokenize(text)) {
    std::vector<int> w;
    for (unsigned char b : piece) w.push_back(b);
    words.push_back(w);
  }
  BpeVocabulary v;
  v.tokens = byte_tokens();
  while (v.tokens.size() < vocab_size) {
    std::map<std::pair<int, int>, long> counts;
    for (const auto& w : words)
      for (std::size_t i = 0; i + 1 < w.size(); ++i) ++counts[{w[i], w[i + 1]}];
    std::pair<int, int> best{};
    long best_count = 0;
    for (const auto& [pair, count] : counts)
      if (count > best_count) best = pair, best_count = count;
    if (best_count < 2) break;
    const std::string merged = v.tokens[best.first] + v.tokens[best.second];
    v.merges.push_back(v.tokens[best.first] + " " + v.tokens[best.second]);
    int id = -1;
    for (std::size_t t = 0; t < v.tokens.size(); ++t)
      if (v.tokens[t] == merged) id = int(t);
    if (id < 0) {
      id = int(v.tokens.size());
      v.tokens.push_back(merged);
    }
    for (auto& w : words) {
      std::vector<int> out;
      for (std::size_t i = 0; i < w.size(); ++i) {
        if (i + 1 < w.size() && w[i] == best.first && w[i + 1] == best.second) {
          out.push_back(id);
          ++i;
        } else {
          out.push_back(w[i]);
        }
      }
      w = out;
    }
  }
  return v;
}

// Text with every hazard: repeated letters ("aaaa": overlapping pairs), digits, contractions,
// runs of blanks, newlines, multi-byte UTF-8, and invalid bytes.
std::string mixed_text(unsigned seed, std::size_t words) {
  static const char* const kWords[] = {"aaaa", "aaa",  "the", "then", "there", "they're", "don't", " ", "\n\n",
                                       "42",   "2024", "ab",  "ba",   "bab",   "é",       "été",   "\xff", "\xc3",
                                       "x",    "..."};
  std::mt19937 rng(seed);
  std::string s;
  for (std::size_t i = 0; i < words; ++i) {
    s += kWords[rng() % (sizeof kWords / sizeof *kWords)];
    s += rng() % 3 == 0 ? "  " : " ";
  }
  return s;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() & 0xFF));
  return s;
}

tr::TrainConfig tiny_config(const tr::Corpus& corpus, std::int64_t steps) {
  tr::TrainConfig c;
  c.model = {corpus.vocab_size, 64, 32, 1, 4};
  c.recipe = tr::Recipe::preset("fp32");
  c.optimizer.lr = 1e-2;
  c.optimizer.warmup = 5;
  c.steps = steps;
  c.batch = 8;
  c.seq = 16;
  c.seed = 3;
  c.eval_windows = 4;
  return c;
}

}  // namespace

TEST_CASE("BPE training: hand-derived merges, counts and the tie rule") {
  // "ab ab ab abc" -> pieces ab, Ġab, Ġab, Ġabc: (a,b) 4 times, (Ġ,a) 3, (b,c) 1 -> "a b";
  // then (Ġ,ab) 3, (ab,c) 1 -> "Ġ ab"; then only (Ġab,c) once: stop.
  auto v = train_byte_bpe("ab ab ab abc", 1000);
  CHECK(v.merges == std::vector<std::string>{"a b", "Ġ ab"});
  REQUIRE(v.tokens.size() == 258);
  CHECK(v.tokens[256] == "ab");
  CHECK(v.tokens[257] == "Ġab");
  // "ab ab cd cd": (a,b), (c,d), (Ġ,c) twice each; the smallest ids win: (Ġ=32, c=99)
  // first, then (a=97, b=98) before (Ġc=256, d=100).
  v = train_byte_bpe("ab ab cd cd", 1000);
  CHECK(v.merges == std::vector<std::string>{"Ġ c", "a b", "Ġc d"});
  // The vocabulary limit stops training.
  CHECK(train_byte_bpe("ab ab cd cd", 257).merges == std::vector<std::string>{"Ġ c"});
  CHECK(train_byte_bpe("ab ab cd cd", 256).merges.empty());
  CHECK_THROWS_AS(train_byte_bpe("ab", 255), std::invalid_argument);
}

TEST_CASE("BPE training equals the slow literal algorithm") {
  for (unsigned seed : {1u, 2u, 3u}) {
    const std::string text = mixed_text(seed, 400);
    for (std::size_t vocab : {260u, 280u, 1000u}) {
      CAPTURE(seed);
      CAPTURE(vocab);
      const auto fast = train_byte_bpe(text, vocab);
      const auto slow = reference_bpe(text, vocab);
      CHECK(fast.merges == slow.merges);
      CHECK(fast.tokens == slow.tokens);
      // 20 distinct words: 260 and 280 tokens are reached; 1000 stops when no pair repeats.
      if (vocab < 1000) CHECK(fast.tokens.size() == vocab);
      else CHECK(fast.tokens.size() < vocab);
    }
  }
}

TEST_CASE("BPE training is deterministic") {
  const std::string text = mixed_text(9, 2000);
  const auto a = train_byte_bpe(text, 512), b = train_byte_bpe(text, 512);
  CHECK(a.merges == b.merges);
  CHECK(a.to_tokenizer_json() == b.to_tokenizer_json());
}

TEST_CASE("trained BPE: tokenizer.json round trip, lossless on any bytes") {
  const std::string text = mixed_text(4, 3000);
  for (const PreTokenizer pre : {PreTokenizer::gpt2, PreTokenizer::smollm}) {
    const auto v = train_byte_bpe(text, 600, pre);
    const std::string json = v.to_tokenizer_json();
    const bitsim::test::TempFile file(std::vector<std::uint8_t>(json.begin(), json.end()), ".json");
    const ByteBpeTokenizer loaded = byte_bpe_from_tokenizer_json(file.path());
    const ByteBpeTokenizer direct = v.tokenizer();
    REQUIRE(loaded.vocab_size() == v.tokens.size());
    for (std::size_t i = 0; i < v.tokens.size(); ++i) CHECK(loaded.token(TokenId(i)) == v.tokens[i]);
    // The pre-tokenizer survives the file: digits are isolated under smollm only.
    CHECK(loaded.pre_tokenize("a 123").size() == (pre == PreTokenizer::smollm ? 5u : 2u));

    std::mt19937 rng(11);
    std::vector<std::string> samples{text.substr(0, 500), "", "\xff\xfe", "\xc3", "caf\xc3\xa9 \xe2\x82\xac 42", "  \n\t x"};
    for (int i = 0; i < 50; ++i) samples.push_back(random_bytes(rng, 1 + rng() % 64));
    for (int i = 0; i < 20; ++i) samples.push_back(mixed_text(100 + unsigned(i), 20));
    for (const auto& s : samples) {
      CAPTURE(s);
      const auto ids = loaded.encode(s);
      CHECK(ids == direct.encode(s));
      CHECK(loaded.decode(ids) == s);
      CHECK(loaded.encode(loaded.decode(ids)) == ids);
    }
    // Merges do compress the text they were learned from.
    CHECK(loaded.encode(text).size() * 2 < text.size());
  }
}

TEST_CASE("corpus: bytes unchanged, bpe trained on the training split only") {
  const tr::Corpus bytes = tr::builtin_corpus();
  CHECK(bytes.vocab_size == 256);
  CHECK(bytes.tokenizer_json.empty());
  CHECK(bytes.train.size() == bytes.train_bytes);
  CHECK(bytes.bits_per_byte(std::log(2.0)) == doctest::Approx(1.0));

  const tr::Corpus bpe = tr::builtin_corpus("bpe:300");
  CHECK(bpe.train_bytes == bytes.train_bytes);
  CHECK(bpe.validation_bytes == bytes.validation_bytes);
  std::string train_text, validation_text;
  for (auto b : bytes.train) train_text.push_back(static_cast<char>(b));
  for (auto b : bytes.validation) validation_text.push_back(static_cast<char>(b));
  // The tokenizer is the one trained on the training bytes alone, and it encodes both splits.
  const auto expected = train_byte_bpe(train_text, 300);
  CHECK(bpe.tokenizer_json == expected.to_tokenizer_json());
  CHECK(bpe.vocab_size == static_cast<bitsim::sim::Index>(expected.tokens.size()));
  CHECK(bpe.vocab_size > 256);
  const auto tok = expected.tokenizer();
  CHECK(std::vector<TokenId>(bpe.train.begin(), bpe.train.end()) == tok.encode(train_text));
  CHECK(tok.decode(std::vector<TokenId>(bpe.validation.begin(), bpe.validation.end())) == validation_text);
  CHECK(bpe.train.size() < bpe.train_bytes);
  // bits per byte scales nats/token by tokens per byte.
  CHECK(bpe.bits_per_byte(1.0) == doctest::Approx(double(bpe.validation.size()) / double(bpe.validation_bytes) / std::log(2.0)));
  // bpe:256 has no merges: the byte tokens again.
  CHECK(tr::builtin_corpus("bpe:256").train == bytes.train);
  // A stored tokenizer is used as it is, not retrained (resume): one from other text.
  const std::string other = train_byte_bpe(mixed_text(5, 500), 300).to_tokenizer_json();
  const tr::Corpus stored = tr::builtin_corpus("bpe:300", other);
  CHECK(stored.tokenizer_json == other);
  CHECK(stored.train != bpe.train);
  CHECK(tr::builtin_corpus("bpe:300", bpe.tokenizer_json).train == bpe.train);
  for (const char* bad : {"bpe", "bpe:", "bpe:12", "bpe:x1", "bpe:99999999", "words", "BPE:512"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(tr::builtin_corpus(bad), std::invalid_argument);
  }
  CHECK_THROWS_AS(tr::builtin_corpus("bpe:300", "{not json"), std::invalid_argument);
  CHECK_THROWS_AS(tr::builtin_corpus("bpe:257", bpe.tokenizer_json), std::invalid_argument);  // too many tokens
}

TEST_CASE("BPE training run: validation loss falls; the checkpoint carries its tokenizer") {
  const tr::Corpus corpus = tr::builtin_corpus("bpe:320");
  REQUIRE(corpus.vocab_size > 256);
  const tr::TrainConfig c = tiny_config(corpus, 60);
  tr::Gpt initial(c.model, c.seed);
  const double before = tr::validation_loss(initial, corpus, c.eval_windows, c.seq, c.recipe);
  const auto r = tr::train(c, corpus);
  const double after = r.log.back().val_loss;
  MESSAGE("bpe:320 (" << corpus.vocab_size << " tokens): validation " << before << " -> " << after << " nats/token, "
                      << corpus.bits_per_byte(before) << " -> " << corpus.bits_per_byte(after) << " bits/byte");
  CHECK(before > std::log(double(corpus.vocab_size)) - 0.5);  // ~uniform at initialisation
  CHECK(after < before - 1.0);

  // A model without room for the tokens is refused.
  tr::TrainConfig small = c;
  small.model.vocab = 256;
  CHECK_THROWS_AS(tr::train(small, corpus), std::invalid_argument);

  // The checkpoint holds the tokenizer; the model loader finds it and the GPT-2 engine,
  // tokenizing text with it, computes the trainer's loss.
  const bitsim::test::TempFile file(std::vector<std::uint8_t>{}, ".safetensors");
  tr::write_checkpoint(file.path(), r.model, corpus.checkpoint_metadata());
  const auto meta = tr::read_checkpoint_metadata(file.path());
  CHECK(meta.at("tokenizer") == "bpe:320");
  CHECK(meta.at("vocab_size") == std::to_string(corpus.vocab_size));
  CHECK(meta.at("tokenizer.json") == corpus.tokenizer_json);
  const auto tokenizer = decoder_tokenizer(file.path());
  REQUIRE(tokenizer->vocab_size() == std::size_t(corpus.vocab_size));
  const std::string sample = "Stochastic rounding keeps a small update in expectation.";
  const auto ids = tokenizer->encode(sample);
  REQUIRE(ids.size() <= 64);  // the context
  CHECK(ids == byte_bpe_from_tokenizer_json_text(corpus.tokenizer_json, "corpus").encode(sample));
  CHECK(tokenizer->decode(ids) == sample);

  const auto engine = Gpt2Model::from_safetensors(file.path());
  Gpt2Session session(engine, Numerics{});
  const std::vector<std::int32_t> inputs(ids.begin(), ids.end() - 1);
  const std::vector<bitsim::sim::Index> targets(ids.begin() + 1, ids.end()), all(ids.begin(), ids.end());
  const double engine_loss = bitsim::sim::cross_entropy(session.forward(inputs), targets).loss;
  tr::Gpt model = tr::read_checkpoint(file.path());
  const double own_loss = model.loss(all, 1, c.recipe, 0, false);
  CHECK(engine_loss == doctest::Approx(own_loss).epsilon(1e-5));
}
