#include "models/train/recipe.hpp"

#include <stdexcept>
#include <utility>

#include "formats/block/block_format.hpp"

#include "sim/quant/quant_spec.hpp"

namespace bitsim::models::train {
namespace {

using sim::parse_quant_spec;

// SplitMix64: a well-mixed 64-bit hash for deriving per-step seeds.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

sim::GemmRecipe operands(const char* a, const char* b) {
  sim::GemmRecipe g;
  g.operands = {parse_quant_spec(a), parse_quant_spec(b)};
  return g;
}

sim::LinearSpec three(const char* fx, const char* fw, const char* gdy, const char* gw, const char* wdy,
                      const char* wx) {
  return {operands(fx, fw), operands(gdy, gw), operands(wdy, wx)};
}

}  // namespace

std::vector<std::string> Recipe::preset_names() { return {"fp32", "bf16", "fp8", "mxfp8", "nvfp4", "int8"}; }

Recipe Recipe::preset(const std::string& name) {
  Recipe r;
  r.name = name;
  if (name == "fp32") return r;
  if (name == "bf16") {
    r.linear = three("bf16", "bf16", "bf16", "bf16", "bf16", "bf16");
  } else if (name == "fp8") {
    r.linear = three("e4m3fn:per_tensor", "e4m3fn:per_tensor", "e5m2:per_tensor", "e4m3fn:per_tensor",
                     "e5m2:per_tensor", "e4m3fn:per_tensor");
  } else if (name == "mxfp8") {
    r.linear = three("mxfp8_e4m3", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp8_e4m3");
  } else if (name == "nvfp4") {
    r.linear = three("nvfp4", "nvfp4<block=16x16>", "nvfp4:sr", "nvfp4<block=16x16>", "nvfp4:sr:rht(seed=0,block=16)",
                     "nvfp4:rht(seed=0,block=16)");
  } else if (name == "int8") {
    r.linear = three("int8:per_tensor", "int8:per_channel(axis=0)", "none", "none", "none", "none");
  } else {
    std::string valid;
    for (const auto& n : preset_names()) valid += (valid.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown training recipe '" + name + "'; valid recipes: " + valid);
  }
  return r;
}

Recipe Recipe::uniform(const std::string& quant_spec, bool gradients) {
  const sim::QuantSpec q = parse_quant_spec(quant_spec);
  const sim::QuantSpec f = gradients ? q : sim::QuantSpec::identity();
  Recipe r;
  r.name = std::string(gradients ? "fake:" : "fake_fwd:") + sim::to_string(q);
  r.linear.forward.operands = {q, q};
  r.linear.input_grad.operands = {f, f};
  r.linear.weight_grad.operands = {f, f};
  return r;
}

Recipe Recipe::parse(const std::string& text) {
  for (const auto& [prefix, gradients] : {std::pair<std::string, bool>{"fake:", true}, {"fake_fwd:", false}}) {
    if (text.rfind(prefix, 0) != 0) continue;
    try {
      return uniform(text.substr(prefix.size()), gradients);
    } catch (const std::exception& e) {
      throw std::invalid_argument("training recipe '" + text + "': " + e.what());
    }
  }
  try {
    return preset(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(e.what()) + ", or fake:QUANTSPEC (every GEMM operand) or fake_fwd:QUANTSPEC "
                                "(forward x and W only), e.g. fake:fp<e=3,m=4,specials=none>:per_group(32)");
  }
}

double Recipe::forward_bits() const {
  const sim::QuantSpec& w = linear.forward.operands.b;
  if (w.is_identity()) return 32;
  if (w.is_block) return formats::BlockFormat::parse(w.format).element().bits();
  return formats::Format::parse(w.format).bits();
}

void Recipe::set_accumulation(const sim::AccumSpec& accum) {
  accum.validate();
  for (sim::LinearSpec* l : {&linear, &head})
    for (sim::GemmRecipe* g : {&l->forward, &l->input_grad, &l->weight_grad}) g->accum = accum;
}

sim::LinearSpec Recipe::linear_for(std::uint64_t step, std::uint64_t layer) const {
  sim::LinearSpec s = linear;
  std::uint64_t role = 0;
  for (sim::GemmRecipe* g : {&s.forward, &s.input_grad, &s.weight_grad}) {
    const std::uint64_t key = mix(mix(mix(step) ^ layer) ^ role++);
    // Both operands of one GEMM share the transform seed, so their rotations match.
    for (sim::QuantSpec* q : {&g->operands.a, &g->operands.b}) {
      if (q->rounding.mode == formats::Rounding::stochastic) q->seed = mix(q->seed ^ key);
      if (q->transform.kind == sim::TransformKind::random_hadamard) q->transform.seed = mix(q->transform.seed ^ key);
    }
    if (g->accum.accumulator.rounding.mode == formats::Rounding::stochastic) g->accum.seed = mix(g->accum.seed ^ key);
  }
  return s;
}

MasterWeights MasterWeights::parse(const std::string& format, const std::string& rounding) {
  MasterWeights m;
  if (format != "fp32") m.format = formats::Format::parse(format);
  if (rounding == "rne" || rounding == "nearest") m.rounding.mode = formats::Rounding::nearest_even;
  else if (rounding == "sr" || rounding == "stochastic") m.rounding.mode = formats::Rounding::stochastic;
  else throw std::invalid_argument("unknown master-weight rounding '" + rounding + "'; valid: rne, sr");
  return m;
}

std::string MasterWeights::to_string() const {
  if (!format) return "fp32";
  return format->spec() + (rounding.mode == formats::Rounding::stochastic ? ":sr" : ":rne");
}

}  // namespace bitsim::models::train
