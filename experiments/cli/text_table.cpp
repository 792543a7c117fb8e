#include "experiments/cli/text_table.hpp"

#include <algorithm>

namespace bitsim::cli {

void print_table(std::FILE* out, const TableRow& header, const std::vector<TableRow>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  const auto measure = [&widths](const TableRow& row) {
    for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) {
      widths[c] = std::max(widths[c], row[c].size());
    }
  };
  measure(header);
  for (const auto& row : rows) measure(row);

  const auto print_row = [&](const TableRow& row) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      // The last column is not padded, so lines carry no trailing blanks.
      if (c + 1 < row.size()) line.append(widths[c] - row[c].size() + 2, ' ');
    }
    std::fprintf(out, "%s\n", line.c_str());
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

}  // namespace bitsim::cli
