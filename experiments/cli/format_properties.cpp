#include "experiments/cli/format_properties.hpp"

#include <cstdio>

#include "experiments/cli/number_printing.hpp"
#include "experiments/cli/text_table.hpp"

namespace bitsim::cli {

using formats::Format;

namespace {

// What a NaN input becomes: the lattice policy for floats and fixed point; posits and LNS
// have a NaN code of their own (NaR for posits).
std::string_view nan_rule_of(const Format& format) {
  if (format.kind() == "posit") return "nar";
  if (format.kind() == "lns") return "nan";
  if (const auto* c = std::get_if<formats::Codebook>(&format.repr())) return formats::to_string(c->nan_rule);
  return formats::to_string(format.lattice().nan_rule);
}

}  // namespace

std::vector<FormatProperty> describe(const Format& format, std::string_view description) {
  const auto number = [](std::string key, double v, bool in_overview = true) {
    return FormatProperty{std::move(key), shortest_decimal(v), v, in_overview};
  };
  const auto word = [](std::string key, std::string_view v, bool in_overview = true) {
    return FormatProperty{std::move(key), std::string(v), std::string(v), in_overview};
  };
  const auto flag = [](std::string key, bool v) {
    return FormatProperty{std::move(key), v ? "yes" : "no", v, true};
  };
  return {
      FormatProperty{"bits", std::to_string(format.bits()), format.bits(), true},
      number("max", format.max_value()),
      number("min", format.min_value(), false),
      number("min_normal", format.min_normal()),
      number("min_subnormal", format.min_subnormal()),
      number("epsilon", format.epsilon()),
      FormatProperty{"finite_codes", std::to_string(format.finite_code_count()),
                     format.finite_code_count(), true},
      flag("inf", format.has_infinity()),
      flag("nan", format.has_nan()),
      word("overflow", formats::to_string(format.overflow())),
      word("nan_rule", nan_rule_of(format), false),
      word("kind", format.kind(), false),
      word("description", description),
  };
}

std::string description_of(const Format& format) {
  // A named format with policy options ("e4m3fn<overflow=saturate>") keeps its name's
  // description; the options are visible in the spec.
  const std::string_view spec = format.spec();
  const std::string_view base = spec.substr(0, spec.find('<'));
  for (const auto& list : {formats::named_formats(), formats::extra_named_formats()}) {
    for (const auto& named : list) {
      if (named.name == base) return std::string(named.description);
    }
  }
  const std::string_view kind = format.kind();
  return kind == "float" ? "custom float" : kind == "fixed" ? "custom fixed point"
         : kind == "posit" ? "custom posit" : kind == "codebook" ? "custom codebook" : "custom LNS";
}

nlohmann::ordered_json to_json(const std::vector<FormatProperty>& properties) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (const auto& p : properties) object[p.key] = p.value;
  return object;
}

void print_properties(std::string_view spec, const std::vector<FormatProperty>& properties, bool json,
                      std::string_view kind) {
  if (json) {
    nlohmann::ordered_json out = {{"spec", spec}};
    if (!kind.empty()) out["kind"] = kind;
    out.update(to_json(properties));
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::vector<TableRow> rows = {{"spec", std::string(spec)}};
  for (const auto& p : properties) rows.push_back({p.key, p.text});
  print_table(stdout, {"property", "value"}, rows);
}

}  // namespace bitsim::cli
