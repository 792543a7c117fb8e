// The table of named block formats, the BlockFormat constructor and its derived numbers.
// Sources: OCP Microscaling Formats (MX) v1.0 (mx*), NVIDIA NVFP4 (nvfp4), Microsoft
// MSFP (msfp12/16, as block floating point), ggml's block layouts (q8_0, q4_0, q4_1);
// see ../shared/specs/formats.md.
#include "formats/block/block_format.hpp"

#include <cmath>
#include <stdexcept>
#include <vector>

namespace bitsim::formats {

std::string block_canonical_spec(const BlockDescription& d);  // block_spec.cpp

namespace {

BlockDescription mx(std::string element) { return {.element = std::move(element), .scale = "e8m0fnu", .shape = {1, 32}}; }

BlockDescription nvfp4() {
  // The scale byte is an E4M3 code with sign 0 (NaN 0x7F), as the hardware stores it.
  return {.element = "e2m1fn", .scale = "e4m3fn", .shape = {1, 16}, .rule = ScaleRule::amax,
          .recipe = Recipe::two_level_fp32};
}

// Block floating point: signed m-bit magnitudes k / 2^(m-1) in (-2, 2) under a shared
// E8M0 exponent chosen by the floor rule, so the largest magnitude lands in [1, 2).
BlockDescription bfp(int m, int block) {
  return {.element = "int<bits=" + std::to_string(m + 1) + ",frac=" + std::to_string(m - 1) + ",narrow=true>",
          .scale = "e8m0fnu", .shape = {1, block}};
}

BlockDescription ggml(std::string element, Recipe recipe) {
  return {.element = std::move(element), .scale = "fp16", .shape = {1, 32}, .rule = ScaleRule::amax,
          .recipe = recipe};
}

const std::vector<NamedBlockFormat>& table() {
  static const std::vector<NamedBlockFormat> formats = {
      {"mxfp8_e5m2", "OCP MX FP8 E5M2, block 32, E8M0 scale", mx("e5m2")},
      {"mxfp8_e4m3", "OCP MX FP8 E4M3, block 32, E8M0 scale", mx("e4m3fn")},
      {"mxfp6_e3m2", "OCP MX FP6 E3M2, block 32, E8M0 scale", mx("e3m2fn")},
      {"mxfp6_e2m3", "OCP MX FP6 E2M3, block 32, E8M0 scale", mx("e2m3fn")},
      {"mxfp4", "OCP MX FP4 E2M1, block 32, E8M0 scale", mx("e2m1fn")},
      {"mxint8", "OCP MX INT8 (k/64, |k| <= 127), block 32, E8M0 scale", mx("int<bits=8,frac=6,narrow=true>")},
      {"nvfp4", "NVIDIA NVFP4: E2M1, block 16, positive E4M3 scale, FP32 tensor scale", nvfp4()},
      {"msfp12", "block floating point: sign + 3-bit mantissa, block 16, 8-bit exponent", bfp(3, 16)},
      {"msfp16", "block floating point: sign + 7-bit mantissa, block 16, 8-bit exponent", bfp(7, 16)},
      {"q8_0", "llama.cpp Q8_0: int8, block 32, FP16 scale", ggml("int8", Recipe::ggml_q8_0)},
      {"q4_0", "llama.cpp Q4_0: 4-bit offset 8, block 32, FP16 scale", ggml("uint4", Recipe::ggml_q4_0)},
      {"q4_1", "llama.cpp Q4_1: uint4, block 32, FP16 scale and FP16 min", ggml("uint4", Recipe::ggml_q4_1)},
  };
  return formats;
}

Format saturating(const std::string& spec) {
  Format f = Format::parse(spec);
  if (const auto* m = std::get_if<MiniFloat>(&f.repr()); m && m->overflow != Overflow::saturate) {
    MiniFloat s = *m;
    s.overflow = Overflow::saturate;
    return Format(s);
  }
  return f;
}

}  // namespace

std::span<const NamedBlockFormat> named_block_formats() { return table(); }

std::string valid_block_format_names() {
  std::string s;
  for (const auto& f : table()) s += std::string(s.empty() ? "" : ", ") + std::string(f.name);
  return s + "; generic: mx<elem=..,scale=..,block=N|RxC,axis=0|1,rule=..,round=..,tensor=none|fp32>, "
             "bfp<m=..,block=..>, intB:sym|asym:gN|channel|tensor[:fp16|bf16|fp32][:full]";
}

std::string_view to_string(ScaleRule rule) {
  switch (rule) {
    case ScaleRule::floor: return "floor";
    case ScaleRule::ceil: return "ceil";
    case ScaleRule::round: return "round";
    case ScaleRule::mse: return "mse";
    case ScaleRule::amax: return "amax";
  }
  return "?";
}

std::string_view to_string(Recipe recipe) {
  switch (recipe) {
    case Recipe::generic: return "generic";
    case Recipe::two_level_fp32: return "fp32";
    case Recipe::ggml_q8_0: return "q8_0";
    case Recipe::ggml_q4_0: return "q4_0";
    case Recipe::ggml_q4_1: return "q4_1";
  }
  return "?";
}

BlockFormat::BlockFormat(BlockDescription d)
    : description_(std::move(d)),
      element_(saturating(description_.element)),
      scale_(saturating(description_.scale)) {
  // Canonical spellings, so that equal formats have equal descriptions.
  description_.element = Format::parse(description_.element).spec();
  description_.scale = Format::parse(description_.scale).spec();
  const auto fail = [this](const std::string& why) {
    throw std::invalid_argument("block format '" + block_canonical_spec(description_) + "': " + why);
  };
  if (description_.shape.rows < 0 || description_.shape.cols < 0) fail("block sizes must be >= 0");
  if (scale_.kind() != "float") fail("the scale format must be a float format");
  if (!scale_.has_nan()) fail("the scale format needs a NaN code (it marks blocks holding NaN or Inf)");
  if (description_.rounding.random_bits < 1 || description_.rounding.random_bits > 32) {
    fail("stochastic rounding needs 1..32 random bits");
  }
  if (description_.zero_point && element_.min_value() != 0) {
    fail("a zero point needs an unsigned integer element format");
  }
  const bool power_of_two_rule = description_.rule != ScaleRule::amax;
  if (power_of_two_rule && (description_.zero_point || description_.recipe != Recipe::generic)) {
    fail("rule " + std::string(to_string(description_.rule)) + " applies to symmetric generic blocks only");
  }
  if (description_.recipe == Recipe::two_level_fp32 && element_.kind() != "float") {
    fail("the two-level fp32 recipe needs a float element format");
  }
  element_max_ = element_.max_value();
  element_emax_ = std::ilogb(element_max_);
  scale_min_exponent_ = std::ilogb(scale_.min_subnormal());
  scale_max_exponent_ = std::ilogb(scale_.max_value());
  spec_ = block_canonical_spec(description_);
}

double BlockFormat::effective_bits() const {
  const auto& s = description_.shape;
  // Q4_1 stores its block minimum in the scale format beside the scale.
  const double per_block = double(scale_.bits()) + (description_.zero_point ? element_.bits() : 0) +
                           (description_.recipe == Recipe::ggml_q4_1 ? scale_.bits() : 0);
  const double elements = double(s.rows) * double(s.cols);
  return element_.bits() + (elements > 0 ? per_block / elements : 0.0);
}

}  // namespace bitsim::formats
