// Re-quantizing the real checkpoint's stored weights to their own format (label slow: it
// dequantizes and quantizes all 135M weights; a few seconds in Release, far more under
// the sanitizers, whose pass the quick suites already cover for these code paths).
#include <doctest/doctest.h>

#include <bit>
#include <cstdint>

#include "formats/block/block_format.hpp"
#include "formats/block/block_quantize.hpp"
#include "models/io/gguf.hpp"
#include "tests/models/pretrained.hpp"

using namespace bitsim::models;
using bitsim::test::present;

// A format that represents the weights exactly changes nothing: SmolLM2's Q4_1 and Q8_0
// tensors, dequantized and quantized again to the same bitsim block format (along each
// row, as GGUF blocks run), come back bit for bit. Counts every tensor of those types.
TEST_CASE("pretrained: re-quantizing SmolLM2's Q4_1 / Q8_0 weights to q4_1 / q8_0 changes nothing") {
  const std::string path = bitsim::test::smollm2_gguf();
  if (!present(path)) return;
  const auto f = GgufFile::open(path);
  int checked = 0;
  for (const auto& t : f.tensors()) {
    const char* spec = t.type == StoredType::q4_1 ? "q4_1" : t.type == StoredType::q8_0 ? "q8_0" : nullptr;
    if (spec == nullptr) continue;
    INFO("tensor " << t.name << " as " << spec);
    const auto w = f.load(t.name);
    const auto values = w.to_vector();
    const auto cols = static_cast<std::size_t>(w.shape().back());
    std::vector<float> again(values.size());
    bitsim::formats::block_quantize(bitsim::formats::BlockFormat::parse(spec), values, values.size() / cols, cols, again);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      differing += std::bit_cast<std::uint32_t>(values[i]) != std::bit_cast<std::uint32_t>(again[i]);
    }
    CHECK(differing == 0);
    ++checked;
  }
  CHECK(checked == 211);  // 210 Q4_1 tensors and the Q8_0 token embedding
}
