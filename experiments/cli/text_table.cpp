#include "experiments/cli/text_table.hpp"

#include <algorithm>

namespace bitsim::cli {
namespace {

// Columns are aligned by characters, not bytes: UTF-8 continuation bytes (10xxxxxx) take
// no column of their own.
std::size_t display_width(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

void print_table(std::FILE* out, const TableRow& header, const std::vector<TableRow>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  const auto measure = [&widths](const TableRow& row) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);

  const auto print_row = [&](const TableRow& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      // The last column is not padded, so lines carry no trailing blanks.
      if (c + 1 < row.size() && c < widths.size()) {
        line.append(widths[c] - display_width(row[c]) + 2, ' ');
      }
    }
    std::fprintf(out, "%s\n", line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

}  // namespace bitsim::cli
