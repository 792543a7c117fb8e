#include "models/tokenizers/wordpiece.hpp"

#include <fstream>
#include <stdexcept>

#include "models/io/load_error.hpp"
#include "models/tokenizers/unicode_text.hpp"

namespace bitsim::models {
namespace {
constexpr std::size_t kMaxWordChars = 100;
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, bool lowercase)
    : vocab_(std::move(vocab)), lowercase_(lowercase) {
  for (std::size_t i = 0; i < vocab_.size(); ++i) ids_.emplace(vocab_[i], TokenId(i));
  cls_ = required("[CLS]");
  sep_ = required("[SEP]");
  unk_ = required("[UNK]");
}

TokenId WordPieceTokenizer::required(const std::string& token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) throw LoadError("WordPiece vocabulary lacks " + token);
  return it->second;
}

WordPieceTokenizer WordPieceTokenizer::from_vocab_file(const std::string& path, bool lowercase) {
  std::ifstream in(path);
  if (!in) throw LoadError(path + ": cannot open");
  std::vector<std::string> vocab;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);
  }
  try {
    return WordPieceTokenizer(std::move(vocab), lowercase);
  } catch (const LoadError& e) {
    throw LoadError(path + ": " + e.what());
  }
}

const std::string& WordPieceTokenizer::token(TokenId id) const {
  if (id < 0 || std::size_t(id) >= vocab_.size())
    throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary of " +
                            std::to_string(vocab_.size()));
  return vocab_[std::size_t(id)];
}

std::vector<std::string> WordPieceTokenizer::pre_tokenize(std::string_view text) const {
  std::u32string clean;
  for (char32_t c : utf8_to_code_points(text)) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_white_space(c)) {
      clean.push_back(U' ');
    } else if (is_cjk_ideograph(c)) {
      clean += U' ';
      clean.push_back(c);
      clean += U' ';
    } else {
      clean.push_back(c);
    }
  }
  if (lowercase_) {
    std::u32string stripped;
    for (char32_t c : nfd(clean))
      if (!is_nonspacing_mark(c)) stripped.push_back(c);
    clean = lowercase(stripped);
  }
  std::vector<std::string> words;
  std::u32string word;
  auto flush = [&] {
    if (!word.empty()) words.push_back(code_points_to_utf8(word));
    word.clear();
  };
  for (char32_t c : clean) {
    if (is_white_space(c)) {
      flush();
    } else if (is_punctuation(c)) {
      flush();
      word.push_back(c);
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
  return words;
}

std::vector<TokenId> WordPieceTokenizer::encode_words(std::string_view text) const {
  std::vector<TokenId> out;
  for (const auto& word : pre_tokenize(text)) {
    const std::u32string chars = utf8_to_code_points(word);
    if (chars.size() > kMaxWordChars) {
      out.push_back(unk_);
      continue;
    }
    std::vector<TokenId> pieces;
    std::size_t start = 0;
    bool ok = true;
    while (start < chars.size()) {
      std::size_t end = chars.size();
      TokenId found = -1;
      for (; end > start; --end) {
        std::string candidate = (start > 0 ? "##" : "") + code_points_to_utf8(chars.substr(start, end - start));
        auto it = ids_.find(candidate);
        if (it != ids_.end()) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        ok = false;
        break;
      }
      pieces.push_back(found);
      start = end;
    }
    if (ok) out.insert(out.end(), pieces.begin(), pieces.end());
    else out.push_back(unk_);
  }
  return out;
}

std::vector<TokenId> WordPieceTokenizer::encode(std::string_view text) const {
  std::vector<TokenId> out{cls_};
  for (TokenId id : encode_words(text)) out.push_back(id);
  out.push_back(sep_);
  return out;
}

std::string WordPieceTokenizer::decode(const std::vector<TokenId>& ids) const {
  std::string out;
  for (TokenId id : ids) {
    const auto& t = token(id);
    if (id == cls_ || id == sep_) continue;
    if (t.rfind("##", 0) == 0) {
      out += t.substr(2);
    } else {
      if (!out.empty()) out += ' ';
      out += t;
    }
  }
  return out;
}

}  // namespace bitsim::models
