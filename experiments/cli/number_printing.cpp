#include "experiments/cli/number_printing.hpp"

#include <cmath>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

namespace bitsim::cli {
namespace {

std::optional<std::string> special_spelling(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return std::nullopt;
}

}  // namespace

std::string hex_float(double value) {
  if (auto special = special_spelling(value)) return *special;
  char text[64];
  std::snprintf(text, sizeof text, "%a", value);
  return text;
}

std::string shortest_decimal(double value) {
  if (auto special = special_spelling(value)) return *special;
  return fmt::format("{}", value);
}

std::string hex_code(std::uint64_t code, int bits) {
  return fmt::format("0x{:0{}x}", code, (bits + 3) / 4);
}

}  // namespace bitsim::cli
