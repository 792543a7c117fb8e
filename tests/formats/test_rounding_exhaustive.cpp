// Every named format of at most 16 bits, exhaustively against the Boost.Multiprecision
// reference (tests/reference): every code, every lattice point and midpoint with their
// float32 and float64 neighbours, and the special inputs, in all seven deterministic modes.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "formats/format.hpp"
#include "tests/formats/exhaustive_check.hpp"

using bitsim::format_tests::check_exhaustively;

namespace {

// The named formats of at most `max_bits` bits and more than `min_bits`, from the table,
// so that a format added there is tested without touching this file.
std::vector<std::string> named_formats_with_bits(int min_bits, int max_bits) {
  std::vector<std::string> names;
  for (const auto& f : bitsim::formats::named_formats()) {
    const int bits = bitsim::formats::Format(f.format).bits();
    if (bits > min_bits && bits <= max_bits) names.emplace_back(f.name);
  }
  return names;
}

}  // namespace

TEST_CASE("named formats of up to 9 bits, exhaustively") {
  const auto names = named_formats_with_bits(0, 9);
  CHECK(names.size() >= 15);
  for (const auto& name : names) check_exhaustively(name);
}

TEST_CASE("named formats of 10 to 16 bits, exhaustively") {
  const auto names = named_formats_with_bits(9, 16);
  CHECK(names.size() >= 3);  // fp16, bf16, int16
  for (const auto& name : names) check_exhaustively(name);
}
