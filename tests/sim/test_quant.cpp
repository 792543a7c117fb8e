// sim/quant: QuantSpec strings, fake_quantize against a literal per-element reference
// written independently here (groups found by multi-indices, scales by their definition,
// each element through Format::round), encode/decode, odd shapes, determinism.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>
#include <tbb/global_control.h>

#include "formats/block/block_format.hpp"
#include "formats/block/block_quantize.hpp"
#include "formats/format.hpp"
#include "sim/quant/quantize.hpp"
#include "sim/transforms/hadamard.hpp"

using namespace bitsim::sim;
using bitsim::formats::Format;
using bitsim::formats::RandomStream;
using bitsim::formats::Rounding;
using bitsim::formats::RoundingSpec;

namespace {

TensorF random_tensor(Shape shape, std::uint32_t seed, float spread = 4.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(element_count(shape)));
  for (float& x : v) x = normal(gen) * std::exp2(std::uniform_real_distribution<float>(-spread, spread)(gen));
  return TensorF(std::move(shape), std::move(v));
}

std::vector<std::uint32_t> bits(const TensorF& t) {
  std::vector<std::uint32_t> b;
  for (float v : t.to_vector()) b.push_back(std::bit_cast<std::uint32_t>(v));
  return b;
}

// Multi-index of a flat row-major position.
Shape unravel(Index flat, const Shape& shape) {
  Shape idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

// The group key of an element, straight from the definitions in sim/README.md.
Shape group_key(const Shape& idx, const QuantSpec& s) {
  const int rank = static_cast<int>(idx.size());
  const int axis = s.axis < 0 ? s.axis + rank : s.axis;
  if (s.granularity == Granularity::per_tensor) return {};
  if (s.granularity == Granularity::per_channel) return {idx[axis]};
  Shape key = idx;
  key[axis] /= s.group;
  return key;
}

double percentile_of(std::vector<double> a, double p) {
  std::sort(a.begin(), a.end());
  if (a.empty()) return 0;
  const double rank = p / 100.0 * double(a.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(rank);
  if (lo + 1 >= a.size()) return a[lo];
  return a[lo] + (rank - double(lo)) * (a[lo + 1] - a[lo]);
}

// The literal reference for a scaled element format without transform: per group the
// clipping value c, scale = c / max rounded into the scale format (fp32: a float cast of
// the double quotient, exact for these operands), then per element round(x / s) * s.
// Elements saturate under a scale (README): the element format with overflow=saturate.
Format saturating_format(const std::string& spec) {
  Format f = Format::parse(spec);
  if (const auto* m = std::get_if<bitsim::formats::MiniFloat>(&f.repr())) {
    bitsim::formats::MiniFloat sat = *m;
    sat.overflow = bitsim::formats::Overflow::saturate;
    return Format(sat);
  }
  return f;
}

// c / m rounded to nearest-even onto f's values, saturating, decided exactly: the
// neighbours of the double quotient bracket the true quotient, and the closest of them
// to the rational c / m wins (ties: the even code).
double exact_scale_round(const Format& f, double c, double m) {
  using Rational = boost::multiprecision::cpp_rational;
  const Rational v = Rational(c) / Rational(m);
  const double d = c / m;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> candidates = {f.round(std::nextafter(d, 0.0), RoundingSpec{Rounding::toward_negative}),
                                    f.round(d), f.round(std::nextafter(d, inf), RoundingSpec{Rounding::toward_positive})};
  double best = candidates[0];
  for (double cand : candidates) {
    if (!std::isfinite(cand)) continue;
    const Rational eb = abs(Rational(best) - v), ec = abs(Rational(cand) - v);
    if (ec < eb || (ec == eb && (f.encode(cand) & 1) == 0)) best = cand;
  }
  return std::min(best, f.max_value());
}

// The literal reference for a scaled element format without transform: per group the
// clipping value c, scale = c / max rounded exactly into the scale format, then per
// element round(x / s) * s (x / s in double is exact enough here: both are <= 24-bit
// numbers, so the double quotient never lands on a rounding boundary it should not).
struct Reference {
  QuantSpec spec;
  Format element, scale_format;
  RandomStream rng;

  Reference(const QuantSpec& s, std::uint64_t tensor_id)
      : spec(s), element(saturating_format(s.format)), scale_format(Format::parse(s.scale_format)), rng{s.seed, tensor_id} {}

  double scale_for_clip(double c) const {
    if (c == 0) return 0;
    const double s = exact_scale_round(scale_format, c, element.max_value());
    return s > 0 ? s : scale_format.min_subnormal();
  }
  float value(float x, double s, Index flat) const {
    if (std::isnan(s)) return std::numeric_limits<float>::quiet_NaN();  // a group with Inf/NaN
    const double t = s == 0 ? std::copysign(0.0, double(x)) : double(x) / s;
    const double q = element.round(t, spec.rounding, rng, std::uint64_t(flat));
    return float(q * s);
  }
  double group_error(const std::vector<std::pair<Index, float>>& members, double s) const {
    double e2 = 0;
    for (auto [i, x] : members) {
      const double e = double(value(x, s, i)) - double(x);
      e2 += e * e;
    }
    return e2;
  }

  std::map<Shape, double> scales(const TensorF& x) const {
    std::map<Shape, std::vector<std::pair<Index, float>>> groups;
    const std::vector<float> v = x.to_vector();
    for (Index i = 0; i < Index(v.size()); ++i) groups[group_key(unravel(i, x.shape()), spec)].push_back({i, v[i]});
    std::map<Shape, double> out;
    for (const auto& [key, members] : groups) {
      double amax = 0;
      std::vector<double> mags;
      bool finite = true;
      for (auto [i, xv] : members) {
        amax = std::max(amax, std::fabs(double(xv)));
        mags.push_back(std::fabs(double(xv)));
        finite = finite && std::isfinite(xv);
      }
      if (!finite) {
        out[key] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      if (spec.scale_rule == ScaleRule::absmax) out[key] = scale_for_clip(amax);
      if (spec.scale_rule == ScaleRule::fixed) out[key] = scale_for_clip(spec.clip);
      if (spec.scale_rule == ScaleRule::percentile) out[key] = scale_for_clip(percentile_of(mags, spec.percentile));
      if (spec.scale_rule == ScaleRule::mse) {  // brute force over the documented grid
        double best = std::numeric_limits<double>::infinity();
        for (int k = 0; k <= spec.mse_steps; ++k) {
          const double s = scale_for_clip((1.0 - k * (1.0 - spec.mse_min_ratio) / spec.mse_steps) * amax);
          const double e = group_error(members, s);
          if (e < best) {
            best = e;
            out[key] = s;
          }
        }
      }
    }
    return out;
  }

  TensorF quantize(const TensorF& x) const {
    const std::map<Shape, double> s = scales(x);
    std::vector<float> v = x.to_vector();
    for (Index i = 0; i < Index(v.size()); ++i) v[i] = value(v[i], s.at(group_key(unravel(i, x.shape()), spec)), i);
    return TensorF(x.shape(), std::move(v));
  }
};

void check_against_reference(const TensorF& x, const std::string& text, std::uint64_t tensor_id = 0) {
  CAPTURE(text);
  CAPTURE(shape_string(x.shape()));
  const QuantSpec spec = parse_quant_spec(text);
  const Reference ref(spec, tensor_id);
  CHECK(bits(fake_quantize(x, spec, tensor_id)) == bits(ref.quantize(x)));
  // The scales, in the order of the scale tensor (row-major over group keys).
  const TensorD scales = quant_scales(x, spec, tensor_id);
  std::vector<double> expected;
  for (const auto& [key, s] : ref.scales(x)) expected.push_back(s);
  // Empty tensors: per_tensor keeps its one scale and per_channel its shape[axis] scales,
  // all 0 (groups without elements); per_group has no groups.
  if (x.empty() && spec.granularity == Granularity::per_tensor) expected = {0.0};
  if (x.empty() && spec.granularity == Granularity::per_channel) expected.assign(std::size_t(x.size(spec.axis)), 0.0);
  CHECK(scales.to_vector() == expected);
  CHECK(bits(decode(encode(x, spec, tensor_id))) == bits(fake_quantize(x, spec, tensor_id)));
}

}  // namespace

TEST_CASE("quant spec: canonical strings round-trip") {
  const char* specs[] = {
      "none",
      "bf16",
      "e4m3fn:per_tensor",
      "int8:per_channel(axis=0)",
      "int4:per_group(128,axis=-1)",
      "int4:per_group(32,axis=1):mse",
      "int4:per_group(32,axis=1):mse(steps=10,min=0.25)",
      "e4m3fn:per_tensor:percentile(99.5)",
      "e5m2:per_channel(axis=1):scale(e8m0fnu):rz",
      "int8:per_tensor:sr(seed=3)",
      "int8:per_tensor:sr(seed=3,bits=8)",
      "e2m1fn:per_group(16,axis=-1):hadamard",
      "e2m1fn:per_group(16,axis=-1):rht(seed=9,block=16)",
      "mxfp4",
      "nvfp4:sr(seed=5)",
      "int4:sym:g128",
      "mxfp8_e4m3<axis=0>:rht(seed=1)",
  };
  for (const char* text : specs) {
    CAPTURE(text);
    const QuantSpec s = parse_quant_spec(text);
    CHECK(parse_quant_spec(to_string(s)) == s);
    CHECK(to_string(parse_quant_spec(to_string(s))) == to_string(s));
  }
  CHECK(to_string(parse_quant_spec("int4:per_group(128,axis=-1)")) == "int4:per_group(128,axis=-1)");
  CHECK(to_string(parse_quant_spec("int8:per_channel")) == "int8:per_channel(axis=0)");
  CHECK(to_string(parse_quant_spec("int8:per_tensor:absmax:rne")) == "int8:per_tensor");
  CHECK(to_string(parse_quant_spec("int4:per_group(size=64)")) == "int4:per_group(64,axis=-1)");
  CHECK(to_string(parse_quant_spec("e4m3fn:percentile(p=99):per_tensor")) == "e4m3fn:per_tensor:percentile(99)");
  CHECK(to_string(parse_quant_spec("mxfp4<round=sr>")) == "mxfp4:sr");
}

TEST_CASE("quant spec: fields and defaults") {
  const QuantSpec s = parse_quant_spec("int4:per_group(128,axis=1):mse:sr(seed=3):scale(bf16):rht(seed=7)");
  CHECK(s.format == "int4");
  CHECK_FALSE(s.is_block);
  CHECK(s.granularity == Granularity::per_group);
  CHECK(s.group == 128);
  CHECK(s.axis == 1);
  CHECK(s.scale_rule == ScaleRule::mse);
  CHECK(s.rounding.mode == Rounding::stochastic);
  CHECK(s.seed == 3);
  CHECK(s.scale_format == "bf16");
  CHECK(s.transform.kind == TransformKind::random_hadamard);
  CHECK(s.transform.seed == 7);
  const QuantSpec b = parse_quant_spec("int4:sym:g128");
  CHECK(b.is_block);
  CHECK(b.granularity == Granularity::per_block);
  CHECK(parse_quant_spec("none").is_identity());
  CHECK(parse_quant_spec("e4m3fn").granularity == Granularity::unscaled);
}

TEST_CASE("quant spec: errors name the bad token and the valid choices") {
  auto message = [](const char* text) {
    try {
      parse_quant_spec(text);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto has = [](const std::string& m, const char* part) {
    CAPTURE(m);
    CHECK(m.find(part) != std::string::npos);
  };
  has(message("e4m3fn:per_tensr"), "unknown field 'per_tensr'");
  has(message("e4m3fn:per_tensr"), "per_channel(axis=A)");
  has(message("e4m3fn:per_tensor:per_channel"), "granularity given twice");
  has(message("int4:per_group"), "per_group needs a group size");
  has(message("int4:per_group(0)"), "group size >= 1");
  has(message("int4:per_group(8,axes=1)"), "unknown key 'axes'");
  has(message("int4:per_group(8,axis=1)x"), "must end with ')'");
  has(message("e4m3fn:per_tensor:percentile(101)"), "(0, 100]");
  has(message("e4m3fn:per_tensor:percentile(abc)"), "needs a number, got 'abc'");
  has(message("e4m3fn:mse"), "needs a granularity");
  has(message("fp9"), "unknown");
  has(message("fp9"), "mxfp4");  // the message lists block formats too
  has(message("mxfp4:per_tensor"), "brings its own blocks");
  has(message("mxfp4<round=sr>:rz"), "rounding given both");
  has(message("none:per_tensor"), "takes no fields");
  has(message("int8:per_tensor:scale(int8)"), "has no NaN code");
  has(message("int8:per_tensor:hadamard(block=6)"), "power of two");
  has(message("int8:per_tensor:sr(bits=40)"), "[1, 32]");
  has(message(":per_tensor"), "empty format");
  has(message("int8:per_tensor:"), "empty field");
  CHECK_THROWS_AS(fake_quantize(TensorF(Shape{2, 3}), parse_quant_spec("int8:per_channel(axis=2)")), std::out_of_range);
  // Specs built in C++ are validated by every operation.
  QuantSpec s;
  s.format = "int4";
  s.granularity = Granularity::per_group;
  CHECK_THROWS_WITH_AS(fake_quantize(TensorF(Shape{2, 3}), s), doctest::Contains("group size >= 1"), std::invalid_argument);
  s.group = 2;
  CHECK(to_string(s) == "int4:per_group(2,axis=-1)");
  CHECK_NOTHROW(validate(s));
  s.format = "mxfp4";  // a block format needs is_block and per_block
  CHECK_THROWS(validate(s));
  s.is_block = true;
  s.granularity = Granularity::per_block;
  CHECK_NOTHROW(validate(s));
}

TEST_CASE("fake_quantize: the identity and plain casts") {
  const TensorF x = random_tensor({5, 7}, 1);
  CHECK(bits(fake_quantize(x, QuantSpec::identity())) == bits(x));
  for (const char* f : {"bf16", "fp16", "e4m3fn", "e5m2", "e2m1fn", "int8", "posit16"}) {
    for (const char* r : {"rne", "rz", "sr(seed=11)"}) {
      const std::string text = std::string(f) + ":" + r;
      CAPTURE(text);
      const QuantSpec s = parse_quant_spec(text);
      const Format fmt = Format::parse(f);
      std::vector<float> expected = x.to_vector();
      for (std::size_t i = 0; i < expected.size(); ++i)
        expected[i] = float(fmt.round(double(expected[i]), s.rounding, RandomStream{s.seed, 4}, i));
      CHECK(bits(fake_quantize(x, s, 4)) == bits(TensorF(x.shape(), expected)));
      CHECK(bits(decode(encode(x, s, 4))) == bits(fake_quantize(x, s, 4)));
    }
  }
}

TEST_CASE("fake_quantize: every granularity against the literal reference") {
  const TensorF x = random_tensor({3, 10, 6}, 2);
  for (const char* text : {"e4m3fn:per_tensor", "int8:per_tensor", "int4:per_channel(axis=0)",
                           "int4:per_channel(axis=1)", "e4m3fn:per_channel(axis=2)", "e4m3fn:per_channel(axis=-1)",
                           "int4:per_group(4,axis=1)",  // 10 = 4 + 4 + 2: a short last group
                           "int4:per_group(4,axis=-1)", "e2m1fn:per_group(3,axis=0)", "int4:per_group(100,axis=1)",
                           "e5m2:per_tensor:rz", "int8<narrow=true>:per_channel(axis=0):rna",
                           "e4m3fn:per_tensor:scale(e8m0fnu)", "int4:per_group(5,axis=1):scale(bf16)",
                           "uint4:per_tensor"}) {
    check_against_reference(x, text);
  }
}

TEST_CASE("fake_quantize: percentile and MSE scale rules") {
  // Heavy-tailed data, so that clipping matters and MSE picks ratios below 1.
  const TensorF x = random_tensor({4, 64}, 3, 6.0f);
  for (const char* text : {"int4:per_tensor:percentile(99)", "int4:per_channel(axis=0):percentile(90)",
                           "e4m3fn:per_group(16,axis=-1):percentile(50)", "int8:per_tensor:percentile(100)",
                           "int4:per_tensor:mse", "int4:per_channel(axis=0):mse(steps=7,min=0.1)", "int4:per_tensor:mse(steps=4,min=0.9)",
                           "int4:per_channel(axis=1):mse",  // strided groups
                           "e2m1fn:per_group(32,axis=1):mse", "int4:per_group(24,axis=1):mse:scale(e8m0fnu)"}) {
    check_against_reference(x, text);
  }
  // The MSE rule does pick clipping ratios below 1 on such data, and never loses to absmax.
  const QuantSpec mse = parse_quant_spec("int4:per_channel(axis=0):mse");
  const QuantSpec absmax = parse_quant_spec("int4:per_channel(axis=0)");
  CHECK(quant_scales(x, mse).to_vector() != quant_scales(x, absmax).to_vector());
  auto sse = [&](const TensorF& q) {
    double e = 0;
    const auto a = x.to_vector(), b = q.to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) e += (double(b[i]) - a[i]) * (double(b[i]) - a[i]);
    return e;
  };
  CHECK(sse(fake_quantize(x, mse)) <= sse(fake_quantize(x, absmax)));
  // percentile(100) is absmax.
  CHECK(bits(fake_quantize(x, parse_quant_spec("int4:per_tensor:percentile(100)"))) ==
        bits(fake_quantize(x, parse_quant_spec("int4:per_tensor"))));
}

TEST_CASE("fake_quantize: stochastic rounding is reproducible and keyed by (seed, tensor_id, flat index)") {
  const TensorF x = random_tensor({6, 33}, 4);
  // Power-of-two scales make x / s exact in double, so the literal reference sees every bit.
  for (const char* text : {"int4:per_channel(axis=0):scale(e8m0fnu):sr(seed=5)",
                           "e2m1fn:per_group(8,axis=-1):scale(e8m0fnu):sr(seed=6,bits=8)",
                           "int4:per_tensor:scale(e8m0fnu):mse:sr(seed=2)",
                           "int4:per_group(4,axis=0):scale(e8m0fnu):mse:sr(seed=3)"}) {  // strided groups
    check_against_reference(x, text, 0);
    check_against_reference(x, text, 17);
  }
  const QuantSpec s = parse_quant_spec("int4:per_tensor:sr(seed=5)");
  CHECK(bits(fake_quantize(x, s, 1)) == bits(fake_quantize(x, s, 1)));
  CHECK(bits(fake_quantize(x, s, 1)) != bits(fake_quantize(x, s, 2)));
  QuantSpec other = s;
  other.seed = 6;
  CHECK(bits(fake_quantize(x, s, 1)) != bits(fake_quantize(x, other, 1)));
  // Unbiased on average: the mean of many draws approaches x.
  TensorF one(Shape{1, 4097}, 0.3f);
  one.at({0, 0}) = 0.875f;  // amax: scale 0.875 / 7 = 2^-3, and 0.3 / 2^-3 = 2.4 rounds to 2 or 3
  const QuantSpec sr = parse_quant_spec("int4:per_tensor:scale(e8m0fnu):sr(seed=1)");
  const QuantSpec sr_scale_only = parse_quant_spec("int4:per_tensor:scale(e8m0fnu)");
  const double s0 = quant_scales(one, sr_scale_only).to_vector()[0];
  double mean = 0;
  CHECK(s0 == 0.125);
  const std::vector<float> draws = fake_quantize(one, sr).to_vector();
  for (std::size_t i = 1; i < draws.size(); ++i) mean += draws[i];
  mean /= 4096;
  CHECK(std::fabs(mean - 0.3) < 4 * s0 / std::sqrt(4096.0));
}

TEST_CASE("fake_quantize: odd shapes") {
  for (Shape shape : {Shape{1, 37}, Shape{37, 1}, Shape{0, 5}, Shape{5, 0}, Shape{0}, Shape{}, Shape{2, 3, 1, 5}}) {
    const TensorF x = random_tensor(shape, 5);
    for (const char* text : {"int4:per_tensor", "int4:per_channel(axis=0)", "e4m3fn:per_group(4,axis=-1)",
                             "int4:per_group(3,axis=0):mse", "e4m3fn:per_tensor:percentile(90)"}) {
      CAPTURE(text);
      CAPTURE(shape_string(shape));
      if (shape.empty()) {  // rank 0 works as shape [1]
        const TensorF q = fake_quantize(x, parse_quant_spec(text));
        CHECK(q.shape() == shape);
        CHECK(bits(decode(encode(x, parse_quant_spec(text)))) == bits(q));
        continue;
      }
      check_against_reference(x, text);
      CHECK(fake_quantize(x, parse_quant_spec(text)).shape() == shape);
    }
    for (const char* text : {"mxfp4", "nvfp4", "bf16", "int4:per_tensor:hadamard"}) {
      CAPTURE(text);
      CAPTURE(shape_string(shape));
      const QuantSpec s = parse_quant_spec(text);
      CHECK(bits(decode(encode(x, s))) == bits(fake_quantize(x, s)));
    }
  }
  // Views: a transposed (non-contiguous) input quantizes as its row-major copy.
  const TensorF w = random_tensor({8, 12}, 6);
  const QuantSpec s = parse_quant_spec("int4:per_group(4,axis=-1)");
  CHECK(bits(fake_quantize(w.transposed(), s)) == bits(fake_quantize(w.transposed().clone(), s)));
}

TEST_CASE("fake_quantize: zeros and non-finite values") {
  // A group holding NaN or Inf decodes to NaN entirely; the other groups are untouched.
  TensorF x = random_tensor({3, 8}, 7);
  x.at({1, 2}) = std::numeric_limits<float>::infinity();
  x.at({2, 5}) = std::numeric_limits<float>::quiet_NaN();
  const QuantSpec s = parse_quant_spec("int8:per_channel(axis=0)");
  const TensorF q = fake_quantize(x, s);
  const TensorF clean = fake_quantize(x.slice(0, 0, 1).clone(), s);
  for (Index c = 0; c < 8; ++c) {
    CHECK(q.at({0, c}) == clean.at({0, c}));
    CHECK(std::isnan(q.at({1, c})));
    CHECK(std::isnan(q.at({2, c})));
  }
  CHECK(std::isnan(quant_scales(x, s).to_vector()[1]));
  CHECK(bits(decode(encode(x, s))) == bits(q));
  // An all-zero group has scale 0 and stays zero, keeping -0 where the format has it.
  const TensorF z(Shape{2, 2}, std::vector<float>{0.0f, -0.0f, 1.0f, -2.0f});
  const QuantSpec e = parse_quant_spec("e4m3fn:per_channel(axis=0)");
  const TensorF qz = fake_quantize(z, e);
  CHECK(quant_scales(z, e).to_vector()[0] == 0.0);
  CHECK(bits(qz)[0] == 0u);
  CHECK(bits(qz)[1] == 0x80000000u);
  CHECK(qz.at({1, 1}) == -2.0f);
  CHECK(bits(decode(encode(z, e))) == bits(qz));
  // Percentile clipping at 0 maps the whole group to zero.
  const TensorF sparse(Shape{1, 10}, std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0, 0, 5});
  const TensorF qs = fake_quantize(sparse, parse_quant_spec("int8:per_tensor:percentile(50)"));
  for (float v : qs.to_vector()) CHECK(v == 0.0f);
}

TEST_CASE("fake_quantize: block formats follow formats/block") {
  const TensorF x = random_tensor({2, 3, 40}, 8);  // [6, 40]: partial blocks at the right edge
  for (const char* text : {"mxfp4", "mxfp8_e4m3", "nvfp4", "int4:sym:g128", "int4:asym:g64", "q4_0",
                           "mxfp4:sr(seed=4)", "mxfp8_e5m2<axis=0>"}) {
    CAPTURE(text);
    const QuantSpec s = parse_quant_spec(text);
    bitsim::formats::BlockDescription d = bitsim::formats::BlockFormat::parse(s.format).description();
    d.rounding = s.rounding;
    const bitsim::formats::BlockFormat fmt(d);
    std::vector<float> expected(240);
    const std::vector<float> in = x.to_vector();
    bitsim::formats::block_quantize(fmt, in, 6, 40, expected, RandomStream{s.seed, 3});
    CHECK(bits(fake_quantize(x, s, 3)) == bits(TensorF(x.shape(), expected)));
    const PackedTensor p = encode(x, s, 3);
    CHECK(p.scales.size() == std::size_t(element_count(p.scale_shape)));
    CHECK(bits(decode(p)) == bits(fake_quantize(x, s, 3)));
  }
}

TEST_CASE("fake_quantize: transforms quantize in the rotated basis and rotate back") {
  const TensorF x = random_tensor({5, 48}, 9);  // 48 = 3 blocks of 16
  for (const char* base : {"int4:per_group(16,axis=-1)", "mxfp4", "e4m3fn"}) {
    for (const char* t : {"hadamard", "rht(seed=3)", "hadamard(block=8)"}) {
      const std::string text = std::string(base) + ":" + t;
      CAPTURE(text);
      const QuantSpec s = parse_quant_spec(text);
      QuantSpec plain = s;
      plain.transform = {};
      const Index block = s.transform.block;
      const bool random = s.transform.kind == TransformKind::random_hadamard;
      const TensorF y = random ? random_hadamard(x, 3, block) : hadamard(x, block);
      const TensorD qy = fake_quantize(y, plain).cast<double>();
      const TensorF back = (random ? inverse_random_hadamard(qy, 3, block) : hadamard(qy, block)).cast<float>();
      CHECK(bits(fake_quantize(x, s)) == bits(back));
      CHECK(bits(decode(encode(x, s))) == bits(back));
    }
  }
  CHECK_THROWS_AS(fake_quantize(random_tensor({2, 12}, 1), parse_quant_spec("int8:per_tensor:hadamard(block=8)")),
                  std::invalid_argument);
}

TEST_CASE("encode: codes, scales and shapes") {
  const TensorF x = random_tensor({4, 10}, 10);
  const PackedTensor p = encode(x, parse_quant_spec("int4:per_group(4,axis=1)"));
  CHECK(p.scale_shape == Shape{4, 3});
  CHECK(p.scales.size() == 12);
  CHECK(p.codes.size() == 40);
  for (auto c : p.codes) CHECK(c < 16);
  const Format fmt = Format::parse("int4");
  const Format fp32 = Format::parse("fp32");
  CHECK(float(fmt.decode(p.codes[5]) * fp32.decode(p.scales[1])) == fake_quantize(x, p.spec).at({0, 5}));
  CHECK(encode(x, parse_quant_spec("int8:per_channel(axis=1)")).scale_shape == Shape{10});
  CHECK(encode(x, parse_quant_spec("int8:per_tensor")).scale_shape == Shape{1});
  CHECK(encode(x, parse_quant_spec("mxfp4")).scale_shape == Shape{4, 1});
  CHECK(encode(x, QuantSpec::identity()).codes[3] == std::bit_cast<std::uint32_t>(x.to_vector()[3]));
  // Input-flushing formats go through their codes, so the two paths agree there too.
  for (const char* text : {"e4m3fn<ftz_in=true>:per_tensor", "e4m3fn<ftz_in=true>", "e5m2<ftz_in=true>:per_channel(axis=0)"}) {
    CAPTURE(text);
    const TensorF small = random_tensor({4, 10}, 12, 12.0f);
    CHECK(bits(decode(encode(small, parse_quant_spec(text)))) == bits(fake_quantize(small, parse_quant_spec(text))));
  }
  PackedTensor bad = p;
  bad.codes.pop_back();
  CHECK_THROWS_AS(decode(bad), std::invalid_argument);
}

TEST_CASE("fake_quantize: bit-identical on 1, 2 and many threads") {
  const TensorF x = random_tensor({64, 96}, 11);
  for (const char* text : {"int4:per_group(32,axis=-1):mse:sr(seed=1)", "e4m3fn:per_channel(axis=0):percentile(99)",
                           "int8:per_tensor", "mxfp4:sr(seed=2)", "e2m1fn:per_group(16,axis=0):rht(seed=4)",
                           "bf16:sr(seed=3)"}) {
    CAPTURE(text);
    const QuantSpec s = parse_quant_spec(text);
    std::vector<std::vector<std::uint32_t>> results;
    for (int threads : {1, 2, 7}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      results.push_back(bits(fake_quantize(x, s, 5)));
      results.push_back(bits(decode(encode(x, s, 5))));
    }
    for (const auto& r : results) CHECK(r == results[0]);
  }
}

// The fast path (issue #5): absmax/fixed scales from one max over magnitude patterns, then
// one pass in chunks of 2048 elements rounded as spans, the per-tensor max in tasks of
// 65536. Shapes that split into several chunks and tasks, none a multiple of them,
// against the literal reference, with groups that straddle chunk boundaries.
TEST_CASE("fake_quantize: the chunked path against the literal reference on large odd shapes") {
  const auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::bit_cast<std::uint64_t>(a[i]) != std::bit_cast<std::uint64_t>(b[i]) && !(std::isnan(a[i]) && std::isnan(b[i])))
        return false;
    return true;
  };
  const auto check = [&](const TensorF& x, const std::string& text) {
    CAPTURE(text);
    CAPTURE(shape_string(x.shape()));
    const QuantSpec spec = parse_quant_spec(text);
    const Reference ref(spec, 3);
    const std::vector<std::uint32_t> fast = bits(fake_quantize(x, spec, 3));
    CHECK(fast == bits(ref.quantize(x)));
    std::vector<double> expected;
    for (const auto& [key, s] : ref.scales(x)) expected.push_back(s);
    CHECK(same(quant_scales(x, spec, 3).to_vector(), expected));
    CHECK(bits(decode(encode(x, spec, 3))) == fast);
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    CHECK(bits(fake_quantize(x, spec, 3)) == fast);
  };
  const char* specs[] = {"e4m3fn:per_tensor", "int8:per_tensor:fixed(2.5)", "int4:per_channel(axis=0)",
                         "e4m3fn:per_channel(axis=1)", "int8:per_channel(axis=-1):rz", "int4:per_group(32)",
                         "e2m1fn:per_group(32,axis=0)", "int4:per_group(32,axis=1):scale(e8m0fnu):sr(seed=9)",
                         "e5m2:per_tensor:scale(e8m0fnu):sr(seed=2,bits=8)", "int8:per_channel(axis=0):percentile(99)"};
  for (const Shape& shape : {Shape{3, 331, 7}, Shape{1031, 3}})
    for (const char* text : specs) check(random_tensor(shape, 21), text);
  // Past the per-tensor reduction's grain too (the reference is slow: a few specs only).
  for (const char* text : {"e4m3fn:per_tensor", "int4:per_group(32)", "e4m3fn:per_channel(axis=1)"})
    check(random_tensor({257, 263}, 21), text);
  // Inf and NaN poison exactly their own groups, wherever they fall in a chunk.
  TensorF x = random_tensor({3, 331, 7}, 22);
  x.data()[2047] = std::numeric_limits<float>::infinity();
  x.data()[5000] = -std::numeric_limits<float>::quiet_NaN();
  for (const char* text : specs) check(x, text);
  // A transposed view goes through a copy, a contiguous tensor is read in place: same bits.
  const TensorF w = random_tensor({263, 257}, 23);
  for (const char* text : {"int4:per_group(32)", "e4m3fn:per_tensor", "mxfp4", "int4:sym:g128:sr(seed=5)"}) {
    CAPTURE(text);
    const QuantSpec s = parse_quant_spec(text);
    CHECK(bits(fake_quantize(w.transposed(), s, 1)) == bits(fake_quantize(w.transposed().clone(), s, 1)));
  }
  // Block formats: formats::block_quantize on the row-major values.
  for (const char* text : {"mxfp4", "int4:sym:g128:sr(seed=5)"}) {
    CAPTURE(text);
    const QuantSpec s = parse_quant_spec(text);
    bitsim::formats::BlockDescription d = bitsim::formats::BlockFormat::parse(s.format).description();
    d.rounding = s.rounding;
    std::vector<float> expected(std::size_t(w.numel()));
    bitsim::formats::block_quantize(bitsim::formats::BlockFormat(d), w.to_vector(), 263, 257, expected,
                                    RandomStream{s.seed, 1});
    CHECK(bits(fake_quantize(w, s, 1)) == bits(TensorF(w.shape(), expected)));
  }
}

// commutes_with_transpose decides when a training step may quantize an operand once for
// two GEMMs (sim/grad/linear_grad.hpp); checked here against quantizing the transpose.
TEST_CASE("commutes_with_transpose: true only where quantizing m^T gives the transpose of quantizing m") {
  const auto transposed = [](const TensorF& m) { return m.transposed().contiguous(); };
  const Shape shapes[] = {{40, 24}, {37, 53}, {16, 32}, {1, 7}};
  for (const char* text : {"bf16", "e4m3fn", "e4m3fn:per_tensor", "e5m2:per_tensor", "int8:per_tensor",
                           "e4m3fn:per_tensor:percentile(99)", "e4m3fn:per_tensor:fixed(3.5)",
                           "e2m1fn:per_tensor:scale(e8m0fnu)", "e4m3fn:per_tensor:rna", "nvfp4<block=16x16>",
                           "mxfp8_e4m3<block=32x32>"}) {
    const std::string spec = text;
    CAPTURE(spec);
    const QuantSpec s = parse_quant_spec(text);
    CHECK(commutes_with_transpose(s));
    for (const Shape& shape : shapes) {
      CAPTURE(shape_string(shape));
      const TensorF m = random_tensor(shape, 17);
      CHECK(bits(fake_quantize(transposed(m), s, 1)) == bits(transposed(fake_quantize(m, s, 0))));
    }
  }
  for (const char* text : {"nvfp4", "mxfp8_e4m3", "nvfp4:sr", "e4m3fn:per_tensor:sr(seed=1)", "bf16:sr",
                           "int8:per_channel(axis=0)", "int4:per_group(8)", "e4m3fn:per_tensor:mse",
                           "nvfp4:rht(seed=0,block=16)", "int4:per_group(8):hadamard", "mx<elem=e2m1fn,block=16x16,rule=mse>"}) {
    const std::string spec = text;
    CAPTURE(spec);
    CHECK_FALSE(commutes_with_transpose(parse_quant_spec(text)));
  }
  // Two of the refused kinds really do differ: 1 x 16 blocks and stochastic rounding.
  const TensorF m = random_tensor({32, 48}, 5);
  for (const char* text : {"nvfp4", "e4m3fn:per_tensor:sr(seed=1)"}) {
    const std::string spec = text;
    CAPTURE(spec);
    const QuantSpec s = parse_quant_spec(text);
    CHECK(bits(fake_quantize(transposed(m), s, 0)) != bits(transposed(fake_quantize(m, s, 0))));
  }
  CHECK(commutes_with_transpose(QuantSpec::identity()));
}
