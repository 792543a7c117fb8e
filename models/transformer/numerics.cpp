#include "models/transformer/numerics.hpp"

#include <stdexcept>

namespace bitsim::models {

bool glob_match(std::string_view pattern, std::string_view name) {
  // Iterative matcher with one backtrack point per '*': linear in practice.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

sim::QuantSpec Numerics::quant_for(std::string_view role) const {
  for (auto it = quant.rbegin(); it != quant.rend(); ++it)
    if (glob_match(it->first, role)) return it->second;
  return sim::QuantSpec::identity();
}

sim::AccumSpec Numerics::accum_for(std::string_view role) const {
  for (auto it = accum.rbegin(); it != accum.rend(); ++it)
    if (glob_match(it->first, role)) return it->second;
  return default_accum;
}

std::string Numerics::describe() const {
  std::string s;
  for (const auto& [pattern, spec] : quant) s += pattern + " = " + sim::to_string(spec) + "\n";
  for (const auto& [pattern, spec] : accum) s += pattern + " = " + spec.to_string() + "\n";
  return s.empty() ? "fp32 reference\n" : s;
}

Numerics Numerics::reference(std::string_view name) {
  Numerics n;
  if (name == "fp32") return n;
  if (name == "fp64") {
    n.accum.emplace_back("matmul.*", sim::AccumSpec::parse("acc=fp64,wide=fp64"));
    n.quant.emplace_back("norm.*", sim::parse_quant_spec("fp64"));
    return n;
  }
  throw std::invalid_argument("unknown reference numerics '" + std::string(name) + "' (valid: fp32, fp64)");
}

Numerics Numerics::from_options(const std::string& weights, const std::string& activations,
                                const std::string& kv, const std::string& accum) {
  Numerics n;
  if (!weights.empty()) n.quant.emplace_back("weight.*", sim::parse_quant_spec(weights));
  if (!activations.empty()) n.quant.emplace_back("act.*", sim::parse_quant_spec(activations));
  if (!kv.empty()) n.quant.emplace_back("kv.*", sim::parse_quant_spec(kv));
  if (!accum.empty()) n.accum.emplace_back("matmul.*", sim::AccumSpec::parse(accum));
  return n;
}

}  // namespace bitsim::models
