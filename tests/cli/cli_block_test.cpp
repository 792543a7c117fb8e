// Block formats in the CLI (issue #4): `bitsim quantize --format mxfp4` reads stdin as one
// 1-D tensor; `bitsim formats` and `bitsim format SPEC` show block formats with their
// effective bits. Expected codes are OCP MX / NVFP4 facts derived by hand; values and
// scales are also checked against the library the CLI wraps.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/block/block_quantize.hpp"
#include "tests/cli/run_bitsim.hpp"

namespace bitsim::cli_test {
namespace {

using formats::BlockFormat;
using nlohmann::json;

double read_hex_float(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

TEST_CASE("quantize --format mxfp4 --json: codes, scales with values, values") {
  // Block 0: amax 6 -> E8M0 2^(2 - 2) = 2^0 (code 127); 1 -> 0x2, 2 -> 0x4, 3 -> 0x5,
  // 7 -> 6 (clamped, 0x7), -0.5 -> 0x9. Block 1 (elements 32..33): amax 0.75 -> 2^(-1 - 2),
  // 0.75 / 0.125 = 6 -> 0x7, 0.25 / 0.125 = 2 -> 0x4.
  std::string input = "1 2 3 7 -0.5";
  for (int i = 5; i < 32; ++i) input += " 0";
  input += " 0.75 0.25\n";
  const auto result = run_bitsim({"quantize", "--format", "mxfp4", "--json"}, input);
  REQUIRE(result.exit_status == 0);
  CHECK(result.err.empty());
  const json j = json::parse(result.out);
  CHECK(j["format"] == "mxfp4");
  CHECK(j["rounding"] == "rne");
  CHECK(j["effective_bits"] == 4.25);
  CHECK(j["block"] == json::array({1, 32}));
  REQUIRE(j["codes"].size() == 34);
  REQUIRE(j["values"].size() == 34);
  REQUIRE(j["scales"].size() == 2);
  CHECK(j["codes"][0] == "0x2");
  CHECK(j["codes"][1] == "0x4");
  CHECK(j["codes"][2] == "0x5");
  CHECK(j["codes"][3] == "0x7");
  CHECK(j["codes"][4] == "0x9");
  CHECK(j["codes"][32] == "0x7");
  CHECK(j["codes"][33] == "0x4");
  CHECK(j["scales"][0]["code"] == "0x7f");
  CHECK(read_hex_float(j["scales"][0]["value"]) == 1.0);
  CHECK(j["scales"][1]["code"] == "0x7c");
  CHECK(read_hex_float(j["scales"][1]["value"]) == 0.125);
  CHECK(read_hex_float(j["values"][3]) == 6.0);
  CHECK(read_hex_float(j["values"][4]) == -0.5);
  CHECK(read_hex_float(j["values"][32]) == 0.75);
  CHECK_FALSE(j.contains("zero_points"));
  CHECK_FALSE(j.contains("tensor_scale"));
}

TEST_CASE("quantize: block formats agree with block_quantize and block_encode") {
  const std::vector<float> x = {0.1f, -3.7f, 250.0f, 1e-3f, -0.0f, 17.0f, 6.5f, -0.26f, 1.5e5f, 2.0f,
                                3.0f, -1.0f, 0.5f, 4.4f, -9.0f, 11.0f, 0.0f, 12.5f, -0.001f, 8.0f};
  std::string input;
  for (float v : x) input += std::to_string(v) + " ";
  for (const char* spec : {"mxfp8_e4m3", "mxfp4<block=8>", "nvfp4<block=4>", "int4:sym:g8", "int4:asym:g8",
                           "q8_0", "q4_1", "bfp<m=5,block=4>", "mxfp6_e2m3<rule=mse>"}) {
    CAPTURE(spec);
    const auto result = run_bitsim({"quantize", "--format", spec, "--json"}, input);
    REQUIRE(result.exit_status == 0);
    const json j = json::parse(result.out);
    // The CLI reads the decimal text as float32, as std::to_string wrote it.
    std::vector<float> read;
    for (float v : x) read.push_back(std::strtof(std::to_string(v).c_str(), nullptr));
    const BlockFormat f = BlockFormat::parse(spec);
    std::vector<float> expected(read.size());
    formats::block_quantize(f, read, 1, read.size(), expected);
    const auto enc = formats::block_encode(f, read, 1, read.size());
    REQUIRE(j["values"].size() == read.size());
    REQUIRE(j["scales"].size() == enc.scales.size());
    for (std::size_t i = 0; i < read.size(); ++i) {
      CHECK(read_hex_float(j["values"][i]) == double(expected[i]));
      CHECK(std::stoull(j["codes"][i].get<std::string>(), nullptr, 16) == enc.elements[i]);
    }
    for (std::size_t b = 0; b < enc.scales.size(); ++b) {
      CHECK(std::stoull(j["scales"][b]["code"].get<std::string>(), nullptr, 16) == enc.scales[b]);
      CHECK(read_hex_float(j["scales"][b]["value"]) == f.scale().decode(enc.scales[b]));
    }
    CHECK(j.contains("zero_points") == !enc.zero_points.empty());
    CHECK(j.contains("tensor_scale") == f.has_tensor_scale());
    if (f.has_tensor_scale()) CHECK(read_hex_float(j["tensor_scale"]) == double(enc.tensor_scale));
  }
}

TEST_CASE("quantize: block text output, --rounding and stochastic rounding") {
  const auto text = run_bitsim({"quantize", "--format", "mxfp4<block=2>"}, "5 1 -3 0.25\n");
  REQUIRE(text.exit_status == 0);
  const auto lines = lines_of(text.out);
  // Block 0: amax 5 -> 2^0, 5 ties between 4 and 6 -> 4 (even). Block 1: amax 3 -> 2^-1,
  // -3 / 0.5 = -6 (0xf), 0.25 / 0.5 = 0.5 (0x1).
  REQUIRE(lines.size() == 6);
  CHECK(words_of(lines[0]) == std::vector<std::string>{"block", "0", "scale", "0x7f", "0x1p+0"});
  CHECK(words_of(lines[1]) == std::vector<std::string>{"0x6", "0x1p+2"});
  CHECK(words_of(lines[2]) == std::vector<std::string>{"0x2", "0x1p+0"});
  CHECK(words_of(lines[3]) == std::vector<std::string>{"block", "1", "scale", "0x7e", "0x1p-1"});
  CHECK(words_of(lines[4]) == std::vector<std::string>{"0xf", "-0x1.8p+1"});
  CHECK(words_of(lines[5]) == std::vector<std::string>{"0x1", "0x1p-2"});

  // --rounding replaces the spec's element rounding: 5 rounds away to 6 (0x7).
  const auto rna = run_bitsim({"quantize", "--format", "mxfp4<block=2>", "--rounding", "rna", "--json"}, "5 1\n");
  REQUIRE(rna.exit_status == 0);
  CHECK(json::parse(rna.out)["codes"][0] == "0x7");
  CHECK(json::parse(rna.out)["rounding"] == "rna");
  // ... and the spec's own rounding stays when --rounding is not given.
  const auto spec_rna = run_bitsim({"quantize", "--format", "mxfp4<block=2,round=rna>", "--json"}, "5 1\n");
  REQUIRE(spec_rna.exit_status == 0);
  CHECK(json::parse(spec_rna.out)["codes"][0] == "0x7");

  // Stochastic rounding: element i draws word i of (seed, stream), as the library does.
  std::string input;
  std::vector<float> x;
  for (int i = 0; i < 64; ++i) {
    x.push_back(0.1f * float(i) - 2.9f);
    input += std::to_string(x.back()) + " ";
  }
  for (float& v : x) v = std::strtof(std::to_string(v).c_str(), nullptr);
  const auto sr = run_bitsim({"quantize", "--format", "mxfp4", "--rounding", "sr", "--seed", "7", "--stream", "3",
                              "--json"}, input);
  REQUIRE(sr.exit_status == 0);
  auto d = BlockFormat::parse("mxfp4").description();
  d.rounding = formats::parse_rounding("sr");
  std::vector<float> expected(x.size());
  formats::block_quantize(BlockFormat(d), x, 1, x.size(), expected, formats::RandomStream{7, 3});
  const json j = json::parse(sr.out);
  for (std::size_t i = 0; i < x.size(); ++i) CHECK(read_hex_float(j["values"][i]) == double(expected[i]));
}

TEST_CASE("quantize: NaN blocks, empty input and bad options on block formats") {
  const auto nan = run_bitsim({"quantize", "--format", "mxfp8_e4m3", "--json"}, "1 nan 2\n");
  REQUIRE(nan.exit_status == 0);
  const json j = json::parse(nan.out);
  CHECK(j["scales"][0]["code"] == "0xff");  // E8M0 NaN: the whole block decodes to NaN
  CHECK(j["scales"][0]["value"] == "nan");
  CHECK(j["values"][0] == "nan");

  const auto empty = run_bitsim({"quantize", "--format", "mxfp4", "--json"}, "");
  REQUIRE(empty.exit_status == 0);
  CHECK(json::parse(empty.out)["codes"].empty());
  CHECK(json::parse(empty.out)["scales"].empty());

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"quantize", "--format", "mxfp4", "--overflow", "inf"},
        std::vector<std::string>{"quantize", "--format", "mxfp4", "--input-type", "f64"},
        std::vector<std::string>{"quantize", "--format", "mxfp4<block=-1>"},
        std::vector<std::string>{"quantize", "--format", "mxfp4<colour=red>"},
        std::vector<std::string>{"quantize", "--format", "int4:sym:g0x"}}) {
    const auto bad = run_bitsim(args, "1 2\n");
    CHECK(bad.exit_status == 2);
    CHECK(bad.out.empty());
    CHECK_FALSE(bad.err.empty());
  }
  const auto bad_token = run_bitsim({"quantize", "--format", "mxfp4"}, "1 x 2\n");
  CHECK(bad_token.exit_status == 2);
  CHECK(bad_token.out.empty());
}

TEST_CASE("unknown names list both element and block formats") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"format", "mxfp5"},
                                               std::vector<std::string>{"quantize", "--format", "mxfp5"}}) {
    const auto result = run_bitsim(args, "1\n");
    CHECK(result.exit_status == 2);
    for (const char* name : {"e4m3fn", "e2m1fn", "mxfp4", "nvfp4", "mxfp8_e4m3", "q4_0", "bfp<m=", "sym"}) {
      CHECK_MESSAGE(result.err.find(name) != std::string::npos, name);
    }
  }
}

TEST_CASE("formats: the block table lists every named block format with its effective bits") {
  const auto result = run_bitsim({"formats"});
  REQUIRE(result.exit_status == 0);
  const auto lines = lines_of(result.out);
  std::size_t header = 0;
  while (header < lines.size() && !lines[header].starts_with("block_format")) ++header;
  REQUIRE(header < lines.size());
  for (const char* column : {"element", "scale", "block", "rule", "effective_bits", "description"}) {
    CHECK_MESSAGE(lines[header].find(column) != std::string::npos, column);
  }
  std::map<std::string, std::string> bits;
  for (std::size_t i = header + 1; i < lines.size(); ++i) {
    const auto words = words_of(lines[i]);
    REQUIRE(words.size() > 5);
    bits[words[0]] = words[5];
  }
  for (const auto& named : formats::named_block_formats()) CHECK(bits.contains(std::string(named.name)));
  // OCP MX: 8-bit E8M0 per 32 elements; NVFP4: 8-bit E4M3 per 16; group INT: fp16 per g.
  CHECK(bits["mxfp4"] == "4.25");
  CHECK(bits["mxfp8_e4m3"] == "8.25");
  CHECK(bits["mxfp6_e2m3"] == "6.25");
  CHECK(bits["nvfp4"] == "4.5");
  CHECK(bits["q8_0"] == "8.5");
  CHECK(bits["q4_0"] == "4.5");
  CHECK(bits["int4:sym:g128"] == "4.125");
  CHECK(bits["int4:asym:g64"] == "4.3125");
}

TEST_CASE("formats --json and format SPEC: block entries") {
  const auto list = run_bitsim({"formats", "--json"});
  REQUIRE(list.exit_status == 0);
  std::map<std::string, json> blocks;
  for (const auto& e : json::parse(list.out)) {
    if (e.value("kind", "") == "block") blocks[e["name"]] = e;
  }
  CHECK(blocks.size() == formats::named_block_formats().size() + 2);
  for (const auto& [name, e] : blocks) {
    CAPTURE(name);
    CHECK(e["effective_bits"].get<double>() == BlockFormat::parse(name).effective_bits());
  }
  CHECK(blocks["mxfp4"]["element"] == "e2m1fn");
  CHECK(blocks["mxfp4"]["scale"] == "e8m0fnu");
  CHECK(blocks["mxfp4"]["block"] == "1x32");
  CHECK(blocks["mxfp4"]["rule"] == "floor");
  CHECK(blocks["nvfp4"]["scale"] == "e4m3fn");
  CHECK(blocks["nvfp4"]["tensor_scale"] == "fp32");

  const auto one = run_bitsim({"format", "nvfp4<block=16x16>", "--json"});
  REQUIRE(one.exit_status == 0);
  const json j = json::parse(one.out);
  CHECK(j["kind"] == "block");
  CHECK(j["block"] == "16x16");
  CHECK(j["element"] == "e2m1fn");
  CHECK(j["effective_bits"] == 4.03125);  // 4 + 8 / 256

  const auto text = run_bitsim({"format", "mxfp4"});
  REQUIRE(text.exit_status == 0);
  std::map<std::string, std::string> props;
  for (const auto& line : lines_of(text.out)) {
    const auto words = words_of(line);
    if (words.size() >= 2) props[words[0]] = words[1];
  }
  CHECK(props["spec"] == "mxfp4");
  CHECK(props["element"] == "e2m1fn");
  CHECK(props["scale"] == "e8m0fnu");
  CHECK(props["block"] == "1x32");
  CHECK(props["rule"] == "floor");
  CHECK(props["effective_bits"] == "4.25");

  const auto channel = run_bitsim({"format", "int8:sym:channel", "--json"});
  REQUIRE(channel.exit_status == 0);
  CHECK(json::parse(channel.out)["block"] == "1xrow");
  CHECK(json::parse(channel.out)["effective_bits"] == 8.0);

  const auto table = run_bitsim({"format", "mxfp4", "--table"});
  CHECK(table.exit_status == 2);
  CHECK(table.err.find("e2m1fn") != std::string::npos);
}

}  // namespace
}  // namespace bitsim::cli_test
