// Spec strings: every named format parses and its canonical spec round-trips; generic specs
// round-trip through their canonical form; unknown names and bad options fail with a
// message a user can act on. Rounding-mode spellings too.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "formats/format.hpp"

namespace bf = bitsim::formats;
using bf::Format;

namespace {

// The message of the exception `spec` throws (std::invalid_argument or a subclass).
std::string parse_error(const std::string& spec) {
  try {
    Format::parse(spec);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("'" << spec << "' parsed, but should have been rejected");
  return {};
}

}  // namespace

TEST_CASE("every named format parses, and its canonical spec is its name") {
  CHECK(bf::named_formats().size() >= 25);
  for (const auto& named : bf::named_formats()) {
    const std::string name(named.name);
    INFO(name);
    const Format f = Format::parse(name);
    CHECK(f.spec() == name);
    CHECK(f.repr() == named.format);
    CHECK(Format::parse(f.spec()) == f);
    CHECK(Format::parse("  " + name + " ") == f);  // surrounding blanks are ignored
    CHECK(Format::parse(name + "<>") == f);         // an empty option list is no option
  }
}

TEST_CASE("canonical specs of variants and generic formats round-trip") {
  const std::vector<std::string> specs = {
      "e4m3fn<overflow=saturate>", "e5m2<overflow=nan,ftz_in=true>", "e2m1fn<nan=max>", "fp16<ftz_out=true>",
      "bf16<ftz_in=1, ftz_out=true>", "fp<e=4,m=3,specials=fn>", "fp<e=4,m=3,bias=7,specials=fn>",
      "fp<e=5,m=0,bias=14>", "fp<e=6,m=0,signed=false,specials=fn,subnormals=false>", "fp<e=11,m=30>",
      "fp<e=4,m=3,specials=fnuz>", "fp<e=8,m=23>", "fp<e=3,m=2,bias=-2,specials=none,nan=max>",
      "int8<narrow=true>", "int16<frac=8>", "uint24<frac=-3>", "int<bits=12,frac=4>", "uint<bits=5>",
      "int8<nan=max,narrow=true>", "int32<overflow=saturate>", "int7"};
  for (const auto& spec : specs) {
    INFO(spec);
    const Format f = Format::parse(spec);
    const std::string canonical = f.spec();
    INFO("canonical: " << canonical);
    const Format again = Format::parse(canonical);
    CHECK(again == f);
    CHECK(again.spec() == canonical);
  }
  // Equal formats have one canonical spec, whatever the spelling.
  CHECK(Format::parse("fp<e=8,m=23>").spec() == "fp32");
  CHECK(Format::parse("fp<e=5,m=2>").spec() == "e5m2");
  CHECK(Format::parse("fp<e=4,m=3,specials=fnuz>").spec() == "e4m3fnuz");
  CHECK(Format::parse("int<bits=8>").spec() == "int8");
  CHECK(Format::parse("e4m3fn<overflow=nan>").spec() == "e4m3fn");
}

TEST_CASE("unknown format names throw UnknownFormat listing the valid names") {
  for (const char* spec : {"e4m3x", "fp8", "", "positron", "lns7", "E4M3FN", "float32"}) {
    INFO("spec '" << spec << "'");
    CHECK_THROWS_AS(Format::parse(spec), bf::UnknownFormat);
    const std::string message = parse_error(spec);
    CHECK(message.find(std::string("'") + spec) != std::string::npos);
    for (const auto& named : bf::named_formats()) CHECK(message.find(std::string(named.name)) != std::string::npos);
    CHECK(message.find("fp<e=") != std::string::npos);  // and the generic forms
  }
}

TEST_CASE("bad options throw std::invalid_argument saying what is wrong") {
  struct Bad {
    const char* spec;
    std::vector<const char*> message_parts;  // each must appear in the message
  };
  const Bad cases[] = {
      {"e4m3fn<foo=1>", {"unknown option 'foo'", "overflow", "ftz_in"}},
      {"fp<e=0,m=3>", {"exponent bits e must be 1..11", "0"}},
      {"fp<e=12,m=3>", {"1..11", "12"}},
      {"fp<e=5,m=60>", {"m must be 0..52", "60"}},
      {"e4m3fn<overflow=inf>", {"overflow=inf", "infinities"}},
      {"e2m1fn<overflow=nan>", {"overflow=nan", "NaN"}},
      {"e5m2<overflow=inf,overflow=nan>", {"'overflow' given twice"}},
      {"e4m3fn<overflow=saturate", {"missing '>'"}},
      {"fp<e=abc,m=3>", {"needs an integer", "abc"}},
      {"fp<e=4,m=3,bias=1.5>", {"needs an integer", "1.5"}},
      {"e4m3fn<ftz_in=maybe>", {"true or false", "maybe"}},
      {"e4m3fn<overflow=wrap>", {"wrap", "saturate, inf, nan"}},
      {"e4m3fn<nan=one>", {"one", "zero, max"}},
      {"fp<e=5>", {"needs both e and m"}},
      {"fp<e=4,m=3,specials=weird>", {"specials must be one of", "weird"}},
      {"fp<e=4,m=3,specials=fnuz,signed=false>", {"fnuz", "sign"}},
      {"fp<e=11,m=52,bias=2000>", {"float64's range"}},
      {"e4m3fn<,>", {"empty option"}},
      {"int8<overflow=inf>", {"only saturate"}},
      {"int8<ftz_in=true>", {"unknown option 'ftz_in'", "bits, frac, narrow, nan"}},
      {"int<frac=3>", {"needs bits"}},
      {"int<bits=40>", {"bits must be", "40"}},
      {"int1", {"bits must be", "1"}},
      {"uint8<narrow=true>", {"narrow applies to signed"}},
      {"int8<frac=100>", {"frac must be -64..64", "100"}},
  };
  for (const auto& bad : cases) {
    INFO("spec '" << bad.spec << "'");
    CHECK_THROWS_AS(Format::parse(bad.spec), std::invalid_argument);
    const std::string message = parse_error(bad.spec);
    INFO("message: " << message);
    for (const char* part : bad.message_parts) CHECK(message.find(part) != std::string::npos);
  }
}

TEST_CASE("rounding mode spellings") {
  const std::pair<const char*, bf::RoundingSpec> good[] = {
      {"rne", {bf::Rounding::nearest_even}},    {"rna", {bf::Rounding::nearest_away}},
      {"rnz", {bf::Rounding::nearest_zero}},    {"ru", {bf::Rounding::toward_positive}},
      {"rd", {bf::Rounding::toward_negative}},  {"rz", {bf::Rounding::toward_zero}},
      {"rto", {bf::Rounding::odd}},             {"sr", {bf::Rounding::stochastic, 32}},
      {"sr:1", {bf::Rounding::stochastic, 1}},  {"sr:8", {bf::Rounding::stochastic, 8}},
      {"sr:32", {bf::Rounding::stochastic, 32}}};
  for (const auto& [text, spec] : good) {
    INFO(text);
    CHECK(bf::parse_rounding(text) == spec);
    CHECK(bf::parse_rounding(bf::to_string(spec)) == spec);
  }
  for (const char* text : {"sr:0", "sr:33", "sr:", "sr:x", "rne:3", "nearest", ""}) {
    INFO("'" << text << "'");
    CHECK_THROWS_AS(bf::parse_rounding(text), std::invalid_argument);
  }
  try {
    bf::parse_rounding("nearest");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    for (const char* name : {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr:k"}) CHECK(message.find(name) != std::string::npos);
  }
}
