#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>

#include "models/io/load_error.hpp"
#include "models/io/safetensors.hpp"
#include "tests/models/temp_file.hpp"

using bitsim::models::LoadError;
using bitsim::models::SafetensorsFile;
using bitsim::test::put;
using bitsim::test::TempFile;

namespace {

std::vector<std::uint8_t> safetensors_bytes(const std::string& header, const std::vector<std::uint8_t>& data) {
  std::vector<std::uint8_t> out;
  out.reserve(8 + header.size() + data.size());
  put<std::uint64_t>(out, header.size());
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Three tensors: f32 [2,2] = {1, -2.5, 0, 1e-3}; f16 [3] codes {0x3C00 (1), 0xC000 (-2),
// 0x0001 (2^-24)}; bf16 [2] codes {0x3F80 (1), 0x7F80 (+inf)}; f8_e4m3 [2] codes
// {0x7E (448), 0x01 (2^-9)}.
std::vector<std::uint8_t> sample_file() {
  std::vector<std::uint8_t> data;
  for (float v : {1.0f, -2.5f, 0.0f, 1e-3f}) put(data, v);
  for (std::uint16_t c : {0x3C00, 0xC000, 0x0001}) put(data, c);
  for (std::uint16_t c : {0x3F80, 0x7F80}) put(data, c);
  data.push_back(0x7E);
  data.push_back(0x01);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},)"
      R"("a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},)"
      R"("c":{"dtype":"BF16","shape":[2],"data_offsets":[22,26]},)"
      R"("d":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[26,28]}})";
  return safetensors_bytes(header, data);
}

std::string load_error_message(const std::vector<std::uint8_t>& bytes) {
  TempFile file(bytes, ".safetensors");
  try {
    SafetensorsFile::open(file.path());
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("safetensors: tensors, shapes, metadata and exact values") {
  TempFile file(sample_file(), ".safetensors");
  const auto f = SafetensorsFile::open(file.path());
  CHECK(f.tensors().size() == 4);
  CHECK(f.metadata().at("format") == "pt");
  const auto a = f.load("a");
  CHECK(a.shape() == bitsim::sim::Shape{2, 2});
  CHECK(a.to_vector() == std::vector<float>{1.0f, -2.5f, 0.0f, 1e-3f});
  CHECK(f.load("b").to_vector() == std::vector<float>{1.0f, -2.0f, std::ldexp(1.0f, -24)});
  const auto c = f.load("c").to_vector();
  CHECK(c[0] == 1.0f);
  CHECK(std::isinf(c[1]));
  CHECK(f.load("d").to_vector() == std::vector<float>{448.0f, std::ldexp(1.0f, -9)});
  CHECK(f.find("missing") == nullptr);
  CHECK_THROWS_AS(f.get("missing"), LoadError);
}

TEST_CASE("safetensors: malformed headers are errors that say what is wrong") {
  const auto ok = sample_file();
  auto with_header = [](const std::string& h, std::size_t data_bytes = 28) {
    return safetensors_bytes(h, std::vector<std::uint8_t>(data_bytes, 0));
  };
  CHECK(load_error_message(with_header(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})"))
            .find("unknown dtype 'F33' (valid: F64, F32") != std::string::npos);
  CHECK(load_error_message(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})"))
            .find("needs 8") != std::string::npos);
  CHECK(load_error_message(with_header(R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})"))
            .find("outside the data section") != std::string::npos);
  CHECK(load_error_message(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})"))
            .find("overlap") != std::string::npos);
  CHECK(load_error_message(with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"))
            .find("non-integer or negative") != std::string::npos);
  CHECK(load_error_message(with_header(R"({"a":{"dtype":"F32","shape":[1]}})"))
            .find("data_offsets") != std::string::npos);
  CHECK(load_error_message(with_header("[1,2]")).find("not a JSON object") != std::string::npos);
  CHECK(load_error_message(with_header("{\"a\":")).find("not valid JSON") != std::string::npos);
  std::vector<std::uint8_t> huge;
  put<std::uint64_t>(huge, std::uint64_t(1) << 62);
  CHECK(load_error_message(huge).find("implausible") != std::string::npos);
  CHECK(load_error_message({1, 2, 3}).find("truncated") != std::string::npos);
  CHECK_THROWS_AS(SafetensorsFile::open("/nonexistent/model.safetensors"), LoadError);
  CHECK(load_error_message(ok).empty());
}

TEST_CASE("safetensors: every truncation and random corruption is an error or a valid load, never a crash") {
  const auto ok = sample_file();
  for (std::size_t n = 0; n < ok.size(); ++n) {
    std::vector<std::uint8_t> cut(ok.begin(), ok.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_MESSAGE(!load_error_message(cut).empty(), "prefix of " << n << " bytes loaded");
  }
  std::mt19937 rng(7);
  int errors = 0;
  for (int trial = 0; trial < 300; ++trial) {
    auto bad = ok;
    for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<std::uint8_t>(rng());
    TempFile file(bad, ".safetensors");
    try {
      const auto f = SafetensorsFile::open(file.path());
      for (const auto& t : f.tensors()) (void)f.load(t.name);  // loads stay inside the file
    } catch (const LoadError&) {
      ++errors;
    }
  }
  CHECK(errors > 0);
}

TEST_CASE("safetensors: a sharded checkpoint through its index") {
  TempFile shard(sample_file(), ".safetensors");
  const auto name = std::filesystem::path(shard.path()).filename().string();
  const std::string index = R"({"weight_map":{"a":")" + name + R"(","b":")" + name + R"("}})";
  TempFile index_file(std::vector<std::uint8_t>(index.begin(), index.end()), ".index.json");
  const auto f = SafetensorsFile::open(index_file.path());
  CHECK(f.load("a").to_vector()[1] == -2.5f);
  const std::string bad = R"({"weight_map":{"zz":")" + name + R"("}})";
  TempFile bad_file(std::vector<std::uint8_t>(bad.begin(), bad.end()), ".index.json");
  CHECK_THROWS_AS(SafetensorsFile::open(bad_file.path()), LoadError);
}
