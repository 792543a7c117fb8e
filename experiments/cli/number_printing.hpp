#pragma once
// The text forms of values and codes that every subcommand prints, so that scripts see
// one spelling everywhere.
#include <cstdint>
#include <string>

namespace bitsim::cli {

// C hex-float ("%a": 0x1.cp+8, -0x0p+0), exact for every double. Any NaN prints as
// "nan" (the code carries its sign); infinities as "inf" and "-inf".
std::string hex_float(double value);

// Shortest decimal that reads back as the same double (448, 0.001953125, 1e+20); same
// spellings as hex_float for NaN and infinities.
std::string shortest_decimal(double value);

// "0x" and the code in lowercase hex, zero-padded to the format's width
// (ceil(bits / 4) digits): 0x7e for 8 bits, 0x6 for 4 bits, 0x3f80 for 16 bits.
std::string hex_code(std::uint64_t code, int bits);

}  // namespace bitsim::cli
