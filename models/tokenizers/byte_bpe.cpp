#include "models/tokenizers/byte_bpe.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/tokenizers/unicode_text.hpp"

namespace bitsim::models {
namespace {

// GPT-2's byte-to-unicode table: bytes that are printable Latin-1 characters stand for
// themselves; the other 68 take the code points 256, 257, ... in byte order.
std::vector<char32_t> byte_symbols() {
  std::vector<char32_t> table(256);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = printable ? char32_t(b) : next++;
  }
  return table;
}

const std::vector<std::string>& byte_symbol_table() {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    const auto symbols = byte_symbols();
    for (int b = 0; b < 256; ++b) append_utf8(t[std::size_t(b)], symbols[std::size_t(b)]);
    return t;
  }();
  return table;
}

bool is_other(char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); }

using Span = std::pair<std::size_t, std::size_t>;  // [begin, end) in code points

// GPT-2's pattern over one piece (see byte_bpe.hpp) that starts at code point `base`,
// appending [begin, end) spans.
void split_gpt2(std::u32string_view s, std::size_t base, std::vector<Span>& out) {
  static const std::u32string_view kSuffixes[] = {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};
  const std::size_t n = s.size();
  std::size_t i = 0;
  auto emit = [&](std::size_t end) {
    out.emplace_back(base + i, base + end);
    i = end;
  };
  while (i < n) {
    if (s[i] == U'\'') {
      bool matched = false;
      for (auto suffix : kSuffixes) {
        if (s.substr(i + 1, suffix.size()) == suffix) {
          emit(i + 1 + suffix.size());
          matched = true;
          break;
        }
      }
      if (matched) continue;
    }
    const std::size_t start = (s[i] == U' ' && i + 1 < n) ? i + 1 : i;
    bool matched = false;
    for (auto in_class : {is_letter, is_number, is_other}) {
      if (start < n && in_class(s[start])) {
        std::size_t k = start;
        while (k < n && in_class(s[k])) ++k;
        emit(k);
        matched = true;
        break;
      }
    }
    if (matched) continue;
    // White space: \s+(?!\S) keeps the last blank for the word that follows; \s+ otherwise.
    std::size_t k = i;
    while (k < n && is_white_space(s[k])) ++k;
    if (k == i) ++k;  // unreachable: every character is in one of the classes
    emit(k == n || k - i == 1 ? k : k - 1);
  }
}

}  // namespace

const std::string& byte_level_symbol(unsigned char byte) { return byte_symbol_table()[byte]; }

ByteBpeTokenizer::ByteBpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges,
                                   PreTokenizer pre, std::vector<TokenId> control)
    : tokens_(std::move(tokens)), pre_(pre), control_(std::move(control)) {
  for (std::size_t i = 0; i < tokens_.size(); ++i) ids_.emplace(tokens_[i], TokenId(i));
  for (std::size_t r = 0; r < merges.size(); ++r) {
    if (merges[r].find(' ') == std::string::npos)
      throw std::invalid_argument("BPE merge " + std::to_string(r) + " '" + merges[r] + "' is not 'left right'");
    merge_rank_.emplace(merges[r], int(r));
  }
  const auto symbols = byte_symbols();
  for (int b = 0; b < 256; ++b) {
    std::string sym;
    append_utf8(sym, symbols[b]);
    byte_to_symbol_[static_cast<unsigned char>(b)] = sym;
    symbol_to_byte_[sym] = static_cast<unsigned char>(b);
  }
  for (TokenId id : control_)
    if (id < 0 || std::size_t(id) >= tokens_.size())
      throw std::invalid_argument("control token id " + std::to_string(id) + " is outside the vocabulary");
  // Longest control tokens first, so that one never shadows a longer one it prefixes.
  std::sort(control_.begin(), control_.end(),
            [&](TokenId a, TokenId b) { return tokens_[a].size() > tokens_[b].size(); });
}

ByteBpeTokenizer ByteBpeTokenizer::from_gguf(const GgufFile& file) {
  const auto& model = file.metadata("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  if (model != "gpt2")
    throw LoadError(file.path() + ": tokenizer model '" + model + "' is not byte-level BPE (valid: gpt2)");
  PreTokenizer pre = PreTokenizer::gpt2;
  if (const auto* p = file.find_metadata("tokenizer.ggml.pre")) {
    const auto& name = p->as_string("tokenizer.ggml.pre");
    if (name == "smollm") pre = PreTokenizer::smollm;
    else if (name != "gpt2" && name != "default")
      throw LoadError(file.path() + ": pre-tokenizer '" + name + "' is not supported (valid: gpt2, default, smollm)");
  }
  std::vector<std::string> tokens, merges;
  for (const auto& v : file.metadata("tokenizer.ggml.tokens").as_array("tokenizer.ggml.tokens"))
    tokens.push_back(v.as_string("tokenizer.ggml.tokens"));
  for (const auto& v : file.metadata("tokenizer.ggml.merges").as_array("tokenizer.ggml.merges"))
    merges.push_back(v.as_string("tokenizer.ggml.merges"));
  std::vector<TokenId> control;
  if (const auto* types = file.find_metadata("tokenizer.ggml.token_type")) {
    const auto& list = types->as_array("tokenizer.ggml.token_type");
    for (std::size_t i = 0; i < list.size() && i < tokens.size(); ++i)
      if (list[i].as_int("tokenizer.ggml.token_type") == 3) control.push_back(TokenId(i));
  }
  return ByteBpeTokenizer(std::move(tokens), merges, pre, std::move(control));
}

const std::string& ByteBpeTokenizer::token(TokenId id) const {
  if (id < 0 || std::size_t(id) >= tokens_.size())
    throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary of " +
                            std::to_string(tokens_.size()));
  return tokens_[std::size_t(id)];
}

std::vector<std::string> ByteBpeTokenizer::pre_tokenize(std::string_view text) const {
  // The pattern is matched on code points (an invalid byte reads as U+FFFD, an "other"
  // character), but the pieces are the original bytes, so encoding is lossless for any
  // byte string, valid UTF-8 or not.
  std::vector<std::size_t> starts;
  const std::u32string s = utf8_to_code_points(text, starts);
  std::vector<Span> pieces;
  if (pre_ == PreTokenizer::smollm) {
    std::size_t begin = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || is_number(s[i])) {
        if (i > begin) split_gpt2(std::u32string_view(s).substr(begin, i - begin), begin, pieces);
        if (i < s.size()) pieces.emplace_back(i, i + 1);
        begin = i + 1;
      }
    }
  } else {
    split_gpt2(s, 0, pieces);
  }
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (const auto& [b, e] : pieces) out.emplace_back(text.substr(starts[b], starts[e] - starts[b]));
  return out;
}

void ByteBpeTokenizer::encode_piece(const std::string& piece, std::vector<TokenId>& out) const {
  std::vector<std::string> symbols;
  symbols.reserve(piece.size());
  for (unsigned char b : piece) symbols.push_back(byte_to_symbol_.at(b));
  while (symbols.size() > 1) {
    int best_rank = std::numeric_limits<int>::max();
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = merge_rank_.find(symbols[i] + ' ' + symbols[i + 1]);
      if (it != merge_rank_.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<int>::max()) break;
    // Merge every occurrence of the pair, left to right.
    const std::string left = symbols[best], right = symbols[best + 1];
    std::vector<std::string> merged;
    merged.reserve(symbols.size());
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        merged.push_back(left + right);
        ++i;
      } else {
        merged.push_back(std::move(symbols[i]));
      }
    }
    symbols = std::move(merged);
  }
  for (const auto& sym : symbols) {
    auto it = ids_.find(sym);
    if (it != ids_.end()) {
      out.push_back(it->second);
      continue;
    }
    // Not in the vocabulary (a vocabulary without every byte): fall back to single bytes.
    for (char32_t c : utf8_to_code_points(sym)) {
      std::string one;
      append_utf8(one, c);
      auto byte = ids_.find(one);
      if (byte == ids_.end()) throw std::runtime_error("BPE: the vocabulary lacks the byte symbol '" + one + "'");
      out.push_back(byte->second);
    }
  }
}

std::vector<TokenId> ByteBpeTokenizer::encode(std::string_view text) const { return encode(text, false); }

std::vector<TokenId> ByteBpeTokenizer::encode(std::string_view text, bool parse_special) const {
  std::vector<TokenId> out;
  auto encode_plain = [&](std::string_view part) {
    for (const auto& piece : pre_tokenize(part)) encode_piece(piece, out);
  };
  std::size_t begin = 0, i = 0;
  while (parse_special && i < text.size()) {
    bool matched = false;
    for (TokenId id : control_) {
      const auto& t = tokens_[std::size_t(id)];
      if (!t.empty() && text.substr(i, t.size()) == t) {
        encode_plain(text.substr(begin, i - begin));
        out.push_back(id);
        i += t.size();
        begin = i;
        matched = true;
        break;
      }
    }
    if (!matched) ++i;
  }
  encode_plain(text.substr(begin));
  return out;
}

std::string ByteBpeTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::string out;
  for (TokenId id : ids) {
    const auto& t = token(id);
    if (std::find(control_.begin(), control_.end(), id) != control_.end()) {
      out += t;
      continue;
    }
    for (char32_t c : utf8_to_code_points(t)) {
      std::string sym;
      append_utf8(sym, c);
      auto it = symbol_to_byte_.find(sym);
      if (it != symbol_to_byte_.end()) out.push_back(char(it->second));
      else out += sym;  // not a byte symbol: keep the text as it is
    }
  }
  return out;
}

}  // namespace bitsim::models
