// Posits and LNS in the CLI (issue #3): `bitsim formats` lists them, `bitsim format SPEC
// [--table]` and `bitsim quantize --format SPEC` give what the library gives.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "formats/format.hpp"
#include "tests/cli/run_bitsim.hpp"

namespace bitsim::cli_test {
namespace {

using formats::Format;
using nlohmann::json;

TEST_CASE("formats lists the named posits and LNS formats") {
  const auto result = run_bitsim({"formats", "--json"});
  REQUIRE(result.exit_status == 0);
  const json list = json::parse(result.out);
  for (const auto& named : formats::extra_named_formats()) {
    CAPTURE(named.name);
    bool found = false;
    for (const auto& entry : list) {
      if (entry["name"] != std::string(named.name)) continue;
      found = true;
      const Format format = Format::parse(named.name);
      CHECK(entry["kind"] == std::string(format.kind()));
      CHECK(entry["bits"] == format.bits());
      CHECK(entry["max"].get<double>() == format.max_value());
      CHECK(entry["epsilon"].get<double>() == format.epsilon());
      CHECK(entry["finite_codes"].get<std::uint64_t>() == format.finite_code_count());
      CHECK(entry["nan"] == format.has_nan());  // posits and LNS: yes; codebooks: no
      CHECK(entry["inf"] == false);
    }
    CHECK(found);
  }
}

TEST_CASE("format posit<8,2> and lns<4,3>: properties and every code in --table") {
  for (const std::string spec : {"posit<8,2>", "lns<4,3>", "posit16es1", "lns<3,2,round=linear>"}) {
    CAPTURE(spec);
    const Format format = Format::parse(spec);
    const auto props = run_bitsim({"format", spec, "--json"});
    REQUIRE(props.exit_status == 0);
    const json p = json::parse(props.out);
    CHECK(p["spec"] == format.spec());
    CHECK(p["max"].get<double>() == format.max_value());
    CHECK(p["min_subnormal"].get<double>() == format.min_subnormal());

    const auto table = run_bitsim({"format", spec, "--table", "--json"});
    REQUIRE(table.exit_status == 0);
    const json t = json::parse(table.out);
    REQUIRE(t["codes"].size() == std::size_t(1) << format.bits());
    std::size_t nan_codes = 0, zero_codes = 0, mismatches = 0;
    for (std::size_t code = 0; code < t["codes"].size(); ++code) {
      const double value = std::strtod(t["values"][code].get<std::string>().c_str(), nullptr);
      const double want = format.decode(code);
      const std::string cls = t["classes"][code];
      if (cls == "nan") ++nan_codes;
      if (cls == "zero") ++zero_codes;
      if (!(value == want || (std::isnan(value) && std::isnan(want)))) ++mismatches;
      if (cls == "subnormal" || cls == "inf" || cls == "unused") ++mismatches;
    }
    CHECK(mismatches == 0);
    CHECK(nan_codes == 1);
    CHECK(zero_codes == 1);
  }
}

TEST_CASE("quantize --format posit16 / lns<4,3>: the library's codes in every mode") {
  const std::string input = "1 2.5 -3 1e9 1e-9 0.1 -0.7 65504 0 -0 inf -inf nan 3.14159";
  for (const std::string spec : {"posit16", "posit<8,0>", "lns<4,3>", "lns16<round=linear>"}) {
    for (const std::string mode : {"rne", "ru", "rd", "rz", "sr:7"}) {
      CAPTURE(spec);
      CAPTURE(mode);
      const auto result = run_bitsim({"quantize", "--format", spec, "--rounding", mode, "--seed", "3",
                                      "--input-type", "f64", "--json"},
                                     input);
      REQUIRE(result.exit_status == 0);
      const json out = json::parse(result.out);
      const Format format = Format::parse(spec);
      CHECK(out["format"] == format.spec());
      const formats::RoundingSpec r = formats::parse_rounding(mode);
      const formats::RandomStream rng{3, 0};
      const auto values = words_of(input);
      REQUIRE(out["codes"].size() == values.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double x = std::strtod(values[i].c_str(), nullptr);
        const std::uint64_t code = std::stoull(out["codes"][i].get<std::string>(), nullptr, 16);
        CHECK(code == format.encode(x, r, rng, i));
      }
    }
  }
}

TEST_CASE("bad posit and LNS specs fail with the valid choices") {
  for (const std::string spec : {"posit<8,9>", "lns<4>", "lns<4,3,round=up>"}) {
    CAPTURE(spec);
    const auto result = run_bitsim({"format", spec});
    CHECK(result.exit_status != 0);
    CHECK(result.out.empty());
    CHECK(result.err.find("valid") != std::string::npos);
  }
}

}  // namespace
}  // namespace bitsim::cli_test

namespace bitsim::cli_test {
namespace {

TEST_CASE("quantize --overflow: LNS takes saturate or nan, posits only saturate") {
  const auto nan = run_bitsim({"quantize", "--format", "lns8", "--overflow", "nan"}, "1e9 -1e9 2");
  REQUIRE(nan.exit_status == 0);
  CHECK(nan.out == "0xc0 nan\n0xc0 nan\n0x08 0x1p+1\n");
  const auto saturate = run_bitsim({"quantize", "--format", "lns<4,3,overflow=nan>", "--overflow", "saturate"}, "1e9");
  REQUIRE(saturate.exit_status == 0);
  CHECK(saturate.out.starts_with("0x3f "));
  for (const char* spec : {"lns8", "posit8"}) {
    CAPTURE(spec);
    const auto bad = run_bitsim({"quantize", "--format", spec, "--overflow", "inf"}, "1");
    CHECK(bad.exit_status != 0);
    CHECK(bad.out.empty());
  }
}

}  // namespace
}  // namespace bitsim::cli_test
