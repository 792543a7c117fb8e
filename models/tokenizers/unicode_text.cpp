#include "models/tokenizers/unicode_text.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <stdexcept>

namespace bitsim::models {
namespace {

std::u16string to_utf16(std::u32string_view text) {
  std::u16string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c >= 0x10000) {
      c -= 0x10000;
      out.push_back(char16_t(0xD800 + (c >> 10)));
      out.push_back(char16_t(0xDC00 + (c & 0x3FF)));
    } else {
      out.push_back(char16_t(c));
    }
  }
  return out;
}

std::u32string from_utf16(const std::u16string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < text.size() && text[i + 1] >= 0xDC00 && text[i + 1] < 0xE000)
      c = 0x10000 + ((c - 0xD800) << 10) + (text[++i] - 0xDC00);
    out.push_back(c);
  }
  return out;
}

void check(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU ") + what + " failed: " + u_errorName(status));
}

// The decoder of both overloads below; `starts` (optional) receives each code point's first byte.
std::u32string decode_utf8(std::string_view s, std::vector<std::size_t>* starts) {
  std::u32string out;
  out.reserve(s.size());
  if (starts) {
    starts->clear();
    starts->reserve(s.size() + 1);
  }
  std::size_t i = 0;
  while (i < s.size()) {
    if (starts) starts->push_back(i);
    const auto b = static_cast<unsigned char>(s[i]);
    int length = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    char32_t c = length == 1 ? b : length == 2 ? (b & 0x1F) : length == 3 ? (b & 0x0F) : (b & 0x07);
    bool ok = length > 0 && i + length <= s.size();
    for (int k = 1; ok && k < length; ++k) {
      const auto cont = static_cast<unsigned char>(s[i + k]);
      ok = (cont >> 6) == 0x2;
      c = (c << 6) | (cont & 0x3F);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    constexpr char32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok) ok = c >= kMinimum[length] && c <= 0x10FFFF && !(c >= 0xD800 && c < 0xE000);
    out.push_back(ok ? c : char32_t(0xFFFD));
    i += ok ? length : 1;
  }
  if (starts) starts->push_back(s.size());
  return out;
}

}  // namespace

std::u32string utf8_to_code_points(std::string_view s) { return decode_utf8(s, nullptr); }

std::u32string utf8_to_code_points(std::string_view s, std::vector<std::size_t>& starts) {
  return decode_utf8(s, &starts);
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(char(c));
  } else if (c < 0x800) {
    out.push_back(char(0xC0 | (c >> 6)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(char(0xE0 | (c >> 12)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (c >> 18)));
    out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(char(0x80 | (c & 0x3F)));
  }
}

std::string code_points_to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

bool is_letter(char32_t c) { return (U_GET_GC_MASK(UChar32(c)) & U_GC_L_MASK) != 0; }
bool is_number(char32_t c) { return (U_GET_GC_MASK(UChar32(c)) & U_GC_N_MASK) != 0; }
bool is_white_space(char32_t c) { return u_isUWhiteSpace(UChar32(c)); }
bool is_punctuation(char32_t c) {
  const bool ascii = (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return ascii || (U_GET_GC_MASK(UChar32(c)) & U_GC_P_MASK) != 0;
}
bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return (U_GET_GC_MASK(UChar32(c)) & (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CN_MASK)) != 0;
}
bool is_nonspacing_mark(char32_t c) { return u_charType(UChar32(c)) == U_NON_SPACING_MARK; }

bool is_cjk_ideograph(char32_t c) {
  // The CJK Unified Ideographs blocks and their extensions, as BERT's tokenizer lists them.
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::u32string nfd(std::u32string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* normalizer = unorm2_getNFDInstance(&status);
  check(status, "NFD instance");
  const std::u16string in = to_utf16(text);
  std::u16string out(in.size() * 4 + 16, u'\0');
  const int32_t n = unorm2_normalize(normalizer, reinterpret_cast<const UChar*>(in.data()), int32_t(in.size()),
                                     reinterpret_cast<UChar*>(out.data()), int32_t(out.size()), &status);
  check(status, "NFD");
  out.resize(std::size_t(n));
  return from_utf16(out);
}

std::u32string lowercase(std::u32string_view text) {
  UErrorCode status = U_ZERO_ERROR;
  const std::u16string in = to_utf16(text);
  std::u16string out(in.size() * 3 + 16, u'\0');
  const int32_t n = u_strToLower(reinterpret_cast<UChar*>(out.data()), int32_t(out.size()),
                                 reinterpret_cast<const UChar*>(in.data()), int32_t(in.size()), "", &status);
  check(status, "lowercase");
  out.resize(std::size_t(n));
  return from_utf16(out);
}

}  // namespace bitsim::models
