// `bitsim arith`: the CLI face of formats/arithmetic.hpp. Known results are facts about
// the formats (OCP FP8 limits, IEEE 754 zero signs, posit saturation), not values read
// off bitsim; stochastic results are checked against the library with the same seed.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/arithmetic.hpp"
#include "formats/format.hpp"
#include "tests/cli/run_bitsim.hpp"

namespace bitsim::cli_test {
namespace {

using nlohmann::json;

struct Known {
  std::vector<std::string> args;
  const char* output;  // "CODE VALUE"
};

const Known kKnown[] = {
    {{"--format", "e4m3fn", "mul", "1.5", "3"}, "0x49 0x1.2p+2"},                  // 4.5 exactly
    {{"--format", "e4m3fn", "add", "448", "32"}, "0x7f nan"},                     // 480 lies past max: NaN
    {{"--format", "e4m3fn", "--rounding", "rz", "add", "448", "32"}, "0x7e 0x1.cp+8"},  // 7.4: rz keeps max
    {{"--format", "e4m3fn", "add", "448", "16"}, "0x7e 0x1.cp+8"},                // 464: tie, even code 448
    {{"--format", "e5m2", "sub", "1", "1"}, "0x00 0x0p+0"},                       // x - x = +0
    {{"--format", "e5m2", "--rounding", "rd", "sub", "1", "1"}, "0x80 -0x0p+0"},  // ... but -0 under rd
    {{"--format", "e5m2", "add", "-0", "-0"}, "0x80 -0x0p+0"},                    // -0 + -0 = -0
    {{"--format", "e5m2", "div", "1", "0"}, "0x7c inf"},                          // x/0 = inf
    {{"--format", "e5m2", "div", "0", "0"}, "0x7e nan"},                          // 0/0 = NaN
    {{"--format", "e5m2", "sqrt", "-0"}, "0x80 -0x0p+0"},                         // sqrt(-0) = -0
    {{"--format", "e2m1fn", "mul", "6", "6"}, "0x7 0x1.8p+2"},                    // saturates at 6
    {{"--format", "fp16", "fma", "0x1.008p+0", "0x1.008p+0", "-1"}, "0x1c01 0x1.004p-8"},  // 2^-8 + 2^-18: one rounding
    {{"--format", "posit<8,2>", "mul", "0x1p20", "0x1p20"}, "0x7f 0x1p+24"},      // posits saturate at maxpos
    {{"--format", "posit<8,2>", "--codes", "div", "0x40", "0x00"}, "0x80 nan"},   // x/0 = NaR
    {{"--format", "posit16", "sqrt", "4"}, "0x4800 0x1p+1"},
    {{"--format", "int8", "mul", "100", "2"}, "0x7f 0x1.fcp+6"},                  // integers saturate
    {{"--format", "e4m3fn", "--codes", "add", "0x38", "56"}, "0x40 0x1p+1"},      // codes: 1 + 1
};

TEST_CASE("bitsim arith: known results") {
  for (const auto& k : kKnown) {
    std::vector<std::string> args = {"arith"};
    args.insert(args.end(), k.args.begin(), k.args.end());
    const auto r = run_bitsim(args);
    INFO(r.err);
    CHECK(r.exit_status == 0);
    CHECK(r.out == std::string(k.output) + "\n");
  }
}

TEST_CASE("bitsim arith --json") {
  const auto r = run_bitsim({"arith", "--format", "fp16", "--json", "fma", "0.1", "3", "-1"});
  REQUIRE(r.exit_status == 0);
  const json out = json::parse(r.out);
  CHECK(out["format"] == "fp16");
  CHECK(out["rounding"] == "rne");
  CHECK(out["op"] == "fma");
  REQUIRE(out["operands"].size() == 3);
  CHECK(out["operands"][0]["code"] == "0x2e66");  // 0.1 rounded to fp16
  CHECK(out["operands"][2]["value"] == "-0x1p+0");
  // 0x1.998p-4 * 3 - 1 = -0.7001953125 exactly, an fp16 value.
  CHECK(out["code"] == "0xb99a");
  CHECK(out["decimal"] == "-0.7001953125");
}

TEST_CASE("bitsim arith: stochastic rounding uses the (seed, stream, index) word") {
  const formats::Format format = formats::Format::parse("e4m3fn");
  const formats::Arithmetic arith(format);
  const formats::RoundingSpec sr = formats::parse_rounding("sr");
  for (int index = 0; index < 8; ++index) {
    const auto r = run_bitsim({"arith", "-f", "e4m3fn", "-r", "sr", "--seed", "9", "--stream", "2", "--index",
                               std::to_string(index), "--json", "add", "1", "0.0625"});
    REQUIRE(r.exit_status == 0);
    const json out = json::parse(r.out);
    const std::uint64_t expected = arith.add(arith.from_double(1), arith.from_double(0.0625), sr, {9, 2}, index);
    CHECK(out["code"] == (expected == 0x38 ? "0x38" : "0x39"));
    CHECK((expected == 0x38 || expected == 0x39));
    CHECK(out["seed"] == 9);
    CHECK(out["index"] == index);
  }
}

TEST_CASE("bitsim arith: usage errors exit 2 with the reason") {
  const std::vector<std::vector<std::string>> bad = {
      {"arith", "-f", "e4m3fn", "add", "1"},              // too few operands
      {"arith", "-f", "e4m3fn", "sqrt", "1", "2"},        // too many
      {"arith", "-f", "e4m3fn", "pow", "1", "2"},         // unknown operation
      {"arith", "-f", "e4m3fx", "add", "1", "2"},         // unknown format
      {"arith", "-f", "e4m3fn", "-r", "up", "add", "1", "2"},  // unknown rounding
      {"arith", "-f", "e4m3fn", "add", "one", "2"},       // not a number
      {"arith", "-f", "e4m3fn", "--codes", "add", "0x100", "2"},  // code too wide
      {"arith", "-f", "fp64", "-r", "sr", "add", "1", "2"},  // fp64 sr:32 needs 85 bits
  };
  for (const auto& args : bad) {
    const auto r = run_bitsim(args);
    INFO(args[4]);
    CHECK(r.exit_status == 2);
    CHECK(r.out.empty());
    CHECK(!r.err.empty());
  }
  const auto r = run_bitsim({"arith", "-f", "e4m3fn", "pow", "1", "2"});
  CHECK(r.err.find("add, sub, mul, div, fma, sqrt") != std::string::npos);
}

}  // namespace
}  // namespace bitsim::cli_test
