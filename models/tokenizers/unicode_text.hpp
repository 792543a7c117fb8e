#pragma once
// UTF-8 text as code points, and the Unicode facts tokenizers ask about (letter, number,
// white space, punctuation, combining mark, CJK ideograph), answered by ICU so that they
// match the Unicode tables the reference tokenizers use rather than an ASCII guess.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bitsim::models {

// Decodes UTF-8; an invalid byte becomes U+FFFD (as Python's errors="replace" does).
std::u32string utf8_to_code_points(std::string_view text);
// The same, also giving each code point's first byte in `text` (starts.size() = result
// size + 1, the last entry text.size()), so that spans of code points map back to the
// original bytes even where an invalid byte became U+FFFD.
std::u32string utf8_to_code_points(std::string_view text, std::vector<std::size_t>& starts);
std::string code_points_to_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t c);

bool is_letter(char32_t c);       // \p{L}
bool is_number(char32_t c);       // \p{N}
bool is_white_space(char32_t c);  // \s: the White_Space property
bool is_punctuation(char32_t c);  // \p{P}, or ASCII punctuation (BERT counts $+<=>^`|~ too)
bool is_control(char32_t c);      // Cc/Cf/Co/Cn other than \t \n \r (BERT's _is_control)
bool is_cjk_ideograph(char32_t c);

// Canonical decomposition (NFD) and full lowercase mapping of a whole string.
std::u32string nfd(std::u32string_view text);
std::u32string lowercase(std::u32string_view text);
bool is_nonspacing_mark(char32_t c);  // Mn: what strip_accents removes after NFD

}  // namespace bitsim::models
