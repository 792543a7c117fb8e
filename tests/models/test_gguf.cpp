#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "tests/models/temp_file.hpp"

using bitsim::models::GgufFile;
using bitsim::models::LoadError;
using bitsim::test::put;
using bitsim::test::TempFile;

namespace {

void put_string(std::vector<std::uint8_t>& out, const std::string& s) {
  put<std::uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

struct TensorSpec {
  std::string name;
  std::vector<std::uint64_t> ne;  // ggml order: ne0 first
  std::uint32_t type;
  std::vector<std::uint8_t> data;
};

std::vector<std::uint8_t> gguf_bytes(const std::vector<TensorSpec>& tensors, std::uint32_t version = 3) {
  std::vector<std::uint8_t> out{'G', 'G', 'U', 'F'};
  put<std::uint32_t>(out, version);
  put<std::uint64_t>(out, tensors.size());
  put<std::uint64_t>(out, 4);  // metadata entries
  put_string(out, "general.architecture");
  put<std::uint32_t>(out, 8);
  put_string(out, "llama");
  put_string(out, "llama.block_count");
  put<std::uint32_t>(out, 4);
  put<std::uint32_t>(out, 30);
  put_string(out, "llama.rope.freq_base");
  put<std::uint32_t>(out, 6);
  put<float>(out, 100000.0f);
  put_string(out, "tokenizer.ggml.tokens");
  put<std::uint32_t>(out, 9);
  put<std::uint32_t>(out, 8);
  put<std::uint64_t>(out, 3);
  for (const char* t : {"<s>", "a", "b"}) put_string(out, t);
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    put_string(out, t.name);
    put<std::uint32_t>(out, t.ne.size());
    for (auto d : t.ne) put<std::uint64_t>(out, d);
    put<std::uint32_t>(out, t.type);
    put<std::uint64_t>(out, offset);
    offset += (t.data.size() + 31) / 32 * 32;
  }
  while (out.size() % 32) out.push_back(0);
  for (const auto& t : tensors) {
    out.insert(out.end(), t.data.begin(), t.data.end());
    while (out.size() % 32) out.push_back(0);
  }
  return out;
}

// F32 [ne0 = 3, ne1 = 2]: bitsim shape {2, 3}.
TensorSpec f32_tensor() {
  TensorSpec t{"w", {3, 2}, 0, {}};
  for (float v : {1.0f, 2.0f, 3.0f, -4.0f, 0.5f, 0.25f}) put(t.data, v);
  return t;
}

// One block each. Scale d = 0.5 (fp16 0x3800), Q4_1 minimum m = -1 (fp16 0xBC00).
// Element i's quant: Q8_0 q = i - 16 (int8); Q4_x q = i % 16 placed per ggml's nibble
// order (byte j: low nibble = element j, high nibble = element j + 16).
TensorSpec q8_0_tensor() {
  TensorSpec t{"q8", {32}, 8, {}};
  put<std::uint16_t>(t.data, 0x3800);
  for (int i = 0; i < 32; ++i) t.data.push_back(static_cast<std::uint8_t>(std::int8_t(i - 16)));
  return t;
}
std::vector<std::uint8_t> nibbles() {
  std::vector<std::uint8_t> b;
  for (int j = 0; j < 16; ++j) b.push_back(static_cast<std::uint8_t>((j % 16) | (((j + 16) % 16) << 4)));
  return b;
}
TensorSpec q4_0_tensor() {
  TensorSpec t{"q4", {32}, 2, {}};
  put<std::uint16_t>(t.data, 0x3800);
  const auto n = nibbles();
  t.data.insert(t.data.end(), n.begin(), n.end());
  return t;
}
TensorSpec q4_1_tensor() {
  TensorSpec t{"q41", {32}, 3, {}};
  put<std::uint16_t>(t.data, 0x3800);
  put<std::uint16_t>(t.data, 0xBC00);
  const auto n = nibbles();
  t.data.insert(t.data.end(), n.begin(), n.end());
  return t;
}

std::vector<TensorSpec> sample_tensors() { return {f32_tensor(), q8_0_tensor(), q4_0_tensor(), q4_1_tensor()}; }

std::string load_error_message(const std::vector<std::uint8_t>& bytes) {
  TempFile file(bytes, ".gguf");
  try {
    const auto f = GgufFile::open(file.path());
    for (const auto& t : f.tensors()) (void)f.load(t.name);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("gguf: metadata, shapes in row-major order, dequantized blocks") {
  TempFile file(gguf_bytes(sample_tensors()), ".gguf");
  const auto f = GgufFile::open(file.path());
  CHECK(f.version() == 3);
  CHECK(f.metadata("general.architecture").as_string("a") == "llama");
  CHECK(f.metadata("llama.block_count").as_int("b") == 30);
  CHECK(f.metadata("llama.rope.freq_base").as_double("f") == 100000.0);
  CHECK(f.metadata("tokenizer.ggml.tokens").as_array("t").size() == 3);
  CHECK_THROWS_AS(f.metadata("llama.block_count").as_string("llama.block_count"), LoadError);
  CHECK_THROWS_AS(f.metadata("absent"), LoadError);

  const auto w = f.load("w");
  CHECK(w.shape() == bitsim::sim::Shape{2, 3});
  CHECK(w.at({1, 0}) == -4.0f);

  const auto q8 = f.load("q8").to_vector();
  const auto q4 = f.load("q4").to_vector();
  const auto q41 = f.load("q41").to_vector();
  for (int i = 0; i < 32; ++i) {
    CHECK(q8[i] == 0.5f * float(i - 16));
    CHECK(q4[i] == 0.5f * float(i % 16 - 8));
    CHECK(q41[i] == 0.5f * float(i % 16) - 1.0f);
  }
}

TEST_CASE("gguf: bad headers are errors that say what is wrong") {
  auto bytes = gguf_bytes(sample_tensors());
  auto with = [&](std::size_t at, std::uint8_t v) {
    auto b = bytes;
    b[at] = v;
    return load_error_message(b);
  };
  CHECK(with(0, 'X').find("not a GGUF file") != std::string::npos);
  CHECK(with(4, 7).find("version 7 is not supported") != std::string::npos);
  CHECK(with(15, 0x40).find("tensor count") != std::string::npos);  // 2^62 tensors
  CHECK(with(23, 0x40).find("metadata count") != std::string::npos);
  auto bad_type = gguf_bytes({TensorSpec{"x", {32}, 12, std::vector<std::uint8_t>(144, 0)}});
  CHECK(load_error_message(bad_type).find("ggml type 12, which bitsim does not read (supported: F32=0") != std::string::npos);
  auto bad_blocks = gguf_bytes({TensorSpec{"x", {31}, 8, std::vector<std::uint8_t>(34, 0)}});
  CHECK(load_error_message(bad_blocks).find("blocks of 32") != std::string::npos);
  CHECK(load_error_message(gguf_bytes(sample_tensors())).empty());
}

TEST_CASE("gguf: every truncation and random corruption is an error or a valid load, never a crash") {
  const auto ok = gguf_bytes(sample_tensors());
  // Prefixes that cut into the header or the data must fail; the zero padding after the
  // last tensor may go.
  const std::size_t needed = ok.size() - (32 - 20);
  for (std::size_t n = 0; n < needed; n += (n < 400 ? 1 : 7)) {
    std::vector<std::uint8_t> cut(ok.begin(), ok.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK_MESSAGE(!load_error_message(cut).empty(), "prefix of " << n << " bytes loaded");
  }
  std::mt19937 rng(11);
  int errors = 0;
  for (int trial = 0; trial < 300; ++trial) {
    auto bad = ok;
    for (int k = 0; k < 3; ++k) bad[rng() % 400] = static_cast<std::uint8_t>(rng());
    errors += !load_error_message(bad).empty();
  }
  CHECK(errors > 0);
}
