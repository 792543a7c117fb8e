#pragma once
// Block-scaled formats (mxfp4, nvfp4, int4:sym:g128, ...) in the CLI: their properties for
// `bitsim formats` and `bitsim format SPEC`, and the element-format parser whose unknown-
// name message lists both kinds of names. `bitsim quantize` on block formats lives in
// quantize_command.cpp.
#include <string>
#include <string_view>
#include <vector>

#include "experiments/cli/format_properties.hpp"
#include "experiments/cli/text_table.hpp"
#include "formats/block/block_format.hpp"
#include "formats/format.hpp"

namespace bitsim::cli {

// Format::parse, except that an unknown name is reported with the block format names too.
formats::Format parse_element_format(const std::string& spec);

// BlockFormat::parse, with the element format names added to an unknown-name message.
formats::BlockFormat parse_block_format(const std::string& spec);

// element, element_bits, scale, scale_bits, block ("1x32", "16x16", "1xrow" for a whole
// row, "tensor"), rule, recipe, rounding, zero_point, tensor_scale, effective_bits,
// description. The overview (`bitsim formats`) shows element, scale, block, rule,
// effective_bits and description.
std::vector<FormatProperty> describe_block(const formats::BlockFormat& format, std::string_view description);

// The named block formats and two group-INT examples, as `bitsim formats` lists them:
// the header and one row per format (text), or one JSON object per format with
// "kind": "block".
struct BlockListing {
  TableRow header;
  std::vector<TableRow> rows;
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
};
BlockListing list_block_formats();

// `bitsim format SPEC` for a block spec: its properties as a table or JSON. --table
// (a code table) is refused with a pointer to the element format's table.
void print_block_format(const std::string& spec, bool table, bool json);

}  // namespace bitsim::cli
