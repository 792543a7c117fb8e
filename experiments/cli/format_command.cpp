// bitsim format SPEC: the properties of one format, or with --table every code and its
// value (formats of at most 16 bits).
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "experiments/cli/block_cli.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/format_properties.hpp"
#include "experiments/cli/number_printing.hpp"
#include "experiments/cli/text_table.hpp"

namespace bitsim::cli {
namespace {

using formats::Format;

constexpr int kMaxTableBits = 16;

struct FormatOptions {
  std::string spec;
  bool table = false;
  bool json = false;
};

// zero | subnormal | normal | inf | nan, read off the decoded value. Fixed-point codes
// are zero or normal (their min_normal is the quantum). "unused" marks the one code a
// narrow integer format never produces (int8<narrow>: 0x80).
std::string_view code_class(const Format& format, double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return "inf";
  if (value == 0) return "zero";
  if (value < format.min_value() || value > format.max_value()) return "unused";
  return std::fabs(value) < format.min_normal() ? "subnormal" : "normal";
}

void print_code_table(const Format& format, bool json) {
  if (format.bits() > kMaxTableBits) {
    throw std::invalid_argument("--table lists every code and needs a format of at most " +
                                std::to_string(kMaxTableBits) + " bits; " + format.spec() +
                                " has " + std::to_string(format.bits()));
  }
  const std::uint64_t code_count = std::uint64_t(1) << format.bits();
  std::vector<TableRow> rows;
  rows.reserve(code_count);
  for (std::uint64_t code = 0; code < code_count; ++code) {
    const double value = format.decode(code);
    rows.push_back({hex_code(code, format.bits()), hex_float(value), shortest_decimal(value),
                    std::string(code_class(format, value))});
  }
  if (!json) {
    print_table(stdout, {"code", "value", "decimal", "class"}, rows);
    return;
  }
  nlohmann::ordered_json out = {{"format", format.spec()}};
  const char* columns[] = {"codes", "values", "decimals", "classes"};
  for (std::size_t c = 0; c < std::size(columns); ++c) {
    auto& column = out[columns[c]] = nlohmann::ordered_json::array();
    for (const auto& row : rows) column.push_back(row[c]);
  }
  std::printf("%s\n", out.dump().c_str());
}


}  // namespace

void add_format_command(CLI::App& app) {
  auto options = std::make_shared<FormatOptions>();
  auto* command = app.add_subcommand(
      "format", "Show one format (a name or a spec such as 'fp<e=5,m=7>'); --table lists its codes");
  command->add_option("spec", options->spec, "Format spec, e.g. e4m3fn or 'fp<e=3,m=2,bias=3>'")
      ->required();
  command->add_flag("--table", options->table,
                    "Every code with its value (hex-float and decimal) and class; at most 16 bits");
  command->add_flag("--json", options->json, "Print JSON instead of text");
  command->callback([options] {
    if (formats::is_block_spec(options->spec)) {  // mxfp4, nvfp4, int4:sym:g128, ... (block_cli.hpp)
      return print_block_format(options->spec, options->table, options->json);
    }
    const Format format = parse_element_format(options->spec);
    options->table ? print_code_table(format, options->json) : print_properties(format.spec(), describe(format, description_of(format)), options->json);
  });
}

}  // namespace bitsim::cli
