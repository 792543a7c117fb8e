#include "experiments/cli/number_parsing.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace bitsim::cli {
namespace {

// Calls strtof or strtod and accepts the result only when every character was consumed.
// ERANGE is not an error here: an out-of-range decimal is still a valid float32/float64
// input (it reads as ±inf or as a tiny value), and the caller quantizes what it gets.
template <class Real, class Parser>
std::optional<Real> parse_whole(const std::string& token, Parser parser) {
  if (token.empty()) return std::nullopt;
  const char* begin = token.c_str();
  char* end = nullptr;
  errno = 0;
  const Real value = parser(begin, &end);
  if (end == begin || *end != '\0') return std::nullopt;
  return value;
}

}  // namespace

std::optional<float> parse_float32(const std::string& token) {
  return parse_whole<float>(token, [](const char* s, char** end) { return std::strtof(s, end); });
}

std::optional<double> parse_float64(const std::string& token) {
  return parse_whole<double>(token, [](const char* s, char** end) { return std::strtod(s, end); });
}

std::optional<std::uint64_t> parse_uint64(const std::string& token) {
  std::uint64_t value = 0;
  const char* end = token.data() + token.size();
  const auto [stop, error] = std::from_chars(token.data(), end, value);
  if (token.empty() || error != std::errc() || stop != end) return std::nullopt;
  return value;
}

}  // namespace bitsim::cli
