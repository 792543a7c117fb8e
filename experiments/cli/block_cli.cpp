#include "experiments/cli/block_cli.hpp"

#include <cstdio>
#include <stdexcept>

#include "experiments/cli/number_printing.hpp"

namespace bitsim::cli {

using formats::BlockFormat;
using formats::Format;

Format parse_element_format(const std::string& spec) {
  try {
    return Format::parse(spec);
  } catch (const formats::UnknownFormat& e) {
    throw formats::UnknownFormat(std::string(e.what()) +
                                 "; block formats: " + formats::valid_block_format_names());
  }
}

BlockFormat parse_block_format(const std::string& spec) {
  try {
    return BlockFormat::parse(spec);
  } catch (const formats::UnknownFormat& e) {
    throw formats::UnknownFormat(std::string(e.what()) + "; element formats: " + formats::valid_format_names());
  }
}

namespace {

std::string block_text(const BlockFormat& f) {
  const auto s = f.shape();
  if (s.rows == 0 && s.cols == 0) return "tensor";
  const std::string rows = s.rows == 0 ? "col" : std::to_string(s.rows);
  const std::string cols = s.cols == 0 ? "row" : std::to_string(s.cols);
  return rows + "x" + cols;
}

// The named entry's description, or a generic one for other specs.
std::string block_description_of(const BlockFormat& f) {
  for (const auto& named : formats::named_block_formats()) {
    if (named.name == f.spec()) return std::string(named.description);
  }
  if (f.has_zero_point()) return "group INT, asymmetric (zero point)";
  if (f.rule() == formats::ScaleRule::amax && f.recipe() == formats::Recipe::generic) return "group INT / amax-scaled blocks";
  return "custom block format";
}

// Examples of group-INT spec strings listed beside the named formats (they are specs,
// not table entries: any width, group size and scale format parse).
constexpr const char* kGroupIntExamples[] = {"int4:sym:g128", "int4:asym:g64"};

}  // namespace

std::vector<FormatProperty> describe_block(const BlockFormat& f, std::string_view description) {
  const auto word = [](std::string key, std::string v, bool in_overview) {
    return FormatProperty{std::move(key), v, v, in_overview};
  };
  const auto integer = [](std::string key, int v) { return FormatProperty{std::move(key), std::to_string(v), v, false}; };
  const double bits = f.effective_bits();
  return {
      word("element", f.description().element, true),
      integer("element_bits", f.element().bits()),
      word("scale", f.description().scale, true),
      integer("scale_bits", f.scale().bits()),
      word("block", block_text(f), true),
      word("rule", std::string(formats::to_string(f.rule())), true),
      word("recipe", std::string(formats::to_string(f.recipe())), false),
      word("rounding", formats::to_string(f.rounding()), false),
      FormatProperty{"zero_point", f.has_zero_point() ? "yes" : "no", f.has_zero_point(), false},
      word("tensor_scale", f.has_tensor_scale() ? "fp32" : "none", false),
      FormatProperty{"effective_bits", shortest_decimal(bits), bits, true},
      word("description", std::string(description), true),
  };
}

BlockListing list_block_formats() {
  BlockListing listing;
  listing.header = {"block_format"};
  const auto add = [&listing](const BlockFormat& f, const std::string& name, std::string_view description) {
    const auto properties = describe_block(f, description);
    TableRow row = {name};
    for (const auto& p : properties) {
      if (!p.in_overview) continue;
      if (listing.rows.empty()) listing.header.push_back(p.key);
      row.push_back(p.text);
    }
    listing.rows.push_back(std::move(row));
    nlohmann::ordered_json entry = {{"name", name}, {"kind", "block"}};
    entry.update(to_json(properties));
    listing.json.push_back(std::move(entry));
  };
  for (const auto& named : formats::named_block_formats()) {
    add(BlockFormat(named.format), std::string(named.name), named.description);
  }
  for (const char* spec : kGroupIntExamples) {
    const BlockFormat f = BlockFormat::parse(spec);
    add(f, spec, block_description_of(f));
  }
  return listing;
}

void print_block_format(const std::string& spec, bool table, bool json) {
  const BlockFormat format = parse_block_format(spec);
  if (table) {
    throw std::invalid_argument("--table lists the codes of an element format; " + spec +
                                " is a block format whose elements are " + format.description().element +
                                " (try: bitsim format '" + format.description().element + "' --table)");
  }
  print_properties(format.spec(), describe_block(format, block_description_of(format)), json, "block");
}

}  // namespace bitsim::cli
