#pragma once
// The properties of a format as `bitsim formats` and `bitsim format SPEC` show them: one
// list, rendered both as text cells and as JSON values, so the table, the detail view
// and --json can never disagree.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/format.hpp"

namespace bitsim::cli {

struct FormatProperty {
  std::string key;       // column header and JSON key
  std::string text;      // cell text
  nlohmann::ordered_json value;  // JSON value (numbers stay numbers)
  bool in_overview;      // shown in the `bitsim formats` table
};

// bits, max, min, min_normal, min_subnormal, epsilon, finite_codes, inf, nan, overflow,
// nan_rule, kind, description. min_subnormal is the smallest positive value (equal to
// min_normal where the format has no subnormals; the quantum for fixed point; minpos / the
// smallest LNS magnitude for posits and LNS, where min_normal is the same). nan_rule is
// "nar" for posits and "nan" for LNS (a NaN input becomes their NaN code).
std::vector<FormatProperty> describe(const formats::Format& format, std::string_view description);

// The description of a named format, or a generic one ("custom float", "custom fixed
// point") for specs that name none.
std::string description_of(const formats::Format& format);

nlohmann::ordered_json to_json(const std::vector<FormatProperty>& properties);

// `bitsim format SPEC` for one format: a property/value table, or with `json` one object
// {"spec", ["kind",] ...properties}. `kind` is left out when empty.
void print_properties(std::string_view spec, const std::vector<FormatProperty>& properties, bool json,
                      std::string_view kind = {});

}  // namespace bitsim::cli
