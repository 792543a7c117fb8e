// sim/quant with codebook elements (NF4, NF3): per-group absmax scaling maps each group's
// largest magnitude to the table's ±1, checked against a literal reference written here:
// groups of G consecutive elements along the last axis (the last one short), the scale
// amax rounded into the scale format, and each element the table value nearest to x / s,
// decided exactly by comparing x with s times each midpoint (products of float32 numbers,
// exact in double), ties to the even code; directed modes compare x with s · v.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "formats/codebook.hpp"
#include "formats/format.hpp"
#include "sim/quant/quantize.hpp"

using namespace bitsim::sim;
using bitsim::formats::Codebook;
using bitsim::formats::Format;

namespace {

// The code of x / s for the table, in round-to-nearest-even or toward zero, exactly.
int reference_code(const Codebook& f, double x, double s, bool nearest) {
  const int n = f.count;
  if (x <= s * f.values[0]) return 0;
  if (x >= s * f.values[n - 1]) return n - 1;
  int lo = 0;
  while (lo + 1 < n && s * double(f.values[lo + 1]) <= x) ++lo;
  if (s * double(f.values[lo]) == x) return lo;
  if (!nearest) return x > 0 ? lo : lo + 1;  // toward zero
  const double mid = s * ((double(f.values[lo]) + double(f.values[lo + 1])) / 2);
  if (x < mid) return lo;
  if (x > mid) return lo + 1;
  return lo % 2 == 0 ? lo : lo + 1;
}

}  // namespace

TEST_CASE("nf4 / nf3 per-group absmax quantization matches the literal reference") {
  std::mt19937 gen(5);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const Index rows = 6, cols = 200;  // groups of 64: 64, 64, 64, 8
  std::vector<float> data(static_cast<std::size_t>(rows * cols));
  for (float& x : data) x = normal(gen);
  data[3] = 0.25f;  // an outlier
  data[70] = -data[70] * 0;  // a -0
  const TensorF x(Shape{rows, cols}, data);
  for (const char* text : {"nf4:per_group(64)", "nf3:per_group(64):scale(fp16)", "nf4:per_group(64):rz",
                           "nf4:per_group(64):scale(bf16)"}) {
    INFO(text);
    const QuantSpec spec = parse_quant_spec(text);
    const Format element = Format::parse(spec.format);
    const Codebook& f = std::get<Codebook>(element.repr());
    const Format scale_format = Format::parse(spec.scale_format);
    const bool nearest = spec.rounding.mode == bitsim::formats::Rounding::nearest_even;
    const TensorF got = fake_quantize(x, spec);
    const TensorF again = decode(encode(x, spec));
    const std::vector<float> g = got.to_vector(), a = again.to_vector();
    int mismatches = 0, at_one = 0;
    for (Index r = 0; r < rows; ++r) {
      for (Index start = 0; start < cols; start += 64) {
        const Index end = std::min<Index>(cols, start + 64);
        double amax = 0;
        for (Index c = start; c < end; ++c) amax = std::max(amax, std::fabs(double(data[r * cols + c])));
        const double s = scale_format.round(amax);  // amax / max, max = 1
        for (Index c = start; c < end; ++c) {
          const double v = data[r * cols + c];
          const int code = reference_code(f, v, s, nearest);
          const float expected = float(double(f.values[code]) * s);
          if (std::bit_cast<std::uint32_t>(expected) != std::bit_cast<std::uint32_t>(g[r * cols + c])) ++mismatches;
          if (std::bit_cast<std::uint32_t>(g[r * cols + c]) != std::bit_cast<std::uint32_t>(a[r * cols + c])) ++mismatches;
          if (std::fabs(v) == amax && s == amax) at_one += std::fabs(double(g[r * cols + c])) == amax;
        }
      }
    }
    CHECK(mismatches == 0);
    if (std::string(text) == "nf4:per_group(64)") CHECK(at_one == rows * 4);  // fp32 scale: amax maps to ±1 exactly
  }
}

TEST_CASE("codebook QuantSpecs parse and print; a plain cast saturates") {
  CHECK(to_string(parse_quant_spec("nf4:per_group(64)")) == "nf4:per_group(64,axis=-1)");
  CHECK(to_string(parse_quant_spec("codebook<-1,0,0.5,1>:per_channel")) == "codebook<-1,0,0.5,1>:per_channel(axis=0)");
  // A plain cast rounds each element into the table as it is (saturating beyond ±1).
  const TensorF x(Shape{3}, std::vector<float>{3.0f, -0.3f, 0.07f});
  const std::vector<float> y = fake_quantize(x, parse_quant_spec("nf4")).to_vector();
  CHECK(y[0] == 1.0f);
  CHECK(y[1] == -0.28444138169288635f);
  CHECK(y[2] == 0.07958029955625534f);
}
