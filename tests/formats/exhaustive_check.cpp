#include "tests/formats/exhaustive_check.hpp"

#include <doctest/doctest.h>

#include "tests/formats/fast_vs_reference.hpp"
#include "tests/formats/input_sets.hpp"

namespace bitsim::format_tests {

void check_exhaustively(const std::string& spec, BeyondFloatRange beyond) {
  const auto fast = formats::Format::parse(spec);
  const auto ref = reference::ReferenceFormat::from(fast.repr());
  REQUIRE_MESSAGE(ref.enumerated(), spec << " has more than 16 bits");
  std::vector<double> inputs = lattice_boundary_inputs(ref);
  const auto specials = special_inputs(ref);
  inputs.insert(inputs.end(), specials.begin(), specials.end());
  deduplicate(inputs);
  INFO("format " << spec << ": " << (std::uint64_t(1) << ref.bits()) << " codes, " << inputs.size()
                 << " inputs x 7 modes");
  CHECK(compare_codes(fast, ref) == 0);
  CHECK(compare_deterministic(fast, ref, inputs, beyond) == 0);
}

}  // namespace bitsim::format_tests

namespace bitsim::format_tests {

void check_sampled(const std::string& spec, std::size_t random_count, std::uint64_t seed, BeyondFloatRange beyond) {
  const auto fast = formats::Format::parse(spec);
  const auto ref = reference::ReferenceFormat::from(fast.repr());
  std::vector<double> inputs = random_inputs(ref, random_count, seed);
  for (const auto& more : {range_boundary_inputs(ref), special_inputs(ref)}) {
    inputs.insert(inputs.end(), more.begin(), more.end());
  }
  INFO("format " << spec << ": " << inputs.size() << " inputs x 7 modes (" << random_count << " random, seed "
                 << seed << ")");
  CHECK(compare_deterministic(fast, ref, inputs, beyond) == 0);
}

}  // namespace bitsim::format_tests
