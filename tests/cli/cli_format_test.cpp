// `bitsim formats` and `bitsim format SPEC [--table]`: exit statuses, JSON shape, and
// values checked against published format facts (OCP OFP8/MX, IEEE 754) and against the
// library the CLI wraps.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include <nlohmann/json.hpp>

#include "formats/format.hpp"
#include "tests/cli/run_bitsim.hpp"

namespace bitsim::cli_test {
namespace {

using formats::Format;
using nlohmann::json;

double read_hex_float(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

TEST_CASE("formats: a table row for every named format, in order") {
  const auto result = run_bitsim({"formats"});
  REQUIRE(result.exit_status == 0);
  CHECK(result.err.empty());
  auto lines = lines_of(result.out);
  // The block formats' table follows after a blank line (cli_block_test.cpp checks it).
  lines.erase(std::find(lines.begin(), lines.end(), std::string()), lines.end());
  REQUIRE(lines.size() == formats::named_formats().size() + formats::extra_named_formats().size() + 1);
  for (const char* column : {"name", "bits", "max", "min_normal", "min_subnormal", "epsilon",
                             "finite_codes", "inf", "nan", "overflow", "description"}) {
    CHECK_MESSAGE(lines[0].find(column) != std::string::npos, column);
  }
  for (std::size_t i = 0; i < formats::named_formats().size(); ++i) {
    CHECK(words_of(lines[i + 1]).at(0) == formats::named_formats()[i].name);
  }
}

TEST_CASE("formats --json: the library's properties, and the specs' facts") {
  const auto result = run_bitsim({"formats", "--json"});
  REQUIRE(result.exit_status == 0);
  json list = json::parse(result.out);
  REQUIRE(list.is_array());
  // Block formats ("kind": "block") are checked in cli_block_test.cpp.
  const auto is_block = [](const json& e) { return e.value("kind", "") == "block"; };
  list.erase(std::remove_if(list.begin(), list.end(), is_block), list.end());
  REQUIRE(list.size() == formats::named_formats().size() + formats::extra_named_formats().size());

  std::map<std::string, json> by_name;
  for (const auto& entry : list) {
    for (const char* key : {"name", "bits", "max", "min", "min_normal", "min_subnormal", "epsilon",
                            "finite_codes", "inf", "nan", "overflow", "nan_rule", "kind",
                            "description"}) {
      REQUIRE_MESSAGE(entry.contains(key), key);
    }
    const Format format = Format::parse(entry["name"].get<std::string>());
    CHECK(entry["bits"] == format.bits());
    CHECK(entry["max"].get<double>() == format.max_value());
    CHECK(entry["min_subnormal"].get<double>() == format.min_subnormal());
    CHECK(entry["finite_codes"].get<std::uint64_t>() == format.finite_code_count());
    by_name[entry["name"]] = entry;
  }
  // OCP OFP8 rev 1.0 and OCP MX v1.0 tables; IEEE 754 binary16.
  CHECK(by_name["e4m3fn"]["max"] == 448.0);
  CHECK(by_name["e4m3fn"]["min_subnormal"] == std::ldexp(1.0, -9));
  CHECK(by_name["e4m3fn"]["inf"] == false);
  CHECK(by_name["e5m2"]["max"] == 57344.0);
  CHECK(by_name["e5m2"]["min_subnormal"] == std::ldexp(1.0, -16));
  CHECK(by_name["e5m2"]["inf"] == true);
  CHECK(by_name["e2m1fn"]["max"] == 6.0);
  CHECK(by_name["e2m1fn"]["nan"] == false);
  CHECK(by_name["e3m2fn"]["max"] == 28.0);
  CHECK(by_name["e2m3fn"]["max"] == 7.5);
  CHECK(by_name["e8m0fnu"]["max"] == std::ldexp(1.0, 127));
  CHECK(by_name["e8m0fnu"]["min_subnormal"] == std::ldexp(1.0, -127));
  CHECK(by_name["fp16"]["max"] == 65504.0);
  CHECK(by_name["fp16"]["finite_codes"] == 65536 - 2 * 1024);
}

TEST_CASE("format SPEC: one format's properties under its canonical spec") {
  SUBCASE("a named format") {
    const auto result = run_bitsim({"format", "e4m3fn", "--json"});
    REQUIRE(result.exit_status == 0);
    const json j = json::parse(result.out);
    CHECK(j["spec"] == "e4m3fn");
    CHECK(j["max"] == 448.0);
    CHECK(j["min"] == -448.0);
    CHECK(j["overflow"] == "nan");
  }
  SUBCASE("a generic spec that equals a named format is reported by that name") {
    const auto result = run_bitsim({"format", "fp<e=5,m=10>", "--json"});
    REQUIRE(result.exit_status == 0);
    CHECK(json::parse(result.out)["spec"] == "fp16");
  }
  SUBCASE("options show up in the spec") {
    const auto result = run_bitsim({"format", "e4m3fn<overflow=saturate>", "--json"});
    REQUIRE(result.exit_status == 0);
    const json j = json::parse(result.out);
    CHECK(j["spec"] == "e4m3fn<overflow=saturate>");
    CHECK(j["overflow"] == "saturate");
  }
  SUBCASE("text form: one property per line") {
    const auto result = run_bitsim({"format", "fp32"});
    REQUIRE(result.exit_status == 0);
    CHECK(result.out.find("spec") != std::string::npos);
    CHECK(result.out.find("IEEE 754 binary32") != std::string::npos);
  }
}

TEST_CASE("format e2m1fn --table: the 16 OCP FP4 codes") {
  const auto result = run_bitsim({"format", "e2m1fn", "--table"});
  REQUIRE(result.exit_status == 0);
  const auto lines = lines_of(result.out);
  REQUIRE(lines.size() == 17);
  CHECK(words_of(lines[0]) == std::vector<std::string>{"code", "value", "decimal", "class"});
  const double magnitudes[] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};  // OCP MX v1.0, FP4 E2M1
  for (int code = 0; code < 16; ++code) {
    const auto row = words_of(lines[code + 1]);
    REQUIRE(row.size() == 4);
    const double expected = (code & 8 ? -1 : 1) * magnitudes[code & 7];
    CAPTURE(code);
    CHECK(std::strtoull(row[0].c_str(), nullptr, 16) == std::uint64_t(code));
    CHECK(row[0].size() == 3);  // one hex digit for a 4-bit code
    CHECK(read_hex_float(row[1]) == expected);
    CHECK(std::signbit(read_hex_float(row[1])) == bool(code & 8));
    CHECK(std::strtod(row[2].c_str(), nullptr) == expected);
    const char* expected_class = (code & 7) == 0 ? "zero" : (code & 7) == 1 ? "subnormal" : "normal";
    CHECK(row[3] == expected_class);
  }
}

TEST_CASE("format e4m3fn --table: every code agrees with the library and OCP E4M3") {
  const auto result = run_bitsim({"format", "e4m3fn", "--table", "--json"});
  REQUIRE(result.exit_status == 0);
  const json j = json::parse(result.out);
  REQUIRE(j["codes"].size() == 256);
  REQUIRE(j["values"].size() == 256);
  REQUIRE(j["classes"].size() == 256);
  const Format e4m3fn = Format::parse("e4m3fn");
  std::map<std::string, int> class_counts;
  for (std::uint64_t code = 0; code < 256; ++code) {
    CAPTURE(code);
    CHECK(std::strtoull(j["codes"][code].get<std::string>().c_str(), nullptr, 16) == code);
    const double value = read_hex_float(j["values"][code]);
    const double library = e4m3fn.decode(code);
    CHECK(((std::isnan(value) && std::isnan(library)) || value == library));
    ++class_counts[j["classes"][code]];
  }
  CHECK(j["values"][0x7e] == "0x1.cp+8");  // 448, the largest finite value
  CHECK(j["values"][0x7f] == "nan");
  CHECK(j["values"][0xff] == "nan");
  CHECK(j["values"][0x01] == "0x1p-9");  // smallest subnormal
  CHECK(class_counts["nan"] == 2);
  CHECK(class_counts["zero"] == 2);
  CHECK(class_counts["subnormal"] == 14);
  CHECK(class_counts["inf"] == 0);
}

TEST_CASE("format --table: 16-bit formats list all 65536 codes; wider ones are refused") {
  const auto bf16 = run_bitsim({"format", "bf16", "--table"});
  REQUIRE(bf16.exit_status == 0);
  CHECK(lines_of(bf16.out).size() == 65537);

  for (const char* wide : {"fp32", "tf32", "int32"}) {
    CAPTURE(wide);
    const auto result = run_bitsim({"format", wide, "--table"});
    CHECK(result.exit_status == 2);
    CHECK(result.out.empty());
    CHECK(result.err.find("16 bits") != std::string::npos);
  }
}

TEST_CASE("format --table marks the code a narrow integer never produces") {
  const auto result = run_bitsim({"format", "int8<narrow>", "--table", "--json"});
  REQUIRE(result.exit_status == 0);
  const json j = json::parse(result.out);
  CHECK(j["classes"][0x80] == "unused");
  CHECK(j["classes"][0x81] == "normal");
}

TEST_CASE("format: unknown formats and bad specs exit 2 and say what is valid") {
  for (const char* spec : {"e4m3x", "fp<e=4>", "fp<e=4,m=3,colour=red>", "int8<narrow", ""}) {
    CAPTURE(spec);
    const auto result = run_bitsim({"format", spec});
    CHECK(result.exit_status == 2);
    CHECK(result.out.empty());
    CHECK_FALSE(result.err.empty());
  }
  const auto unknown = run_bitsim({"format", "e4m3x"});
  for (const char* name : {"e4m3fn", "bf16", "e2m1fn", "int8", "fp<e="}) {
    CHECK_MESSAGE(unknown.err.find(name) != std::string::npos, name);
  }
}

}  // namespace
}  // namespace bitsim::cli_test
