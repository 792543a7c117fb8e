// SoftPosit as an independent oracle: conversions from double and quire dot products
// written by tests/data/posit/gen_softposit.py (SoftPosit through the `softposit` package).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/posit.hpp"
#include "formats/quire.hpp"

using namespace bitsim::formats;

namespace {

std::uint64_t hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

}  // namespace

TEST_CASE("posit conversions and quire dot products agree with SoftPosit") {
  std::ifstream in(std::string(BITSIM_TEST_DATA) + "/posit/softposit_vectors.txt");
  REQUIRE(in.good());
  std::string line;
  int conversions = 0, dots = 0, conversion_mismatches = 0, dot_mismatches = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string kind;
    int n = 0, es = 0;
    fields >> kind >> n >> es;
    const Posit p{n, es};
    if (kind == "convert") {
      std::string x, code;
      fields >> x >> code;
      const double value = std::strtod(x.c_str(), nullptr);  // hex float: exact
      if (encode(p, value) != hex(code) && ++conversion_mismatches <= 5) {
        MESSAGE(line << " -> bitsim " << std::hex << encode(p, value));
      }
      ++conversions;
    } else if (kind == "dot") {
      int k = 0;
      fields >> k;
      Quire<> q(p);
      std::string a, b;
      for (int i = 0; i < k; ++i) {
        fields >> a >> b;
        q.add_product(hex(a), hex(b));
      }
      std::string result;
      fields >> result;
      if (q.to_posit() != hex(result) && ++dot_mismatches <= 5) {
        MESSAGE(line << " -> bitsim " << std::hex << q.to_posit());
      }
      ++dots;
    } else {
      FAIL("unknown line: " << line);
    }
  }
  MESSAGE("SoftPosit vectors: " << conversions << " conversions, " << dots << " dot products");
  CHECK(conversions > 20000);
  CHECK(dots == 1200);
  CHECK(conversion_mismatches == 0);
  CHECK(dot_mismatches == 0);
}
