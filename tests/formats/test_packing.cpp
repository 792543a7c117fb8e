// Packed codes: codes of `bits` bits laid end to end, least significant bit first, the last
// byte zero-padded. Checked against a bit-by-bit reading of the bytes written here, for
// every width 1..64, and through Format::encode_packed/decode_packed.
#include <cstdint>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "formats/format.hpp"

namespace bf = bitsim::formats;
using bf::Format;

namespace {

// Bit `position` of the byte stream, counting from the least significant bit of byte 0.
int stream_bit(const std::vector<std::uint8_t>& bytes, std::size_t position) {
  return (bytes[position / 8] >> (position % 8)) & 1;
}

std::uint64_t mask(int bits) { return bits == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << bits) - 1; }

}  // namespace

TEST_CASE("pack_codes / unpack_codes for every width 1..64") {
  std::mt19937_64 rng(2024);
  for (int bits = 1; bits <= 64; ++bits) {
    for (std::size_t count : {0, 1, 2, 7, 8, 9, 63, 64, 65, 1001}) {
      INFO(bits << " bits, " << count << " codes");
      std::vector<std::uint64_t> codes(count);
      for (auto& c : codes) c = rng() & mask(bits);
      if (count > 0) codes[0] = mask(bits);  // all ones: touches every bit of its slot
      const auto packed = bf::pack_codes(codes, bits);
      REQUIRE(packed.size() == (count * std::size_t(bits) + 7) / 8);
      // Layout: bit i of code j is stream bit j * bits + i; padding bits are zero.
      bool layout_ok = true;
      for (std::size_t j = 0; j < count; ++j) {
        for (int i = 0; i < bits; ++i) {
          layout_ok &= stream_bit(packed, j * std::size_t(bits) + std::size_t(i)) == int((codes[j] >> i) & 1);
        }
      }
      for (std::size_t p = count * std::size_t(bits); p < packed.size() * 8; ++p) layout_ok &= stream_bit(packed, p) == 0;
      CHECK(layout_ok);
      std::vector<std::uint64_t> back(count, 0xABABABABABABABABull);
      bf::unpack_codes(packed, bits, back);
      CHECK(back == codes);
    }
  }
}

TEST_CASE("pack_codes / unpack_codes reject bad widths and short buffers") {
  const std::vector<std::uint64_t> codes = {1, 2, 3};
  CHECK_THROWS_AS(bf::pack_codes(codes, 0), std::invalid_argument);
  CHECK_THROWS_AS(bf::pack_codes(codes, 65), std::invalid_argument);
  std::vector<std::uint64_t> out(3);
  const std::vector<std::uint8_t> one_byte = {0xFF};
  CHECK_THROWS_AS(bf::unpack_codes(one_byte, 4, out), std::invalid_argument);  // 12 bits needed
  CHECK_THROWS_AS(bf::unpack_codes(one_byte, 0, out), std::invalid_argument);
}

TEST_CASE("e2m1fn: two codes per byte, the first in the low nibble") {
  const Format e2m1 = Format::parse("e2m1fn");
  // OCP MX E2M1 codes: 0.5 = 0x1, 1 = 0x2, 1.5 = 0x3, 2 = 0x4, 3 = 0x5, 4 = 0x6, 6 = 0x7, sign = 0x8.
  const std::vector<float> values = {1.0f, -6.0f, 0.5f, 3.0f, -0.0f, 4.0f, 1.5f};
  const auto packed = e2m1.encode_packed(values);
  CHECK(packed == std::vector<std::uint8_t>{0xF2, 0x51, 0x68, 0x03});
  std::vector<float> back(values.size());
  e2m1.decode_packed(packed, back);
  for (std::size_t i = 0; i < values.size(); ++i) {
    CHECK(std::bit_cast<std::uint32_t>(back[i]) == std::bit_cast<std::uint32_t>(values[i]));
  }
  // Rounding happens on the way in (rne; 5 is a tie between 4 and 6 -> 4, even code 0x6).
  const std::vector<float> inexact = {5.0f, 0.2f, 100.0f, -2.6f};
  CHECK(e2m1.encode_packed(inexact) == std::vector<std::uint8_t>{0x06, 0xD7});
}

TEST_CASE("encode_packed equals pack_codes of the codes, for other widths and stochastic rounding") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(-40.0f, 40.0f);
  std::vector<float> values(999);
  for (auto& v : values) v = u(rng);
  for (const char* spec : {"e3m2fn", "e2m3fn", "e4m3fn", "fp16", "int4", "uint3", "e8m0fnu", "int2", "fp32"}) {
    const Format f = Format::parse(spec);
    for (const bf::RoundingSpec r : {bf::RoundingSpec{}, bf::RoundingSpec{bf::Rounding::stochastic, 8}}) {
      INFO(spec << " " << bf::to_string(r));
      const bf::RandomStream stream{3, 1};
      std::vector<std::uint64_t> codes(values.size());
      f.encode(values, codes, r, stream);
      const auto packed = f.encode_packed(values, r, stream);
      CHECK(packed == bf::pack_codes(codes, f.bits()));
      std::vector<float> decoded(values.size()), expected(values.size());
      f.decode_packed(packed, decoded);
      f.decode(codes, expected);
      bool same = true;
      for (std::size_t i = 0; i < values.size(); ++i) {
        same &= std::bit_cast<std::uint32_t>(decoded[i]) == std::bit_cast<std::uint32_t>(expected[i]);
      }
      CHECK(same);
    }
  }
}
