// The block kernels against vectors from an independent Python oracle written from the
// spec text with exact fractions (tests/data/block/gen_block_vectors.py): MX formats
// under the OCP floor rule and NVFP4's float32 recipe.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "formats/block/block_quantize.hpp"

using namespace bitsim::formats;

namespace {

struct VectorCase {
  std::string spec;
  std::size_t rows = 0, cols = 0;
  std::vector<float> in, values;
  std::uint32_t tensor_scale = 0;
  std::vector<std::uint64_t> scales, elements;
};

std::vector<std::uint64_t> hex_words(std::istringstream& line) {
  std::vector<std::uint64_t> words;
  std::string token;
  while (line >> token) words.push_back(std::stoull(token, nullptr, 16));
  return words;
}

std::vector<float> floats(const std::vector<std::uint64_t>& bits) {
  std::vector<float> v;
  for (auto b : bits) v.push_back(std::bit_cast<float>(std::uint32_t(b)));
  return v;
}

std::vector<VectorCase> load() {
  std::ifstream file(BITSIM_TEST_DATA "/block/block_vectors.txt");
  REQUIRE_MESSAGE(file.good(), "missing " BITSIM_TEST_DATA "/block/block_vectors.txt");
  std::vector<VectorCase> cases;
  for (std::string text; std::getline(file, text);) {
    std::istringstream line(text);
    std::string key;
    line >> key;
    if (key == "case") {
      cases.emplace_back();
      line >> cases.back().spec >> cases.back().rows >> cases.back().cols;
    } else if (key == "in") {
      cases.back().in = floats(hex_words(line));
    } else if (key == "tensor_scale") {
      cases.back().tensor_scale = std::uint32_t(hex_words(line).at(0));
    } else if (key == "scales") {
      cases.back().scales = hex_words(line);
    } else if (key == "elements") {
      cases.back().elements = hex_words(line);
    } else if (key == "values") {
      cases.back().values = floats(hex_words(line));
    }
  }
  return cases;
}

}  // namespace

TEST_CASE("MX and NVFP4 match the Python fraction oracle's vectors") {
  const auto cases = load();
  CHECK(cases.size() == 9);
  for (const auto& c : cases) {
    CAPTURE(c.spec);
    const auto f = BlockFormat::parse(c.spec);
    const auto e = block_encode(f, c.in, c.rows, c.cols);
    std::vector<float> q(c.in.size());
    block_quantize(f, c.in, c.rows, c.cols, q);
    CHECK(std::bit_cast<std::uint32_t>(e.tensor_scale) == c.tensor_scale);
    CHECK(e.scales == c.scales);
    CHECK(e.elements == c.elements);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
      const bool same = std::bit_cast<std::uint32_t>(q[i]) == std::bit_cast<std::uint32_t>(c.values[i]) ||
                        (std::isnan(q[i]) && std::isnan(c.values[i]));
      if (!same && ++mismatches <= 3) {
        CAPTURE(i);
        CHECK(q[i] == c.values[i]);
      }
    }
    CHECK(mismatches == 0);
  }
}
