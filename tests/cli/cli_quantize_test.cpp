// `bitsim quantize`: the CLI contract of issue #2. Known conversions come from the OCP
// specs and from ml_dtypes' behaviour; stochastic results are checked against the
// library with the same (seed, stream, element index).
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/format.hpp"
#include "tests/cli/run_bitsim.hpp"

namespace bitsim::cli_test {
namespace {

using formats::Format;
using nlohmann::json;

std::string c_hex_float(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%a", value);
  return text;
}

struct Conversion {
  const char* format;
  const char* rounding;
  const char* input;
  const char* code;
};

// Each is a fact about the format, not a value read off bitsim.
constexpr Conversion kKnownConversions[] = {
    {"e4m3fn", "rne", "448", "0x7e"},        // OCP E4M3 max
    {"e4m3fn", "rne", "464", "0x7e"},        // tie between 448 and the NaN code: even stays 448
    {"e4m3fn", "rne", "465", "0x7f"},        // beyond the tie: NaN (non-saturating)
    {"e4m3fn", "rne", "-500", "0xff"},       // negative NaN
    {"e4m3fn", "rz", "1000", "0x7e"},        // IEEE 754 7.4: toward zero gives max, not NaN
    {"e4m3fn", "rne", "0x1p-10", "0x00"},    // half the smallest subnormal: tie to zero
    {"e4m3", "rne", "0x1.8p-9", "0x02"},     // tie between subnormals 1 and 2: even
    {"e4m3", "rne", "240", "0x77"},          // IEEE-like E4M3 max
    {"e5m2", "rne", "61440", "0x7c"},        // tie between 57344 and inf: even is inf
    {"e5m2", "rne", "61439", "0x7b"},
    {"e5m2", "rne", "57344", "0x7b"},        // OCP E5M2 max
    {"e5m2", "rne", "-inf", "0xfc"},
    {"e2m1fn", "rne", "5", "0x6"},           // tie between 4 and 6: even is 4
    {"e2m1fn", "rne", "0.25", "0x0"},        // tie between 0 and 0.5
    {"e2m1fn", "rne", "0.75", "0x2"},        // tie between 0.5 and 1
    {"e2m1fn", "rne", "100", "0x7"},         // formats without inf/NaN saturate
    {"e2m1fn", "rna", "5", "0x7"},           // ties away
    {"e2m1fn", "ru", "4.1", "0x7"},
    {"e2m1fn", "rd", "-4.1", "0xf"},
    {"e2m1fn", "rto", "4.1", "0x7"},         // odd: 6 has the odd mantissa
    {"e4m3fnuz", "rne", "-0", "0x00"},       // fnuz has no -0
    {"e4m3fnuz", "rne", "nan", "0x80"},
    {"bf16", "rne", "1", "0x3f80"},
    {"fp32", "rne", "1", "0x3f800000"},
    {"fp64", "rne", "0.1", "0x3fb99999a0000000"},  // float32(0.1) seen exactly in fp64
    {"int8", "rne", "2.5", "0x02"},
    {"int8", "rne", "200", "0x7f"},
    {"int8", "rne", "-128.4", "0x80"},
};

TEST_CASE("quantize: known conversions, one line per input, code and hex-float value") {
  for (const auto& c : kKnownConversions) {
    CAPTURE(c.format);
    CAPTURE(c.rounding);
    CAPTURE(c.input);
    const auto result = run_bitsim({"quantize", "--format", c.format, "--rounding", c.rounding},
                                   std::string(c.input) + "\n");
    REQUIRE(result.exit_status == 0);
    CHECK(result.err.empty());
    const auto lines = lines_of(result.out);
    REQUIRE(lines.size() == 1);
    const auto words = words_of(lines[0]);
    REQUIRE(words.size() == 2);
    CHECK(words[0] == c.code);
    const Format format = Format::parse(c.format);
    const double value = format.decode(std::stoull(c.code, nullptr, 16));
    CHECK(words[1] == (value != value ? "nan" : c_hex_float(value)));
  }
}

TEST_CASE("quantize: the spellings of special values, in any case and with signs") {
  const auto result = run_bitsim({"quantize", "--format", "e5m2", "--rounding", "rne"},
                                 "nan NaN -nan inf INF +inf -inf Infinity -0 +1.5\n0x1.8P+1");
  REQUIRE(result.exit_status == 0);
  std::vector<std::string> codes, values;
  for (const auto& line : lines_of(result.out)) {
    const auto words = words_of(line);
    REQUIRE(words.size() == 2);
    codes.push_back(words[0]);
    values.push_back(words[1]);
  }
  CHECK(codes == std::vector<std::string>{"0x7e", "0x7e", "0xfe", "0x7c", "0x7c", "0x7c", "0xfc",
                                          "0x7c", "0x80", "0x3e", "0x42"});
  CHECK(values == std::vector<std::string>{"nan", "nan", "nan", "inf", "inf", "inf", "-inf", "inf",
                                           "-0x0p+0", "0x1.8p+0", "0x1.8p+1"});
}

TEST_CASE("quantize --overflow overrides the format's policy") {
  const auto run = [](const char* format, const char* overflow) {
    return run_bitsim({"quantize", "-f", format, "-r", "rne", "--overflow", overflow}, "465 1e6");
  };
  CHECK(run("e4m3fn", "saturate").out == "0x7e 0x1.cp+8\n0x7e 0x1.cp+8\n");
  CHECK(run("e4m3fn", "nan").out == "0x7f nan\n0x7f nan\n");
  CHECK(run("fp16", "saturate").out == "0x5f44 0x1.d1p+8\n0x7bff 0x1.ffcp+15\n");
  CHECK(run("e4m3fn", "inf").exit_status == 2);  // e4m3fn has no infinity
  CHECK(run("int8", "nan").exit_status == 2);    // integers only saturate
  CHECK(run("int8", "saturate").exit_status == 0);
}

TEST_CASE("quantize --json: the fields, codes as hex strings, values as hex-floats") {
  const auto result = run_bitsim(
      {"quantize", "--format", "fp16", "--rounding", "sr:8", "--seed", "5", "--json"},
      "1 nan 1e6 -1e6 0x1p-30");
  REQUIRE(result.exit_status == 0);
  const json j = json::parse(result.out);
  CHECK(j["format"] == "fp16");
  CHECK(j["rounding"] == "sr:8");
  CHECK(j["input_type"] == "f32");
  CHECK(j["seed"] == 5);
  CHECK(j["stream"] == 0);
  CHECK(j["codes"] == json({"0x3c00", "0x7e00", "0x7c00", "0xfc00", "0x0000"}));
  CHECK(j["values"] == json({"0x1p+0", "nan", "inf", "-inf", "0x0p+0"}));

  const auto empty = run_bitsim({"quantize", "--format", "e4m3fn", "--json"}, "");
  REQUIRE(empty.exit_status == 0);
  CHECK(json::parse(empty.out)["codes"].empty());
  CHECK(run_bitsim({"quantize", "--format", "e4m3fn"}, " \n\t ").out.empty());
}

std::vector<std::string> codes_of(const CommandResult& result) {
  std::vector<std::string> codes;
  for (const auto& line : lines_of(result.out)) codes.push_back(words_of(line).at(0));
  return codes;
}

TEST_CASE("quantize sr: element i takes word i of RandomStream{seed, stream}") {
  // 1.0625 lies halfway between the e4m3fn neighbours 1 and 1.125: each element goes
  // either way with probability 1/2, so two different streams of 64 coincide with
  // probability 2^-64.
  std::string input;
  for (int i = 0; i < 64; ++i) input += "1.0625 ";
  const auto quantize = [&](const char* mode, const char* seed, const char* stream) {
    const auto result = run_bitsim(
        {"quantize", "-f", "e4m3fn", "-r", mode, "--seed", seed, "--stream", stream}, input);
    REQUIRE(result.exit_status == 0);
    return codes_of(result);
  };
  const auto seed1 = quantize("sr", "1", "0");
  CHECK(seed1 == quantize("sr", "1", "0"));
  CHECK(seed1 != quantize("sr", "2", "0"));
  CHECK(seed1 != quantize("sr", "1", "7"));

  const Format e4m3fn = Format::parse("e4m3fn");
  for (const auto& [mode, seed, stream] :
       {std::tuple{"sr", 1u, 0u}, std::tuple{"sr", 2u, 0u}, std::tuple{"sr:3", 9u, 7u}}) {
    CAPTURE(mode);
    const auto cli = quantize(mode, std::to_string(seed).c_str(), std::to_string(stream).c_str());
    REQUIRE(cli.size() == 64);
    for (std::size_t i = 0; i < cli.size(); ++i) {
      const std::uint64_t library =
          e4m3fn.encode(1.0625f, formats::parse_rounding(mode), {seed, stream}, i);
      CHECK(std::stoull(cli[i], nullptr, 16) == library);
    }
  }
}

TEST_CASE("quantize --input-type: float32 rounds the text once (strtof); f64 keeps the double") {
  const auto quantize = [](const char* format, const char* mode, const char* type, const char* text) {
    const auto result =
        run_bitsim({"quantize", "-f", format, "-r", mode, "--input-type", type}, text);
    REQUIRE(result.exit_status == 0);
    return words_of(result.out).at(0);
  };
  // 1.00000001 is float32 1.0 exactly, but as a double it lies above 1.
  CHECK(quantize("fp32", "ru", "f32", "1.00000001") == "0x3f800000");
  CHECK(quantize("fp32", "ru", "f64", "1.00000001") == "0x3f800001");
  CHECK(quantize("fp64", "rne", "f64", "0.1") == "0x3fb999999999999a");
  // 1 + 2^-24 + 1e-30 is just above the float32 midpoint 1 + 2^-24. Read as float32 at once
  // it rounds up; read as a double it becomes the midpoint itself, which rne sends to 1.
  const char* above_midpoint = "1.000000059604644775390625000001";
  CHECK(quantize("fp32", "rne", "f32", above_midpoint) == "0x3f800001");
  CHECK(quantize("fp32", "rne", "f64", above_midpoint) == "0x3f800000");
}

TEST_CASE("quantize: a token that is not a number exits 2, names it, prints nothing") {
  for (const char* bad : {"abc", "1.5x", "0x", "--1", "1,5", "infx", "nan(", "0x1p"}) {
    CAPTURE(bad);
    const auto result = run_bitsim({"quantize", "-f", "e4m3fn"}, std::string("1 2 ") + bad + " 4");
    CHECK(result.exit_status == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find(std::string("'") + bad + "'") != std::string::npos);
    CHECK(result.err.find("token 3") != std::string::npos);
  }
}

TEST_CASE("quantize: usage errors exit 2 with the valid choices; --help exits 0") {
  const auto usage_error = [](std::vector<std::string> args) {
    const auto result = run_bitsim(args, "1");
    CHECK(result.exit_status == 2);
    CHECK(result.out.empty());
    return result.err;
  };
  const std::string unknown_format = usage_error({"quantize", "-f", "e9m9", "-r", "rne"});
  CHECK(unknown_format.find("e4m3fn") != std::string::npos);
  CHECK(unknown_format.find("e2m1fn") != std::string::npos);
  const std::string unknown_mode = usage_error({"quantize", "-f", "e4m3fn", "-r", "nearest"});
  for (const char* mode : {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr:k"}) {
    CHECK_MESSAGE(unknown_mode.find(mode) != std::string::npos, mode);
  }
  usage_error({"quantize", "-f", "e4m3fn", "-r", "sr:0"});
  usage_error({"quantize", "-f", "e4m3fn", "-r", "sr:33"});
  usage_error({"quantize", "-f", "e4m3fn", "-r", "rne:4"});
  usage_error({"quantize", "-f", "e4m3fn", "--overflow", "wrap"});
  usage_error({"quantize", "-f", "e4m3fn", "--input-type", "f16"});
  usage_error({"quantize", "-f", "e4m3fn", "--seed", "-1"});
  usage_error({"quantize", "-f", "e4m3fn", "--seed", "18446744073709551616"});
  usage_error({"quantize", "-r", "rne"});
  usage_error({"quantize", "-f", "e4m3fn", "--bogus"});
  usage_error({"frobnicate"});
  usage_error({});

  const auto help = run_bitsim({"quantize", "--help"});
  CHECK(help.exit_status == 0);
  CHECK(help.out.find("--rounding") != std::string::npos);
}

}  // namespace
}  // namespace bitsim::cli_test
