// Integers and fixed point against the reference: int2..int16 and uint1..uint16
// exhaustively (every code, every integer and midpoint with float32/float64 neighbours),
// narrow ranges, fraction bits (Qm.n, negative included), the NaN rule; int17..int32 and
// wide fixed point by random and boundary samples. Saturation is covered by the inputs past
// both ends (lattice_boundary_inputs, special_inputs).
#include <string>

#include <doctest/doctest.h>

#include "tests/formats/exhaustive_check.hpp"

using bitsim::format_tests::check_exhaustively;
using bitsim::format_tests::check_sampled;

TEST_CASE("signed integers int2..int16, exhaustively") {
  for (int bits = 2; bits <= 16; ++bits) check_exhaustively("int" + std::to_string(bits));
}

TEST_CASE("unsigned integers uint1..uint16, exhaustively") {
  for (int bits = 1; bits <= 16; ++bits) check_exhaustively("uint" + std::to_string(bits));
}

TEST_CASE("narrow ranges, fraction bits and the NaN rule, exhaustively") {
  for (const char* spec : {"int2<narrow=true>", "int4<narrow=true>", "int8<narrow=true>", "int16<narrow=true>",
                           "int8<frac=4>", "int8<frac=7>", "int8<frac=-3>", "int16<frac=8>", "uint8<frac=8>",
                           "uint4<frac=-2>", "int6<frac=10,narrow=true>", "int4<frac=64>", "int4<frac=-64>",
                           "int8<nan=max>", "uint8<nan=max>", "int8<narrow=true,nan=max,frac=3>"}) {
    check_exhaustively(spec);
  }
}

TEST_CASE("int17..int32, uint32 and wide fixed point, sampled") {
  constexpr std::size_t kRandom = 200'000;
  std::uint64_t seed = 100;
  for (const char* spec : {"int17", "int24", "int32", "uint32", "uint24", "int32<narrow=true>", "int32<frac=16>",
                           "int32<frac=40>", "int32<frac=-20>", "uint24<frac=30>", "int32<frac=64>", "int32<frac=-64>",
                           "int32<nan=max,narrow=true>"}) {
    check_sampled(spec, kRandom, ++seed);
  }
}
