// bitsim formats: every named format and its properties, as a table or as JSON. Element
// formats come first; the block formats follow (text: a second table after a blank line;
// JSON: further objects with "kind": "block", see block_cli.hpp).
#include <cstdio>
#include <memory>

#include "experiments/cli/block_cli.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/format_properties.hpp"
#include "experiments/cli/text_table.hpp"

namespace bitsim::cli {
namespace {

// The named floats and integers, then the named posits and LNS formats.
std::vector<formats::NamedFormat> all_named_formats() {
  std::vector<formats::NamedFormat> all(formats::named_formats().begin(), formats::named_formats().end());
  all.insert(all.end(), formats::extra_named_formats().begin(), formats::extra_named_formats().end());
  return all;
}

void print_json() {
  auto list = nlohmann::ordered_json::array();
  for (const auto& named : all_named_formats()) {
    nlohmann::ordered_json entry = {{"name", named.name}};
    entry.update(to_json(describe(formats::Format(named.format), named.description)));
    list.push_back(std::move(entry));
  }
  for (auto& entry : list_block_formats().json) list.push_back(std::move(entry));
  std::printf("%s\n", list.dump(2).c_str());
}

void print_text() {
  TableRow header = {"name"};
  std::vector<TableRow> rows;
  for (const auto& named : all_named_formats()) {
    TableRow row = {std::string(named.name)};
    for (const auto& p : describe(formats::Format(named.format), named.description)) {
      if (!p.in_overview) continue;
      if (rows.empty()) header.push_back(p.key);
      row.push_back(p.text);
    }
    rows.push_back(std::move(row));
  }
  print_table(stdout, header, rows);
  const BlockListing blocks = list_block_formats();
  std::printf("\n");
  print_table(stdout, blocks.header, blocks.rows);
}

}  // namespace

void add_formats_command(CLI::App& app) {
  auto* command = app.add_subcommand("formats", "List the named formats and their properties");
  auto json = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "Print a JSON array of objects instead of a table");
  command->callback([json] { *json ? print_json() : print_text(); });
}

}  // namespace bitsim::cli
