// Every code of the 16-bit LNS formats against the Boost reference: decode of every code,
// and every deterministic rounding mode in both domains at every value, log-domain
// boundary and linear midpoint and their float64/float32 neighbours; stochastic rounding
// on every 16th of those inputs (its reference needs a 160-bit log per input).
#include <doctest/doctest.h>

#include "tests/formats/test_lns_checks.hpp"

using namespace bitsim::formats;
using bitsim::test::decode_mismatches;
using bitsim::test::rounding_mismatches;

TEST_CASE("lns16 and lns<8,7>: every code decoded, every boundary rounded") {
  std::size_t checked = 0;
  for (const Lns& f : {Lns{5, 10}, Lns{8, 7, LnsDomain::linear, Overflow::nan}, Lns{5, 10, LnsDomain::linear}}) {
    CAPTURE(to_spec(f));
    CHECK(decode_mismatches(f) == 0);
    CHECK(rounding_mismatches(f, 1, 16, checked) == 0);
  }
  MESSAGE("encodes checked: " << checked);
}
