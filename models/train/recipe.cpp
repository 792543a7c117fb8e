#include "models/train/recipe.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
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
  sim::LinearSpec s;
  s.forward = operands(fx, fw);
  s.input_grad = operands(gdy, gw);
  s.weight_grad = operands(wdy, wx);
  return s;
}

}  // namespace

std::vector<std::string> Recipe::preset_names() { return {"fp32", "bf16", "fp8", "fp8_delayed", "mxfp8", "nvfp4", "int8"}; }

Recipe Recipe::preset(const std::string& name) {
  Recipe r;
  r.name = name;
  if (name == "fp32") return r;
  if (name == "fp8_delayed" || (name.rfind("fp8_delayed(", 0) == 0 && name.back() == ')')) {
    int length = 16;
    if (name != "fp8_delayed") {
      const std::string h = name.substr(12, name.size() - 13);
      char* end = nullptr;
      const long v = std::strtol(h.c_str(), &end, 10);
      if (h.empty() || *end != '\0' || v < 1 || v > 1000000)
        throw std::invalid_argument("training recipe '" + name + "': the amax history length must be an integer >= 1");
      length = static_cast<int>(v);
    }
    r = preset("fp8");
    r.name = name;
    r.amax_history = length;
    return r;
  }
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
    throw std::invalid_argument("unknown training recipe '" + name + "'; valid recipes: " + valid + ", fp8_delayed(H)");
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

double AmaxHistory::clip(std::size_t key, double current) const {
  const auto it = history_.find(key);
  if (it == history_.end() || it->second.empty()) return current;
  return *std::max_element(it->second.begin(), it->second.end());
}

void AmaxHistory::observe(std::size_t key, double amax) {
  if (!std::isfinite(amax)) return;
  auto [it, fresh] = pending_.emplace(key, amax);
  if (!fresh) it->second = std::max(it->second, amax);
}

void AmaxHistory::commit() {
  for (const auto& [key, amax] : pending_) {
    auto& h = history_[key];
    h.push_back(amax);
    while (static_cast<int>(h.size()) > length_) h.pop_front();
  }
  pending_.clear();
}

std::string AmaxHistory::serialize() const {
  std::string out;
  char buf[64];
  for (const auto& [key, h] : history_) {
    if (!out.empty()) out += ';';
    out += std::to_string(key);
    out += ':';
    for (std::size_t i = 0; i < h.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%a", h[i]);
      if (i) out += ',';
      out += buf;
    }
  }
  return out;
}

AmaxHistory AmaxHistory::parse(int length, const std::string& text) {
  AmaxHistory a(length);
  std::istringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    const auto colon = entry.find(':');
    if (colon == std::string::npos || colon == 0) throw std::invalid_argument("amax history: bad entry '" + entry + "'");
    auto& h = a.history_[std::stoull(entry.substr(0, colon))];
    std::istringstream values(entry.substr(colon + 1));
    std::string v;
    while (std::getline(values, v, ',')) {
      char* end = nullptr;
      h.push_back(std::strtod(v.c_str(), &end));
      if (v.empty() || *end != '\0') throw std::invalid_argument("amax history: bad value '" + v + "'");
    }
    if (static_cast<int>(h.size()) > length)
      throw std::invalid_argument("amax history: more than " + std::to_string(length) + " values in '" + entry + "'");
  }
  return a;
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
